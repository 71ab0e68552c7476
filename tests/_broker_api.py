"""Test bodies shared by the MQTT and RabbitMQ API transport tests (each module starts its own
real broker and a real Janus with that transport on, once per module)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from janus_fast import Expect, JanusPlugin, JanusSession, JanusTransport
from janus_fast.admin import JanusAdminMonitorClient
from janus_fast.errors import (
    ConnectionClosedError,
    QueueFullError,
    RequestTimeoutError,
    TransportError,
)
from janus_fast.events import ConnectionEvent
from janus_fast.testing import FaultProxy


class EchoTest(JanusPlugin):
    name = "janus.plugin.echotest"

    def __init__(self) -> None:
        super().__init__()
        self.received: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()

    async def on_receive(self, response: dict[str, Any]) -> None:
        self.received.append(response)
        self.arrived.set()


async def eventually(check: Callable[[], bool], limit: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while not check():
        assert loop.time() < end, "condition not reached in time"
        await asyncio.sleep(0.02)


async def wait_janus_ready(url: str, limit: float = 15.0) -> None:
    """Janus subscribes to the broker shortly after it starts: ping until it answers."""
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    transport = JanusTransport.create_transport(url, config={"timeout": 0.5})
    try:
        while True:
            try:
                await transport.connect()
                await transport.ping()
                return
            except Exception:
                if loop.time() > end:
                    raise
                await asyncio.sleep(0.1)
    finally:
        await transport.disconnect()


async def session_plugin_and_events(url: str) -> JanusTransport:
    session = JanusSession(base_url=url)
    async with session:
        await session.create()
        assert session.id is not None
        echo = EchoTest()
        await echo.attach(session)
        assert echo.id is not None
        reply = await echo.request({"audio": True})  # native: one call, the completed reply
        assert reply["plugindata"]["data"]["result"] == "ok"
        transaction = await echo.send({"janus": "message", "body": {"video": True}})
        ack = await transaction.get({"janus": "ack"}, timeout=5)
        assert ack["janus"] == "ack"
        await transaction.done()
        await asyncio.wait_for(echo.arrived.wait(), 5)  # what get did not take: on_receive
        event = echo.received[0]
        assert event["janus"] == "event" and event["plugindata"]["data"]["result"] == "ok"
        assert event["sender"] == echo.id
        await echo.destroy()
        transport = session.transport
    assert session.id is None or not transport.connected or transport.session_count == 0
    return transport


async def ping_info_concurrency_and_admin(url: str, admin_url: str, admin_secret: str) -> None:
    async with JanusSession(base_url=url) as session:
        await session.create()
        transport = session.transport
        pong = await transport.ping()
        assert pong["janus"] == "pong"
        info = await transport.info()
        assert info["version_string"] == "1.1.2"
        pongs = await asyncio.gather(*(transport.ping() for _ in range(100)))
        assert [p["janus"] for p in pongs] == ["pong"] * 100
        assert len({p["transaction"] for p in pongs}) == 100
        admin = JanusAdminMonitorClient(admin_url, admin_secret=admin_secret)
        try:
            assert session.id in await admin.list_sessions()
        finally:
            await admin.disconnect()
        stats = transport.stats()
        assert stats["pending"] == 0 and stats["inflight_publishes"] == 0
        assert stats["open_connections"] == 1


async def cut_link_is_recovered(proxied_url: str, proxy: FaultProxy) -> None:
    """The broker link drops (cut by a proxy): the transport reconnects, re-subscribes, claims
    the session and the handle goes on working."""
    events: list[ConnectionEvent] = []
    session = JanusSession(
        base_url=proxied_url, retry_delay=0.05, connect_timeout=3, max_retries=20
    )
    async with session:
        await session.create()
        session.transport.on_connection_event(events.append)
        echo = EchoTest()
        await echo.attach(session)
        proxy.cut()
        await eventually(lambda: any(e.kind == "reconnected" for e in events))
        assert events[0].kind == "disconnected"
        reply = await echo.request({"audio": False})
        assert reply["plugindata"]["data"]["result"] == "ok"
        assert proxy.connections >= 2
        await echo.destroy()


async def gone_broker_is_a_typed_give_up(proxied_url: str, proxy: FaultProxy) -> None:
    events: list[ConnectionEvent] = []
    session = JanusSession(
        base_url=proxied_url,
        retry_delay=0.05,
        retry_delay_max=0.1,
        max_retries=2,
        connect_timeout=1,
    )
    await session.create()
    transport = session.transport
    transport.on_connection_event(events.append)
    proxy.refuse = True
    proxy.cut()
    await eventually(lambda: any(e.kind == "given_up" for e in events))
    assert not transport.connected
    with pytest.raises(ConnectionClosedError, match="connection lost for good"):
        await transport.ping()
    given_up = next(e for e in events if e.kind == "given_up")
    assert isinstance(given_up.error, TransportError)
    assert transport.session_count == 0  # the session was reported lost
    await transport.disconnect()


async def shared_response_topic_counts_unrouted(url: str) -> None:
    """Two clients on one response topic/exchange each see the other's replies: counted as
    ``unrouted``, never errors, and each gets its own."""
    first = JanusTransport.create_transport(url)
    second = JanusTransport.create_transport(url)
    try:
        await first.connect()
        await second.connect()
        await asyncio.gather(
            *(first.ping() for _ in range(10)), *(second.ping() for _ in range(10))
        )
        await eventually(lambda: first.stats()["unrouted"] + second.stats()["unrouted"] >= 10)
        assert first.stats()["malformed"] == 0 and second.stats()["malformed"] == 0
    finally:
        await first.disconnect()
        await second.disconnect()


async def publishes_in_flight_are_bounded(url: str) -> None:
    """``queue_size`` publishes at most await the broker's acknowledgement; one more is refused
    with ``QueueFullError``, and nothing is left pending."""
    transport = JanusTransport.create_transport(url, config={"queue_size": 1})
    await transport.connect()
    try:
        results = await asyncio.gather(transport.ping(), transport.ping(), return_exceptions=True)
        assert isinstance(results[1], QueueFullError), results
        assert isinstance(results[0], dict) and results[0]["janus"] == "pong"
        assert transport.stats()["pending"] == 0
        assert (await transport.ping())["janus"] == "pong"
    finally:
        await transport.disconnect()


async def oversized_messages_are_dropped(url: str) -> None:
    """A message longer than ``max_message_size`` is dropped and counted; its request times out."""
    transport = JanusTransport.create_transport(url, config={"max_message_size": 1024})
    await transport.connect()
    try:
        assert (await transport.ping())["janus"] == "pong"  # small: delivered
        with pytest.raises(RequestTimeoutError):
            await transport.send_request({"janus": "info"}, Expect.SERVER_INFO, timeout=1)
        assert transport.stats()["oversized"] == 1 and transport.stats_malformed == 1
    finally:
        await transport.disconnect()


def assert_no_secret(secret: str, *texts: str) -> None:
    for text in texts:
        assert secret not in text


def log_text(records: list[logging.LogRecord]) -> str:
    return "\n".join(record.getMessage() for record in records)
