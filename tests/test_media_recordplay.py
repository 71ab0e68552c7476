"""Record&Play with real media: an aiortc player's VP8/Opus stream is recorded, the complete
recording is listed (and its .mjr files are in the instance's recordings folder), then played
back to an aiortc viewer that decodes its frames until the recording ends by itself.

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
    no_default_stun,  # noqa: F401  (autouse fixture)
    no_stun,
    shared_clip,
)
from janus_fast import JanusSession
from janus_fast._compat import timeout as deadline
from janus_fast.plugins import JanusRecordPlayPlugin, RecordPlayEventType
from janus_fast.testing.config import recordings_folder
from janus_fast.testing.pytest_plugin import JanusFactory
from janus_fast.testing.server import JanusServer

BOUND = 40.0


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_clip(tmp_path_factory)


async def sent_packets(pc: Any) -> dict[str, int]:
    """RTP packets sent so far per kind on ``pc``."""
    counts = {"audio": 0, "video": 0}
    for report in (await pc.getStats()).values():
        if getattr(report, "type", None) == "outbound-rtp":
            counts[report.kind] += report.packetsSent
    return counts


def recorded_files(folder: Path, prefix: str) -> dict[str, int]:
    """name → size of the files in ``folder`` whose name starts with ``prefix``."""
    return {path.name: path.stat().st_size for path in folder.glob(f"{prefix}*")}


class Events:
    def __init__(self, plugin: JanusRecordPlayPlugin) -> None:
        self.queue: asyncio.Queue[tuple[RecordPlayEventType, Any]] = asyncio.Queue(100)
        for kind in RecordPlayEventType:
            plugin.on_event(kind, lambda data, kind=kind: self.queue.put_nowait((kind, data)))

    async def next(self, event_type: RecordPlayEventType) -> Any:
        while True:
            kind, data = await self.queue.get()
            if kind is event_type:
                return data


async def test_record_list_and_play_back(
    janus_server: JanusServer, janus_url: str, clip: Path
) -> None:
    name = f"media test {secrets.token_hex(4)}"
    prefix = f"rec-{secrets.token_hex(6)}"
    sink = FrameCounter()
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        recorder = JanusRecordPlayPlugin(pc_config=no_stun())
        viewer = JanusRecordPlayPlugin(pc_config=no_stun())
        await recorder.attach(session)
        await viewer.attach(session)
        recorder_events, viewer_events = Events(recorder), Events(viewer)
        try:
            data = await recorder.record(name, MediaPlayer(str(clip)), filename=prefix)
            recording = data["result"]["id"]
            assert data["result"]["status"] == "recording"
            assert recorder.recording_id == recording
            await recorder.webrtcup_event.wait()
            while min((await sent_packets(recorder.pc)).values()) < 40:  # about 1.5 s
                await asyncio.sleep(0.05)
            pc = recorder.pc
            assert (await recorder.stop())["result"] == {"status": "stopped", "id": recording}
            assert pc.connectionState == "closed"
            await recorder_events.next(RecordPlayEventType.DONE)  # complete from now on

            listed = {entry["id"]: entry for entry in await viewer.list_recordings()}
            entry = listed[recording]
            assert entry["name"] == name
            assert entry["audio"] is True and entry["video"] is True
            assert (entry["audio_codec"], entry["video_codec"]) == ("opus", "vp8")
            files = recorded_files(recordings_folder(janus_server.folder), prefix)
            assert set(files) == {f"{prefix}-audio.mjr", f"{prefix}-video.mjr"}, files
            assert all(size > 1000 for size in files.values()), files

            played = await viewer.play_media(recording, recorder=sink)
            assert played["result"] == {"status": "preparing", "id": recording}
            assert viewer.recording_id == recording
            await viewer_events.next(RecordPlayEventType.PLAYING)
            await viewer.webrtcup_event.wait()
            await sink.wait(frames=5)  # the recorded VP8 and Opus, decoded
            # The recording is short: its end finishes the playout on Janus's side.
            await viewer_events.next(RecordPlayEventType.DONE)
            assert viewer.recording_id is None
            assert sink.frames["video"] >= 5 and sink.frames["audio"] >= 5
        finally:
            await viewer.destroy()
            await recorder.destroy()


async def test_full_trickle_record_and_play(
    janus_factory: JanusFactory, transport_kind: str, clip: Path
) -> None:
    """Neither side puts candidates in its SDP: ``record``/``play_media`` with ``trickle=True``
    send ours after the offer/answer, Janus's arrive as ``trickle`` events."""
    server = janus_factory(plugins=("recordplay",), nat={"full_trickle": True})
    url = server.ws_url if transport_kind == "ws" else server.http_url
    sink = FrameCounter()
    async with deadline(BOUND), JanusSession(base_url=url) as session:
        plugin = JanusRecordPlayPlugin(pc_config=no_stun())
        await plugin.attach(session)
        events = Events(plugin)
        try:
            data = await plugin.record(
                "trickled", MediaPlayer(str(clip)), filename="trickled", trickle=True
            )
            assert "a=candidate" not in data["jsep"]["sdp"]
            await plugin.webrtcup_event.wait()
            while min((await sent_packets(plugin.pc)).values()) < 40:
                await asyncio.sleep(0.05)
            await plugin.stop()
            await events.next(RecordPlayEventType.DONE)
            played = await plugin.play_media(data["result"]["id"], recorder=sink, trickle=True)
            assert "a=candidate" not in played["jsep"]["sdp"]
            await sink.wait(frames=5)
        finally:
            await plugin.destroy()
