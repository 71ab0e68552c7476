"""Where a W2 operation's client CPU goes: the benchmark driver, the event loop, the kernel, us.

Rule: one process, the macro benchmark's own driver (``_drive``, 64 in flight), bounded counts,
client CPU from ``getrusage`` per phase, against a real Janus this script starts itself (or the
``ws://`` URL given). Phases, from the least to the most work per operation:

1. ``driver + loop``: no I/O at all — each operation awaits a future that a batched callback
   resolves (the driver's bookkeeping plus one future round trip through the event loop);
2. ``send_request``: the native request path (``send_request``, no deadline, the reply left
   undecoded) on a connected janus_fast WebSocket (receive batching on): the least a ping can
   cost through the public API — the Rust core's ``request()``, one future, and the request
   template around them;
3. ``transport.ping()``: the janus-client-compatible call the W2 compat row makes;
4. the same with ``receive_batching=False`` (the transport before receive batching).

Each phase also reports operations per read system call (``syscr`` of ``/proc/self/io``) — with
one reply per ping, how many replies one wake-up of the reader takes. Only uvloop's are counted
there (libuv reads sockets with ``read(2)``); asyncio's ``recv`` calls are not, so its column
shows ``-``.

Run: ``.venv/bin/python benches/cost_floor.py [ws://HOST:PORT] [--count N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from janus_fast import Expect, JanusTransport
from janus_fast.bench.measure import Outcome
from janus_fast.bench.workloads import _drive

IN_FLIGHT = 64


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _read_calls() -> int:
    with open("/proc/self/io") as io:
        for line in io:
            if line.startswith("syscr:"):
                return int(line.split()[1])
    return 0


async def _measure(op: Callable[[int], Awaitable[Any]], count: int) -> tuple[float, float | None]:
    """Client CPU µs per operation, and operations per read call (None: none counted)."""
    await _drive(op, min(count // 10, 2000), IN_FLIGHT, time.perf_counter() + 60, Outcome())
    own = -_read_calls() + _read_calls()  # the reads of /proc/self/io itself
    reads, before = _read_calls(), _cpu()
    outcome = Outcome()
    await _drive(op, count, IN_FLIGHT, time.perf_counter() + 60, outcome)
    cpu, reads = _cpu() - before, _read_calls() - reads - own
    if outcome.errors:
        raise RuntimeError(f"{outcome.errors} operations failed: {outcome.first_error}")
    return cpu / outcome.ops * 1e6, (outcome.ops / reads if reads else None)


async def _phases(url: str, count: int) -> dict[str, tuple[float, float | None]]:
    loop = asyncio.get_running_loop()
    pending: list[asyncio.Future[dict[str, str]]] = []
    scheduled = [False]

    def resolve_all() -> None:
        scheduled[0] = False
        batch = pending[:]
        pending.clear()
        for future in batch:
            future.set_result({"janus": "pong"})

    async def in_memory(_index: int) -> None:
        future: asyncio.Future[dict[str, str]] = loop.create_future()
        pending.append(future)
        if not scheduled[0]:
            scheduled[0] = True
            loop.call_soon(resolve_all)
        if (await future)["janus"] != "pong":
            raise RuntimeError("no pong")

    results = {"driver + loop (no I/O)": await _measure(in_memory, count)}
    transport: Any = JanusTransport.create_transport(url, config={"ping_interval": None})
    await transport.connect()
    unbatched: Any = JanusTransport.create_transport(
        url, config={"ping_interval": None, "receive_batching": False}
    )
    await unbatched.connect()
    try:
        body = {"janus": "ping"}

        async def native_request(_index: int) -> None:
            await transport.send_request(body, Expect.PONG, None, None, None)

        async def compat_ping(_index: int) -> None:
            if (await transport.ping())["janus"] != "pong":
                raise RuntimeError("no pong")

        results["send_request (no deadline)"] = await _measure(native_request, count)

        async def unbatched_ping(_index: int) -> None:
            if (await unbatched.ping())["janus"] != "pong":
                raise RuntimeError("no pong")

        results["transport.ping() (compat API)"] = await _measure(compat_ping, count)
        results["the same, receive_batching=False"] = await _measure(unbatched_ping, count)
    finally:
        await transport.disconnect()
        await unbatched.disconnect()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="ws:// URL (default: start a local Janus)")
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    server = None
    url = args.url
    if url is None:
        from janus_fast.bench.runner import LOCAL_JANUS
        from janus_fast.testing import JanusConfig, JanusServer

        server = JanusServer(JanusConfig(**LOCAL_JANUS))  # type: ignore[arg-type]
        server.start()
        url = server.ws_url
    try:
        runners: list[tuple[str, Callable[[Any], Any]]] = [("asyncio", asyncio.run)]
        try:
            import uvloop

            runners.append(("uvloop", uvloop.run))
        except ImportError:
            pass
        for name, run in runners:
            for phase, (micros, per_read) in run(_phases(url, args.count)).items():
                reads = "-" if per_read is None else f"{per_read:.1f}"
                print(f"{name:8} {phase:34} {micros:6.2f} µs/op {reads:>8} ops/read call")
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
