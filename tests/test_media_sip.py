"""SIP with real media: two Janus SIP handles call each other through a real Kamailio, each side an
aiortc peer sending a sine of its own frequency; each hears the other's tone in the audio it
decodes (Janus bridges WebRTC to plain RTP and back on both legs); the callee accepts the
audio-only offer with an audio+video player (only its audio is sent, its video track is stopped
with the call). A hangup ends the call and closes both PeerConnections. And a call to another
SIP user agent, baresip (registered at the same Kamailio, answering by itself with a sine): its
tone is heard, ours reaches it.

Rule: all ICE and RTP stays on this machine (``no_stun()``, Janus's SIP ``local_ip`` is
127.0.0.1); bounded by a ``deadline``; everything opened is closed.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from _audio import ToneListener, player_of, tone_track
from _media import (
    clean_teardown,  # noqa: F401  (autouse fixture)
    no_default_stun,  # noqa: F401  (autouse fixture)
    no_stun,
)
from janus_fast import JanusSession
from janus_fast._compat import timeout as deadline
from janus_fast.plugins import JanusSipPlugin, SipEventType
from janus_fast.testing import JanusServer
from janus_fast.testing.config import DEFAULT_PLUGINS
from janus_fast.testing.sip import Baresip, Kamailio

BOUND = 45.0
ALICE_HZ, BOB_HZ = 440.0, 880.0
HEARD, SILENT = 2000.0, 300.0


@pytest.fixture(scope="module")
def kamailio() -> Iterator[Kamailio]:
    with Kamailio() as server:
        yield server


@pytest.fixture
def sip_url(janus_factory: Any, transport_kind: str) -> str:
    janus: JanusServer = janus_factory(plugins=(*DEFAULT_PLUGINS, "sip"))
    return janus.ws_url if transport_kind == "ws" else janus.http_url


async def registered(session: JanusSession, kamailio: Kamailio, name: str) -> JanusSipPlugin:
    plugin = JanusSipPlugin(pc_config=no_stun())
    await plugin.attach(session)
    await plugin.register(kamailio.uri(name), secret="unused", proxy=kamailio.proxy)
    await plugin.wait_registered()
    return plugin


def audio_video_player(frequency: float) -> Any:
    """A player with both kinds: a sine at ``frequency`` and aiortc's (blank) video track."""
    from aiortc.mediastreams import VideoStreamTrack

    return SimpleNamespace(audio=tone_track(frequency), video=VideoStreamTrack())


def mjr_size(base: Path, side: str) -> int:
    path = base.with_name(f"{base.name}-{side}-audio.mjr")
    return path.stat().st_size if path.exists() else 0


async def test_call_through_kamailio_both_hear(
    sip_url: str, kamailio: Kamailio, tmp_path: Path
) -> None:
    async with deadline(BOUND), JanusSession(base_url=sip_url) as session:
        bob_name = f"bob{secrets.token_hex(3)}"
        alice = await registered(session, kamailio, f"alice{secrets.token_hex(3)}")
        bob = await registered(session, kamailio, bob_name)
        incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        bob.on_event(SipEventType.INCOMINGCALL, incoming.put_nowait)
        hangups: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        bob.on_event(SipEventType.HANGUP, hangups.put_nowait)
        alice_ears, bob_ears = ToneListener(), ToneListener()
        bob_player = audio_video_player(BOB_HZ)
        try:
            await alice.call(kamailio.uri(bob_name), player_of(tone_track(ALICE_HZ)), alice_ears)
            call = await incoming.get()
            assert "m=video" not in call["jsep"]["sdp"]  # an audio-only offer
            # bob's player has video too: only the offered audio is sent (aiortc alone fails).
            await bob.accept(call["jsep"], bob_player, bob_ears)
            assert "m=video" not in bob.pc.localDescription.sdp

            await bob_ears.until(lambda ears: ears.level(0.4, ALICE_HZ) > HEARD)
            await alice_ears.until(lambda ears: ears.level(0.4, BOB_HZ) > HEARD)
            assert alice_ears.level(0.4, ALICE_HZ) < SILENT
            assert bob_ears.level(0.4, BOB_HZ) < SILENT

            # bob records both directions of his leg to .mjr files.
            base = tmp_path / "bob"
            await bob.recording("start", audio=True, peer_audio=True, filename=str(base))
            while min(mjr_size(base, "user"), mjr_size(base, "peer")) < 4000:  # ~1 s of Opus
                await asyncio.sleep(0.1)
            assert (await bob.recording("stop", audio=True, peer_audio=True))["event"] == (
                "recordingupdated"
            )

            bob_pc = bob.pc
            await alice.hangup()
            assert alice.peer_connection is None and not alice.in_call
            assert (await hangups.get())["code"] == 200  # the BYE reached bob
            while bob_pc.connectionState != "closed":  # Janus hung bob's PeerConnection up
                await asyncio.sleep(0.02)
            assert not bob.in_call
        finally:
            await alice.destroy()
            await bob.destroy()
    assert bob_player.video.readyState == "ended"  # the unsent track stopped with the call


