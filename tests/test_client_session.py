"""Sessions, handles and requests against the real Janus, over ws and http, on both loops."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from janus_fast import (
    Expect,
    HandleNotFoundError,
    JanusPlugin,
    JanusSession,
    JanusTransport,
    PluginAttachFail,
    PluginError,
    PluginNotFoundError,
    RequestTimeoutError,
    SessionNotFoundError,
)
from janus_fast.testing import JanusServer


class EchoTest(JanusPlugin):
    name = "janus.plugin.echotest"

    def __init__(self) -> None:
        super().__init__()
        self.received: list[dict[str, Any]] = []

    async def on_receive(self, response: dict[str, Any]) -> None:
        self.received.append(response)


class VideoRoom(JanusPlugin):
    name = "janus.plugin.videoroom"


def admin_session_ids(janus: JanusServer) -> list[int]:
    return list(janus.admin_request({"janus": "list_sessions"})["sessions"])


async def test_session_lifecycle(janus_server: JanusServer, janus_url: str) -> None:
    session = JanusSession(base_url=janus_url)
    async with session:
        assert not session.created  # lazy: nothing created by entering
        pong = await session.transport.ping()
        assert pong["janus"] == "pong"
        info = await session.transport.info()
        assert info["server-name"] == janus_server.server_name
        await session.create()
        assert session.created and isinstance(session.id, int)
        assert session.id in admin_session_ids(janus_server)
        await session.keepalive()
        session_id = session.id
    assert not session.created
    assert session_id not in admin_session_ids(janus_server)
    assert not session.transport.connected
    assert session.transport.stats()["pending"] == 0


async def test_attach_and_detach_echotest(janus_server: JanusServer, janus_url: str) -> None:
    async with JanusSession(base_url=janus_url) as session:
        plugin = EchoTest()
        await plugin.attach(session, opaque_id="janus-fast-test")
        assert isinstance(plugin.id, int)
        assert session.plugin_handles[plugin.id] is plugin
        handles = janus_server.admin_request({"janus": "list_handles", "session_id": session.id})[
            "handles"
        ]
        assert plugin.id in handles
        handle_id = plugin.id
        await plugin.destroy()
        assert plugin.id is None and handle_id not in session.plugin_handles
        handles = janus_server.admin_request({"janus": "list_handles", "session_id": session.id})[
            "handles"
        ]
        assert handle_id not in handles
        await plugin.attach(session)  # a destroyed plugin object can attach again
        assert plugin.id is not None and plugin.id != handle_id


async def test_synchronous_videoroom_requests(janus_url: str) -> None:
    async with JanusSession(base_url=janus_url) as session:
        room = VideoRoom()
        await room.attach(session)
        listed = await room.request({"request": "list"})
        assert listed["janus"] == "success"
        rooms = listed["plugindata"]["data"]["list"]
        assert any(r["room"] == 1234 for r in rooms)
        exists = await room.request({"request": "exists", "room": 1234})
        assert exists["plugindata"]["data"]["exists"] is True
        created = await room.request({"request": "create", "description": "janus_fast test"})
        room_id = created["plugindata"]["data"]["room"]
        assert (await room.request({"request": "exists", "room": room_id}))["plugindata"]["data"][
            "exists"
        ]
        await room.request({"request": "destroy", "room": room_id})
        gone = await room.request({"request": "exists", "room": room_id})
        assert gone["plugindata"]["data"]["exists"] is False
        with pytest.raises(PluginError) as caught:
            await room.request({"request": "destroy", "room": room_id})
        assert caught.value.error_code == 426  # JANUS_VIDEOROOM_ERROR_NO_SUCH_ROOM
        assert caught.value.plugin == "janus.plugin.videoroom"
        assert session.transport.stats()["pending"] == 0


async def test_asynchronous_requests_complete_on_ack_and_event(janus_url: str) -> None:
    async with JanusSession(base_url=janus_url) as session:
        room = VideoRoom()
        await room.attach(session)
        joined = await room.request(
            {"request": "join", "ptype": "publisher", "room": 1234, "display": "fast"}
        )
        assert joined["janus"] == "event"
        data = joined["plugindata"]["data"]
        assert data["videoroom"] == "joined" and data["room"] == 1234
        left = await room.request({"request": "leave"})
        assert left["plugindata"]["data"].get("leaving") == "ok"
        echo = EchoTest()
        await echo.attach(session)
        reply = await echo.request({"audio": True})
        assert reply["janus"] == "event"
        assert reply["plugindata"]["data"]["result"] == "ok"
        assert session.transport.stats()["pending"] == 0


async def test_janus_client_style_message_transaction(janus_url: str) -> None:
    async with JanusSession(base_url=janus_url) as session:
        echo = EchoTest()
        await echo.attach(session)
        transaction = await echo.send({"janus": "message", "body": {"audio": True}})
        event = await transaction.get({"janus": "event", "plugindata": {"data": {"result": "ok"}}})
        assert event["plugindata"]["plugin"] == "janus.plugin.echotest"
        ack = await transaction.get({"janus": "ack"}, timeout=5)  # kept messages can be re-read
        assert ack["transaction"] == transaction.id
        await transaction.done()
        assert session.transport.stats()["pending"] == 0


async def test_error_replies_are_typed(janus_url: str) -> None:
    async with JanusSession(base_url=janus_url) as session:
        with pytest.raises(PluginAttachFail) as caught:
            plugin = JanusPlugin()
            plugin.name = "janus.plugin.does-not-exist"  # type: ignore[misc]
            await plugin.attach(session)
        assert isinstance(caught.value, PluginNotFoundError)
        assert caught.value.code == 460
        transport = session.transport
        with pytest.raises(SessionNotFoundError) as lost:
            await transport.request({"janus": "keepalive"}, Expect.ACK, 123456789)
        assert lost.value.code == 458
        with pytest.raises(HandleNotFoundError):
            await transport.request(
                {"janus": "message", "body": {}}, Expect.PLUGIN_MESSAGE, session.id, 987654321
            )
        assert transport.stats()["pending"] == 0


async def test_deadline_raises_and_leaves_nothing_behind(janus_url: str) -> None:
    async with JanusSession(base_url=janus_url, timeout=0.3) as session:
        await session.create()
        # A keepalive completes with an ack; waiting for a pong instead never completes.
        with pytest.raises(RequestTimeoutError):
            await session.request({"janus": "keepalive"}, Expect.PONG)
        assert session.transport.stats()["pending"] == 0
        # Cancelling the awaiting task removes the transaction too.
        task = asyncio.ensure_future(
            session.request({"janus": "keepalive"}, Expect.PONG, timeout=5)
        )
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert session.transport.stats()["pending"] == 0


async def test_many_sessions_share_one_connection(
    janus_server: JanusServer, janus_url: str
) -> None:
    transport = JanusTransport.create_transport(janus_url)
    await transport.connect()
    sessions = [JanusSession(transport=transport) for _ in range(100)]
    await asyncio.gather(*(s.create() for s in sessions))
    ids = {s.id for s in sessions}
    assert len(ids) == 100
    assert ids <= set(admin_session_ids(janus_server))
    pongs = await asyncio.gather(*(s.transport.ping() for s in sessions[:10]))
    assert all(p["janus"] == "pong" for p in pongs)
    await asyncio.gather(*(s.destroy() for s in sessions))
    assert transport.connected  # a shared transport stays up
    assert not ids & set(admin_session_ids(janus_server))
    await transport.disconnect()


async def test_a_thousand_handles_on_one_session(janus_server: JanusServer, janus_url: str) -> None:
    async with JanusSession(base_url=janus_url) as session:
        plugins = [EchoTest() for _ in range(1000)]
        await asyncio.gather(*(p.attach(session) for p in plugins))
        assert len(session.plugin_handles) == 1000
        handles = janus_server.admin_request({"janus": "list_handles", "session_id": session.id})
        assert len(handles["handles"]) == 1000
        # Events reach the right handle: every 100th handle runs an echotest request.
        chosen = plugins[::100]
        replies = await asyncio.gather(*(p.request({"audio": True}) for p in chosen))
        assert all(r["sender"] == p.id for r, p in zip(replies, chosen, strict=True))
        await asyncio.gather(*(p.destroy() for p in plugins))
        assert not session.plugin_handles
        assert session.transport.stats()["pending"] == 0
