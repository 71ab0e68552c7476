"""VideoRoom cascading across two real Janus servers, with media: an aiortc publisher on Janus A,
``add_remote_publisher`` on Janus B (which answers with the port it listens on), A's
``publish_remotely`` of that publisher to B's port on loopback, and a subscriber on B that decodes
the remote publisher's audio and video frames; then ``unpublish_remotely`` and
``remove_remote_publisher``.

Rule: all ICE and RTP stay on this machine (``no_stun()``, ``127.0.0.1``); the test is bounded by
a ``deadline`` and closes every PeerConnection, remotization, remote publisher and room it made.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiortc.contrib.media import MediaPlayer

from _media import (
    FrameCounter,
    clean_teardown,  # noqa: F401  (autouse fixture)
    no_default_stun,  # noqa: F401  (autouse fixture)
    no_stun,
    shared_clip,
)
from janus_fast import JanusSession
from janus_fast._compat import timeout as deadline
from janus_fast.plugins import JanusVideoRoomPlugin, VideoRoomEventType
from janus_fast.testing.config import JanusConfig
from janus_fast.testing.server import JanusServer

BOUND = 40.0


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_clip(tmp_path_factory)


@pytest.fixture(scope="module")
def two_janus(pytestconfig: pytest.Config) -> Iterator[tuple[JanusServer, JanusServer]]:
    """Two independent Janus instances (A, B) on this machine, for the whole module."""
    binary = pytestconfig.getoption("--janus-binary", default=None)
    config = JanusConfig(plugins=("videoroom",))
    with JanusServer(config, binary=binary) as a, JanusServer(config, binary=binary) as b:
        yield a, b


def url(server: JanusServer, transport_kind: str) -> str:
    return server.ws_url if transport_kind == "ws" else server.http_url


async def attached(session: JanusSession) -> JanusVideoRoomPlugin:
    plugin = JanusVideoRoomPlugin(pc_config=no_stun())
    await plugin.attach(session)
    return plugin


async def published_streams(events: asyncio.Queue[dict[str, Any]], feed: Any) -> list[Any]:
    """``feed``'s streams (type, mid, mindex, codec) as A announces them to the room's other
    participants (``publishers`` events), for B's remote publisher."""
    while True:
        data = await events.get()
        for entry in data.get("publishers", []):
            if entry["id"] == feed:
                return [
                    {"type": s["type"], "mid": s["mid"], "mindex": s["mindex"], "codec": s["codec"]}
                    for s in entry["streams"]
                ]


async def test_cascade_media_from_a_to_a_subscriber_on_b(
    two_janus: tuple[JanusServer, JanusServer], transport_kind: str, clip: Path
) -> None:
    server_a, server_b = two_janus
    room_a = 100_000 + secrets.randbelow(10**9)
    room_b = 100_000 + secrets.randbelow(10**9)
    sink = FrameCounter()
    async with (
        deadline(BOUND),
        JanusSession(base_url=url(server_a, transport_kind)) as session_a,
        JanusSession(base_url=url(server_b, transport_kind)) as session_b,
    ):
        handles: list[JanusVideoRoomPlugin] = []
        try:
            admin_a = await attached(session_a)
            admin_b = await attached(session_b)
            handles += [admin_a, admin_b]
            await admin_a.create_room(room_a, secret="s")
            await admin_b.create_room(room_b, secret="s")

            watcher = await attached(session_a)  # a participant that sees A's announcements
            handles.append(watcher)
            announced: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
            watcher.on_event(VideoRoomEventType.PUBLISHERS, announced.put_nowait)
            await watcher.join_as_publisher(room_a, display="watcher")

            publisher = await attached(session_a)
            handles.append(publisher)
            await publisher.join_as_publisher(room_a, display="alice")
            await publisher.publish(MediaPlayer(str(clip)))
            await asyncio.wait_for(publisher.webrtcup_event.wait(), BOUND)
            feed = publisher.publisher_id
            assert feed is not None
            streams = await published_streams(announced, feed)
            assert {s["type"] for s in streams} == {"audio", "video"}

            remote = await admin_b.add_remote_publisher(
                room_b, streams, "127.0.0.1", display="alice@A", secret="s"
            )
            remote_id = remote["id"]
            assert remote["ip"] == "127.0.0.1" and remote["port"] > 0 and remote["rtcp_port"] > 0
            published = await admin_a.publish_remotely(
                room_a,
                feed,
                "to-b",
                remote["ip"],
                remote["port"],
                rtcp_port=remote.get("rtcp_port"),
                secret="s",
            )
            assert published["id"] == feed and published["remote_id"] == "to-b"
            remotes = await admin_a.list_remotes(room_a, feed, secret="s")
            assert [(r["remote_id"], r["port"]) for r in remotes] == [("to-b", remote["port"])]

            subscriber = await attached(session_b)
            handles.append(subscriber)
            updated: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
            subscriber.on_event(VideoRoomEventType.UPDATED, updated.put_nowait)
            joined = await subscriber.subscribe_to_publisher(
                room_b, [{"feed": remote_id}], recorder=sink
            )
            assert {s["type"] for s in joined["streams"]} == {"audio", "video"}
            await asyncio.wait_for(subscriber.webrtcup_event.wait(), BOUND)
            await sink.wait(frames=5)  # A's audio and video, decoded on B's subscriber

            await admin_a.unpublish_remotely(room_a, feed, "to-b", secret="s")
            assert await admin_a.list_remotes(room_a, feed, secret="s") == []
            await admin_b.remove_remote_publisher(room_b, remote_id, secret="s")
            while remote_id in [p["id"] for p in await admin_b.list_participants(room_b)]:
                await asyncio.sleep(0.05)  # Janus drops it just after replying
            # Janus renegotiates the subscriber without the gone feed; the plugin answers.
            await updated.get()
            while subscriber.pc.signalingState != "stable":
                await asyncio.sleep(0.02)
        finally:
            for handle in reversed(handles):
                await handle.destroy()
        async with (
            JanusSession(base_url=url(server_a, transport_kind)) as clean_a,
            JanusSession(base_url=url(server_b, transport_kind)) as clean_b,
        ):
            for session, room in ((clean_a, room_a), (clean_b, room_b)):
                owner = await attached(session)
                await owner.destroy_room(room, secret="s")
                await owner.destroy()
