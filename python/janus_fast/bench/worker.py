"""``python -m janus_fast.bench.worker``: run the workloads of ONE client on ONE event loop.

Rule: one process per (client, loop), so the clients cannot disturb each other (imports, logging,
garbage, event-loop state) and ``time.process_time()`` is that client's CPU alone. The process
talks to the runner only through stdout, one JSON object per line: ``begin`` before a workload,
``result`` after it (or ``failed`` with a one-line reason), ``meta`` first. Credentials (and
the URLs of the opt-in workloads' transports, which may hold them) come from the environment,
never from argv.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable
from typing import Any

import orjson

from janus_fast._compat import run
from janus_fast.bench.clients import (
    CLIENTS,
    ENV_API_SECRET,
    ENV_TOKEN,
    ENV_URLS,
    LOOPS,
    make_adapter,
)
from janus_fast.bench.workloads import BY_KEY, run_workload


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """Return the event-loop factory of ``name`` (``uvloop``; anything else: asyncio's)."""
    if name == "uvloop":
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
        return factory
    return asyncio.new_event_loop


def _emit(kind: str, **fields: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps({"type": kind, **fields}) + b"\n")
    sys.stdout.flush()


def _versions(client: str, loop: str) -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    def get(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    names = {
        "fast": ("janus-fast",),
        "fast-native": ("janus-fast",),
        "janus-client": ("janus-client", "websockets", "aiohttp"),
        "floor": ("websockets", "aiohttp", "orjson"),
    }[client]
    found = {name: get(name) for name in names}
    if loop == "uvloop":
        found["uvloop"] = get("uvloop")
    return found


async def _run(args: argparse.Namespace) -> int:
    api_secret = os.environ.get(ENV_API_SECRET) or None
    token = os.environ.get(ENV_TOKEN) or None
    # URLs of the opt-in workloads' transports (may hold broker credentials: never in argv).
    extra: dict[str, str] = orjson.loads(os.environ.get(ENV_URLS) or "{}")
    for key in args.workloads.split(","):
        workload = BY_KEY[key]
        transport = workload.transport
        url = {"http": args.http, "ws": args.ws}.get(transport) or extra.get(transport)
        if not url:
            reason = f"no {transport} URL given"
            if transport not in ("ws", "http"):
                reason += " (W9 and W10 need the benchmark's own Janus: run it without URL)"
            _emit("failed", workload=key, reason=reason)
            continue
        # The Janus CPU of a pool of three is not one pid's: not reported.
        janus_pid = None if transport == "pool3" else args.janus_pid
        count = workload.smoke_count if args.smoke else workload.count
        count = max(1, int(count * args.scale))
        limit = workload.time_limit * args.time_scale
        _emit("begin", workload=key, count=count)
        try:
            adapter = make_adapter(args.client, workload.transport, api_secret, token)
            fields = await run_workload(adapter, workload, url, count, limit, janus_pid)
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:300]
            _emit("failed", workload=key, reason=reason)
            continue
        _emit("result", workload=key, target_ops=count, time_limit_s=limit, **fields)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one (client, loop) worker over the chosen workloads, reporting in JSON lines.

    Args:
        argv: the arguments (None: ``sys.argv[1:]``).

    Returns:
        The exit code.
    """
    parser = argparse.ArgumentParser(prog="python -m janus_fast.bench.worker")
    parser.add_argument("--client", choices=CLIENTS, required=True)
    parser.add_argument("--loop", choices=LOOPS, default="asyncio")
    parser.add_argument("--ws", default=None)
    parser.add_argument("--http", default=None)
    parser.add_argument("--janus-pid", type=int, default=None)
    parser.add_argument("--workloads", default=",".join(BY_KEY))
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--time-scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    try:
        if args.client == "janus-client":
            from janus_fast.bench.peer import load_janus_client

            load_janus_client()
        factory = loop_factory(args.loop)
    except ImportError as exc:
        _emit("unavailable", reason=str(exc).replace("\n", " "))
        return 0
    _emit("meta", client=args.client, loop=args.loop, versions=_versions(args.client, args.loop))
    return run(_run(args), loop_factory=factory)


if __name__ == "__main__":
    sys.exit(main())
