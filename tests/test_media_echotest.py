"""EchoTest with real WebRTC (aiortc) against the local Janus: media goes out, comes back and is
recorded; ``destroy()`` closes the PeerConnection; a ``full_trickle`` Janus works (its trickled
candidates are applied) and so does our own outgoing trickle.

Rule: all ICE stays on this machine (Janus's host candidate is its own address, aiortc uses
``no_stun()``); every test is bounded by a ``deadline`` and closes what it opened.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _media import (
    clean_teardown,  # noqa: F401  (autouse fixture)
    counting_recorder_class,
    decoded_frames,
    no_default_stun,  # noqa: F401  (autouse fixture)
    no_stun,
    shared_clip,
    wait_inbound,
)
from janus_fast import JanusSession
from janus_fast._compat import timeout as deadline
from janus_fast.admin import JanusAdminMonitorClient
from janus_fast.plugins import JanusEchoTestPlugin
from janus_fast.testing.config import JanusConfig
from janus_fast.testing.server import JanusServer

BOUND = 20.0


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_clip(tmp_path_factory)


@pytest.fixture(scope="module")
def trickle_janus(pytestconfig: pytest.Config) -> Iterator[JanusServer]:
    """A Janus that trickles its own candidates (``full_trickle``: none in its SDPs)."""
    binary = pytestconfig.getoption("--janus-binary", default=None)
    config = JanusConfig(plugins=("echotest",), nat={"full_trickle": True})
    with JanusServer(config, binary=binary) as server:
        yield server


async def test_echotest_media_flows_and_is_recorded(
    janus_url: str, clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aiortc.contrib.media

    # start() makes its own MediaRecorder(record_to): make it one that counts what it records.
    monkeypatch.setattr(aiortc.contrib.media, "MediaRecorder", counting_recorder_class())
    record = tmp_path / "echo.mkv"
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        echo = JanusEchoTestPlugin(pc_config=no_stun())
        await echo.attach(session)
        try:
            await echo.start(str(clip), str(record))
            pc = echo.pc
            await echo.wait_webrtcup()
            counts = await wait_inbound(pc, packets=25)  # echoed back by Janus
            assert counts["audio"] >= 25 and counts["video"] >= 25
            await echo.recorder.wait(frames=5)  # … decoded and handed to the recorder
        finally:
            await echo.destroy()
        assert pc.connectionState == "closed"  # destroy() closed the PeerConnection
        assert echo.id is None and echo.peer_connection is None
    assert record.stat().st_size > 0
    frames = decoded_frames(record)  # the recorder was stopped, so the file is complete
    assert frames["video"] > 0 and frames["audio"] > 0


async def test_echotest_close_stream_then_restart(
    janus_server: JanusServer, clip: Path, tmp_path: Path
) -> None:
    """``close_stream`` ends one stream; ``start`` on the same handle negotiates a new one."""
    async with deadline(BOUND), JanusSession(base_url=janus_server.ws_url) as session:
        echo = JanusEchoTestPlugin(pc_config=no_stun())
        await echo.attach(session)
        try:
            await echo.start(str(clip))
            await echo.wait_webrtcup()
            first = echo.pc
            await wait_inbound(first, packets=5)
            await echo.close_stream()
            assert first.connectionState == "closed"
            await echo.hangup()  # the core hangup frees Janus's side for a new offer
            await echo.start(str(clip), str(tmp_path / "second.mkv"))
            assert echo.pc is not first
            await echo.wait_webrtcup()
            await wait_inbound(echo.pc, packets=5)
        finally:
            await echo.destroy()
    assert (tmp_path / "second.mkv").stat().st_size > 0


async def test_echotest_full_trickle_both_ways(
    trickle_janus: JanusServer, transport_kind: str, clip: Path
) -> None:
    """Janus trickles its candidates (none in its answer), we trickle ours (none in our offer):
    media flows only because both sides apply what the other trickled."""
    url = trickle_janus.ws_url if transport_kind == "ws" else trickle_janus.http_url
    trickled: list[dict[str, Any]] = []
    async with deadline(BOUND), JanusSession(base_url=url) as session:
        echo = JanusEchoTestPlugin(pc_config=no_stun())
        await echo.attach(session)
        echo.on("trickle", lambda event: trickled.append(event.message["candidate"]))
        try:
            await echo.start(str(clip), trickle=True)
            await echo.wait_webrtcup()
            await wait_inbound(echo.pc, packets=10)
            assert any("candidate" in entry for entry in trickled)  # Janus did trickle
            for entry in trickled:
                if "candidate" in entry:  # … and each one reached our ICE agent
                    address = " ".join(entry["candidate"].split()[4:6])
                    assert address in echo.pc.remoteDescription.sdp
            async with JanusAdminMonitorClient(
                trickle_janus.admin_ws_url, trickle_janus.admin_secret
            ) as admin:
                assert session.id is not None and echo.id is not None
                info = await admin.handle_info(session.id, echo.id)
            assert info["flags"]["trickle"] and info["flags"]["all-trickles"]
            assert "a=candidate" not in info["sdps"]["remote"]  # our offer carried none …
            assert info["webrtc"]["ice"]["remote-candidates"]  # … they came by trickle
        finally:
            await echo.destroy()
