"""The benchmark workloads (W1–W6) and the driver that runs one of them against one client.

Rule: a workload is a fixed operation mix with a count, a concurrency and a time limit; it runs
on a fresh connection, first a short untimed warm-up, then the measured phase, and stops at its
count or its time limit (``truncated``), whichever comes first. Every completed operation's
latency is recorded; a failed operation counts as an error (never as an operation). Setup and
teardown (sessions, handles, connections) are outside the measured phase except where they are
the workload (W4, W5).
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from janus_fast._compat import timeout
from janus_fast.bench.adapter import Adapter
from janus_fast.bench.measure import Meter, Outcome, rss_bytes, summarize

#: A workload stops after this many failed operations (the first error is reported).
MAX_ERRORS = 50
#: Extra time over a workload's limit before it is abandoned as hung.
HANG_GRACE = 30.0
#: Handles measured under tracemalloc for W5's Python memory per handle.
MEMORY_SAMPLE = 2000


@dataclasses.dataclass(frozen=True)
class Workload:
    key: str
    title: str
    transport: Literal["ws", "http"]
    count: int
    smoke_count: int
    concurrency: int = 1
    handles: int = 0
    time_limit: float = 10.0
    kind: Literal["ping", "message", "session", "handles"] = "ping"


WORKLOADS: tuple[Workload, ...] = (
    Workload("W1", "ping, sequential (latency floor)", "ws", 10_000, 20, time_limit=15.0),
    Workload("W2", "ping, 64 in flight", "ws", 150_000, 200, concurrency=64, time_limit=15.0),
    Workload(
        "W3",
        "echotest message (ack+event), 64 in flight on 8 handles",
        "ws",
        60_000,
        200,
        concurrency=64,
        handles=8,
        time_limit=15.0,
        kind="message",
    ),
    Workload("W4", "session create + destroy", "ws", 3_000, 10, time_limit=15.0, kind="session"),
    Workload(
        "W5",
        "attach then detach 10,000 echotest handles on one session",
        "ws",
        10_000,
        50,
        time_limit=60.0,
        kind="handles",
    ),
    Workload(
        "W6a", "HTTP ping, 64 in flight", "http", 40_000, 200, concurrency=64, time_limit=15.0
    ),
    Workload(
        "W6b",
        "HTTP echotest message (ack + long-poll event), 64 in flight on 8 handles",
        "http",
        25_000,
        100,
        concurrency=64,
        handles=8,
        time_limit=15.0,
        kind="message",
    ),
)
BY_KEY = {workload.key: workload for workload in WORKLOADS}

Op = Callable[[int], Awaitable[Any]]


async def _drive(op: Op, count: int, concurrency: int, deadline: float, outcome: Outcome) -> None:
    """Run ``op(worker_index)`` ``count`` times, ``concurrency`` at a time, until ``deadline``."""
    started = [0]
    latencies = outcome.latencies
    perf = time.perf_counter

    async def worker(index: int) -> None:
        while started[0] < count:
            if perf() > deadline:
                outcome.truncated = True
                return
            started[0] += 1
            begin = perf()
            try:
                await op(index)
            except Exception as exc:
                outcome.error(exc)
                if outcome.errors >= MAX_ERRORS:
                    started[0] = count
                continue
            latencies.append(perf() - begin)

    await asyncio.gather(*(worker(index) for index in range(max(1, min(concurrency, count)))))
    outcome.ops = len(latencies)


def _warmup_count(workload: Workload, count: int) -> int:
    return max(min(count // 10, 500), min(workload.concurrency, count))


async def run_workload(
    adapter: Adapter,
    workload: Workload,
    url: str,
    count: int,
    time_limit: float,
    janus_pid: int | None,
) -> dict[str, object]:
    """Run ``workload`` once on a fresh connection of ``adapter``; return its report fields."""
    await adapter.open(url)
    try:
        async with timeout(time_limit * 2 + HANG_GRACE):
            if workload.kind == "handles":
                return await _run_handles(adapter, count, time_limit, janus_pid)
            return await _run_simple(adapter, workload, count, time_limit, janus_pid)
    finally:
        await adapter.close()


async def _run_simple(
    adapter: Adapter, workload: Workload, count: int, time_limit: float, janus_pid: int | None
) -> dict[str, object]:
    session: Any = None
    handles: list[Any] = []
    op: Op
    if workload.kind == "ping":

        async def op(_index: int) -> None:
            await adapter.ping()

    elif workload.kind == "message":
        session = await adapter.create_session()
        for _ in range(workload.handles):
            handles.append(await adapter.attach(session))
        width = len(handles)

        async def op(index: int) -> None:
            await adapter.message(handles[index % width])

    else:  # session create + destroy; an anchor session keeps every client's connection in use
        session = await adapter.create_session()

        async def op(_index: int) -> None:
            await adapter.destroy_session(await adapter.create_session())

    try:
        warm = Outcome()
        await _drive(op, _warmup_count(workload, count), workload.concurrency, _far(), warm)
        if warm.errors and not warm.ops:
            raise RuntimeError(f"every warm-up operation failed: {warm.first_error}")
        outcome = Outcome()
        meter = Meter(janus_pid)
        meter.start()
        await _drive(op, count, workload.concurrency, meter_deadline(time_limit), outcome)
        meter.stop()
        return summarize(outcome, meter)
    finally:
        for handle in handles:
            await adapter.detach(handle)
        if session is not None:
            await adapter.destroy_session(session)


def meter_deadline(time_limit: float) -> float:
    return time.perf_counter() + time_limit


def _far() -> float:
    return time.perf_counter() + 3600.0


async def _run_handles(
    adapter: Adapter, count: int, time_limit: float, janus_pid: int | None
) -> dict[str, object]:
    """W5: attach ``count`` handles one by one, then detach them; memory per idle handle."""
    session = await adapter.create_session()
    try:
        # Warm-up: a few handles through the whole cycle.
        for _ in range(min(20, count)):
            await adapter.detach(await adapter.attach(session))
        attached: list[Any] = []

        async def attach(_index: int) -> None:
            attached.append(await adapter.attach(session))

        gc.collect()
        rss_before = rss_bytes()
        outcome = Outcome()
        meter = Meter(janus_pid)
        meter.start()
        await _drive(attach, count, 1, meter_deadline(time_limit / 2), outcome)
        meter.stop()
        attach_wall, attach_ops = meter.wall, outcome.ops
        gc.collect()
        rss_after = rss_bytes()
        held = len(attached)

        remaining = iter(attached)

        async def detach(_index: int) -> None:
            await adapter.detach(next(remaining))

        detach_outcome = Outcome()
        meter.start()
        await _drive(detach, held, 1, meter_deadline(time_limit / 2), detach_outcome)
        meter.stop()
        detach_ops = detach_outcome.ops
        outcome.latencies.extend(detach_outcome.latencies)
        outcome.ops = attach_ops + detach_ops
        outcome.truncated = outcome.truncated or detach_outcome.truncated
        outcome.errors += detach_outcome.errors
        outcome.first_error = outcome.first_error or detach_outcome.first_error
        python_bytes, sample = await _python_bytes_per_handle(
            adapter, session, min(held, MEMORY_SAMPLE)
        )
        detach_wall = meter.wall - attach_wall
        outcome.extra = {
            "handles_attached": held,
            "attach_ops_per_s": round(attach_ops / attach_wall, 1) if attach_wall else 0.0,
            "detach_ops_per_s": round(detach_ops / detach_wall, 1) if detach_wall > 0 else 0.0,
            "mem_rss_bytes_per_handle": round((rss_after - rss_before) / held) if held else None,
            "mem_py_bytes_per_handle": python_bytes,
            "mem_sample_handles": sample,
        }
        return summarize(outcome, meter)
    finally:
        await adapter.destroy_session(session)


async def _python_bytes_per_handle(
    adapter: Adapter, session: Any, sample: int
) -> tuple[float | None, int]:
    """tracemalloc: Python heap still allocated per attached (idle) handle, over ``sample``."""
    if sample <= 0:
        return None, 0
    handles: list[Any] = [None] * sample  # allocated before tracing: not charged to handles
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for index in range(sample):
            handles[index] = await adapter.attach(session)
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    for handle in handles:
        await adapter.detach(handle)
    return round(used / sample, 1), sample
