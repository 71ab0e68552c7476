"""``JanusTransport.stats()`` and ``request()``, the public seams, on the real Janus (ws, http)."""

from __future__ import annotations

import pytest

from janus_fast import Expect, JanusPlugin, JanusSession, JanusTransport
from janus_fast.errors import RequestTimeoutError, SessionNotFoundError

CORE_KEYS = {
    "pending",
    "completed",
    "expired",
    "cancelled",
    "ended_with_route",
    "stray_acks",
    "unknown_transactions",
    "sessions",
    "handles",
    "routed_to_handle",
    "routed_to_session",
    "unroutable",
    "malformed",
    "unrouted",
    "open_connections",
}
KIND_KEYS = {
    "ws": {
        "receive_watermark",
        "receive_watermark_raised",
        "receive_guard_trips",
        "coalescing",
        "frames_resent",
    },
    "http": {"long_polls", "empty_polls"},
}


class EchoTest(JanusPlugin):
    name = "janus.plugin.echotest"


async def test_stats_follow_requests_sessions_and_connections(
    janus_url: str, transport_kind: str
) -> None:
    transport = JanusTransport.create_transport(janus_url)
    before = transport.stats()
    assert set(before) == CORE_KEYS | KIND_KEYS[transport_kind]
    assert (before["open_connections"], before["pending"], before["completed"]) == (0, 0, 0)
    session = JanusSession(transport=transport)
    async with session:
        await transport.ping()
        plugin = EchoTest()
        await plugin.attach(session)
        stats = transport.stats()
        assert (stats["sessions"], stats["handles"], stats["pending"]) == (1, 1, 0)
        assert stats["completed"] >= 3  # ping, create, attach
        assert stats["open_connections"] >= 1
        if transport_kind == "http":
            assert stats["long_polls"] == 1
        with pytest.raises(RequestTimeoutError):  # a pong never completes a SUCCESS request
            await transport.request({"janus": "ping"}, Expect.SUCCESS, timeout=0.2)
        timed_out = transport.stats()
        assert timed_out["expired"] == stats["expired"] + 1
        assert timed_out["unrouted"] == stats["unrouted"] + 1  # the pong nobody waited for
        await plugin.destroy()
        assert transport.stats()["handles"] == 0
    assert transport.stats()["sessions"] == 0
    await transport.disconnect()
    after = transport.stats()
    assert (after["sessions"], after["pending"], after["open_connections"]) == (0, 0, 0)
    assert after["completed"] > stats["completed"]
    assert transport.stats() is not transport.stats()  # a new dict each call


async def test_request_is_the_public_raw_request(janus_url: str) -> None:
    transport = JanusTransport.create_transport(janus_url)
    await transport.connect()
    try:
        body = {"janus": "info", "transaction": "mine", "apisecret": "not-sent"}
        reply = await transport.request(body, Expect.SERVER_INFO)
        assert reply.janus == "server_info" and reply.json()["name"] == "Janus WebRTC Server"
        assert reply.transaction != "mine"  # the library's transaction, not the caller's
        assert body == {"janus": "info", "transaction": "mine", "apisecret": "not-sent"}
        with pytest.raises(ValueError, match='"janus" key'):
            await transport.request({"info": True}, Expect.SERVER_INFO)
        with pytest.raises(SessionNotFoundError):
            await transport.request({"janus": "keepalive"}, Expect.ACK, session_id=1)
        assert transport.stats()["pending"] == 0
    finally:
        await transport.disconnect()
