"""The benchmark workloads (W1–W7) and the driver that runs one of them against one client.

Rule: a workload is a fixed operation mix with a count, a concurrency and a time limit; it runs
on a fresh connection, first a short untimed warm-up, then the measured phase, and stops at its
count or its time limit (``truncated``), whichever comes first. Every completed operation's
latency is recorded; a failed operation counts as an error (never as an operation). Setup and
teardown (sessions, handles, connections) are outside the measured phase except where they are
the workload (W4, W5). W7 (event fan-in) measures the events, not the requests: N handles join
one VideoRoom room with ``notify_joining``, so Janus sends N(N-1)/2 ``joining`` events; its
"operations" are the events received, its latencies those of the joins, and it stops when every
event arrived or at its time limit.

Opt-in workloads (``EXTRA_WORKLOADS``, run only when named in ``--workloads``; janus_fast only):
W8 holds many sessions of two echotest handles each on one WebSocket transport (memory per
handle, attach rate); W9 runs ping and echotest through a ``JanusPool`` of three local servers
and of one (``transport="pool"``); W10 runs ping and echotest over each transport of one local
Janus (WebSocket, Unix socket, MQTT, RabbitMQ), one row per transport and operation.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import random
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Sequence
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
#: W7: joins in flight at once, and the handles of its untimed warm-up room.
FANIN_JOINS_IN_FLIGHT = 8
FANIN_WARMUP_HANDLES = 10


@dataclasses.dataclass(frozen=True)
class Workload:
    """One benchmark workload (a row of the report per client and loop).

    Attributes:
        key: stable key (``W1`` …).
        title: what it does, for the report.
        transport: where it runs (``ws``, ``http`` or an opt-in transport).
        count: operations of a full run.
        smoke_count: operations of a smoke run.
        concurrency: operations in flight at once.
        handles: echotest handles the operations are spread over (0: none).
        time_limit: seconds before the run is cut short (reported as truncated).
        kind: the operation (``ping``, ``message``, ``session``, ``handles``, ``fanin``,
            ``sessions``).
    """

    key: str
    title: str
    transport: Literal["ws", "http", "unix", "mqtt", "amqp", "nanomsg", "pool1", "pool3"]
    count: int
    smoke_count: int
    concurrency: int = 1
    handles: int = 0
    time_limit: float = 10.0
    kind: Literal["ping", "message", "session", "handles", "fanin", "sessions"] = "ping"
    #: Sessions the ``message`` handles are spread over (round robin).
    sessions: int = 1
    #: The clients that run this workload (empty: every client).
    only: tuple[str, ...] = ()


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
    Workload(
        "W7a",
        "event fan-in: 300 handles join a VideoRoom (notify_joining), CPU per joining event",
        "ws",
        300,
        12,
        concurrency=FANIN_JOINS_IN_FLIGHT,
        time_limit=20.0,
        kind="fanin",
    ),
    Workload(
        "W7b",
        "event fan-in: 700 handles join a VideoRoom (notify_joining), CPU per joining event",
        "ws",
        700,
        16,
        concurrency=FANIN_JOINS_IN_FLIGHT,
        time_limit=40.0,
        kind="fanin",
    ),
)
#: W8: sessions being set up at once.
MANY_SESSIONS_IN_FLIGHT = 16
#: W8: sessions (of two handles) measured under tracemalloc for Python bytes per handle.
MANY_SESSIONS_SAMPLE = 500
_NATIVE = ("fast-native",)
#: W9 (JanusPool): a janus-client-compatible row next to the native one.
_POOL = ("fast", "fast-native")


#: W10: requests in flight on every transport. (Janus's MQTT transport drops replies past its
#: ``max_inflight``/``max_buffered``, stock 10/100: the harness raises both, so 64 in flight
#: lose none; see docs/janus-notes.md.)
TRANSPORT_IN_FLIGHT = 64


def _transport_rows(key: str, transport: Any, name: str) -> tuple[Workload, Workload]:
    return (
        Workload(
            f"W10{key[0]}",
            f"{name} ping, {TRANSPORT_IN_FLIGHT} in flight",
            transport,
            40_000,
            40,
            concurrency=TRANSPORT_IN_FLIGHT,
            time_limit=10.0,
            only=_NATIVE,
        ),
        Workload(
            f"W10{key[1]}",
            f"{name} echotest message, {TRANSPORT_IN_FLIGHT} in flight on 8 handles",
            transport,
            20_000,
            24,
            concurrency=TRANSPORT_IN_FLIGHT,
            handles=8,
            time_limit=10.0,
            kind="message",
            only=_NATIVE,
        ),
    )


#: Opt-in workloads: never in the default set (W9 and W10 start extra servers and brokers).
EXTRA_WORKLOADS: tuple[Workload, ...] = (
    Workload(
        "W8",
        "10,000 sessions x 2 echotest handles on one WebSocket",
        "ws",
        10_000,
        20,
        concurrency=MANY_SESSIONS_IN_FLIGHT,
        time_limit=45.0,
        kind="sessions",
        only=("fast", "fast-native"),
    ),
    Workload(
        "W9a",
        "JanusPool of 3 servers: ping, 64 in flight",
        "pool3",
        60_000,
        100,
        concurrency=64,
        time_limit=10.0,
        only=_POOL,
    ),
    Workload(
        "W9b",
        "JanusPool of 3 servers: echotest, 64 in flight on 12 handles / 3 sessions",
        "pool3",
        30_000,
        60,
        concurrency=64,
        handles=12,
        sessions=3,
        time_limit=10.0,
        kind="message",
        only=_POOL,
    ),
    Workload(
        "W9c",
        "JanusPool of 1 server: ping, 64 in flight",
        "pool1",
        60_000,
        100,
        concurrency=64,
        time_limit=10.0,
        only=_POOL,
    ),
    Workload(
        "W9d",
        "JanusPool of 1 server: echotest, 64 in flight on 12 handles / 3 sessions",
        "pool1",
        30_000,
        60,
        concurrency=64,
        handles=12,
        sessions=3,
        time_limit=10.0,
        kind="message",
        only=_POOL,
    ),
    *_transport_rows("ab", "ws", "WebSocket"),
    *_transport_rows("cd", "unix", "Unix socket (seqpacket)"),
    *_transport_rows("ef", "mqtt", "MQTT"),
    *_transport_rows("gh", "amqp", "RabbitMQ"),
    *_transport_rows("ij", "nanomsg", "Nanomsg (ipc)"),
)
ALL_WORKLOADS = WORKLOADS + EXTRA_WORKLOADS
#: Every workload by key (the default set is ``WORKLOADS``).
BY_KEY = {workload.key: workload for workload in ALL_WORKLOADS}
DEFAULT_KEYS = tuple(workload.key for workload in WORKLOADS)


def runs_on(workload: Workload, client: str) -> bool:
    """Tell whether ``client`` runs ``workload`` (opt-in workloads are janus_fast only)."""
    return not workload.only or client in workload.only


def expand_workloads(keys: Sequence[str]) -> tuple[str, ...]:
    """Expand group names among workload keys (``W6`` → W6a, W6b; ``W7`` → W7a, W7b).

    Args:
        keys: workload keys and group names.

    Returns:
        The workload keys, each once, in the benchmark's order.

    Raises:
        ValueError: an unknown key.
    """
    wanted: set[str] = set()
    for key in keys:
        if key in BY_KEY:
            wanted.add(key)
            continue
        group = [w.key for w in ALL_WORKLOADS if w.key[:-1] == key and w.key[-1].isalpha()]
        if not group:
            raise ValueError(
                f"unknown workload {key!r} (known: {', '.join(BY_KEY)}, W6, W7, W9, W10)"
            )
        wanted.update(group)
    return tuple(w.key for w in ALL_WORKLOADS if w.key in wanted)


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
            if workload.kind == "fanin":
                return await _run_fanin(adapter, workload, count, time_limit, janus_pid)
            if workload.kind == "sessions":
                return await _run_sessions(adapter, workload, count, time_limit, janus_pid)
            return await _run_simple(adapter, workload, count, time_limit, janus_pid)
    finally:
        await adapter.close()


async def _run_simple(
    adapter: Adapter, workload: Workload, count: int, time_limit: float, janus_pid: int | None
) -> dict[str, object]:
    session: Any = None
    sessions: list[Any] = []
    handles: list[Any] = []
    op: Op
    if workload.kind == "ping":

        async def op(_index: int) -> None:
            await adapter.ping()

    elif workload.kind == "message":
        for _ in range(max(1, workload.sessions)):
            sessions.append(await adapter.create_session())
        for index in range(workload.handles):
            handles.append(await adapter.attach(sessions[index % len(sessions)]))
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
        for held in sessions:
            await adapter.destroy_session(held)
        if session is not None:
            await adapter.destroy_session(session)


def meter_deadline(time_limit: float) -> float:
    """Return the ``perf_counter`` time ``time_limit`` seconds from now."""
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


class FanInCounter:
    """Count the ``joining`` events each W7 handle receives.

    ``finished`` is set when all the expected events arrived. A handle's ``callback`` is the
    whole per-event work of the workload (one bound method call: the same, and as little as
    possible, for every client).

    Args:
        handles: the handles joining one room; each sees the joins after its own.
    """

    __slots__ = ("expected", "finished", "handles", "received")

    def __init__(self, handles: int) -> None:
        self.received = 0
        self.expected = handles * (handles - 1) // 2
        self.finished = asyncio.Event()
        self.handles = [_HandleCount(self) for _ in range(handles)]
        if self.expected == 0:
            self.finished.set()

    @property
    def counts(self) -> list[int]:
        """The ``joining`` events each handle received so far."""
        return [handle.count for handle in self.handles]

    def callback(self, index: int) -> Callable[[], None]:
        """Return the per-event callback of handle ``index``."""
        return self.handles[index].hit


class _HandleCount:
    __slots__ = ("count", "counter")

    def __init__(self, counter: FanInCounter) -> None:
        self.count = 0
        self.counter = counter

    def hit(self) -> None:
        self.count += 1
        counter = self.counter
        counter.received += 1
        if counter.received >= counter.expected:
            counter.finished.set()


async def _fanin_room(
    adapter: Adapter,
    handles: list[Any],
    counter: FanInCounter,
    concurrency: int,
    deadline: float,
    outcome: Outcome,
    meter: Meter | None,
) -> int:
    """Create a room, let every handle join it, wait for all ``joining`` events (or the deadline).

    ``meter`` spans joins and events.

    Returns:
        The room id (the caller destroys the room).
    """
    room = random.randrange(10**9, 2 * 10**9)
    await adapter.fanin_create_room(handles[0], room, len(handles) + 1)
    if meter is not None:
        meter.start()
    joins = iter(range(len(handles)))

    async def join(_worker: int) -> None:
        index = next(joins)
        await adapter.fanin_join(handles[index], room, f"p{index}")

    await _drive(join, len(handles), concurrency, deadline, outcome)
    remaining = deadline - time.perf_counter()
    if remaining > 0 and not counter.finished.is_set():
        with contextlib.suppress(asyncio.TimeoutError):  # truncated: reported below
            await asyncio.wait_for(counter.finished.wait(), remaining)
    if meter is not None:
        meter.stop()
    if not counter.finished.is_set():
        outcome.truncated = True
    return room


async def _run_fanin(
    adapter: Adapter, workload: Workload, count: int, time_limit: float, janus_pid: int | None
) -> dict[str, object]:
    """W7: ``count`` handles join one room; client CPU per ``joining`` event received."""
    count = max(2, count)
    session = await adapter.create_session()
    try:
        # Untimed warm-up: a small room of its own, every code path of the measured phase.
        warm_counter = FanInCounter(FANIN_WARMUP_HANDLES)
        warm_handles = [
            await adapter.fanin_attach(session, warm_counter.callback(index))
            for index in range(FANIN_WARMUP_HANDLES)
        ]
        warm = Outcome()
        room = await _fanin_room(
            adapter, warm_handles, warm_counter, workload.concurrency, _far(), warm, None
        )
        if warm.errors or warm.truncated:
            raise RuntimeError(f"the warm-up room failed: {warm.first_error or 'events missing'}")
        await adapter.fanin_destroy_room(warm_handles[0], room)
        for handle in warm_handles:
            await adapter.detach(handle)

        counter = FanInCounter(count)
        handles = [
            await adapter.fanin_attach(session, counter.callback(index)) for index in range(count)
        ]
        gc.collect()
        outcome = Outcome()
        meter = Meter(janus_pid)
        room = await _fanin_room(
            adapter,
            handles,
            counter,
            workload.concurrency,
            meter_deadline(time_limit),
            outcome,
            meter,
        )
        joins = outcome.ops
        await adapter.fanin_destroy_room(handles[0], room)
        if max(counter.counts) > count - 1:
            raise RuntimeError(f"a handle received {max(counter.counts)} joining events")
        outcome.ops = counter.received
        outcome.extra = {
            "fanin_handles": count,
            "fanin_joins": joins,
            "fanin_events_expected": counter.expected,
        }
        return summarize(outcome, meter)
    finally:
        await adapter.destroy_session(session)


async def _run_sessions(
    adapter: Adapter, workload: Workload, count: int, time_limit: float, janus_pid: int | None
) -> dict[str, object]:
    """Run W8: ``count`` sessions of two echotest handles each, held together.

    They are set up ``concurrency`` at a time on one connection; it measures memory per handle
    and the attach rate. An operation is one session with its two handles; they are all
    destroyed after (bounded, not measured).

    Returns:
        The report fields of the run.
    """
    held: list[Any] = []
    try:
        for _ in range(min(5, count)):  # warm-up: the whole cycle
            session = await adapter.create_session()
            await adapter.attach(session)
            await adapter.attach(session)
            await adapter.destroy_session(session)

        async def setup(_index: int) -> None:
            session = await adapter.create_session()
            held.append(session)
            await adapter.attach(session)
            await adapter.attach(session)

        gc.collect()
        rss_before = rss_bytes()
        outcome = Outcome()
        meter = Meter(janus_pid)
        meter.start()
        await _drive(setup, count, workload.concurrency, meter_deadline(time_limit), outcome)
        meter.stop()
        gc.collect()
        rss_after = rss_bytes()
        handles = outcome.ops * 2
        await _destroy_all(adapter, held, workload.concurrency, time_limit)
        python_bytes, sample = await _python_bytes_per_session_handle(
            adapter, min(outcome.ops, MANY_SESSIONS_SAMPLE), workload.concurrency, time_limit
        )
        outcome.extra = {
            "sessions_held": outcome.ops,
            "handles_attached": handles,
            "attach_handles_per_s": round(handles / meter.wall, 1) if meter.wall > 0 else 0.0,
            "mem_rss_bytes_per_handle": round((rss_after - rss_before) / handles)
            if handles
            else None,
            "mem_py_bytes_per_handle": python_bytes,
            "mem_sample_handles": sample,
        }
        return summarize(outcome, meter)
    finally:
        await _destroy_all(adapter, held, workload.concurrency, time_limit)


async def _destroy_all(adapter: Adapter, held: list[Any], concurrency: int, limit: float) -> None:
    """Destroy every session in ``held`` (and empty it), ``concurrency`` at a time.

    Bounded by ``limit`` seconds; failures are ignored (the connection closes after anyway).
    """
    sessions = list(held)
    held.clear()
    if not sessions:
        return
    remaining = iter(sessions)

    async def destroy(_index: int) -> None:
        await adapter.destroy_session(next(remaining))

    await _drive(destroy, len(sessions), concurrency, meter_deadline(limit), Outcome())


async def _python_bytes_per_session_handle(
    adapter: Adapter, sample: int, concurrency: int, limit: float
) -> tuple[float | None, int]:
    """Measure with tracemalloc the Python heap held per handle.

    Over ``sample`` sessions of two handles (the session's own share included); those
    sessions are destroyed after.

    Returns:
        The bytes per handle (None when ``sample`` is 0) and the handles measured.
    """
    if sample <= 0:
        return None, 0
    held: list[Any] = []
    held.extend([None] * sample)  # allocated before tracing
    held.clear()
    made = [0]

    async def setup(_index: int) -> None:
        session = await adapter.create_session()
        held.append(session)
        await adapter.attach(session)
        await adapter.attach(session)
        made[0] += 1

    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        await _drive(setup, sample, concurrency, meter_deadline(limit), Outcome())
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
        await _destroy_all(adapter, held, concurrency, limit)
    handles = made[0] * 2
    return (round(used / handles, 1) if handles else None), handles
