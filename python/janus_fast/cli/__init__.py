"""``janus-fast``: the command line — ``info``, ``ping``, ``bench`` and ``monitor``.

Rule: every command either prints its result and exits 0, or prints ONE line
``janus-fast: error: …`` on stderr and exits non-zero (2: bad usage or URL, 3: authentication
refused, 1: anything else — unreachable, timed out, Janus error); never a traceback.
Credentials come from options or the environment (``JANUS_API_SECRET``, ``JANUS_TOKEN``,
``JANUS_ADMIN_SECRET``) and are never printed. One module per command group registers its
subcommands (``server``: info and ping, ``bench``, ``monitor``); ``common`` holds what they share.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from janus_fast.cli import bench, monitor, server
from janus_fast.cli.common import CliError, Parser, classify

__all__ = ["CliError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """Build the ``janus-fast`` argument parser with every subcommand."""
    parser = Parser(
        prog="janus-fast",
        description="Command line of janus_fast, the fast asyncio client for Janus.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    server.register(commands)
    bench.register(commands)
    monitor.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point (``janus-fast``)."""
    out = sys.stdout
    try:
        args = build_parser().parse_args(argv)
        if args.is_async:
            code: int = asyncio.run(args.run(args, out))
        else:
            code = args.run(args, out)
        return code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        error = classify(exc)
        sys.stderr.write(f"janus-fast: error: {error}\n")
        return error.code
