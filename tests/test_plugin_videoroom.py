"""VideoRoom plugin against the real Janus: every request that works without media, typed errors,
typed events (janus-client's and the new ones), and the media methods' lazy aiortc import."""

from __future__ import annotations

import asyncio
import secrets
import sys
from typing import Any

import pytest

from _fake_sdp import answer, offer
from janus_fast import Expect, JanusError, JanusSession, PluginError
from janus_fast._compat import timeout as deadline
from janus_fast.plugins import (
    JanusVideoRoomPlugin,
    ParticipantType,
    VideoRoomError,
    VideoRoomEventType,
)
from janus_fast.plugins.videoroom import VideoRoomAdministration
from janus_fast.testing import DEMO_ROOM_SECRET


class Events:
    """Collects ``on_event`` data per type; ``wait`` for one to arrive."""

    def __init__(self, plugin: JanusVideoRoomPlugin, *types: VideoRoomEventType) -> None:
        self.seen: dict[VideoRoomEventType, list[dict[str, Any]]] = {t: [] for t in types}
        self._arrived = asyncio.Event()
        for event_type in types:
            plugin.on_event(event_type, self._collector(event_type))

    def _collector(self, event_type: VideoRoomEventType) -> Any:
        async def collect(data: dict[str, Any]) -> None:  # async handlers are supported
            self.seen[event_type].append(data)
            self._arrived.set()

        return collect

    async def wait(self, event_type: VideoRoomEventType, timeout: float = 5) -> dict[str, Any]:
        async with deadline(timeout):
            while not self.seen[event_type]:
                self._arrived.clear()
                await self._arrived.wait()
        return self.seen[event_type][-1]


def new_room() -> int:
    return 100_000 + secrets.randbelow(10**9)


async def attached(session: JanusSession) -> JanusVideoRoomPlugin:
    plugin = JanusVideoRoomPlugin()
    await plugin.attach(session)
    return plugin


async def test_room_management(janus_url: str) -> None:
    room = new_room()
    async with JanusSession(base_url=janus_url) as session:
        plugin = await attached(session)
        assert await plugin.create_room(room, description="jf", secret="s", publishers=4) == room
        assert await plugin.exists(room)
        assert room in [r["room"] for r in await plugin.list_rooms()]
        edited = await plugin.edit_room(room, "s", new_description="edited", new_publishers=5)
        assert edited["videoroom"] == "edited"
        listed = {r["room"]: r for r in await plugin.list_rooms()}
        assert listed[room]["description"] == "edited"
        assert listed[room]["max_publishers"] == 5
        assert (await plugin.allowed(room, "enable", secret="s"))["allowed"] == []
        assert (await plugin.allowed(room, "add", ["tok"], secret="s"))["allowed"] == ["tok"]
        assert (await plugin.allowed(room, "remove", ["tok"], secret="s"))["allowed"] == []
        await plugin.allowed(room, "disable", secret="s")
        assert (await plugin.enable_recording(room, False, secret="s"))["record"] is False
        assert await plugin.list_forwarders(room, secret="s") == []
        assert await plugin.list_participants(room) == []
        await plugin.destroy_room(room, secret="s")
        assert not await plugin.exists(room)
        with pytest.raises(VideoRoomError) as caught:
            await plugin.destroy_room(room, secret="s")
        assert caught.value.error_code == 426
        assert "No such room" in caught.value.error_message
        assert isinstance(caught.value, PluginError)  # janus_fast's catch style works too
        assert str(caught.value).startswith("VideoRoom error 426")
        await plugin.destroy()
        assert plugin.id is None and plugin.room_id is None
        await plugin.attach(session)  # re-attach after destroy (janus-client could not)
        assert await plugin.exists(1234)


async def test_demo_room_and_authorisation_errors(janus_url: str) -> None:
    async with JanusSession(base_url=janus_url) as session:
        plugin = await attached(session)
        assert await plugin.exists(1234)
        assert isinstance(await plugin.list_participants(1234), list)
        with pytest.raises(VideoRoomError) as caught:
            await plugin.destroy_room(1234, secret="not-the-secret")
        assert caught.value.error_code == 433  # unauthorized
        with pytest.raises(VideoRoomError):
            await plugin.edit_room(1234, "not-the-secret", new_description="x")
        assert await plugin.exists(1234)
        # The right secret is accepted (a no-op edit keeps the demo room intact).
        await plugin.edit_room(1234, DEMO_ROOM_SECRET)


