"""Reconnection, reclaim and the outage queue under injected faults (real Janus behind a proxy)."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import pytest

from janus_fast import (
    ConnectionClosedError,
    EventType,
    Expect,
    JanusPlugin,
    JanusSession,
    JanusTransport,
    QueueFullError,
    SessionLostError,
)
from janus_fast._compat import timeout as deadline
from janus_fast.events import ConnectionEvent
from janus_fast.testing import JanusServer
from janus_fast.testing.faults import FaultProxy

FAST_RETRY = {"retry_delay": 0.05, "retry_delay_max": 0.2, "max_retries": 20, "timeout": 10}


class EchoTest(JanusPlugin):
    name = "janus.plugin.echotest"


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class Watch:
    """Collects connection events and waits for one kind."""

    def __init__(self, transport: JanusTransport) -> None:
        self.events: list[ConnectionEvent] = []
        self._changed = asyncio.Event()
        transport.on_connection_event(self._on)

    def _on(self, event: ConnectionEvent) -> None:
        self.events.append(event)
        self._changed.set()

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    async def wait_for(self, kind: str, timeout: float = 10) -> ConnectionEvent:
        async with deadline(timeout):
            while True:
                for event in self.events:
                    if event.kind == kind:
                        return event
                self._changed.clear()
                await self._changed.wait()


async def proxied(janus: JanusServer, **proxy: Any) -> FaultProxy:
    assert janus.ports is not None
    return await FaultProxy(janus.ports.ws, **proxy).start()


@pytest.fixture
def reclaimable(janus_factory: Any) -> JanusServer:
    server: JanusServer = janus_factory(reclaim_session_timeout=10)
    return server


async def test_reconnect_claims_sessions_and_objects_stay_valid(reclaimable: JanusServer) -> None:
    proxy = await proxied(reclaimable)
    fds_before = open_fds()
    tasks_before = len(asyncio.all_tasks())
    async with JanusSession(base_url=proxy.url(), **FAST_RETRY) as session:
        watch = Watch(session.transport)
        plugin = EchoTest()
        await plugin.attach(session)
        session_id, handle_id = session.id, plugin.id
        proxy.cut()
        await watch.wait_for("reconnected")
        assert watch.kinds()[:2] == ["disconnected", "reconnecting"]
        assert session.created and session.id == session_id and plugin.id == handle_id
        reply = await plugin.request({"audio": True})
        assert reply["plugindata"]["data"]["result"] == "ok"
        assert reply["sender"] == handle_id
        assert proxy.connections == 2
        assert session.transport.stats()["pending"] == 0
    await proxy.close()
    await asyncio.sleep(0.05)
    assert open_fds() <= fds_before
    assert len(asyncio.all_tasks()) <= tasks_before


async def test_unreclaimable_session_is_reported_lost(janus_server: JanusServer) -> None:
    proxy = await proxied(janus_server)  # reclaim_session_timeout = 0
    session = JanusSession(base_url=proxy.url(), **FAST_RETRY)
    lost: list[Any] = []
    session.on(EventType.LOST, lost.append)
    async with session:
        await session.create()
        watch = Watch(session.transport)
        proxy.cut()
        await watch.wait_for("reconnected")
        for _ in range(100):
            if lost:
                break
            await asyncio.sleep(0.02)
        assert lost and "not reclaimed" in lost[0].reason
        assert not session.created
        with pytest.raises(SessionLostError):
            await session.send({"janus": "keepalive"})
        assert (await session.transport.ping())["janus"] == "pong"  # the transport is fine
    await proxy.close()


async def test_recreate_policy_brings_session_and_handles_back(janus_server: JanusServer) -> None:
    proxy = await proxied(janus_server)
    async with JanusSession(
        base_url=proxy.url(), reconnect_policy="recreate", **FAST_RETRY
    ) as session:
        watch = Watch(session.transport)
        plugin = EchoTest()
        await plugin.attach(session)
        session_id = session.id
        proxy.cut()
        await watch.wait_for("reconnected")
        assert session.created and session.id == session_id  # same id: create with "id"
        sessions = janus_server.admin_request({"janus": "list_sessions"})["sessions"]
        assert session_id in sessions
        assert plugin.id in session.plugin_handles
        reply = await plugin.request({"audio": True})
        assert reply["sender"] == plugin.id
    await proxy.close()


async def test_in_flight_requests_resend_when_safe_and_fail_otherwise(
    reclaimable: JanusServer,
) -> None:
    proxy = await proxied(reclaimable)
    async with JanusSession(base_url=proxy.url(), **FAST_RETRY) as session:
        watch = Watch(session.transport)
        plugin = EchoTest()
        await plugin.attach(session)
        proxy.hold()  # replies pile up in the proxy: everything below is in flight
        pings = [asyncio.ensure_future(session.transport.ping()) for _ in range(50)]
        messages = [asyncio.ensure_future(plugin.request({"audio": True})) for _ in range(20)]
        idempotent = asyncio.ensure_future(
            session.request(
                {"janus": "message", "body": {"audio": True}},
                Expect.PLUGIN_MESSAGE,
                plugin.id,
                idempotent=True,
            )
        )
        await asyncio.sleep(0.2)
        proxy.cut()
        proxy.release()
        results = await asyncio.wait_for(
            asyncio.gather(*pings, *messages, idempotent, return_exceptions=True), 15
        )
        assert all(isinstance(r, dict) and r["janus"] == "pong" for r in results[:50])
        assert all(isinstance(r, ConnectionClosedError) for r in results[50:70])
        assert not isinstance(results[70], BaseException)
        await watch.wait_for("reconnected")
        assert session.transport.stats()["pending"] == 0
    await proxy.close()


async def test_ten_thousand_requests_in_flight_when_the_connection_dies(
    reclaimable: JanusServer,
) -> None:
    proxy = await proxied(reclaimable)
    async with JanusSession(base_url=proxy.url(), **FAST_RETRY) as session:
        await session.create()
        proxy.hold()
        pings = [asyncio.ensure_future(session.transport.ping()) for _ in range(10_000)]
        await asyncio.sleep(0.3)
        proxy.cut()
        proxy.release()
        results = await asyncio.wait_for(asyncio.gather(*pings, return_exceptions=True), 40)
        assert sum(1 for r in results if isinstance(r, dict) and r["janus"] == "pong") == 10_000
        assert session.transport.stats()["pending"] == 0
    await proxy.close()


async def test_outage_queue_is_bounded_and_drains_after_reconnect(reclaimable: JanusServer) -> None:
    proxy = await proxied(reclaimable)
    options = {**FAST_RETRY, "queue_size": 5}
    async with JanusSession(base_url=proxy.url(), **options) as session:
        await session.create()
        watch = Watch(session.transport)
        proxy.refuse = True
        proxy.cut()
        await watch.wait_for("reconnecting")
        queued = [asyncio.ensure_future(session.transport.ping()) for _ in range(5)]
        await asyncio.sleep(0.05)
        with pytest.raises(QueueFullError):
            await session.transport.ping()
        proxy.refuse = False
        pongs = await asyncio.wait_for(asyncio.gather(*queued), 10)
        assert all(p["janus"] == "pong" for p in pongs)
        assert session.created
    await proxy.close()


async def test_gives_up_after_max_retries(reclaimable: JanusServer) -> None:
    proxy = await proxied(reclaimable)
    session = JanusSession(base_url=proxy.url(), **{**FAST_RETRY, "max_retries": 2})
    lost: list[Any] = []
    session.on(EventType.LOST, lost.append)
    await session.create()
    watch = Watch(session.transport)
    proxy.refuse = True
    proxy.cut()
    given_up = await watch.wait_for("given_up")
    assert given_up.attempt == 2
    assert watch.kinds().count("reconnecting") == 2
    assert not session.transport.connected
    with pytest.raises(ConnectionClosedError):
        await session.transport.ping()
    for _ in range(50):
        if lost:
            break
        await asyncio.sleep(0.02)
    assert lost
    await session.transport.disconnect()
    await proxy.close()


async def test_one_byte_segments_and_delays(janus_server: JanusServer) -> None:
    for proxy_options in ({"chunk": 1}, {"delay": 0.02}):
        proxy = await proxied(janus_server, **proxy_options)
        async with JanusSession(base_url=proxy.url(), **FAST_RETRY) as session:
            plugin = EchoTest()
            await plugin.attach(session)
            replies = await asyncio.gather(*(plugin.request({"audio": True}) for _ in range(5)))
            assert all(r["plugindata"]["data"]["result"] == "ok" for r in replies)
            info = await session.transport.info()
            assert info["server-name"] == janus_server.server_name
        await proxy.close()


async def test_dead_peer_is_detected_by_ping_timeout(reclaimable: JanusServer) -> None:
    proxy = await proxied(reclaimable)
    options = {**FAST_RETRY, "ping_interval": 0.2, "ping_timeout": 0.4}
    async with JanusSession(base_url=proxy.url(), **options) as session:
        await session.create()
        watch = Watch(session.transport)
        proxy.freeze = True  # no FIN, no RST: just silence
        disconnected = await watch.wait_for("disconnected", timeout=5)
        assert "pong" in str(disconnected.error)
        proxy.freeze = False
        await watch.wait_for("reconnected")
        assert (await session.transport.ping())["janus"] == "pong"
    await proxy.close()


async def test_janus_killed_and_restarted_on_the_same_ports(janus_factory: Any) -> None:
    janus: JanusServer = janus_factory()
    async with JanusSession(
        base_url=janus.ws_url, reconnect_policy="recreate", **FAST_RETRY
    ) as session:
        watch = Watch(session.transport)
        plugin = EchoTest()
        await plugin.attach(session)
        load = [asyncio.ensure_future(plugin.request({"audio": True})) for _ in range(200)]
        pings = [asyncio.ensure_future(session.transport.ping()) for _ in range(200)]
        janus.kill(signal.SIGKILL)
        janus.restart()
        results = await asyncio.wait_for(asyncio.gather(*load, *pings, return_exceptions=True), 20)
        for result in results[:200]:  # done before the kill, or failed cleanly
            assert isinstance(result, dict | ConnectionClosedError), result
        assert all(isinstance(r, dict) for r in results[200:])  # pings are resent
        await watch.wait_for("reconnected")
        reply = await plugin.request({"audio": True})
        assert reply["plugindata"]["data"]["result"] == "ok"
        assert session.transport.stats()["pending"] == 0


async def _sessions_on(transport: JanusTransport, count: int) -> list[JanusSession]:
    sessions = [JanusSession(transport=transport, keepalive_interval=60) for _ in range(count)]
    await asyncio.gather(*(session.create() for session in sessions))
    return sessions


async def test_many_sessions_are_claimed_together_not_one_by_one(reclaimable: JanusServer) -> None:
    # 10 ms each way per proxy read: one round trip costs >= 20 ms, so 200 claims one after the
    # other would take >= 4 s; together they take a few round trips.
    proxy = await proxied(reclaimable, delay=0.01)
    config = {**FAST_RETRY, "ping_interval": None}
    transport = JanusTransport.create_transport(proxy.url(), config=config)
    await transport.connect()
    try:
        sessions = await _sessions_on(transport, 200)
        ids = [session.id for session in sessions]
        watch = Watch(transport)
        loop = asyncio.get_running_loop()
        started = loop.time()
        proxy.cut()
        await watch.wait_for("reconnected")
        elapsed = loop.time() - started
        assert [session.id for session in sessions] == ids
        assert all(session.created for session in sessions)
        assert elapsed < 2.0, f"200 sessions back in {elapsed:.2f} s"
        listed = reclaimable.admin_request({"janus": "list_sessions"})["sessions"]
        assert set(ids) <= set(listed)
        await asyncio.gather(*(session.keepalive() for session in sessions[:20]))
        await asyncio.gather(*(session.destroy() for session in sessions))
    finally:
        await transport.disconnect()
        await proxy.close()


async def test_many_sessions_and_handles_are_recreated_together(janus_server: JanusServer) -> None:
    proxy = await proxied(janus_server, delay=0.01)  # reclaim_session_timeout = 0
    config = {**FAST_RETRY, "ping_interval": None, "reconnect_policy": "recreate"}
    transport = JanusTransport.create_transport(proxy.url(), config=config)
    await transport.connect()
    try:
        sessions = await _sessions_on(transport, 50)
        plugins = [EchoTest() for _ in range(100)]
        await asyncio.gather(*(p.attach(sessions[i % 50]) for i, p in enumerate(plugins)))
        old_handles = [plugin.id for plugin in plugins]
        watch = Watch(transport)
        loop = asyncio.get_running_loop()
        started = loop.time()
        proxy.cut()
        await watch.wait_for("reconnected")
        elapsed = loop.time() - started
        # One after the other: 50 creates and 100 attaches, >= 3 s.
        assert elapsed < 2.0, f"50 sessions and 100 handles back in {elapsed:.2f} s"
        assert all(session.created for session in sessions)
        assert all(plugin.id is not None and plugin.id not in old_handles for plugin in plugins)
        for session in sessions:
            assert sorted(session.plugin_handles) == sorted(
                p.id for p in plugins if p.session is session and p.id is not None
            )
        replies = await asyncio.gather(*(plugin.request({"audio": True}) for plugin in plugins))
        assert all(r["plugindata"]["data"]["result"] == "ok" for r in replies)
        assert [r["sender"] for r in replies] == [plugin.id for plugin in plugins]
        await asyncio.gather(*(session.destroy() for session in sessions))
    finally:
        await transport.disconnect()
        await proxy.close()
