"""String room and participant ids (``string_ids = true``) against a real Janus in that mode, and
the normal mode's ints staying ints: ids go to Janus and come back exactly as given, never cast."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from _fake_sdp import answer, offer
from janus_fast import JanusSession
from janus_fast.plugins import (
    JanusTextRoomPlugin,
    JanusVideoRoomPlugin,
    ParticipantType,
    TextRoomError,
    VideoRoomError,
)
from janus_fast.testing import JanusServer
from janus_fast.testing.pytest_plugin import JanusFactory

REMOTE_STREAMS = [
    {"type": "audio", "mid": "0", "mindex": 0, "codec": "opus"},
    {"type": "video", "mid": "1", "mindex": 1, "codec": "vp8"},
]


def name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


async def until_listed(plugin: JanusVideoRoomPlugin, room: str | int, feed: str | int) -> None:
    for _ in range(100):  # Janus registers a remote publisher just after replying
        if feed in [p["id"] for p in await plugin.list_participants(room)]:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{feed!r} never listed in {room!r}")


@pytest.fixture
def string_janus(janus_factory: JanusFactory) -> JanusServer:
    return janus_factory(string_ids=True)


async def test_videoroom_with_string_ids(string_janus: JanusServer) -> None:
    room = name("room")
    async with JanusSession(base_url=string_janus.ws_url) as session:
        alice = JanusVideoRoomPlugin()
        bob = JanusVideoRoomPlugin()
        subscriber = JanusVideoRoomPlugin()
        for plugin in (alice, bob, subscriber):
            await plugin.attach(session)

        # Room administration, without joining.
        assert await alice.create_room(room, secret="s", publishers=4) == room
        generated = await alice.create_room()
        assert isinstance(generated, str) and generated  # Janus picks a string id too
        await alice.destroy_room(generated)
        assert await alice.exists(room)
        assert room in [r["room"] for r in await alice.list_rooms()]
        assert "1234" in [r["room"] for r in await alice.list_rooms()]  # the demo room
        edited = await alice.edit_room(room, "s", new_description="edited")
        assert edited["room"] == room
        with pytest.raises(VideoRoomError) as caught:  # an int is refused, not cast
            await alice.exists(1234)
        assert caught.value.error_code == 430

        # Publishers with string ids.
        joined = await alice.join_as_publisher(room, publisher_id="alice", display="Alice")
        assert joined["id"] == "alice" and joined["room"] == room
        assert alice.publisher_id == "alice" and alice.room_id == room
        assert isinstance(alice.private_id, int)  # private ids stay numbers in this mode
        published = await alice.publish(jsep=offer())
        assert published["jsep"]["type"] == "answer"
        bob_joined = await bob.join_as_publisher(room, publisher_id="bob")
        assert bob.publisher_id == bob_joined["id"] == "bob"
        ids = {p["id"] for p in await alice.list_participants(room)}
        assert ids == {"alice", "bob"}
        await alice.moderate_participant(room, "alice", "0", True, "s")
        await alice.kick_participant(room, "bob", "s")
        assert {p["id"] for p in await alice.list_participants(room)} == {"alice"}

        forwarded = await alice.rtp_forward(
            room, "alice", "127.0.0.1", [{"mid": "0", "port": 45000}], "s"
        )
        assert forwarded["publisher_id"] == "alice"
        stream_id = forwarded["forwarders"][0]["stream_id"]
        await alice.stop_rtp_forward(room, "alice", stream_id, "s")

        # A subscriber to a string feed (a remote publisher is active at once).
        remote = await alice.add_remote_publisher(
            room, REMOTE_STREAMS, "127.0.0.1", publisher_id="remote-feed", secret="s"
        )
        assert remote["id"] == "remote-feed"
        await until_listed(alice, room, "remote-feed")
        data = await subscriber.join_as_subscriber(room, [{"feed": "remote-feed"}])
        assert subscriber.participant_type is ParticipantType.SUBSCRIBER
        assert subscriber.room_id == room
        assert [s["feed_id"] for s in data["streams"]] == ["remote-feed", "remote-feed"]
        assert (await subscriber.start(jsep=answer(data["jsep"])))["started"] == "ok"
        await subscriber.leave()
        await alice.remove_remote_publisher(room, "remote-feed", secret="s")

        await alice.leave()
        assert alice.room_id is None and alice.publisher_id is None
        await alice.destroy_room(room, secret="s")
        assert not await alice.exists(room)


async def test_textroom_with_string_ids(string_janus: JanusServer) -> None:
    room = name("chat")
    async with JanusSession(base_url=string_janus.ws_url) as session:
        alice, bob = JanusTextRoomPlugin(), JanusTextRoomPlugin()
        await alice.attach(session)
        await bob.attach(session)
        assert await alice.create_room(room, secret="s", is_private=False) == room
        generated = await alice.create_room()
        assert isinstance(generated, str) and generated
        await alice.destroy_room(generated)
        assert await alice.exists(room)
        assert room in [r["room"] for r in await alice.list_rooms()]
        with pytest.raises(TextRoomError) as caught:  # an int is refused, not cast
            await alice.exists(1234)
        assert caught.value.error_code != 0

        assert await alice.join_room(room, "alice", display="Alice") == []
        assert await bob.join_room(room, "bob") == [{"username": "alice", "display": "Alice"}]
        assert {p["username"] for p in await alice.list_participants(room)} == {"alice", "bob"}
        await alice.send_message(room, "hello")
        await alice.send_message(room, "psst", to="bob")
        await alice.send_announcement(room, "notice", "s")
        await alice.kick_participant(room, "bob", "s")
        await alice.leave_room(room)
        assert await alice.list_participants(room) == []
        await alice.destroy_room(room, secret="s")
        assert not await alice.exists(room)


async def test_ids_stay_ints_in_the_normal_mode(janus_url: str) -> None:
    async with JanusSession(base_url=janus_url) as session:
        videoroom, textroom = JanusVideoRoomPlugin(), JanusTextRoomPlugin()
        await videoroom.attach(session)
        await textroom.attach(session)

        room = await videoroom.create_room()  # Janus picks the id
        assert type(room) is int
        joined = await videoroom.join_as_publisher(room, display="P")
        assert type(joined["id"]) is int
        assert type(videoroom.publisher_id) is int and videoroom.room_id == room
        assert type(videoroom.private_id) is int
        with pytest.raises(VideoRoomError) as caught:  # a string is refused, not cast
            await videoroom.exists(str(room))
        assert caught.value.error_code == 430
        await videoroom.leave()
        await videoroom.destroy_room(room)

        text_room = await textroom.create_room()
        assert type(text_room) is int
        assert await textroom.exists(text_room)
        await textroom.destroy_room(text_room)
