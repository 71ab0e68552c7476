"""VideoRoom with real WebRTC (aiortc) against the local Janus: publishers reach ``webrtcup``, a
subscriber in the same room receives and records their tracks, ``switch_publisher`` moves it to
another feed, ``unpublish`` and ``destroy()`` close the PeerConnections; a ``full_trickle`` Janus
with our own trickle (publisher and subscriber) works too.

Rule: all ICE stays on this machine (``no_stun()``); every test is bounded by a ``deadline``
and closes every PeerConnection, player and recorder it opened.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiortc.contrib.media import MediaPlayer

from _media import (
    FrameCounter,
    clean_teardown,  # noqa: F401  (autouse fixture)
    inbound_packets,
    no_default_stun,  # noqa: F401  (autouse fixture)
    no_stun,
    shared_clip,
    wait_inbound,
)
from janus_fast import InvalidStateError, JanusSession
from janus_fast._compat import timeout as deadline
from janus_fast.plugins import JanusVideoRoomPlugin, VideoRoomEventType
from janus_fast.testing.config import JanusConfig
from janus_fast.testing.server import JanusServer

BOUND = 20.0


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_clip(tmp_path_factory)


@pytest.fixture(scope="module")
def trickle_janus(pytestconfig: pytest.Config) -> Iterator[JanusServer]:
    """A Janus that trickles its own candidates (``full_trickle``: none in its SDPs)."""
    binary = pytestconfig.getoption("--janus-binary", default=None)
    config = JanusConfig(plugins=("videoroom",), nat={"full_trickle": True})
    with JanusServer(config, binary=binary) as server:
        yield server


async def active_inbound_streams(pc: Any) -> int:
    """How many inbound RTP streams of ``pc`` received packets."""
    stats = await pc.getStats()
    return sum(
        1
        for report in stats.values()
        if getattr(report, "type", None) == "inbound-rtp" and report.packetsReceived > 0
    )


def player(clip: Path) -> Any:
    return MediaPlayer(str(clip))  # stopped by the plugin with its PeerConnection


async def attached(session: JanusSession) -> JanusVideoRoomPlugin:
    plugin = JanusVideoRoomPlugin(pc_config=no_stun())
    await plugin.attach(session)
    return plugin


async def publish(
    session: JanusSession, room: int, clip: Path, display: str, trickle: bool = False
) -> JanusVideoRoomPlugin:
    publisher = await attached(session)
    await publisher.join_as_publisher(room, display=display)
    await publisher.publish(player(clip), trickle=trickle)
    await asyncio.wait_for(publisher.webrtcup_event.wait(), BOUND)
    return publisher


async def test_publish_subscribe_switch_unpublish(janus_url: str, clip: Path) -> None:
    room = 100_000 + secrets.randbelow(10**9)
    sink = FrameCounter()
    handles: list[JanusVideoRoomPlugin] = []
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        try:
            admin = await attached(session)
            handles.append(admin)
            await admin.create_room(room, secret="s", publishers=4)
            alice = await publish(session, room, clip, "alice")
            handles.append(alice)
            assert alice.is_publishing and alice.publisher_id is not None
            bob = await publish(session, room, clip, "bob")
            handles.append(bob)

            subscriber = await attached(session)
            handles.append(subscriber)
            switched = asyncio.Event()
            updated: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
            subscriber.on_event(VideoRoomEventType.SWITCHED, lambda data: switched.set())
            subscriber.on_event(VideoRoomEventType.UPDATED, updated.put_nowait)
            attached_data = await subscriber.subscribe_to_publisher(
                room, [{"feed": alice.publisher_id}], recorder=sink
            )
            streams = attached_data["streams"]
            assert {s["type"] for s in streams} == {"audio", "video"}
            await asyncio.wait_for(subscriber.webrtcup_event.wait(), BOUND)
            await sink.wait(frames=5)  # alice's tracks arrive and decode

            await subscriber.switch_publisher(
                [
                    {"feed": bob.publisher_id, "mid": s["feed_mid"], "sub_mid": s["mid"]}
                    for s in streams
                ]
            )
            await switched.wait()

            # Renegotiation with media: alice's streams are added next to (now) bob's.
            await subscriber.subscribe([{"feed": alice.publisher_id}])
            await updated.get()  # the reply
            while await active_inbound_streams(subscriber.pc) < 4:
                await asyncio.sleep(0.05)

            # Janus's own renegotiation (autoupdate): alice leaves, its offer is answered.
            alice_pc = alice.pc
            await alice.unpublish()
            assert not alice.is_publishing
            while alice_pc.connectionState != "closed":  # Janus's hangup closes it
                await asyncio.sleep(0.02)
            await updated.get()  # the unsolicited offer, answered by the plugin
            while subscriber.pc.signalingState != "stable":
                await asyncio.sleep(0.02)
            before = await inbound_packets(subscriber.pc)
            await wait_inbound(subscriber.pc, packets=min(before.values()) + 10)  # bob's, still
            participants = await admin.list_participants(room)
            assert {p["display"]: p["publisher"] for p in participants} == {
                "alice": False,
                "bob": True,
            }
            pcs = [
                handle.peer_connection for handle in handles if handle.peer_connection is not None
            ]
        finally:
            for handle in reversed(handles):  # subscriber first
                await handle.destroy()
        assert pcs and all(pc.connectionState == "closed" for pc in pcs)
        async with JanusSession(base_url=janus_url) as cleanup:
            owner = await attached(cleanup)
            await owner.destroy_room(room, secret="s")
            await owner.destroy()


async def test_full_trickle_publish_and_subscribe(
    trickle_janus: JanusServer, transport_kind: str, clip: Path
) -> None:
    """Neither side puts candidates in its SDP: publisher and subscriber both trickle theirs,
    and apply Janus's (which for the subscriber may arrive before Janus's offer is answered)."""
    url = trickle_janus.ws_url if transport_kind == "ws" else trickle_janus.http_url
    room = 1234  # the demo room of the instance
    async with deadline(BOUND), JanusSession(base_url=url) as session:
        publisher = subscriber = None
        try:
            publisher = await publish(session, room, clip, "p", trickle=True)
            subscriber = await attached(session)
            await subscriber.subscribe_to_publisher(
                room, [{"feed": publisher.publisher_id}], trickle=True
            )
            await asyncio.wait_for(subscriber.webrtcup_event.wait(), BOUND)
            await wait_inbound(subscriber.pc, packets=10)
        finally:
            for handle in (subscriber, publisher):
                if handle is not None:
                    await handle.destroy()


class PausedRenegotiation:
    """Holds a subscriber inside its next renegotiation, at one of its public steps: applying
    Janus's offer (``on_receive_jsep``) or sending the answer (``start``), until ``release``;
    ``entered`` is set when it got there, ``left`` when that step ended (raising or not)."""

    def __init__(self, plugin: JanusVideoRoomPlugin, step: str) -> None:
        self.entered, self.release, self.left = asyncio.Event(), asyncio.Event(), asyncio.Event()
        original = getattr(plugin, step)

        async def paused(*args: Any, **kwargs: Any) -> Any:
            if self.entered.is_set():
                return await original(*args, **kwargs)
            self.entered.set()
            try:
                await self.release.wait()
                return await original(*args, **kwargs)
            finally:
                self.left.set()

        setattr(plugin, step, paused)


@pytest.mark.parametrize("step", ["on_receive_jsep", "start"])
@pytest.mark.parametrize("path", ["janus_offers", "subscribe"])
async def test_destroy_during_renegotiation_is_clean(
    janus_url: str, clip: Path, path: str, step: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A subscriber destroyed while it renegotiates — Janus's own offer (autoupdate after a
    publisher leaves) or ``subscribe()``'s — logs no error, makes no new PeerConnection, and a
    waiting ``subscribe()`` fails with ``InvalidStateError``."""
    room = 100_000 + secrets.randbelow(10**9)
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        admin = await attached(session)
        await admin.create_room(room, secret="s", publishers=4)
        alice = await publish(session, room, clip, "alice")
        bob = await publish(session, room, clip, "bob")
        subscriber = await attached(session)
        try:
            feeds = [{"feed": alice.publisher_id}]
            if path == "janus_offers":
                feeds.append({"feed": bob.publisher_id})
            await subscriber.subscribe_to_publisher(room, feeds, recorder=FrameCounter())
            await asyncio.wait_for(subscriber.webrtcup_event.wait(), BOUND)
            old_pc = subscriber.peer_connection
            paused = PausedRenegotiation(subscriber, step)
            with caplog.at_level(logging.INFO, logger="janus_fast"):
                waiting: asyncio.Future[Any] | None = None
                if path == "janus_offers":
                    await bob.unpublish()  # Janus offers the subscriber a smaller session
                else:
                    waiting = asyncio.ensure_future(
                        subscriber.subscribe([{"feed": bob.publisher_id}])
                    )
                await paused.entered.wait()
                destroying = asyncio.ensure_future(subscriber.destroy())
                while subscriber.peer_connection is not None:  # destroy() closed it
                    await asyncio.sleep(0.01)
                paused.release.set()  # the renegotiation goes on, mid-destroy
                await destroying
                if waiting is not None:
                    with pytest.raises(InvalidStateError):
                        await waiting
                await paused.left.wait()
                await asyncio.sleep(0)  # the event path's handling of that step's end
            errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert not errors, [r.getMessage() for r in errors]
            assert subscriber.peer_connection is None and subscriber.id is None
            assert old_pc.connectionState == "closed"
        finally:
            for handle in (subscriber, bob, alice):
                await handle.destroy()
            await admin.destroy_room(room, secret="s")
            await admin.destroy()
