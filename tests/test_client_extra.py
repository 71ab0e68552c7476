"""Core requests beyond janus-client (claim, hangup, trickle, loop_index) and transport knobs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from _fake_janus import FakeJanus
from janus_fast import (
    AuthError,
    EventType,
    JanusAdminMonitorClient,
    JanusPlugin,
    JanusSession,
    JanusTransport,
    SessionLostError,
    TransportError,
)
from janus_fast.testing import JanusServer


class EchoTest(JanusPlugin):
    name = "janus.plugin.echotest"


async def test_claim_moves_a_session_to_another_connection(janus_factory: Any) -> None:
    janus: JanusServer = janus_factory(reclaim_session_timeout=5)
    first = JanusSession(base_url=janus.ws_url)
    await first.create()
    plugin = EchoTest()
    await plugin.attach(first)
    other = JanusTransport.create_transport(janus.ws_url)
    await other.connect()
    # The same session object moves to the other transport and claims the session there.
    await first.transport.disconnect()
    first.transport = other
    other.register_session(first.id, first)  # type: ignore[arg-type]
    await first.claim()
    other.register_handle(first.id, plugin.id, plugin)  # type: ignore[arg-type]
    reply = await plugin.request({"audio": True})
    assert reply["plugindata"]["data"]["result"] == "ok"
    await first.destroy()
    await other.disconnect()


async def test_hangup_trickle_and_loop_index(janus_factory: Any, transport_kind: str) -> None:
    janus: JanusServer = janus_factory(event_loops=2)
    url = janus.ws_url if transport_kind == "ws" else janus.http_url
    async with JanusSession(base_url=url) as session:
        plugin = EchoTest()
        await plugin.attach(session, loop_index=1, opaque_id="extra-test")
        info = janus.admin_request(
            {"janus": "handle_info", "session_id": session.id, "handle_id": plugin.id}
        )["info"]
        assert info["opaque_id"] == "extra-test"
        assert info["loop-running"] is True
        # Trickle: a single candidate, an array, and end-of-candidates all end in an ack.
        await plugin.trickle(0, "candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host", sdpMid="0")
        await plugin.trickle(
            candidates=[
                {"sdpMLineIndex": 0, "candidate": "candidate:2 1 udp 1 192.0.2.1 5001 typ host"}
            ]
        )
        await plugin.trickle(completed=True)
        await plugin.hangup()
        assert session.transport.stats()["pending"] == 0


async def test_http_long_poll_404_reports_the_session_lost(janus_server: JanusServer) -> None:
    # Seen on Janus 1.1.2: a poll already waiting when its session is destroyed only returns
    # (a keepalive) after 30 s; the 404 comes on the next GET. So poll a session Janus does not
    # know: the first GET gets the 404 at once.
    session = JanusSession(base_url=janus_server.http_url)
    lost: list[Any] = []
    session.on(EventType.LOST, lost.append)
    async with session:
        transport = session.transport
        session.rebind(424242)  # an id Janus never gave
        session.created = True
        transport.register_session(424242, session)
        await transport.dispatch_session_created(424242)
        for _ in range(100):
            if lost:
                break
            await asyncio.sleep(0.05)
        assert lost, "the lost session was not reported"
        assert "404" in lost[0].reason
        assert not session.created
        with pytest.raises(SessionLostError):
            await session.send({"janus": "keepalive"})


async def test_http_long_poll_403_is_an_auth_error(janus_factory: Any) -> None:
    janus: JanusServer = janus_factory(token_auth=True, stored_tokens=("poll-token",))
    session = JanusSession(base_url=janus.http_url, token="poll-token")
    lost: list[Any] = []
    session.on(EventType.LOST, lost.append)
    async with session:
        await session.create()
        echo = EchoTest()
        await echo.attach(session)
        assert session.id is not None and echo.id is not None
        janus.admin_request({"janus": "remove_token", "token": "poll-token"})
        # An event for the session ends a poll already waiting (else Janus holds it up to 30 s
        # before its idle keepalive): the poll after it is the one refused with 403.
        async with JanusAdminMonitorClient(janus.admin_http_url, janus.admin_secret) as admin:
            await admin.detach_handle(session.id, echo.id)
        for _ in range(700):  # bounded even if the detached event were lost (30 s keepalive)
            if lost:
                break
            await asyncio.sleep(0.05)
        assert lost, "the auth failure was not reported"
        assert "403" in lost[0].reason
        assert isinstance(session.lost_error, AuthError)


async def test_connect_timeout_and_refused_connections_are_transport_errors() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def never_answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    transport = JanusTransport.create_transport(
        f"ws://127.0.0.1:{port}", config={"connect_timeout": 0.3, "max_retries": 0}
    )
    with pytest.raises(TransportError, match="timed out"):
        await transport.connect()
    for writer in accepted:
        writer.close()
    silent.close()
    await silent.wait_closed()
    transport = JanusTransport.create_transport(f"ws://127.0.0.1:{port}", config={"max_retries": 0})
    with pytest.raises(TransportError, match=r"\[Errno 111\]") as refused:  # the socket's text
        await transport.connect()
    assert isinstance(refused.value, ConnectionRefusedError)  # and class, as in janus-client


async def test_extra_headers_are_sent_with_the_upgrade() -> None:
    fake = FakeJanus()
    seen: list[bytes] = []
    original = fake.accept

    async def spy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        seen.append(request)
        reader.feed_data(request)  # let the fake handshake read it again
        await original(reader, writer)

    fake.accept = spy  # type: ignore[method-assign]
    await fake.start()
    transport = JanusTransport.create_transport(
        fake.url, config={"headers": {"X-Tenant": "blue"}, "max_retries": 0}
    )
    await transport.connect()
    assert b"X-Tenant: blue\r\n" in seen[0]
    assert b"Sec-WebSocket-Protocol: janus-protocol\r\n" in seen[0]
    await transport.disconnect()
    await fake.close()


async def test_a_websocket_subclass_that_overrides_submit_sends_through_it(
    janus_server: JanusServer,
) -> None:
    from janus_fast.transports.websocket import JanusTransportWebsocket

    class Counting(JanusTransportWebsocket):
        """Wraps the send step, as a subclass adding its own bookkeeping would."""

        submitted = 0

        def _submit(self, *args: Any) -> str:
            self.submitted += 1
            return super()._submit(*args)

    transport = Counting(janus_server.ws_url)
    await transport.connect()
    try:
        assert (await transport.ping())["janus"] == "pong"
        async with JanusSession(transport=transport) as session:
            await session.create()
        assert transport.submitted >= 3  # ping, create, destroy: each through the override
    finally:
        await transport.disconnect()
    plain = JanusTransportWebsocket(janus_server.ws_url)
    await plain.connect()
    try:
        assert (await plain.ping())["janus"] == "pong"  # the core's own submit
    finally:
        await plain.disconnect()
