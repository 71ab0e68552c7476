"""NoSIP plugin against the real Janus, signalling only (hand-written WebRTC SDPs): generate
turns a WebRTC offer into a barebone RTP offer, process turns the legacy answer into Janus's
WebRTC answer (and a legacy offer into a WebRTC offer), recording and hangup, typed errors and
events."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from _fake_sdp import offer
from janus_fast import JanusError, JanusSession, PluginError
from janus_fast._compat import timeout as deadline
from janus_fast.plugins import JanusNoSipPlugin, NoSipError, NoSipEventType

BOUND = 20.0


def legacy_sdp(kind: str, port: int, payload: int = 111, rtpmap: str = "opus/48000/2") -> str:
    """A barebone (plain RTP) SDP with one audio m-line to 127.0.0.1:``port``."""
    return (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=legacy\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP {payload}\r\na=rtpmap:{payload} {rtpmap}\r\na=sendrecv\r\n"
    )


async def attached(session: JanusSession) -> JanusNoSipPlugin:
    plugin = JanusNoSipPlugin()
    await plugin.attach(session)
    return plugin


async def test_generate_process_recording_hangup(janus_url: str) -> None:
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        caller = await attached(session)
        generated_events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        caller.on_event(NoSipEventType.GENERATED, generated_events.put_nowait)

        barebone = await caller.generate(offer(video=False, direction="sendrecv"), info="ctx")
        assert barebone["event"] == "generated" and barebone["type"] == "offer"
        sdp = barebone["sdp"]
        assert re.search(r"m=audio [1-9]\d* RTP/AVP ", sdp)  # a real port, plain RTP
        assert "ice-ufrag" not in sdp and "fingerprint" not in sdp  # no WebRTC left
        assert (await generated_events.get())["sdp"] == sdp

        processed = await caller.process("answer", legacy_sdp("answer", 40000))
        assert processed["event"] == "processed"
        assert processed["jsep"]["type"] == "answer" and "m=audio" in processed["jsep"]["sdp"]

        started = await caller.recording("start", audio=True, peer_audio=True)
        assert started["event"] == "recordingupdated"
        assert (await caller.recording("stop", audio=True, peer_audio=True))["event"] == (
            "recordingupdated"
        )
        with pytest.raises(NoSipError) as caught:
            await caller.recording("start")  # nothing to record
        assert caught.value.error_code == 449
        with pytest.raises(NoSipError) as caught:
            await caller.recording("pause", audio=True)
        assert caught.value.error_code == 444
        assert (await caller.hangup())["event"] == "hangingup"

        # Callee side: a legacy offer becomes a WebRTC offer from Janus.
        callee = await attached(session)
        processed = await callee.process("offer", legacy_sdp("offer", 40002))
        assert processed["jsep"]["type"] == "offer"
        assert "UDP/TLS/RTP/SAVPF" in processed["jsep"]["sdp"]


async def test_errors(janus_url: str) -> None:
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        plugin = await attached(session)
        errors: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        plugin.on_event(NoSipEventType.ERROR, errors.put_nowait)
        with pytest.raises(NoSipError) as caught:
            await plugin.generate({"type": "offer"})  # no SDP: refused by the Janus core
        assert caught.value.error_code == 456 and isinstance(caught.value, JanusError)
        assert isinstance(caught.value, PluginError)
        with pytest.raises(NoSipError) as caught:
            await plugin.process("pranswer", legacy_sdp("answer", 40000))
        assert caught.value.error_code == 446
        with pytest.raises(NoSipError) as caught:
            await plugin.generate(offer(video=False), srtp="sometimes")
        assert caught.value.error_code == 444
        with pytest.raises(NoSipError):  # a media helper in the wrong order: refused locally
            await plugin.accept_answer(legacy_sdp("answer", 40000))
        with pytest.raises(PluginError) as raw:
            await plugin.request({"request": "dial"})  # the untyped request path
        assert raw.value.error_code == 442
        assert errors.empty()  # replies to our requests are raised, never fired as events
