"""VideoCall with real WebRTC (aiortc) against the local Janus: two handles call each other, both
sides receive (and one records) the other's audio and video; ``set_media`` and ``hangup`` work
mid-call; after a hangup the same handles call again, the other way round and with trickle.

Rule: all ICE stays on this machine (``no_stun()``); every test is bounded by a ``deadline``
and closes every PeerConnection, player and recorder it opened.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
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
