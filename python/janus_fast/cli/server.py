"""``janus-fast info`` and ``janus-fast ping``: one Janus API server, asked directly.

Rule: each command opens one transport, asks, closes it (also on failure) and prints the result
as text or, with ``--json``, as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any, TextIO

from janus_fast.cli.common import (
    CliError,
    Commands,
    add_secret_options,
    add_timeout_option,
    open_transport,
)


async def run_info(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``janus-fast info``: print the server's ``info`` (a summary, or the JSON).

    Args:
        args: the parsed ``info`` options (``url``, ``json``, credentials, ``timeout``).
        out: where the output is written.

    Returns:
        The exit code, 0.
    """
    transport = await open_transport(args.url, args)
    try:
        info = await transport.info()
    finally:
        await transport.disconnect()
    if args.json:
        out.write(json.dumps(info, indent=2, sort_keys=True) + "\n")
        return 0
    plugins = sorted((info.get("plugins") or {}).keys())
    transports = sorted((info.get("transports") or {}).keys())
    facts: list[tuple[str, Any]] = [
        ("server", f"{info.get('name', 'Janus')} {info.get('version_string', '?')}"),
        ("server name", info.get("server-name")),
        ("author", info.get("author")),
        ("session timeout", f"{info.get('session-timeout')} s"),
        ("reclaim timeout", f"{info.get('reclaim-session-timeout')} s"),
        ("api secret", "required" if info.get("api_secret") else "no"),
        ("auth token", "required" if info.get("auth_token") else "no"),
        ("event handlers", "on" if info.get("event_handlers") else "off"),
        ("transports", ", ".join(transports) or "-"),
        ("plugins", ", ".join(plugins) or "-"),
    ]
    for name, value in facts:
        out.write(f"{name + ':':17}{value}\n")
    return 0


async def run_ping(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``janus-fast ping``: ping the server ``count`` times and print the round trips.

    Args:
        args: the parsed ``ping`` options (``url``, ``count``, ``interval``, ``json``,
            credentials, ``timeout``).
        out: where the output is written.

    Returns:
        The exit code, 0.

    Raises:
        CliError: Janus answered a ping with something other than ``pong``.
    """
    transport = await open_transport(args.url, args)
    times: list[float] = []
    try:
        for number in range(args.count):
            if number:
                await asyncio.sleep(args.interval)
            begin = time.perf_counter()
            reply = await transport.ping()
            elapsed = (time.perf_counter() - begin) * 1000
            if reply.get("janus") != "pong":
                raise CliError(f"Janus answered {reply.get('janus')!r} to ping")
            times.append(elapsed)
            if not args.json:
                out.write(f"pong from {args.url}: seq={number + 1} time={elapsed:.3f} ms\n")
                out.flush()
    finally:
        await transport.disconnect()
    summary = {
        "url": args.url,
        "count": len(times),
        "min_ms": round(min(times), 3),
        "avg_ms": round(sum(times) / len(times), 3),
        "max_ms": round(max(times), 3),
    }
    if args.json:
        out.write(json.dumps({**summary, "times_ms": [round(t, 3) for t in times]}) + "\n")
    else:
        out.write(
            f"{len(times)} pings: min/avg/max = {summary['min_ms']:.3f}/"
            f"{summary['avg_ms']:.3f}/{summary['max_ms']:.3f} ms\n"
        )
    return 0


def register(commands: Commands) -> None:
    """Add ``info`` and ``ping`` to the ``janus-fast`` subcommands."""
    info = commands.add_parser("info", help="show what a Janus server is (its `info`)")
    info.add_argument("url", help="ws://HOST:PORT or http://HOST:PORT/janus")
    info.add_argument("--json", action="store_true", help="print the raw info as JSON")
    add_timeout_option(info)
    add_secret_options(info)
    info.set_defaults(run=run_info, is_async=True)

    ping = commands.add_parser("ping", help="round-trip Janus `ping` requests")
    ping.add_argument("url")
    ping.add_argument("-c", "--count", type=int, default=4, help="pings to send (default 4)")
    ping.add_argument("-i", "--interval", type=float, default=0.2, help="seconds between pings")
    ping.add_argument("--json", action="store_true")
    add_timeout_option(ping)
    add_secret_options(ping)
    ping.set_defaults(run=run_ping, is_async=True)
