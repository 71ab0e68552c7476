"""Real WebRTC (aiortc) through a real Janus 1.1.2 EchoTest, watched through ``sampleevh``: the
JSEP, WebRTC (ICE, DTLS, webrtcup) and media (receiving, stats) events of the handle arrive typed,
with the session and handle ids of the client's handle."""

from __future__ import annotations

from pathlib import Path

import pytest

from _eventhandlers import collect_until
from _media import (
    clean_teardown,  # noqa: F401  (autouse fixture)
    no_default_stun,  # noqa: F401  (autouse fixture)
    no_stun,
    shared_clip,
    wait_inbound,
)
from janus_fast import JanusSession
from janus_fast._compat import timeout as deadline
from janus_fast.eventhandlers import (
    EventType,
    HttpEventReceiver,
    JanusEvent,
    JsepEvent,
    MediaEvent,
    MediaSubtype,
    WebRTCEvent,
    WebRTCSubtype,
)
from janus_fast.plugins import JanusEchoTestPlugin
from janus_fast.testing.config import EventHandler


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_clip(tmp_path_factory)


def _stats_for(handle_id: int | None):  # type: ignore[no-untyped-def]
    def done(got: list[JanusEvent]) -> bool:
        return any(
            isinstance(e, MediaEvent)
            and e.subtype == MediaSubtype.STATS
            and e.handle_id == handle_id
            for e in got
        )

    return done


async def test_jsep_webrtc_and_media_events_of_an_echotest(janus_factory, clip: Path) -> None:
    async with HttpEventReceiver() as receiver:
        janus = janus_factory(
            plugins=("echotest",),
            event_handlers=(
                EventHandler("sampleevh", receiver.url, events="jsep,webrtc,media", compress=True),
            ),
            events={"stats_period": 1},
        )
        async with deadline(30), JanusSession(base_url=janus.ws_url) as session:
            echo = JanusEchoTestPlugin(pc_config=no_stun())
            await echo.attach(session, opaque_id="media-opaque")
            try:
                await echo.start(str(clip))
                await echo.wait_webrtcup()
                await wait_inbound(echo.pc, packets=10)
                events = await collect_until(receiver.stream, _stats_for(echo.id), seconds=15)
            finally:
                handle_id, session_id = echo.id, session.id
                await echo.destroy()
    assert {e.type for e in events} <= {EventType.JSEP, EventType.WEBRTC, EventType.MEDIA}
    for event in events:
        assert (event.session_id, event.handle_id) == (session_id, handle_id)
        assert event.opaque_id == "media-opaque"
    jseps = [(e.owner, e.jsep_type) for e in events if isinstance(e, JsepEvent)]
    assert jseps[:2] == [("remote", "offer"), ("local", "answer")]
    assert all(e.sdp and e.sdp.startswith("v=0") for e in events if isinstance(e, JsepEvent))
    webrtc = [e for e in events if isinstance(e, WebRTCEvent)]
    assert any(e.subtype == WebRTCSubtype.ICE and e.ice == "connected" for e in webrtc)
    assert any(e.subtype == WebRTCSubtype.DTLS and e.dtls == "connected" for e in webrtc)
    assert any(e.subtype == WebRTCSubtype.STATE and e.connection == "webrtcup" for e in webrtc)
    assert any(e.subtype == WebRTCSubtype.SELECTED_PAIR for e in webrtc)
    media = [e for e in events if isinstance(e, MediaEvent)]
    receiving = {e.media for e in media if e.subtype == MediaSubtype.STATE and e.receiving}
    assert receiving == {"audio", "video"}
    stats = [e for e in media if e.subtype == MediaSubtype.STATS]
    assert stats and all(isinstance(e.data, dict) for e in stats)
    assert any(e.data.get("packets-received", 0) > 0 for e in stats), stats[0].data
