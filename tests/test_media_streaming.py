"""Streaming with real media: an RTP mountpoint made with ``create`` on loopback ports, fed by
ffmpeg, watched by an aiortc viewer that decodes its frames; pause/resume, disable/enable and
``configure(send=False)`` stop and restart the flow; ``switch`` moves the viewer to a second
mountpoint (still decoding once the first one's sender is gone); ``recording`` writes .mjr files;
a full-trickle Janus with our own trickle; an ``ondemand`` file mountpoint (A-law) decoded too.

Rule: all ICE stays on this machine (``no_stun()``), every sender is ffmpeg on 127.0.0.1, every
test is bounded by a ``deadline`` and closes every PeerConnection and sender it started.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from _media import (
    RTP_MEDIA,
    FrameCounter,
    RtpSender,
    clean_teardown,  # noqa: F401  (autouse fixture)
    inbound_packets,
    mountpoint_ports,
    no_default_stun,  # noqa: F401  (autouse fixture)
    no_stun,
    wait_inbound,
)
from janus_fast import JanusSession
from janus_fast._compat import timeout as deadline
from janus_fast.plugins import JanusStreamingPlugin, StreamingEventType
from janus_fast.testing.pytest_plugin import JanusFactory

BOUND = 40.0
#: How long a stopped flow is watched for packets that should not come.
QUIET = 0.6


def mountpoint_id() -> int:
    return 100_000 + secrets.randbelow(10**9)


async def attached(session: JanusSession) -> JanusStreamingPlugin:
    plugin = JanusStreamingPlugin(pc_config=no_stun())
    await plugin.attach(session)
    return plugin


async def create(admin: JanusStreamingPlugin, mp: int) -> dict[str, int]:
    created = await admin.create_mountpoint("rtp", mp, secret="s", media=RTP_MEDIA)
    return mountpoint_ports(created)


async def quiet(pc: Any, kind: str) -> int:
    """Packets of ``kind`` that still arrived during ``QUIET`` seconds, after those in flight
    when the flow was stopped had landed."""
    await asyncio.sleep(0.3)
    before = (await inbound_packets(pc))[kind]
    await asyncio.sleep(QUIET)
    return (await inbound_packets(pc))[kind] - before


def file_size(path: Path) -> int:
    """Bytes in ``path`` (0 if it does not exist)."""
    return path.stat().st_size if path.exists() else 0


async def flowing(pc: Any, kind: str, packets: int = 10) -> None:
    """Until ``packets`` more packets of ``kind`` arrived (bounded by the caller)."""
    start = (await inbound_packets(pc))[kind]
    await wait_inbound(pc, (kind,), packets=start + packets)


async def test_watch_pause_disable_configure_stop(janus_url: str) -> None:
    mp = mountpoint_id()
    sink = FrameCounter()
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        admin, viewer = await attached(session), await attached(session)
        started: asyncio.Queue[dict[str, Any]] = asyncio.Queue(10)
        viewer.on_event(StreamingEventType.STARTED, started.put_nowait)
        ports = await create(admin, mp)
        try:
            with RtpSender(ports):
                watched = await viewer.watch_media(mp, recorder=sink)
                assert watched["result"]["status"] == "preparing"
                await viewer.webrtcup_event.wait()
                await started.get()
                assert viewer.started and viewer.mountpoint_id == mp
                await sink.wait(frames=5)  # VP8 video and Opus audio, decoded
                pc = viewer.pc
                assert (await admin.info(mp, secret="s"))["viewers"] == 1

                assert (await viewer.pause())["result"]["status"] == "pausing"
                assert await quiet(pc, "video") <= 2
                await viewer.resume()
                await flowing(pc, "video")

                await admin.disable(mp, secret="s")
                assert await quiet(pc, "video") <= 2
                await admin.enable(mp, secret="s")
                await flowing(pc, "video")

                configured = await viewer.configure(mid="v", send=False)
                assert configured["result"]["event"] == "configured"
                assert await quiet(pc, "video") <= 2
                await flowing(pc, "audio")  # the other stream goes on
                await viewer.configure(mid="v", send=True)
                await flowing(pc, "video")

                frames = dict(sink.frames)
                assert (await viewer.stop())["result"]["status"] == "stopping"
                assert viewer.mountpoint_id is None and not viewer.started
                assert pc.connectionState == "closed"
                assert frames["video"] >= 5 and frames["audio"] >= 5
        finally:
            await viewer.destroy()
            await admin.destroy_mountpoint(mp, secret="s")
            await admin.destroy()


async def test_switch_and_recording(janus_url: str, tmp_path: Path) -> None:
    first, second = mountpoint_id(), mountpoint_id()
    sink = FrameCounter()
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        admin, viewer = await attached(session), await attached(session)
        switched: asyncio.Queue[dict[str, Any]] = asyncio.Queue(10)
        viewer.on_event(StreamingEventType.SWITCHED, switched.put_nowait)
        first_ports, second_ports = await create(admin, first), await create(admin, second)
        try:
            with RtpSender(first_ports) as first_sender, RtpSender(second_ports):
                await viewer.watch_media(first, recorder=sink)
                await viewer.webrtcup_event.wait()
                await sink.wait(frames=5, kinds=("video",))

                # recording: Janus writes each stream's .mjr where it is told
                base = tmp_path / "mountpoint"
                media = [
                    {"mid": "a", "filename": f"{base}-audio"},
                    {"mid": "v", "filename": f"{base}-video"},
                ]
                assert await admin.recording(first, "start", media, secret="s") == {
                    "streaming": "ok"
                }
                await flowing(viewer.pc, "video", packets=20)
                await admin.recording(first, "stop", [{"mid": "a"}, {"mid": "v"}], secret="s")
                sizes = {kind: file_size(Path(f"{base}-{kind}.mjr")) for kind in ("audio", "video")}
                assert all(size > 1000 for size in sizes.values()), sizes

                reply = await viewer.switch(second)
                assert reply["result"] == {"switched": "ok", "id": second}
                assert (await switched.get())["id"] == second
                assert viewer.mountpoint_id == second
                first_sender.stop()  # from now on only the second mountpoint has media
                await asyncio.sleep(0.3)
                decoded = sink.frames["video"]
                await flowing(viewer.pc, "video", packets=20)
                await sink.wait(frames=decoded + 5, kinds=("video",))
                assert (await admin.info(first, secret="s"))["viewers"] == 0
                assert (await admin.info(second, secret="s"))["viewers"] == 1
        finally:
            await viewer.destroy()
            for mp in (first, second):
                await admin.destroy_mountpoint(mp, secret="s")
            await admin.destroy()


async def test_full_trickle_watch(janus_factory: JanusFactory, transport_kind: str) -> None:
    """Neither side puts candidates in its SDP: Janus trickles its own (maybe before its offer
    is answered, kept until then) and ``watch_media(trickle=True)`` sends ours after the
    answer."""
    server = janus_factory(plugins=("streaming",), nat={"full_trickle": True})
    url = server.ws_url if transport_kind == "ws" else server.http_url
    mp = mountpoint_id()
    sink = FrameCounter()
    async with deadline(BOUND), JanusSession(base_url=url) as session:
        admin, viewer = await attached(session), await attached(session)
        ports = await create(admin, mp)
        try:
            with RtpSender(ports):
                watched = await viewer.watch_media(mp, recorder=sink, trickle=True)
                assert "a=candidate" not in watched["jsep"]["sdp"]
                await viewer.webrtcup_event.wait()
                await sink.wait(frames=5)
        finally:
            await viewer.destroy()
            await admin.destroy_mountpoint(mp, secret="s")
            await admin.destroy()


@pytest.fixture(scope="module")
def alaw_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three seconds of a 440 Hz tone as raw A-law (8 kHz mono), made with ffmpeg."""
    path = tmp_path_factory.mktemp("streams") / "tone.alaw"
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg is needed for Streaming media tests: apt-get install ffmpeg"
    subprocess.run(
        [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi", "-i",
         "sine=frequency=440:sample_rate=8000", "-t", "3", "-ac", "1", "-f", "alaw", str(path)],
        check=True,
        timeout=30,
    )  # fmt: skip
    return path


async def test_ondemand_file_mountpoint(janus_url: str, alaw_file: Path) -> None:
    """A mountpoint of another type (``ondemand``: Janus plays a file to each viewer), its
    type-specific fields passed as kwargs; the viewer decodes the file's audio."""
    mp = mountpoint_id()
    sink = FrameCounter()
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        admin, viewer = await attached(session), await attached(session)
        created = await admin.create_mountpoint(
            "ondemand",
            mp,
            secret="s",
            filename=str(alaw_file),
            audio=True,
            audiopt=8,
            audiocodec="pcma",
        )
        assert created["stream"]["type"] == "on demand"
        try:
            watched = await viewer.watch_media(mp, recorder=sink)
            assert "PCMA/8000" in watched["jsep"]["sdp"]
            await viewer.webrtcup_event.wait()
            await sink.wait(frames=20, kinds=("audio",))
        finally:
            await viewer.destroy()
            await admin.destroy_mountpoint(mp, secret="s")
            await admin.destroy()
