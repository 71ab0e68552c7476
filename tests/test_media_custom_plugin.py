"""A custom ``JanusPlugin`` subclass (janus-client style: ``name`` and ``on_receive``, no typed
class) with real WebRTC (aiortc) against a ``full_trickle`` Janus: Janus's trickled candidates are
applied to the subclass's PeerConnection by the base class (also those Janus sends ahead of its
answer: kept, bounded, until ``on_receive_jsep``), and media flows.

Rule: all ICE stays on this machine (``no_stun()``); every test is bounded by a ``deadline`` and
closes what it opened. The bound test needs no network: events enter through the handle's public
``deliver`` seam.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiortc.contrib.media import MediaPlayer

from _media import (
    clean_teardown,  # noqa: F401  (autouse fixture)
    no_default_stun,  # noqa: F401  (autouse fixture)
    no_stun,
    shared_clip,
    wait_inbound,
)
from janus_fast import JanusPlugin, JanusSession
from janus_fast._compat import timeout as deadline
from janus_fast.media import local_jsep
from janus_fast.plugin import MAX_EARLY_CANDIDATES
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


class EchoPlugin(JanusPlugin):
    """The EchoTest as a janus-client program writes it: the answer is applied in ``on_receive``."""

    name = "janus.plugin.echotest"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kinds: list[str] = []  # every message's ``janus``, in arrival order
        self.candidates: list[dict[str, Any]] = []  # what Janus trickled
        self.answered = asyncio.Event()

    async def on_receive(self, response: dict[str, Any]) -> None:
        self.kinds.append(response["janus"])
        if response["janus"] == "trickle":
            self.candidates.append(response["candidate"])
        jsep = response.get("jsep")
        if jsep is not None:
            await self.on_receive_jsep(jsep)
            self.answered.set()


async def test_custom_subclass_applies_janus_trickled_candidates(
    trickle_janus: JanusServer, transport_kind: str, clip: Path
) -> None:
    """Janus's answer has no candidate (``full_trickle``); media flows only because the trickled
    ones reached the subclass's PeerConnection, each one found in its remote description."""
    url = trickle_janus.ws_url if transport_kind == "ws" else trickle_janus.http_url
    async with deadline(BOUND), JanusSession(base_url=url) as session:
        echo = EchoPlugin(pc_config=no_stun())
        await echo.attach(session)
        player = MediaPlayer(str(clip))
        pc = echo.pc
        try:
            pc.addTrack(player.audio)
            pc.addTrack(player.video)
            await pc.setLocalDescription(await pc.createOffer())
            message = {
                "janus": "message",
                "body": {"audio": True, "video": True},
                "jsep": await echo.create_jsep(pc),
            }
            transaction = await echo.send(message)
            await transaction.done()
            await echo.answered.wait()
            await wait_inbound(pc, packets=10)  # echoed back by Janus
            assert "a=candidate" not in pc.remoteDescription.sdp.split("m=")[0]
            assert any("candidate" in entry for entry in echo.candidates)  # Janus did trickle
            for entry in echo.candidates:
                if "candidate" in entry:  # … and each one reached our ICE agent
                    address = " ".join(entry["candidate"].split()[4:6])
                    assert address in pc.remoteDescription.sdp
        finally:
            await echo.destroy()
            player.audio.stop()
            player.video.stop()
        assert pc.connectionState == "closed"


def candidate(n: int) -> dict[str, object]:
    return {
        "sdpMid": "0",
        "sdpMLineIndex": 0,
        "candidate": f"candidate:{n} 1 udp 2130706431 192.0.2.2 {20000 + n} typ host",
    }


async def settle(condition: Callable[[], bool]) -> None:
    async with deadline(10):
        while not condition():
            await asyncio.sleep(0.005)


async def test_custom_subclass_keeps_early_candidates_bounded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No network: candidates delivered before the remote description are kept (at most
    ``MAX_EARLY_CANDIDATES``, the oldest dropped and counted, one warning) and applied in
    arrival order by ``on_receive_jsep``; ``on_receive`` still sees every ``trickle``."""
    from aiortc import RTCPeerConnection

    sent = MAX_EARLY_CANDIDATES * 2
    remote = RTCPeerConnection(no_stun())  # stands in for Janus: makes the offer
    plugin = EchoPlugin(pc_config=no_stun())
    try:
        with caplog.at_level(logging.WARNING, logger="janus_fast.plugin"):
            for n in range(sent):
                plugin.deliver({"janus": "trickle", "candidate": candidate(n)})
                if n % 100 == 99:  # let the inbox drain: its own bound is not under test
                    await settle(lambda n=n: len(plugin.candidates) > n)
            await settle(lambda: len(plugin.candidates) == sent)
        assert plugin.pending_candidates == MAX_EARLY_CANDIDATES
        assert plugin.candidates_dropped == sent - MAX_EARLY_CANDIDATES
        warnings = [r for r in caplog.records if "candidates_dropped" in r.getMessage()]
        assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING

        remote.createDataChannel("janus")
        await remote.setLocalDescription(await remote.createOffer())
        await plugin.on_receive_jsep(local_jsep(remote, candidates=False))
        assert plugin.pending_candidates == 0
        sdp = plugin.pc.remoteDescription.sdp
        first_kept = sent - MAX_EARLY_CANDIDATES
        assert f"192.0.2.2 {20000 + first_kept - 1} typ host" not in sdp  # dropped (oldest)
        positions = [sdp.index(f"192.0.2.2 {20000 + n} typ host") for n in range(first_kept, sent)]
        assert positions == sorted(positions)  # every kept one applied, in arrival order
    finally:
        await plugin.destroy()
        await remote.close()
