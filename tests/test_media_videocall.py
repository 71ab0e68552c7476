"""VideoCall with real WebRTC (aiortc) against the local Janus: two handles call each other, both
sides receive (and one records) the other's audio and video; ``set_media`` and ``hangup`` work
mid-call; after a hangup the same handles call again, the other way round and with trickle; a
renegotiation (``set`` with a new offer adding video) is answered by the peer's handle by itself.

Rule: all ICE stays on this machine (``no_stun()``); every test is bounded by a ``deadline``
and closes every PeerConnection, player and recorder it opened.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiortc.contrib.media import MediaPlayer

from _media import (
    FrameCounter,
    clean_teardown,  # noqa: F401  (autouse fixture)
    counting_recorder,
    decoded_frames,
    no_default_stun,  # noqa: F401  (autouse fixture)
    no_stun,
    shared_clip,
    wait_inbound,
)
from janus_fast import JanusSession
from janus_fast._compat import timeout as deadline
from janus_fast.plugins import JanusVideoCallPlugin, VideoCallEventType

BOUND = 20.0


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_clip(tmp_path_factory)


def player(clip: Path) -> Any:
    return MediaPlayer(str(clip))  # stopped by the plugin with its PeerConnection


async def registered(session: JanusSession) -> JanusVideoCallPlugin:
    plugin = JanusVideoCallPlugin(pc_config=no_stun())
    await plugin.attach(session)
    await plugin.register(f"user-{secrets.token_hex(6)}")
    return plugin


def incoming_calls(plugin: JanusVideoCallPlugin) -> asyncio.Queue[dict[str, Any]]:
    calls: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    plugin.on_event(VideoCallEventType.INCOMINGCALL, calls.put_nowait)
    return calls


async def test_two_handle_call_both_sides_receive(
    janus_url: str, clip: Path, tmp_path: Path
) -> None:
    record = tmp_path / "alice.mkv"
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        alice = await registered(session)
        bob = await registered(session)
        try:
            to_alice, to_bob = incoming_calls(alice), incoming_calls(bob)
            hangups: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
            bob.on_event(VideoCallEventType.HANGUP, hangups.put_nowait)

            bob_sink, alice_recorder = FrameCounter(), counting_recorder(record)
            assert bob.username is not None
            assert await alice.call(bob.username, player(clip), alice_recorder)
            call = await to_bob.get()
            assert bob.in_call and call["username"] == alice.username
            assert await bob.accept(call["jsep"], player(clip), bob_sink)
            await asyncio.wait_for(alice.webrtcup_event.wait(), BOUND)
            await bob_sink.wait(frames=5)  # alice → bob, decoded
            await alice_recorder.wait(frames=5)  # bob → alice, decoded and recorded
            assert await bob.set_media(bitrate=256_000) is True
            alice_pc, bob_pc = alice.pc, bob.pc

            assert await alice.hangup() is True
            assert alice_pc.connectionState == "closed" and not alice.in_call
            await hangups.get()  # Janus tells bob …
            while bob_pc.connectionState != "closed":  # … and bob's PeerConnection closes
                await asyncio.sleep(0.02)
            assert not bob.in_call

            # Same handles, the other way round, our candidates trickled.
            assert alice.username is not None
            again = FrameCounter()
            assert await bob.call(alice.username, player(clip), trickle=True)
            call = await to_alice.get()
            assert await alice.accept(call["jsep"], player(clip), again, trickle=True)
            await again.wait(frames=5)  # bob → alice
            await wait_inbound(bob.pc, packets=15)  # alice → bob
        finally:
            await alice.destroy()
            await bob.destroy()
    frames = decoded_frames(record)
    assert frames["video"] > 0 and frames["audio"] > 0


async def test_peer_renegotiation_is_answered(janus_url: str, clip: Path) -> None:
    """Alice calls with audio only (bob's ``accept`` sends only the offered audio of his
    audio+video player), then renegotiates to add her video (a ``set`` with a new offer): Janus
    hands bob the offer in an ``update`` event, bob's PeerConnection (made by ``accept``) applies
    and answers it in a ``set`` by itself, the answer reaches alice in her own ``update`` event
    and her video flows to bob; the audio goes on both ways."""
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        alice = await registered(session)
        bob = await registered(session)
        try:
            to_bob = incoming_calls(bob)
            updates: dict[str, asyncio.Queue[dict[str, Any]]] = {}
            for name, plugin in (("alice", alice), ("bob", bob)):
                updates[name] = asyncio.Queue()
                plugin.on_event(VideoCallEventType.UPDATE, updates[name].put_nowait)
            source = player(clip)
            alice_player = SimpleNamespace(audio=source.audio, video=None)  # video added later
            bob_sink, alice_sink = FrameCounter(), FrameCounter()
            assert bob.username is not None
            assert await alice.call(bob.username, alice_player, alice_sink)
            call = await to_bob.get()
            # bob's player has video too: only the offered audio is sent (aiortc alone fails).
            assert await bob.accept(call["jsep"], player(clip), bob_sink)
            await bob_sink.wait(frames=5, kinds=("audio",))
            assert bob_sink.frames["video"] == 0  # no video offered yet
            alice_pc, bob_pc = alice.peer_connection, bob.peer_connection
            first_answer = bob_pc.localDescription.sdp
            assert "m=video" not in first_answer

            alice_player.video = source.video  # stopped with the PeerConnection from now on
            alice_pc.addTrack(source.video)
            await alice_pc.setLocalDescription(await alice_pc.createOffer())
            assert await alice.set_media(jsep=await alice.create_jsep(alice_pc)) is True
            offer = await updates["bob"].get()
            assert offer["jsep"]["type"] == "offer"
            answer = await updates["alice"].get()  # bob's automatic ``set``, forwarded
            assert answer["jsep"]["type"] == "answer"
            assert bob.peer_connection is bob_pc and alice.peer_connection is alice_pc
            assert bob_pc.signalingState == "stable" and alice_pc.signalingState == "stable"
            assert bob_pc.localDescription.sdp != first_answer
            assert bob_pc.localDescription.sdp.count("m=video") == 1
            while alice_pc.remoteDescription.type != "answer":  # applied on alice's side
                await asyncio.sleep(0.02)

            since = bob_sink.frames["audio"], alice_sink.frames["audio"]
            await bob_sink.wait(frames=5, kinds=("video",))  # alice's new video, decoded
            while (
                bob_sink.frames["audio"] < since[0] + 5 or alice_sink.frames["audio"] < since[1] + 5
            ):
                await asyncio.sleep(0.05)
            assert alice_sink.frames["video"] == 0  # the new m-line is received only by bob
            assert alice.in_call and bob.in_call
        finally:
            await alice.destroy()
            await bob.destroy()