async def test_publisher_lifecycle_and_participant_events(janus_url: str) -> None:
    room = new_room()
    async with JanusSession(base_url=janus_url) as session:
        alice, bob, carol = [await attached(session) for _ in range(3)]
        await alice.create_room(room, secret="s", notify_joining=True)
        alice_events = Events(
            alice,
            VideoRoomEventType.JOINED,
            VideoRoomEventType.JOINING,
            VideoRoomEventType.DISPLAY,
            VideoRoomEventType.KICKED,
            VideoRoomEventType.DESTROYED,
        )
        bob_events = Events(bob, VideoRoomEventType.LEAVING, VideoRoomEventType.CONFIGURED)
        joined = await alice.join_as_publisher(room, display="Alice")
        assert (await alice_events.wait(VideoRoomEventType.JOINED))["id"] == joined["id"]
        assert alice.participant_type is ParticipantType.PUBLISHER
        assert alice.room_id == room
        assert alice.publisher_id == joined["id"]
        assert isinstance(alice.private_id, int)
        assert alice.display_name == "Alice"
        assert not alice.is_publishing

        bob_joined = await bob.join_and_configure(room, display="Bob", bitrate=64000)
        assert bob.publisher_id == bob_joined["id"]
        joining = await alice_events.wait(VideoRoomEventType.JOINING)
        assert joining["joining"]["id"] == bob.publisher_id

        await bob.configure(display="Bobby")
        assert bob.display_name == "Bobby"
        assert (await bob_events.wait(VideoRoomEventType.CONFIGURED))["configured"] == "ok"
        assert (await alice_events.wait(VideoRoomEventType.DISPLAY))["display"] == "Bobby"
        names = {p["display"] for p in await alice.list_participants(room)}
        assert names == {"Alice", "Bobby"}

        assert bob.publisher_id is not None
        await alice.kick_participant(room, bob.publisher_id, "s")
        assert (await alice_events.wait(VideoRoomEventType.KICKED))["kicked"] == bob.publisher_id
        assert (await bob_events.wait(VideoRoomEventType.LEAVING))["reason"] == "kicked"

        await carol.join_as_publisher(room, display="Carol")
        await carol.leave()
        assert carol.room_id is None and carol.participant_type is None

        await alice.destroy_room(room, secret="s")
        assert (await alice_events.wait(VideoRoomEventType.DESTROYED))["room"] == room


async def test_subscriber_join_errors_are_typed(janus_url: str) -> None:
    async with JanusSession(base_url=janus_url) as session:
        subscriber = await attached(session)
        with pytest.raises(VideoRoomError) as caught:  # the demo room has no such publisher
            await subscriber.join_as_subscriber(1234, [{"feed": 123456789}])
        assert caught.value.error_code == 428
        with pytest.raises(VideoRoomError) as caught:
            await subscriber.join_as_subscriber(new_room(), [{"feed": 1}])
        assert caught.value.error_code == 426
        assert subscriber.participant_type is None
        with pytest.raises(VideoRoomError) as caught:  # not joined yet
            await subscriber.update(subscribe=[{"feed": 1}])
        assert caught.value.error_code == 424
        publisher = await attached(session)
        await publisher.join_as_publisher(1234, display="jf-test")
        with pytest.raises(VideoRoomError) as caught:  # a publisher handle cannot subscribe
            await publisher.join_as_subscriber(1234, [{"feed": 1}])
        assert caught.value.error_code == -1
        with pytest.raises(VideoRoomError) as caught:
            await publisher.unpublish()
        assert caught.value.error_code == 435  # not published
        await publisher.leave()


