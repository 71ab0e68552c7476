"""NoSIP with real media: an aiortc peer's WebRTC is bridged by Janus to plain RTP, and back.

Two ways: (1) two NoSIP handles play the legacy peers of each other (alice's barebone offer is
processed by bob's handle, bob's barebone answer by alice's): each aiortc side hears the other's
sine in the audio it decodes (bob answers the audio-only offer with an audio+video player: only
its audio is sent); (2) the legacy peer is a local UDP socket: Janus's plain RTP
reaches it, and the Opus payloads decode (PyAV) to the sine alice sends.

Rule: all ICE stays on this machine (``no_stun()``); every test is bounded by a ``deadline`` and
closes what it opened.
"""

from __future__ import annotations

import array
import asyncio
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import av
from aiortc.mediastreams import VideoStreamTrack

from _audio import ToneListener, goertzel, mono_samples, player_of, tone_track
from _media import (
    clean_teardown,  # noqa: F401  (autouse fixture)
    no_default_stun,  # noqa: F401  (autouse fixture)
    no_stun,
)
from janus_fast import JanusSession
from janus_fast._compat import timeout as deadline
from janus_fast.plugins import JanusNoSipPlugin

BOUND = 25.0
ALICE_HZ, BOB_HZ = 440.0, 880.0
HEARD, SILENT = 2000.0, 300.0


async def attached(session: JanusSession) -> JanusNoSipPlugin:
    plugin = JanusNoSipPlugin(pc_config=no_stun())
    await plugin.attach(session)
    return plugin


def mjr_size(base: Path, side: str) -> int:
    path = base.with_name(f"{base.name}-{side}-audio.mjr")
    return path.stat().st_size if path.exists() else 0


def mjr_header(base: Path, side: str) -> bytes:
    return base.with_name(f"{base.name}-{side}-audio.mjr").read_bytes()[:8]


async def test_two_handles_bridge_media(janus_url: str, tmp_path: Path) -> None:
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        alice, bob = await attached(session), await attached(session)
        alice_ears, bob_ears = ToneListener(), ToneListener()
        # bob's player has video too; alice's offer is audio-only: only the offered audio is
        # sent (aiortc alone fails), the video track is stopped with bob's PeerConnection.
        bob_player = SimpleNamespace(audio=tone_track(BOB_HZ), video=VideoStreamTrack())
        try:
            legacy_offer = await alice.make_offer(player_of(tone_track(ALICE_HZ)), alice_ears)
            assert legacy_offer["type"] == "offer" and "RTP/AVP" in legacy_offer["sdp"]
            assert "m=video" not in legacy_offer["sdp"]
            legacy_answer = await bob.accept_offer(legacy_offer["sdp"], bob_player, bob_ears)
            assert legacy_answer["type"] == "answer" and "RTP/AVP" in legacy_answer["sdp"]
            assert "m=video" not in bob.pc.localDescription.sdp
            await alice.accept_answer(legacy_answer["sdp"])

            await bob_ears.until(lambda ears: ears.level(0.4, ALICE_HZ) > HEARD)
            await alice_ears.until(lambda ears: ears.level(0.4, BOB_HZ) > HEARD)
            assert alice_ears.level(0.4, ALICE_HZ) < SILENT  # no echo of one's own tone
            assert bob_ears.level(0.4, BOB_HZ) < SILENT

            # Recording both directions of alice's leg to .mjr files (Janus's own format).
            base = tmp_path / "alice"
            started = await alice.recording(
                "start", audio=True, peer_audio=True, filename=str(base)
            )
            assert started["event"] == "recordingupdated"
            while min(mjr_size(base, "user"), mjr_size(base, "peer")) < 4000:  # ~1 s of Opus
                await asyncio.sleep(0.1)
            await alice.recording("stop", audio=True, peer_audio=True)
            assert mjr_header(base, "user").startswith(b"MJR00002")

            assert (await alice.hangup())["event"] == "hangingup"
            assert alice.peer_connection is None
            await bob_ears.until(lambda ears: ears.level(0.4, ALICE_HZ) < SILENT)
        finally:
            await alice.destroy()
            await bob.destroy()
    assert bob_player.video.readyState == "ended"


class RtpSink(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets: list[bytes] = []

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if len(data) > 12 and not 192 <= data[1] <= 223:  # RTP, not RTCP (RFC 5761)
            self.packets.append(data)


def rtp_payload(packet: bytes) -> bytes:
    """The payload of an RTP packet (fixed header, CSRCs and extension skipped)."""
    offset = 12 + 4 * (packet[0] & 0x0F)
    if packet[0] & 0x10:
        words = int.from_bytes(packet[offset + 2 : offset + 4], "big")
        offset += 4 + 4 * words
    return packet[offset:]


async def test_plain_rtp_reaches_a_legacy_peer(janus_url: str) -> None:
    loop = asyncio.get_running_loop()
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        alice = await attached(session)
        transport = None
        try:
            legacy_offer = await alice.make_offer(player_of(tone_track(ALICE_HZ)))
            sdp = legacy_offer["sdp"]
            # The legacy peer listens on the address Janus's NoSIP uses (its local_ip, an
            # address of this machine): Janus's RTP sockets are bound there.
            address = re.search(r"c=IN IP4 (\S+)", sdp)
            media = re.search(r"m=audio \d+ RTP/AVP (\d+)", sdp)
            assert address is not None and media is not None
            payload = int(media.group(1))
            rtpmap = re.search(rf"a=rtpmap:{payload} (\S+)", sdp)
            assert rtpmap is not None and rtpmap.group(1).lower().startswith("opus/48000")
            transport, sink = await loop.create_datagram_endpoint(
                RtpSink, local_addr=(address.group(1), 0)
            )
            port = transport.get_extra_info("sockname")[1]
            answer = (
                f"v=0\r\no=- 1 1 IN IP4 {address.group(1)}\r\ns=legacy\r\n"
                f"c=IN IP4 {address.group(1)}\r\nt=0 0\r\nm=audio {port} RTP/AVP {payload}\r\n"
                f"a=rtpmap:{payload} {rtpmap.group(1)}\r\na=sendrecv\r\n"
            )
            await alice.accept_answer(answer)
            while len(sink.packets) < 50:  # one second of 20 ms packets
                await asyncio.sleep(0.05)
        finally:
            await alice.destroy()
            if transport is not None:
                transport.close()
    assert {packet[1] & 0x7F for packet in sink.packets} == {payload}
    decoder = av.CodecContext.create("opus", "r")
    samples: array.array[int] = array.array("h")
    for packet in sink.packets[-25:]:
        for frame in decoder.decode(av.Packet(rtp_payload(packet))):
            samples.extend(mono_samples(frame))
    assert goertzel(samples, ALICE_HZ, 48000) > HEARD
    assert goertzel(samples, BOB_HZ, 48000) < SILENT
