"""Audio test helpers: a sine-tone aiortc track, a tone detector on decoded frames, and Opus
files written with PyAV.

Rule: test helper only; all audio is made at test time (nothing downloaded). The detector
measures energy (RMS) and the power at one frequency (Goertzel) of the samples aiortc decoded,
so a test checks what was heard, not only that packets arrived.
"""

from __future__ import annotations

import array
import asyncio
import math
import time
from collections import deque
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

SAMPLE_RATE = 48000
FRAME = 960  # 20 ms


def tone_samples(frequency: float, start: int, count: int, amplitude: float = 0.3) -> bytes:
    """``count`` mono s16 samples of a sine at ``frequency`` from sample ``start``."""
    scale = amplitude * 32767
    step = 2 * math.pi * frequency / SAMPLE_RATE
    return array.array(
        "h", (int(scale * math.sin(step * (start + i))) for i in range(count))
    ).tobytes()


def write_opus(path: Path, frequency: float, seconds: float = 2.0) -> Path:
    """An Ogg Opus file (48 kHz mono) with a sine at ``frequency``: what AudioBridge's
    ``play_file`` accepts."""
    with av.open(str(path), mode="w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=SAMPLE_RATE)
        stream.layout = "mono"
        for index in range(int(seconds * SAMPLE_RATE / FRAME)):
            frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME)
            frame.planes[0].update(tone_samples(frequency, index * FRAME, FRAME))
            frame.sample_rate = SAMPLE_RATE
            frame.pts = index * FRAME
            frame.time_base = Fraction(1, SAMPLE_RATE)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def player_of(track: Any) -> Any:
    """An object shaped like aiortc's ``MediaPlayer`` (``audio``/``video``) around ``track``."""

    class Player:
        audio = track
        video = None

    return Player()


def tone_track(frequency: float, amplitude: float = 0.3) -> Any:
    """An aiortc audio track playing a sine at ``frequency`` in real time (``frequency=0``:
    silence)."""
    from aiortc.mediastreams import MediaStreamTrack

    class Tone(MediaStreamTrack):  # type: ignore[misc]
        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self._index = 0
            self._start: float | None = None

        async def recv(self) -> av.AudioFrame:
            if self._start is None:
                self._start = time.monotonic()
            due = self._start + self._index * FRAME / SAMPLE_RATE
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME)
            if frequency:
                data = tone_samples(frequency, self._index * FRAME, FRAME, amplitude)
            else:
                data = bytes(2 * FRAME)
            frame.planes[0].update(data)
            frame.sample_rate = SAMPLE_RATE
            frame.pts = self._index * FRAME
            frame.time_base = Fraction(1, SAMPLE_RATE)
            self._index += 1
            return frame

    return Tone()


def mono_samples(frame: av.AudioFrame) -> array.array[int]:
    """The first channel of a decoded frame as s16 samples (aiortc decodes Opus to packed
    s16 stereo)."""
    data = array.array("h", bytes(frame.planes[0]))
    if frame.format.name == "s16" and not frame.format.is_planar:
        channels = len(frame.layout.channels)
        return data[: frame.samples * channels : channels]
    resampled = av.AudioResampler(format="s16", layout="mono").resample(frame)
    out: array.array[int] = array.array("h")
    for part in resampled:
        out.extend(array.array("h", bytes(part.planes[0]))[: part.samples])
    return out


def goertzel(samples: array.array[int], frequency: float, rate: int) -> float:
    """Normalised amplitude of ``frequency`` in ``samples`` (about the sine's amplitude in
    s16 units for a pure tone)."""
    count = len(samples)
    if count == 0:
        return 0.0
    coeff = 2 * math.cos(2 * math.pi * frequency / rate)
    s_prev = s_prev2 = 0.0
    for sample in samples:
        s = sample + coeff * s_prev - s_prev2
        s_prev2, s_prev = s_prev, s
    power = s_prev2 * s_prev2 + s_prev * s_prev - coeff * s_prev * s_prev2
    return 2 * math.sqrt(max(power, 0.0)) / count


class ToneListener:
    """A ``MediaRecorder`` stand-in (``addTrack``/``start``/``stop``) that decodes the remote
    audio and keeps, per recent frame, its arrival time, RMS and samples (first channel)."""

    def __init__(self, keep: float = 1.0) -> None:
        self.keep = keep
        self.frames: deque[tuple[float, float, array.array[int], int]] = deque()
        self.total = 0
        self._tracks: list[Any] = []
        self._tasks: list[asyncio.Task[None]] = []

    def addTrack(self, track: Any) -> None:
        self._tracks.append(track)

    async def start(self) -> None:
        while self._tracks:
            track = self._tracks.pop()
            self._tasks.append(asyncio.get_running_loop().create_task(self._listen(track)))

    async def _listen(self, track: Any) -> None:
        from aiortc.mediastreams import MediaStreamError

        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if track.kind != "audio":
                continue
            samples = mono_samples(frame)
            rms = math.sqrt(sum(s * s for s in samples) / len(samples)) if samples else 0.0
            now = time.monotonic()
            self.frames.append((now, rms, samples, frame.sample_rate))
            self.total += 1
            while self.frames and self.frames[0][0] < now - self.keep:
                self.frames.popleft()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def recent(self, seconds: float = 0.4) -> tuple[float, dict[float, float]]:
        """(RMS, {frequency: amplitude}) over the frames of the last ``seconds``; silence
        (0.0) when none arrived."""
        return self._measure(seconds, ())

    def level(self, seconds: float, frequency: float) -> float:
        """The amplitude of ``frequency`` over the frames of the last ``seconds``."""
        return self._measure(seconds, (frequency,))[1][frequency]

    def _measure(
        self, seconds: float, frequencies: tuple[float, ...]
    ) -> tuple[float, dict[float, float]]:
        since = time.monotonic() - seconds
        chosen = [entry for entry in self.frames if entry[0] >= since]
        if not chosen:
            return 0.0, dict.fromkeys(frequencies, 0.0)
        joined: array.array[int] = array.array("h")
        for entry in chosen:
            joined.extend(entry[2])
        rate = chosen[-1][3]
        rms = math.sqrt(sum(s * s for s in joined) / len(joined))
        return rms, {f: goertzel(joined, f, rate) for f in frequencies}

    async def until(self, check: Any, seconds: float = 0.4) -> None:
        """Wait (bounded by the caller) until ``check(listener)`` holds."""
        while not check(self):
            await asyncio.sleep(0.1)
