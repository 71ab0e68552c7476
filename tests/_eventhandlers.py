"""Helpers for the event-handler tests: wait for events, drive Janus traffic."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from janus_fast.eventhandlers import EventStream, JanusEvent
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