async def test_publish_forward_and_subscribe_signalling(janus_url: str) -> None:
    """Publishing and subscribing with hand-written SDPs: all the signalling, no media."""
    room = new_room()
    async with JanusSession(base_url=janus_url) as session:
        publisher, subscriber = await attached(session), await attached(session)
        await publisher.create_room(room, secret="s")
        await publisher.join_as_publisher(room, display="P")
        published = await publisher.publish(jsep=offer(), bitrate=128000)
        assert published["configured"] == "ok"
        assert published["jsep"]["type"] == "answer"
        assert publisher.is_publishing
        assert publisher.publisher_id is not None
        await publisher.configure(bitrate=64000, keyframe=True)
        await publisher.moderate_participant(room, publisher.publisher_id, "0", True, "s")

        forwarded = await publisher.rtp_forward(
            room, publisher.publisher_id, "127.0.0.1", [{"mid": "0", "port": 45000}], "s"
        )
        stream_id = forwarded["forwarders"][0]["stream_id"]
        forwarders = await publisher.list_forwarders(room, secret="s")
        assert forwarders[0]["forwarders"][0]["stream_id"] == stream_id
        await publisher.stop_rtp_forward(room, publisher.publisher_id, stream_id, "s")
        assert await publisher.list_forwarders(room, secret="s") == []

        # A remote (plain RTP) publisher is active at once, so a subscriber can attach to it.
        remote = await publisher.add_remote_publisher(
            room,
            [
                {"type": "audio", "mid": "0", "mindex": 0, "codec": "opus"},
                {"type": "video", "mid": "1", "mindex": 1, "codec": "vp8"},
            ],
            "127.0.0.1",
            display="remote",
            secret="s",
        )
        feed = remote["id"]
        for _ in range(50):  # Janus registers the remote publisher just after replying
            if feed in [p["id"] for p in await publisher.list_participants(room)]:
                break
            await asyncio.sleep(0.02)
        events = Events(
            subscriber,
            VideoRoomEventType.ATTACHED,
            VideoRoomEventType.STARTED,
            VideoRoomEventType.PAUSED,
            VideoRoomEventType.SWITCHED,
            VideoRoomEventType.UPDATED,
        )
        attached_data = await subscriber.join_as_subscriber(room, [{"feed": feed}])
        assert subscriber.participant_type is ParticipantType.SUBSCRIBER
        assert [s["feed_id"] for s in attached_data["streams"]] == [feed, feed]
        assert (await events.wait(VideoRoomEventType.ATTACHED))["room"] == room
        remote_offer = attached_data["jsep"]
        assert remote_offer["type"] == "offer"
        assert (await subscriber.start(jsep=answer(remote_offer)))["started"] == "ok"
        await events.wait(VideoRoomEventType.STARTED)
        await subscriber.pause()
        await events.wait(VideoRoomEventType.PAUSED)
        assert (await subscriber.resume())["started"] == "ok"
        await subscriber.configure_subscriber([{"mid": "1", "substream": 1, "temporal": 0}])
        await subscriber.switch_publisher([{"feed": feed, "mid": "0", "sub_mid": "0"}])
        await events.wait(VideoRoomEventType.SWITCHED)
        updated = await subscriber.update(unsubscribe=[{"feed": feed, "mid": "1"}])
        assert updated["jsep"]["type"] == "offer"  # no PeerConnection: the offer is returned
        await events.wait(VideoRoomEventType.UPDATED)
        await subscriber.start(jsep=answer(updated["jsep"]))  # answer the renegotiation
        resubscribed = await subscriber.subscribe([{"feed": feed, "mid": "1"}])
        assert resubscribed["videoroom"] == "updated"
        await subscriber.start(jsep=answer(resubscribed["jsep"]))
        await subscriber.unsubscribe([{"feed": feed, "mid": "1"}])
        await subscriber.leave()

        await publisher.remove_remote_publisher(room, feed, secret="s")
        await publisher.leave()  # (unpublish needs media to have flowed: see the error test)
        assert not publisher.is_publishing
        await publisher.destroy_room(room, secret="s")


async def test_async_errors_become_error_events(janus_url: str) -> None:
    """An error arriving as an event (not as the reply of a pending request) is an ERROR."""
    async with JanusSession(base_url=janus_url) as session:
        plugin = await attached(session)
        events = Events(plugin, VideoRoomEventType.ERROR)
        stream = await plugin.send(
            {"janus": "message", "body": {"request": "join", "ptype": "publisher", "room": 1}}
        )
        async with stream:
            await stream.get({"janus": "ack"})
        error = await events.wait(VideoRoomEventType.ERROR)
        assert error["error_code"] == 426


