"""AudioBridge with real WebRTC (aiortc) against the local Janus: two participants join one
room, each sending a sine of its own frequency, and each hears the other's tone (and not its
own) in the decoded audio; a mute silences a participant for the other; a file played into the
room is heard; ``change_room`` moves a participant with its PeerConnection; ``kick`` and
``kick_all`` close the kicked PeerConnections.

Rule: all ICE stays on this machine (``no_stun()``); every test is bounded by a ``deadline`` and
closes every PeerConnection and track it opened. What is checked is the tone's amplitude in the
samples aiortc decoded (``tests/_audio.py``), not packet counts.
"""

from __future__ import annotations

import array
import asyncio
import secrets
import wave
from pathlib import Path

import pytest

from _audio import ToneListener, goertzel, player_of, tone_track, write_opus
from _media import (
    clean_teardown,  # noqa: F401  (autouse fixture)
    no_default_stun,  # noqa: F401  (autouse fixture)
    no_stun,
)
from janus_fast import JanusSession
from janus_fast._compat import timeout as deadline
from janus_fast.plugins import AudioBridgeEventType, JanusAudioBridgePlugin

BOUND = 30.0
SECRET = "media-secret"
ALICE_HZ, BOB_HZ, FILE_HZ = 440.0, 880.0, 660.0
#: A heard tone: the sines are sent at 0.3 full scale (~9,800); mixing and Opus keep most of it.
HEARD = 2000.0
#: Not heard: leakage from the other tone and codec noise stay far below this.
SILENT = 300.0


@pytest.fixture
def opus(tmp_path: Path) -> Path:
    """An Ogg Opus file with a FILE_HZ tone, in a folder Janus reads."""
    return write_opus(tmp_path / "file.opus", FILE_HZ, seconds=8.0)


async def participant(
    session: JanusSession, room: int, frequency: float, name: str
) -> tuple[JanusAudioBridgePlugin, ToneListener]:
    plugin = JanusAudioBridgePlugin(pc_config=no_stun())
    await plugin.attach(session)
    listener = ToneListener()
    await plugin.join(
        room, display=name, player=player_of(tone_track(frequency)), recorder=listener
    )
    return plugin, listener


def hears(listener: ToneListener, frequency: float) -> bool:
    return listener.level(0.4, frequency) > HEARD


def silent_at(listener: ToneListener, frequency: float) -> bool:
    return listener.level(0.4, frequency) < SILENT


def wav_levels(path: Path, frequencies: tuple[float, ...]) -> dict[float, float]:
    """The amplitude of each frequency in a mono s16 WAV's samples (the whole file)."""
    with wave.open(str(path), "rb") as wav:
        assert wav.getsampwidth() == 2 and wav.getnchannels() == 1
        rate = wav.getframerate()
        samples = array.array("h", wav.readframes(wav.getnframes()))
    return {frequency: goertzel(samples, frequency, rate) for frequency in frequencies}


def wav_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def wav_finished(path: Path) -> bool:
    """Janus wrote the final header (it does so when its mixer closes the file, just after
    the ``enable_recording`` reply): RIFF/WAVE with a data size (Janus 1.1.2's counts the
    44 header bytes too)."""
    head = path.read_bytes()[:44]
    data_size = int.from_bytes(head[40:44], "little") if len(head) == 44 else 0
    return head[:4] == b"RIFF" and head[8:12] == b"WAVE" and data_size > 0


async def test_two_participants_hear_each_other(janus_url: str, opus: Path, tmp_path: Path) -> None:
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        admin = JanusAudioBridgePlugin()
        await admin.attach(session)
        room = await admin.create_room(100_000 + secrets.randbelow(10**9), secret=SECRET)
        alice, alice_ears = await participant(session, room, ALICE_HZ, "alice")
        bob, bob_ears = await participant(session, room, BOB_HZ, "bob")
        try:
            await asyncio.wait_for(alice.webrtcup_event.wait(), BOUND)
            # Each hears the other's tone, not its own (the mix leaves one's own voice out).
            await bob_ears.until(lambda ears: hears(ears, ALICE_HZ))
            await alice_ears.until(lambda ears: hears(ears, BOB_HZ))
            assert silent_at(alice_ears, ALICE_HZ) and silent_at(bob_ears, BOB_HZ)

            # The room's mix recorded to a WAV: both tones are in it.
            mix = tmp_path / "mix.wav"
            await admin.enable_recording(
                room, True, SECRET, record_file=mix.name, record_dir=str(tmp_path)
            )
            while wav_size(mix) < 16000 * 2:  # one second of 16 kHz s16 mono
                await asyncio.sleep(0.1)
            await admin.enable_recording(room, False, SECRET)
            while not wav_finished(mix):
                await asyncio.sleep(0.05)
            levels = wav_levels(mix, (ALICE_HZ, BOB_HZ))
            assert levels[ALICE_HZ] > HEARD and levels[BOB_HZ] > HEARD, levels

            # Bob muted (by the room admin): alice stops hearing him; bob still hears alice.
            assert bob.participant_id is not None
            await admin.mute_participant(room, bob.participant_id, SECRET)
            await alice_ears.until(lambda ears: silent_at(ears, BOB_HZ))
            assert hears(bob_ears, ALICE_HZ)
            await admin.unmute_participant(room, bob.participant_id, SECRET)
            await alice_ears.until(lambda ears: hears(ears, BOB_HZ))
            # Alice mutes herself with configure.
            await alice.configure(muted=True)
            await bob_ears.until(lambda ears: silent_at(ears, ALICE_HZ))
            await alice.configure(muted=False)
            await bob_ears.until(lambda ears: hears(ears, ALICE_HZ))

            # A file played into the room is heard by both.
            file_id = await admin.play_file(room, str(opus), SECRET)
            await alice_ears.until(lambda ears: hears(ears, FILE_HZ))
            await bob_ears.until(lambda ears: hears(ears, FILE_HZ))
            await admin.stop_file(room, file_id, SECRET)
            await alice_ears.until(lambda ears: silent_at(ears, FILE_HZ))
        finally:
            await alice.destroy()
            await bob.destroy()
            await admin.destroy_room(room, SECRET)


