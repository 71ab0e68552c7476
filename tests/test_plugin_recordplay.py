"""Record&Play plugin against the real Janus, signalling only (hand-written SDPs, no media):
list/update/configure, record with a ready-made offer (Janus's answer returned), pause/resume/
stop of a recording, typed errors and events. Recording and playing real media is in
test_media_recordplay.py.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest

from _fake_sdp import answer, offer
from janus_fast import JanusSession, PluginError
from janus_fast._compat import timeout as deadline
from janus_fast.errors import JsepInvalidSdpError
from janus_fast.plugins import JanusRecordPlayPlugin, RecordPlayError, RecordPlayEventType
from janus_fast.plugins.recordplay import classify_event

BOUND = 15.0
MISSING_ELEMENT = 415
NOT_FOUND = 416
INVALID_STATE = 418


async def attached(session: JanusSession) -> JanusRecordPlayPlugin:
    plugin = JanusRecordPlayPlugin()
    await plugin.attach(session)
    return plugin


def collect(plugin: JanusRecordPlayPlugin) -> asyncio.Queue[tuple[RecordPlayEventType, Any]]:
    queue: asyncio.Queue[tuple[RecordPlayEventType, Any]] = asyncio.Queue(100)
    for event_type in RecordPlayEventType:
        plugin.on_event(event_type, lambda data, kind=event_type: queue.put_nowait((kind, data)))
    return queue


async def test_list_update_configure(janus_url: str) -> None:
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        plugin = await attached(session)
        assert isinstance(await plugin.list_recordings(), list)
        assert await plugin.update() == {"recordplay": "ok"}
        configured = await plugin.configure(video_bitrate_max=256_000, video_keyframe_interval=2000)
        assert configured["status"] == "ok"
        assert configured["settings"] == {
            "video-bitrate-max": 256_000,
            "video-keyframe-interval": 2000,
        }
        await plugin.destroy()


async def test_record_with_a_ready_made_offer_pause_resume_stop(janus_url: str) -> None:
    recording = 100_000 + secrets.randbelow(10**9)
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        plugin = await attached(session)
        events = collect(plugin)
        data = await plugin.record(
            "signalling only", recording_id=recording, filename=f"sig-{recording}", jsep=offer()
        )
        assert data["result"] == {"status": "recording", "id": recording}
        assert data["jsep"]["type"] == "answer" and "m=video" in data["jsep"]["sdp"]
        assert plugin.recording_id == recording
        kind, payload = await events.get()
        assert kind is RecordPlayEventType.RECORDING and payload["id"] == recording
        assert payload["jsep"]["type"] == "answer"

        assert (await plugin.pause())["result"] == {"status": "paused", "id": recording}
        assert (await events.get())[0] is RecordPlayEventType.PAUSED
        assert (await plugin.resume())["result"] == {"status": "resumed", "id": recording}
        assert (await events.get())[0] is RecordPlayEventType.RESUMED

        stopped = await plugin.stop()
        assert stopped["result"] == {"status": "stopped", "id": recording}
        assert plugin.recording_id is None
        # Janus's stop reply and its "done" (the PeerConnection is gone) race each other.
        ends = {(await events.get())[0], (await events.get())[0]}
        assert ends == {RecordPlayEventType.STOPPED, RecordPlayEventType.DONE}
        await plugin.destroy()


async def test_errors_are_typed(janus_url: str) -> None:
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        plugin = await attached(session)
        with pytest.raises(RecordPlayError) as not_found:
            await plugin.play(10**12 + secrets.randbelow(10**6))
        assert isinstance(not_found.value, PluginError)
        assert not_found.value.error_code == NOT_FOUND
        with pytest.raises(PluginError) as no_offer:  # the generic request: a PluginError
            await plugin.request({"request": "record", "name": "no offer"}, timeout=BOUND)
        assert no_offer.value.error_code == MISSING_ELEMENT
        assert "SDP offer" in no_offer.value.error
        with pytest.raises(RecordPlayError) as no_name:
            await plugin.record("", jsep=offer())
        assert no_name.value.error_code in (MISSING_ELEMENT, 414)
        with pytest.raises(RecordPlayError) as not_playing:
            await plugin.start(jsep=answer(offer()))
        assert not_playing.value.error_code == INVALID_STATE
        with pytest.raises(RecordPlayError) as bad_sdp:  # a core error: both classes
            await plugin.start(jsep={"type": "answer", "sdp": "v=0\r\n"})
        assert isinstance(bad_sdp.value, JsepInvalidSdpError)
        assert bad_sdp.value.error_code == bad_sdp.value.code == 465
        with pytest.raises(ValueError, match="player"):
            await plugin.record("no player")  # neither a player nor a jsep: nothing sent
        await plugin.destroy()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"recordplay": "event", "result": {"status": "recording", "id": 1}},
            RecordPlayEventType.RECORDING,
        ),
        ({"recordplay": "event", "result": {"status": "playing"}}, RecordPlayEventType.PLAYING),
        ({"recordplay": "event", "result": {"status": "slow_link"}}, RecordPlayEventType.SLOW_LINK),
        ({"recordplay": "event", "result": "done"}, RecordPlayEventType.DONE),
        ({"recordplay": "event", "result": "other text"}, RecordPlayEventType.OTHER),
        ({"recordplay": "event", "result": {"status": 3}}, RecordPlayEventType.OTHER),
        ({"recordplay": "list", "list": []}, RecordPlayEventType.OTHER),
    ],
)
def test_event_shapes(data: dict[str, Any], expected: RecordPlayEventType) -> None:
    """Every shape, known or not, has an event type; none raises."""
    assert classify_event(data)[0] is expected