class _UnawareVideoRoom(JanusVideoRoomPlugin):
    """Does not act on Janus's ``detached`` event (as janus-client's plugins did not), so a request
    after a detach behind its back reaches Janus. Over HTTP that event comes through the long poll
    and can beat the detach's own reply, which would otherwise release the plugin first."""

    def _after_message(self, message: dict[str, Any]) -> None:
        pass


async def test_core_errors_are_videoroom_errors_and_typed(janus_url: str) -> None:
    async with JanusSession(base_url=janus_url) as session:
        plugin = _UnawareVideoRoom()
        await plugin.attach(session)
        await session.request({"janus": "detach"}, Expect.SUCCESS, plugin.id)  # behind its back
        with pytest.raises(VideoRoomError) as caught:  # janus-client's catch style
            await plugin.exists(1234)
        assert isinstance(caught.value, JanusError)  # janus_fast's catch style
        assert caught.value.error_code == caught.value.code == 459  # handle not found
        session.detach_plugin(plugin)


async def test_unexpected_event_shapes_never_raise() -> None:
    plugin = JanusVideoRoomPlugin()
    other: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    plugin.on_event(VideoRoomEventType.OTHER, other.append)
    plugin.on_event("error", errors.append)  # by value, as janus-client's enum values
    for message in (
        {"janus": "event"},
        {"janus": "event", "plugindata": "nonsense"},
        {"janus": "event", "plugindata": {"data": ["x"]}},
        {"janus": "event", "plugindata": {"data": {"videoroom": "brand-new"}}},
        {"janus": "event", "plugindata": {"data": {"videoroom": "event", "surprise": 1}}},
        {"janus": "event", "plugindata": {"data": {"videoroom": "event", "error": "no code"}}},
        {"janus": "event", "plugindata": {"data": {"error_code": 426, "error": "No such room"}}},
        {"janus": "event", "jsep": {"type": "offer"}},
        {"janus": "media", "receiving": True},
        {"janus": "hangup"},
        {"janus": "webrtcup"},
        {"janus": "slowlink"},
        {},
    ):
        await plugin.on_receive(message)
    assert len(other) == 6
    assert [e.get("error_code") for e in errors] == [None, 426]
    assert plugin.webrtcup_event.is_set()

    def broken(data: dict[str, Any]) -> None:
        raise RuntimeError("handler bug")

    plugin.on_event(VideoRoomEventType.JOINED, broken)  # logged, never propagated
    await plugin.on_receive(
        {"janus": "event", "plugindata": {"data": {"videoroom": "joined", "id": 1}}}
    )
    with pytest.raises(ValueError):
        plugin.on_event("not-an-event", other.append)


async def test_media_methods_import_aiortc_lazily(
    janus_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "aiortc", None)  # as if the [media] extra were missing
    plugin = JanusVideoRoomPlugin()
    with pytest.raises(ImportError, match=r"janus-fast\[media\]"):
        await plugin.subscribe_to_publisher(1234, [{"feed": 1}])
    with pytest.raises(ImportError, match=r"janus-fast\[media\]"):
        await plugin.start()
    with pytest.raises(ImportError, match=r"janus-fast\[media\]"):
        _ = plugin.pc
    room = new_room()
    async with deadline(20), JanusSession(base_url=janus_url) as session:
        await plugin.attach(session)
        await plugin.create_room(room)
        await plugin.join_as_publisher(room, display="lazy")  # a publisher, signalling only
        assert plugin.participant_type is ParticipantType.PUBLISHER
        with pytest.raises(ImportError, match=r"janus-fast\[media\]"):
            await plugin.publish(object())
        await plugin.leave()
        await plugin.destroy_room(room)
        await plugin.destroy()


REMOTE_STREAMS = [
    {"type": "audio", "mid": "0", "mindex": 0, "codec": "opus"},
    {"type": "video", "mid": "1", "mindex": 1, "codec": "vp8"},
]


