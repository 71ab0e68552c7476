"""Pool event delivery without Janus: callbacks isolated from each other, coroutine callbacks
supervised and capped, iterators bounded (oldest dropped, counted) and ended by close."""

from __future__ import annotations

import asyncio
import logging

import pytest

from janus_fast._compat import timeout
from janus_fast.pool import PoolEvent, ServerState, ServerStateChanged
from janus_fast.pool import events as pool_events
from janus_fast.pool.events import EventHub, ServerLost


def change(i: int) -> ServerStateChanged:
    return ServerStateChanged(f"s{i}", ServerState.UP, ServerState.DOWN, "")


async def test_raising_callbacks_do_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    hub = EventHub()
    seen: list[PoolEvent] = []
    awaited: list[PoolEvent] = []

    async def slow(event: PoolEvent) -> None:
        await asyncio.sleep(0)
        awaited.append(event)

    async def broken(event: PoolEvent) -> None:
        raise RuntimeError("async boom")

    hub.on(lambda event: 1 / 0)
    hub.on(seen.append)
    hub.on(slow)
    hub.on(broken)
    hub.emit(change(1))
    assert seen == [change(1)]
    async with timeout(2):
        await hub.close(1.0)
    assert awaited == [change(1)]
    assert "ZeroDivisionError" in caplog.text and "async boom" in caplog.text


async def test_iterators_are_bounded_and_filtered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool_events, "ITERATOR_BUFFER", 4)
    hub = EventHub()
    every = hub.subscribe(())
    lost_only = hub.subscribe((ServerLost,))
    for i in range(10):
        hub.emit(change(i))
    hub.emit(ServerLost("s", (), (), {}))
    await hub.close(1.0)
    async with timeout(2):
        got = [event async for event in every]
        only = [event async for event in lost_only]
    assert [e.server for e in got] == ["s8", "s9", "s"]  # buffer 4: the end mark took a slot
    assert every.dropped == 8
    assert only == [ServerLost("s", (), (), {})] and lost_only.dropped == 0


async def test_coroutine_callbacks_are_capped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(pool_events, "MAX_CALLBACK_TASKS", 2)
    caplog.set_level(logging.WARNING)
    hub = EventHub()
    release = asyncio.Event()

    async def blocked(event: PoolEvent) -> None:
        await release.wait()

    hub.on(blocked)
    for i in range(5):
        hub.emit(change(i))
    assert hub.callbacks_skipped == 3
    release.set()
    async with timeout(2):
        await hub.close(1.0)
