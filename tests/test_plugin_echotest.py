"""EchoTest plugin against the real Janus: ``configure`` (with and without a jsep), typed errors,
janus-client's ``start``/``close_stream`` edge cases that raised AttributeError there."""

from __future__ import annotations

import sys

import pytest

from _fake_sdp import offer
from janus_fast import JanusSession, PluginError
from janus_fast.plugins import EchoTestError, JanusEchoTestPlugin, MediaKind


async def test_configure(janus_url: str) -> None:
    async with JanusSession(base_url=janus_url) as session:
        echo = JanusEchoTestPlugin()
        await echo.attach(session)
        result = await echo.configure(audio=True, video=False, bitrate=256000)
        assert result == {"echotest": "event", "result": "ok"}
        negotiated = await echo.configure(audio=True, video=True, jsep=offer(direction="sendrecv"))
        assert negotiated["result"] == "ok"
        assert negotiated["jsep"]["type"] == "answer"
        assert "m=audio" in negotiated["jsep"]["sdp"]
        await echo.configure(substream=0, temporal=0, record=False)
        with pytest.raises(EchoTestError) as caught:
            await echo.configure()  # nothing to configure
        assert caught.value.error_code == 413
        assert isinstance(caught.value, PluginError)
        await echo.hangup()  # the core hangup: the PeerConnection goes, the handle stays
        assert (await echo.configure(audio=False))["result"] == "ok"
        await echo.destroy()
        assert echo.id is None
        await echo.attach(session)  # re-attach after destroy (janus-client could not)
        assert (await echo.configure(video=True))["result"] == "ok"


async def test_stream_edge_cases_are_harmless() -> None:
    echo = JanusEchoTestPlugin()
    await echo.close_stream()  # before start (AttributeError in janus-client)
    await echo.on_receive({"janus": "media", "type": "audio", "receiving": True})  # no recorder
    await echo.on_receive({"janus": "webrtcup"})
    await echo.wait_webrtcup()
    await echo.on_receive(
        {"janus": "event", "plugindata": {"data": {"echotest": "event", "result": "done"}}}
    )
    await echo.on_receive({"janus": "event", "plugindata": {"data": {"error_code": 413}}})
    await echo.on_receive({"janus": "event", "plugindata": None})


async def test_start_needs_the_media_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aiortc", None)
    with pytest.raises(ImportError, match=r"janus-fast\[media\]"):
        await JanusEchoTestPlugin().start("input.mp4")


def test_importing_the_plugins_imports_no_media_library() -> None:
    import subprocess

    assert MediaKind("video") is MediaKind.VIDEO and MediaKind.AUDIO.value == "audio"

    code = (
        "import sys, janus_fast.plugins, janus_fast.admin; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('aiortc', 'av')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