async def listed_display(
    plugin: JanusVideoRoomPlugin | VideoRoomAdministration, room: int, feed: Any, display: str
) -> None:
    """Wait until ``feed`` is listed in ``room`` with ``display`` (Janus registers a remote
    publisher, and applies its update, just after replying)."""
    for _ in range(100):
        listed = {p["id"]: p.get("display") for p in await plugin.list_participants(room)}
        if listed.get(feed) == display:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{feed} never listed as {display!r} in {room}: {listed}")


async def test_remote_publishers_cascade_on_loopback(janus_url: str) -> None:
    """A local publisher remotized (``publish_remotely``) to a remote publisher that another room
    of the same Janus created (``add_remote_publisher``): a two-instance cascade on loopback, run
    by a handle that only administers rooms and never joins."""
    source, target = new_room(), new_room()
    async with JanusSession(base_url=janus_url) as session:
        rooms = VideoRoomAdministration()
        await rooms.attach(session)
        publisher = await attached(session)
        await rooms.create_room(source, secret="s")
        await rooms.create_room(target, secret="s")
        await publisher.join_as_publisher(source, display="P")
        await publisher.publish(jsep=offer())
        feed = publisher.publisher_id
        assert feed is not None

        remote = await rooms.add_remote_publisher(
            target, REMOTE_STREAMS, "127.0.0.1", display="cascade", secret="s"
        )
        remote_id = remote["id"]
        assert remote["ip"] == "127.0.0.1" and remote["port"] > 0
        await listed_display(rooms, target, remote_id, "cascade")
        updated = await rooms.update_remote_publisher(
            target,
            remote_id,
            [{**REMOTE_STREAMS[0], "description": "voice"}],
            display="renamed",
            secret="s",
        )
        assert updated["videoroom"] == "success"
        await listed_display(rooms, target, remote_id, "renamed")

        assert await rooms.list_remotes(source, feed, secret="s") == []
        published = await rooms.publish_remotely(
            source,
            feed,
            "to-target",
            remote["ip"],
            remote["port"],
            rtcp_port=remote.get("rtcp_port"),
            secret="s",
        )
        assert published["remote_id"] == "to-target" and published["id"] == feed
        remotes = await rooms.list_remotes(source, feed, secret="s")
        assert [(r["remote_id"], r["host"], r["port"]) for r in remotes] == [
            ("to-target", "127.0.0.1", remote["port"])
        ]
        with pytest.raises(VideoRoomError) as caught:  # the remote id is taken
            await rooms.publish_remotely(
                source, feed, "to-target", "127.0.0.1", remote["port"], secret="s"
            )
        assert caught.value.error_code == 436
        with pytest.raises(VideoRoomError) as caught:  # a remote publisher cannot be remotized
            await rooms.publish_remotely(
                target, remote_id, "again", "127.0.0.1", remote["port"], secret="s"
            )
        assert caught.value.error_code == 430
        with pytest.raises(VideoRoomError) as caught:
            await rooms.list_remotes(source, feed, secret="wrong")
        assert caught.value.error_code == 433

        unpublished = await rooms.unpublish_remotely(source, feed, "to-target", secret="s")
        assert unpublished["videoroom"] == "success"
        assert await rooms.list_remotes(source, feed, secret="s") == []
        with pytest.raises(VideoRoomError) as caught:  # already gone
            await rooms.unpublish_remotely(source, feed, "to-target", secret="s")
        assert caught.value.error_code != 0
        await rooms.remove_remote_publisher(target, remote_id, secret="s")
        assert rooms.room_id is None and rooms.participant_type is None  # it never joined

        await publisher.leave()
        await rooms.destroy_room(source, secret="s")
        await rooms.destroy_room(target, secret="s")


def test_videoroom_names_stay_importable() -> None:
    import janus_fast
    import janus_fast.plugins
    import janus_fast.plugins.videoroom as package

    for name in ("JanusVideoRoomPlugin", "ParticipantType", "VideoRoomError", "VideoRoomEventType"):
        assert getattr(package, name) is getattr(janus_fast.plugins, name)
        assert getattr(janus_fast, name) is getattr(package, name)
    assert package.classify_event({"videoroom": "joined"}) is VideoRoomEventType.JOINED
    assert issubclass(JanusVideoRoomPlugin, VideoRoomAdministration)
