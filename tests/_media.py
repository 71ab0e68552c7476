"""Test media made at test time with PyAV, and the WebRTC test plumbing shared by media tests.

Rule: test helper only; nothing is downloaded or shipped. Clips are tiny (160x120, 15 fps,
MPEG-4 Part 2 video with a moving test pattern, 440 Hz PCM tone) so decoding them and encoding
VP8/Opus in aiortc stay cheap on a 2-core machine. Every PeerConnection of a test uses
``no_stun()``; the ``no_default_stun`` fixture makes aiortc's default (a public STUN server) fail
the test instead of contacting anything.
"""

from __future__ import annotations

import array
import asyncio
import logging
import math
import threading
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest

WIDTH, HEIGHT, FPS = 160, 120, 15
SAMPLE_RATE = 48000
AUDIO_FRAME = 960  # 20 ms


def make_clip(path: Path, seconds: float = 3.0, *, audio: bool = True, video: bool = True) -> Path:
    """Write a clip (test pattern + tone) to ``path`` (a ``.mkv``); return ``path``."""
    with av.open(str(path), mode="w", format="matroska") as container:
        vstream = container.add_stream("mpeg4", rate=FPS) if video else None
        if vstream is not None:
            vstream.width, vstream.height, vstream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        astream = container.add_stream("pcm_s16le", rate=SAMPLE_RATE) if audio else None
        if astream is not None:
            astream.layout = "mono"
        events: list[tuple[float, str, int]] = []
        if vstream is not None:
            events += [(i / FPS, "v", i) for i in range(int(seconds * FPS))]
        if astream is not None:
            count = int(seconds * SAMPLE_RATE / AUDIO_FRAME)
            events += [(i * AUDIO_FRAME / SAMPLE_RATE, "a", i) for i in range(count)]
        for _, kind, index in sorted(events):
            if kind == "v" and vstream is not None:
                for packet in vstream.encode(_video_frame(index)):
                    container.mux(packet)
            elif astream is not None:
                for packet in astream.encode(_audio_frame(index)):
                    container.mux(packet)
        for stream in (vstream, astream):
            if stream is not None:
                for packet in stream.encode(None):
                    container.mux(packet)
    return path