async def test_call_to_baresip(sip_url: str, kamailio: Kamailio) -> None:
    carol = Baresip(kamailio, f"carol{secrets.token_hex(3)}", tone_hz=int(BOB_HZ)).start()
    try:
        async with deadline(BOUND), JanusSession(base_url=sip_url) as session:
            alice = await registered(session, kamailio, f"alice{secrets.token_hex(3)}")
            accepted: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
            alice.on_event(SipEventType.ACCEPTED, accepted.put_nowait)
            ended: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
            alice.on_event(SipEventType.HANGUP, ended.put_nowait)
            ears = ToneListener()
            try:
                await alice.call(carol.uri, player_of(tone_track(ALICE_HZ)), ears)
                assert (await accepted.get())["jsep"]["type"] == "answer"
                await ears.until(lambda ears: ears.level(0.4, BOB_HZ) > HEARD)
                assert ears.level(0.4, ALICE_HZ) < SILENT
                await alice.hangup()
                assert (await ended.get())["code"] == 200  # baresip answered our BYE
            finally:
                await alice.destroy()
    finally:
        carol.stop()
    log = carol.log_text()
    carol.close()
    assert "Call established" in log and "Set audio decoder: opus" in log
    assert "incoming rtp for 'audio' established" in log  # Janus's RTP leg reached it
    # Our BYE ended its call (baresip logs a peer's BYE as a reset), before we stopped it.
    assert log.index("session closed: Connection reset by peer") < log.index("signal 15")


async def test_reinvite_offer_is_answered_by_the_media_lifecycle(
    sip_url: str, kamailio: Kamailio
) -> None:
    """A re-INVITE with an SDP offer reaches alice as ``updatingcall`` (she asked Janus not to
    accept re-INVITEs itself): the PeerConnection made by her ``call`` applies the offer and
    answers it with an ``update``; bob's re-INVITE completes (Janus reports its 200 OK as
    ``accepted``, with the answer) and both still hear each other."""
    async with deadline(BOUND), JanusSession(base_url=sip_url) as session:
        bob_name = f"bob{secrets.token_hex(3)}"
        alice = await registered(session, kamailio, f"alice{secrets.token_hex(3)}")
        bob = await registered(session, kamailio, bob_name)
        incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        bob.on_event(SipEventType.INCOMINGCALL, incoming.put_nowait)
        reinvited: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        alice.on_event(SipEventType.UPDATINGCALL, reinvited.put_nowait)
        completed: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        bob.on_event(SipEventType.ACCEPTED, completed.put_nowait)  # how Janus reports the 200 OK
        alice_ears, bob_ears = ToneListener(), ToneListener()
        try:
            await alice.call(
                kamailio.uri(bob_name),
                player_of(tone_track(ALICE_HZ)),
                alice_ears,
                autoaccept_reinvites=False,
            )
            call = await incoming.get()
            await bob.accept(call["jsep"], player_of(tone_track(BOB_HZ)), bob_ears)
            await alice_ears.until(lambda ears: ears.level(0.4, BOB_HZ) > HEARD)
            assert "jsep" not in await completed.get()  # bob's own accept, before the re-INVITE
            alice_pc = alice.peer_connection

            await bob.update()  # a re-INVITE with a new offer, through Kamailio to alice's leg
            offer = await reinvited.get()
            assert offer["jsep"]["type"] == "offer"
            answer = await completed.get()  # alice's update reached bob in the 200 OK's SDP
            assert answer["jsep"]["type"] == "answer"
            assert alice.peer_connection is alice_pc  # the same PeerConnection, renegotiated
            assert alice_pc.localDescription.type == "answer"
            assert alice_pc.signalingState == "stable"
            assert alice.in_call and bob.in_call

            since = {ears: ears.total for ears in (alice_ears, bob_ears)}  # frames after it
            await bob_ears.until(
                lambda ears: ears.total > since[ears] + 25 and ears.level(0.4, ALICE_HZ) > HEARD
            )
            await alice_ears.until(
                lambda ears: ears.total > since[ears] + 25 and ears.level(0.4, BOB_HZ) > HEARD
            )
            await alice.hangup()
        finally:
            await alice.destroy()
            await bob.destroy()