async def test_change_room_and_kicks(janus_url: str) -> None:
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        admin = JanusAudioBridgePlugin()
        await admin.attach(session)
        first = await admin.create_room(100_000 + secrets.randbelow(10**9), secret=SECRET)
        second = await admin.create_room(100_000 + secrets.randbelow(10**9), secret=SECRET)
        alice, alice_ears = await participant(session, first, ALICE_HZ, "alice")
        bob, bob_ears = await participant(session, second, BOB_HZ, "bob")
        carol, carol_ears = await participant(session, first, FILE_HZ, "carol")
        try:
            await alice_ears.until(lambda ears: hears(ears, FILE_HZ))  # carol, same room
            assert silent_at(alice_ears, BOB_HZ)  # bob is in the other room
            # Alice moves to bob's room keeping her PeerConnection: now they hear each other.
            pc = alice.pc
            await alice.change_room(second, display="alice moved")
            assert alice.room_id == second and alice.pc is pc
            await alice_ears.until(lambda ears: hears(ears, BOB_HZ) and silent_at(ears, FILE_HZ))
            await bob_ears.until(lambda ears: hears(ears, ALICE_HZ))
            await carol_ears.until(lambda ears: silent_at(ears, ALICE_HZ))

            # kick: Janus closes carol's PeerConnection (hangup), and she leaves the room.
            kicked = asyncio.Event()
            carol.on_event(AudioBridgeEventType.KICKED, lambda data: kicked.set())
            assert carol.participant_id is not None
            await admin.kick_participant(first, carol.participant_id, SECRET)
            await kicked.wait()
            while carol.peer_connection is not None:  # closed on Janus's hangup
                await asyncio.sleep(0.02)
            assert carol.room_id is None
            assert await admin.list_participants(first) == []

            # kick_all: both PeerConnections closed, the room emptied.
            await admin.kick_all(second, SECRET)
            while alice.peer_connection is not None or bob.peer_connection is not None:
                await asyncio.sleep(0.02)
            while await admin.list_participants(second):
                await asyncio.sleep(0.02)
            assert alice.room_id is None and bob.room_id is None
        finally:
            for plugin in (alice, bob, carol):
                await plugin.destroy()
            await admin.destroy_room(first, SECRET)
            await admin.destroy_room(second, SECRET)


async def test_offers_made_by_janus_are_answered(janus_url: str) -> None:
    """``generate_offer``: Janus makes the offer in its ``joined`` reply and our PeerConnection
    answers it (a ``configure`` with the answer) inside ``join``; ``configure(update=True)``
    makes Janus offer again on the same PeerConnection, answered the same way. Both hear each
    other before and after the renegotiation."""
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        admin = JanusAudioBridgePlugin()
        await admin.attach(session)
        room = await admin.create_room(100_000 + secrets.randbelow(10**9), secret=SECRET)
        alice = JanusAudioBridgePlugin(pc_config=no_stun())
        await alice.attach(session)
        alice_ears = ToneListener()
        bob, bob_ears = await participant(session, room, BOB_HZ, "bob")  # bob offers himself
        try:
            joined = await alice.join(
                room,
                display="alice",
                player=player_of(tone_track(ALICE_HZ)),
                recorder=alice_ears,
                generate_offer=True,
            )
            assert joined["jsep"]["type"] == "offer"  # Janus's offer, answered already
            pc = alice.peer_connection
            assert pc.remoteDescription.type == "offer"
            assert pc.localDescription.type == "answer"
            await asyncio.wait_for(alice.webrtcup_event.wait(), BOUND)
            await bob_ears.until(lambda ears: hears(ears, ALICE_HZ))
            await alice_ears.until(lambda ears: hears(ears, BOB_HZ))

            renegotiated = await alice.configure(update=True)  # Janus offers again
            assert renegotiated["jsep"]["type"] == "offer"
            assert alice.peer_connection is pc and pc.signalingState == "stable"
            assert pc.remoteDescription.sdp != joined["jsep"]["sdp"]  # the new offer applied
            since = alice_ears.total, bob_ears.total
            await bob_ears.until(lambda ears: ears.total > since[1] + 25 and hears(ears, ALICE_HZ))
            await alice_ears.until(lambda ears: ears.total > since[0] + 25 and hears(ears, BOB_HZ))
        finally:
            await alice.destroy()
            await bob.destroy()
            await admin.destroy_room(room, SECRET)
