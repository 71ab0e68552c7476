"""TextRoom plugin against the real Janus: room management, participation over the Janus API
(no DataChannel needed), typed errors, and DataChannel messages of any shape as typed events."""

from __future__ import annotations

import secrets
import sys
from typing import Any

import orjson
import pytest

from janus_fast import JanusSession, PluginError
from janus_fast.plugins import JanusTextRoomPlugin, TextRoomError, TextRoomEventType
from janus_fast.testing import DEMO_ROOM_SECRET


def new_room() -> int:
    return 100_000 + secrets.randbelow(10**9)


async def attached(session: JanusSession) -> JanusTextRoomPlugin:
    plugin = JanusTextRoomPlugin()
    await plugin.attach(session)
    return plugin


async def test_room_management(janus_url: str) -> None:
    room = new_room()
    async with JanusSession(base_url=janus_url) as session:
        plugin = await attached(session)
        created = await plugin.create_room(
            room, description="jf", secret="s", is_private=False, history=5
        )
        assert created == room
        assert await plugin.exists(room)
        assert not await plugin.exists(new_room())
        assert room in [r["room"] for r in await plugin.list_rooms()]
        assert (await plugin.edit_room(room, "s", new_description="edited"))["textroom"] == "edited"
        listed = {r["room"]: r for r in await plugin.list_rooms()}
        assert listed[room]["description"] == "edited"
        await plugin.allowed(room, "enable", secret="s")
        assert (await plugin.allowed(room, "add", ["tok"], secret="s"))["allowed"] == ["tok"]
        await plugin.allowed(room, "disable", secret="s")
        assert await plugin.list_participants(room) == []
        with pytest.raises(TextRoomError) as caught:
            await plugin.destroy_room(room, secret="wrong")
        assert caught.value.error_code == 419  # unauthorized
        await plugin.destroy_room(room, secret="s")
        assert not await plugin.exists(room)
        with pytest.raises(TextRoomError) as caught:
            await plugin.destroy_room(room, secret="s")
        assert caught.value.error_code == 417
        assert "No such room" in caught.value.error_message
        assert isinstance(caught.value, PluginError)
        with pytest.raises(TextRoomError) as caught:
            await plugin.list_participants(room)
        assert caught.value.error_code == 417
        assert await plugin.exists(1234)  # the demo room
        # janus-client's public helpers.
        reply = await plugin.send_wrapper({"request": "exists", "room": 1234}, {"exists": True})
        assert reply["plugindata"]["data"]["exists"] is True
        with pytest.raises(TextRoomError):
            plugin.check_error_in_response({"janus": "error", "error": {"code": 458}})
        with pytest.raises(TextRoomError):  # no error_code: a KeyError in janus-client
            plugin.check_error_in_response({"plugindata": {"data": {"textroom": "error"}}})
        plugin.check_error_in_response({"janus": "success", "plugindata": {"data": {}}})


async def test_participation_over_the_janus_api(janus_url: str) -> None:
    room = new_room()
    async with JanusSession(base_url=janus_url) as session:
        alice, bob = await attached(session), await attached(session)
        await alice.create_room(room, secret="s", is_private=False)
        assert await alice.join_room(room, "alice", display="Alice") == []
        others = await bob.join_room(room, "bob")
        assert others == [{"username": "alice", "display": "Alice"}]
        names = {p["username"] for p in await alice.list_participants(room)}
        assert names == {"alice", "bob"}
        await alice.send_message(room, "hello")
        await alice.send_message(room, "psst", to="bob", ack=False)  # API: always acknowledged
        await alice.send_announcement(room, "notice", "s")
        with pytest.raises(TextRoomError):
            await alice.send_announcement(room, "notice", "wrong")
        with pytest.raises(TextRoomError) as caught:  # username taken
            await (await attached(session)).join_room(room, "alice")
        assert caught.value.error_code != 0
        await alice.kick_participant(room, "bob", "s")
        assert [p["username"] for p in await alice.list_participants(room)] == ["alice"]
        await alice.leave_room(room)
        assert await alice.list_participants(room) == []
        with pytest.raises(TextRoomError) as caught:
            await alice.join_room(new_room(), "alice")
        assert caught.value.error_code == 417
        with pytest.raises(TextRoomError) as caught:
            await alice.restart()  # no PeerConnection was set up
        assert caught.value.error_code == 416
        await alice.destroy_room(room, secret="s")
        with pytest.raises(TextRoomError):
            await alice.edit_room(1234, "wrong", new_description="x")
        await alice.edit_room(1234, DEMO_ROOM_SECRET)  # no-op edit of the demo room


async def test_datachannel_messages_become_typed_events() -> None:
    plugin = JanusTextRoomPlugin()
    seen: dict[TextRoomEventType, list[dict[str, Any]]] = {}
    for event_type in TextRoomEventType:
        plugin.on_event(event_type, lambda data, t=event_type: seen.setdefault(t, []).append(data))
    for raw in (
        {"textroom": "message", "room": 1, "from": "a", "text": "hi"},
        {"textroom": "join", "room": 1, "username": "b"},
        {"textroom": "leave", "room": 1, "username": "b"},
        {"textroom": "kicked", "room": 1, "username": "b"},
        {"textroom": "announcement", "room": 1, "text": "x"},
        {"textroom": "destroyed", "room": 1},
        {"textroom": "error", "error_code": 417, "error": "No such room"},
        {"textroom": "success"},  # an unsolicited success is ignored
        {"textroom": "surprise"},
        {"no": "textroom key"},  # a KeyError in janus-client
        [1, 2],
    ):
        await plugin.receive_datachannel_message(orjson.dumps(raw))
    await plugin.receive_datachannel_message(b"not json")
    assert {t.name: len(v) for t, v in seen.items()} == {
        "MESSAGE": 1,
        "JOIN": 1,
        "LEAVE": 1,
        "KICKED": 1,
        "ANNOUNCEMENT": 1,
        "DESTROYED": 1,
        "ERROR": 1,
        "OTHER": 3,
    }
    with pytest.raises(TextRoomError) as caught:  # no DataChannel without setup()
        await plugin.datachannel_request({"textroom": "leave", "room": 1})
    assert "DataChannel" in caught.value.error_message


async def test_setup_needs_the_media_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aiortc", None)
    with pytest.raises(ImportError, match=r"janus-fast\[media\]"):
        await JanusTextRoomPlugin().setup()