def _video_frame(index: int) -> av.VideoFrame:
    frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
    shift = index * 4
    luma = bytes(
        ((x + shift) % 256) if ((x // 20 + y // 20 + index) % 2) else 40
        for y in range(HEIGHT)
        for x in range(WIDTH)
    )
    chroma_size = (WIDTH // 2) * (HEIGHT // 2)
    planes = (luma, bytes([(index * 8) % 256]) * chroma_size, bytes([128]) * chroma_size)
    for plane, data in zip(frame.planes, planes, strict=True):
        _fill(plane, data, plane.width)
    frame.pts = index
    frame.time_base = Fraction(1, FPS)
    return frame


def _fill(plane: av.video.plane.VideoPlane, data: bytes, width: int) -> None:
    """Copy tightly packed rows into a plane whose rows may be padded (``line_size``)."""
    stride = plane.line_size
    if stride == width:
        plane.update(data)
        return
    padded = bytearray(stride * plane.height)
    for row in range(plane.height):
        padded[row * stride : row * stride + width] = data[row * width : (row + 1) * width]
    plane.update(bytes(padded))


def _audio_frame(index: int) -> av.AudioFrame:
    start = index * AUDIO_FRAME
    samples = array.array(
        "h",
        (
            int(0.3 * 32767 * math.sin(2 * math.pi * 440.0 * (start + i) / SAMPLE_RATE))
            for i in range(AUDIO_FRAME)
        ),
    )
    frame = av.AudioFrame(format="s16", layout="mono", samples=AUDIO_FRAME)
    frame.planes[0].update(samples.tobytes())
    frame.sample_rate = SAMPLE_RATE
    frame.pts = start
    frame.time_base = Fraction(1, SAMPLE_RATE)
    return frame


def decoded_frames(path: Path) -> dict[str, int]:
    """Decode a recorded file; the number of decoded frames per kind (``audio``/``video``)."""
    counts = {"audio": 0, "video": 0}
    with av.open(str(path)) as container:
        for frame in container.decode(*container.streams):
            kind = "video" if isinstance(frame, av.VideoFrame) else "audio"
            counts[kind] += 1
    return counts


#: Longer than any media test may run (its bound), so a player never reaches the end of the clip
#: (aiortc's ``MediaPlayer(loop=True)`` restarts video timestamps, which VP8 encoding rejects).
CLIP_SECONDS = 20.0


def shared_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test clip, made once per test run (the modules' ``clip`` fixtures share the file)."""
    path = tmp_path_factory.getbasetemp() / "media-clip.mkv"
    if not path.exists():
        partial = path.with_suffix(".partial.mkv")
        make_clip(partial, seconds=CLIP_SECONDS)
        partial.rename(path)
    return path


def no_stun() -> Any:
    """An ``RTCConfiguration`` without ICE servers: host candidates only, nothing contacted."""
    from aiortc import RTCConfiguration

    return RTCConfiguration(iceServers=[])


@pytest.fixture(autouse=True)
def no_default_stun(monkeypatch: pytest.MonkeyPatch) -> None:
    """aiortc's default ICE servers (a public STUN server) make the test fail, never contact."""
    from aiortc.rtcicetransport import RTCIceGatherer

    def refuse() -> list[Any]:
        raise AssertionError("a test PeerConnection must use no_stun(), not aiortc's default")

    monkeypatch.setattr(RTCIceGatherer, "getDefaultIceServers", classmethod(lambda cls: refuse()))


@pytest.fixture(autouse=True)
def clean_teardown(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail a media test whose plugins logged an error (e.g. an unsolicited offer not answered,
    a trickled candidate not applied: those paths never raise into the test itself), or that
    left a media player's decoding thread running."""
    yield
    errors = [
        record
        for record in caplog.get_records("call")
        if record.name.startswith("janus_fast") and record.levelno >= logging.ERROR
    ]
    assert not errors, [record.getMessage() for record in errors]
    players = [thread for thread in threading.enumerate() if thread.name == "media-player"]
    assert not players, f"{len(players)} media-player thread(s) still running"


async def inbound_packets(pc: Any) -> dict[str, int]:
    """RTP packets received so far per kind (``audio``/``video``) on ``pc``."""
    counts = {"audio": 0, "video": 0}
    stats = await pc.getStats()
    for report in stats.values():
        if getattr(report, "type", None) == "inbound-rtp":
            counts[report.kind] = counts.get(report.kind, 0) + report.packetsReceived
    return counts


async def wait_inbound(
    pc: Any, kinds: tuple[str, ...] = ("audio", "video"), packets: int = 20
) -> dict[str, int]:
    """Wait until ``pc`` received at least ``packets`` RTP packets of each kind in ``kinds``
    (bounded by the caller's timeout); return the counts."""
    while True:
        counts = await inbound_packets(pc)
        if all(counts.get(kind, 0) >= packets for kind in kinds):
            return counts
        await asyncio.sleep(0.05)


class FrameCounter:
    """A ``MediaRecorder`` stand-in (``addTrack``/``start``/``stop``, as the plugins use it) that
    decodes the remote tracks and counts their frames per kind."""

    def __init__(self) -> None:
        self.frames = {"audio": 0, "video": 0}
        self._tracks: list[Any] = []
        self._tasks: dict[Any, asyncio.Task[None]] = {}

    def addTrack(self, track: Any) -> None:
        self._tracks.append(track)

    async def start(self) -> None:
        for track in self._tracks:
            if track not in self._tasks:
                self._tasks[track] = asyncio.get_running_loop().create_task(self._count(track))

    async def _count(self, track: Any) -> None:
        from aiortc.mediastreams import MediaStreamError

        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return
            self.frames[track.kind] += 1

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def wait(self, frames: int = 5, kinds: tuple[str, ...] = ("audio", "video")) -> None:
        """Until ``frames`` frames of each kind were decoded (bounded by the caller)."""
        while any(self.frames[kind] < frames for kind in kinds):
            await asyncio.sleep(0.05)


def counting_recorder_class() -> Any:
    """A subclass of aiortc's ``MediaRecorder`` that also counts the frames it was handed
    (``.frames`` per kind, ``await .wait(n)``), so a test stops it only once frames reached the
    file (decoding runs behind the RTP packets).

    It also works around an aiortc race: if an audio packet is muxed before the first video
    frame arrived, the container opens the video codec at its default size and recording video
    dies with "Cannot change width after codec is open" (seen on a loaded machine). Audio is held
    back here until the first video frame was handed over.
    """
    from aiortc.contrib.media import MediaRecorder
    from aiortc.mediastreams import MediaStreamTrack

    class Counted(MediaStreamTrack):  # type: ignore[misc]
        def __init__(self, inner: Any, recorder: Any) -> None:
            super().__init__()
            self.kind = inner.kind
            self._inner, self._recorder = inner, recorder

        async def recv(self) -> Any:
            frame = await self._inner.recv()
            if self.kind == "video":
                self._recorder.video_seen.set()
            elif self._recorder.has_video:
                await self._recorder.video_seen.wait()
            self._recorder.frames[self.kind] += 1  # encoded right after, in the same task step
            return frame

    class CountingRecorder(MediaRecorder):  # type: ignore[misc]
        def __init__(self, file: Any, *args: Any, **kwargs: Any) -> None:
            super().__init__(file, *args, **kwargs)
            self.frames = {"audio": 0, "video": 0}
            self.has_video = False
            self.video_seen = asyncio.Event()

        def addTrack(self, track: Any) -> None:
            self.has_video = self.has_video or track.kind == "video"
            super().addTrack(Counted(track, self))

        async def wait(self, frames: int = 5, kinds: tuple[str, ...] = ("audio", "video")) -> None:
            while any(self.frames[kind] < frames for kind in kinds):
                await asyncio.sleep(0.05)

    return CountingRecorder


def counting_recorder(path: Path) -> Any:
    """A ``counting_recorder_class()`` instance writing ``path``."""
    return counting_recorder_class()(str(path))


#: The streams of a Streaming test mountpoint: what ``RtpSender`` sends (ports chosen by Janus).
RTP_MEDIA: list[dict[str, Any]] = [
    {"type": "audio", "mid": "a", "port": 0, "pt": 111, "codec": "opus"},
    {"type": "video", "mid": "v", "port": 0, "pt": 96, "codec": "vp8"},
]


class RtpSender:
    """ffmpeg (Debian's package, found on PATH; a missing one fails the test) sending a test
    pattern as VP8 and a tone as Opus over plain RTP to ``127.0.0.1`` — what a Streaming RTP
    mountpoint of ``RTP_MEDIA`` takes. ``ports`` maps a mid (``a``, ``v``) to the port Janus
    bound for it. Small and cheap (160x120, 15 fps, one thread); a keyframe every second, so a
    viewer joining or switching decodes within about a second. ``stop()`` (also on exit) ends
    the process, bounded."""

    def __init__(self, ports: dict[str, int]) -> None:
        import shutil

        binary = shutil.which("ffmpeg")
        assert binary, "ffmpeg is needed for Streaming media tests: apt-get install ffmpeg"
        self.args = [
            binary, "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
            "-f", "lavfi", "-i", f"testsrc=size={WIDTH}x{HEIGHT}:rate={FPS}",
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={SAMPLE_RATE}",
            "-map", "0:v", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8",
            "-threads", "1", "-b:v", "150k", "-g", str(FPS), "-payload_type", "96",
            "-f", "rtp", f"rtp://127.0.0.1:{ports['v']}",
            "-map", "1:a", "-c:a", "libopus", "-b:a", "32k", "-payload_type", "111",
            "-f", "rtp", f"rtp://127.0.0.1:{ports['a']}",
        ]  # fmt: skip
        self.process: Any = None

    def __enter__(self) -> RtpSender:
        import subprocess

        self.process = subprocess.Popen(
            self.args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # ffmpeg prints the SDP there
        )
        return self

    def stop(self) -> None:
        import subprocess

        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def mountpoint_ports(created: dict[str, Any]) -> dict[str, int]:
    """mid → port of a Streaming ``create`` reply (its ``stream.ports``)."""
    return {entry["mid"]: entry["port"] for entry in created["stream"]["ports"]}
