"""Helpers for the event-handler tests: wait for events, drive Janus traffic."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from janus_fast import JanusSession
from janus_fast.eventhandlers import EventStream, HandleEvent, JanusEvent, SessionEvent
from janus_fast.plugins import JanusEchoTestPlugin
from janus_fast.testing.server import JanusServer


async def collect_until(
    stream: EventStream, done: Callable[[list[JanusEvent]], bool], seconds: float = 10.0
) -> list[JanusEvent]:
    """Take events from ``stream`` until ``done(events)`` holds; fail after ``seconds``."""
    events: list[JanusEvent] = []
    deadline = time.monotonic() + seconds
    while not done(events):
        left = deadline - time.monotonic()
        if left <= 0:
            kinds = [(type(e).__name__, getattr(e, "name", None)) for e in events]
            raise AssertionError(f"condition not met in {seconds} s; got {kinds}")
        try:
            events.append(await stream.get(timeout=left))
        except asyncio.TimeoutError:
            continue
    return events


async def wait_for(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def custom_event(server: JanusServer, schema: str, data: dict[str, Any]) -> None:
    """An external event (type 4) through the Admin API's ``custom_event``."""
    reply = await asyncio.to_thread(
        server.admin_request, {"janus": "custom_event", "schema": schema, "data": data}
    )
    assert reply["janus"] == "success", reply


async def lifecycle_burst(url: str, sessions: int, handles: int) -> tuple[set[int], int]:
    """Open ``sessions`` sessions at once, each attaching and detaching ``handles`` EchoTest
    handles at once, then destroy them: returns the session ids and how many session and
    handle events Janus must have emitted for them (created, destroyed, attached, detached)."""

    async def one() -> int:
        async with JanusSession(base_url=url) as session:
            echoes = [JanusEchoTestPlugin() for _ in range(handles)]
            await asyncio.gather(*(echo.attach(session) for echo in echoes))
            await asyncio.gather(*(echo.destroy() for echo in echoes))
            assert session.id is not None
            return session.id

    ids = set(await asyncio.gather(*(one() for _ in range(sessions))))
    assert len(ids) == sessions
    return ids, 2 * sessions + 2 * sessions * handles


async def burst_events(
    stream: EventStream, ids: set[int], expected: int, seconds: float = 10.0, quiet: float = 1.0
) -> list[JanusEvent]:
    """Take the session and handle events of the sessions ``ids`` from ``stream`` until
    ``expected`` arrived, or until none came for ``quiet`` s (events were lost), at most
    ``seconds``; every other event is left out."""
    got: list[JanusEvent] = []
    deadline = time.monotonic() + seconds
    while len(got) < expected:
        left = min(quiet, deadline - time.monotonic())
        if left <= 0:
            break
        try:
            event = await stream.get(timeout=left)
        except asyncio.TimeoutError:
            break
        if isinstance(event, SessionEvent | HandleEvent) and event.session_id in ids:
            got.append(event)
    return got
