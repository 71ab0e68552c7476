"""Event delivery: on_receive, callbacks, iterators; isolation and re-entrancy; session timeout."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from janus_fast import (
    EventType,
    JanusPlugin,
    JanusSession,
    PluginEvent,
    SessionLostError,
    SessionTimeoutEvent,
    TransportError,
)
from janus_fast.testing import JanusServer


class EchoTest(JanusPlugin):
    name = "janus.plugin.echotest"


class Recorder(EchoTest):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()

    async def on_receive(self, response: dict[str, Any]) -> None:
        self.messages.append(response)
        self.arrived.set()


async def test_events_after_done_reach_on_receive(janus_url: str) -> None:
    """janus-client's EchoTest pattern: take the ack, release the transaction, get the event."""
    async with JanusSession(base_url=janus_url) as session:
        plugin = Recorder()
        await plugin.attach(session)
        transaction = await plugin.send({"janus": "message", "body": {"audio": True}})
        first = await transaction.get()
        await transaction.done()
        if first["janus"] == "ack":  # the event had not arrived yet: it must come as an event
            await asyncio.wait_for(plugin.arrived.wait(), 5)
            assert plugin.messages[0]["janus"] == "event"
            assert plugin.messages[0]["plugindata"]["data"]["result"] == "ok"


async def test_callbacks_and_iterators_get_typed_events(janus_url: str) -> None:
    async with JanusSession(base_url=janus_url) as session:
        plugin = Recorder()
        await plugin.attach(session)
        seen: list[Any] = []
        plugin.on(EventType.EVENT, seen.append)
        iterator = plugin.events(EventType.EVENT)
        transaction = await plugin.send({"janus": "message", "body": {"video": True}})
        await transaction.get({"janus": "ack"})
        await transaction.done()
        event = await asyncio.wait_for(anext(iterator), 5)
        assert isinstance(event, PluginEvent)
        assert event.handle_id == plugin.id
        assert event.data["result"] == "ok"
        assert event.plugin == "janus.plugin.echotest"
        assert seen and isinstance(seen[0], PluginEvent)
        await iterator.aclose()


async def test_a_raising_handler_is_isolated_and_may_await_requests(
    janus_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    class Fragile(EchoTest):
        def __init__(self) -> None:
            super().__init__()
            self.pongs: list[dict[str, Any]] = []
            self.calls = 0

        async def on_receive(self, response: dict[str, Any]) -> None:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("handler bug")
            # Re-entrant: a request on the same connection from inside a handler.
            assert self.session is not None
            self.pongs.append(await self.session.transport.ping())

    async with JanusSession(base_url=janus_url) as session:
        plugin = Fragile()
        await plugin.attach(session)
        with caplog.at_level(logging.ERROR, logger="janus_fast.events"):
            for _ in range(2):
                transaction = await plugin.send({"janus": "message", "body": {"audio": True}})
                await transaction.get({"janus": "ack"})
                await transaction.done()
            for _ in range(100):
                if plugin.pongs:
                    break
                await asyncio.sleep(0.05)
        assert "handler bug" in caplog.text
        assert plugin.pongs and plugin.pongs[0]["janus"] == "pong"
        assert (await session.transport.ping())["janus"] == "pong"  # the reader lives on


async def test_session_timeout_event(janus_factory: Any, transport_kind: str) -> None:
    janus: JanusServer = janus_factory(session_timeout=2)
    url = janus.ws_url if transport_kind == "ws" else janus.http_url
    # No keepalive (huge interval) so Janus times the session out.
    session = JanusSession(base_url=url, keepalive_interval=3600)
    timeouts: list[Any] = []
    session.on(EventType.TIMEOUT, timeouts.append)
    async with session:
        await session.create()
        session_id = session.id
        for _ in range(120):
            if timeouts:
                break
            await asyncio.sleep(0.1)
        assert timeouts, "no timeout event within 12 s"
        assert isinstance(timeouts[0], SessionTimeoutEvent)
        assert timeouts[0].session_id == session_id
        assert not session.created
        with pytest.raises((SessionLostError, TransportError)):
            await session.send({"janus": "keepalive"})


async def test_keepalive_keeps_an_idle_session_alive(
    janus_factory: Any, transport_kind: str
) -> None:
    janus: JanusServer = janus_factory(session_timeout=2)
    url = janus.ws_url if transport_kind == "ws" else janus.http_url
    async with JanusSession(base_url=url) as session:  # interval derived: 1 s
        await session.create()
        await asyncio.sleep(5)
        assert session.created
        assert session.id in janus.admin_request({"janus": "list_sessions"})["sessions"]
