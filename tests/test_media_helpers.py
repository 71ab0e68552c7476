"""``janus_fast.media`` helpers and the plugins' trickle bookkeeping, without Janus: SDP candidate
extraction and stripping, Janus trickle entries to aiortc candidates, candidates that arrive
before the remote description, and an import that never loads aiortc or PyAV.

Rule: no network; the one PeerConnection that gathers uses ``no_stun()`` (host candidates only,
nothing sent) and every PeerConnection is closed.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys

import pytest

from _media import (
    clean_teardown,  # noqa: F401  (autouse fixture)
    no_default_stun,  # noqa: F401  (autouse fixture)
    no_stun,
)
from janus_fast._compat import timeout as deadline
from janus_fast.media import (
    add_remote_candidates,
    local_jsep,
    remote_candidate,
    sdp_candidates,
    strip_candidates,
    trickle_entries,
)
from janus_fast.plugins import JanusTextRoomPlugin

SDP = "\r\n".join(
    [
        "v=0",
        "o=- 1 1 IN IP4 0.0.0.0",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "a=mid:0",
        "a=candidate:1 1 udp 2130706431 192.0.2.2 40000 typ host",
        "a=candidate:2 1 udp 2130706431 fd00::2 40001 typ host",
        "a=end-of-candidates",
        "m=video 9 UDP/TLS/RTP/SAVPF 96",
        "a=mid:1",
        "a=candidate:3 1 udp 1694498815 192.0.2.2 40002 typ srflx raddr 10.0.0.1 rport 9",
        "",
    ]
)


def test_sdp_candidates_and_stripping() -> None:
    assert sdp_candidates(SDP) == [
        {
            "candidate": "candidate:1 1 udp 2130706431 192.0.2.2 40000 typ host",
            "sdpMLineIndex": 0,
            "sdpMid": "0",
        },
        {
            "candidate": "candidate:2 1 udp 2130706431 fd00::2 40001 typ host",
            "sdpMLineIndex": 0,
            "sdpMid": "0",
        },
        {
            "candidate": (
                "candidate:3 1 udp 1694498815 192.0.2.2 40002 typ srflx raddr 10.0.0.1 rport 9"
            ),
            "sdpMLineIndex": 1,
            "sdpMid": "1",
        },
    ]
    stripped = strip_candidates(SDP)
    assert "a=candidate" not in stripped and "a=end-of-candidates" not in stripped
    assert stripped.count("m=") == 2 and "a=mid:1" in stripped
    assert sdp_candidates(stripped) == []


def test_remote_candidate_from_janus_entries() -> None:
    assert remote_candidate({"completed": True}) is None
    candidate = remote_candidate(
        {"sdpMid": "0", "sdpMLineIndex": 0, "candidate": sdp_candidates(SDP)[0]["candidate"]}
    )
    assert (candidate.ip, candidate.port, candidate.type) == ("192.0.2.2", 40000, "host")
    assert (candidate.sdpMid, candidate.sdpMLineIndex) == ("0", 0)
    no_prefix = remote_candidate({"candidate": "3 1 udp 1 192.0.2.2 9 typ srflx raddr 1.2.3.4"})
    assert no_prefix.relatedAddress == "1.2.3.4"
    assert no_prefix.sdpMLineIndex == 0  # Janus bundles on the first m-line
    for bad in ({}, {"candidate": ""}, {"candidate": "candidate:1 1 udp"}, {"completed": 1}):
        with pytest.raises(ValueError):
            remote_candidate(bad)


def test_trickle_entries_of_any_shape() -> None:
    one = {"candidate": "c"}
    assert trickle_entries({"janus": "trickle", "candidate": one}) == [one]
    assert trickle_entries({"candidates": [one, "junk", {"completed": True}]}) == [
        one,
        {"completed": True},
    ]
    assert trickle_entries({"candidate": None}) == []
    assert trickle_entries({"candidates": "junk"}) == []


async def test_candidates_before_the_remote_description_are_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Janus (full_trickle) may trickle before its offer is applied: the candidates wait."""
    from aiortc import RTCPeerConnection

    remote = RTCPeerConnection(no_stun())  # stands in for Janus: makes an offer
    plugin = JanusTextRoomPlugin(pc_config=no_stun())
    try:
        remote.createDataChannel("janus")
        await remote.setLocalDescription(await remote.createOffer())
        janus_candidate = {
            "sdpMid": "0",
            "sdpMLineIndex": 0,
            "candidate": "candidate:9 1 udp 2130706431 192.0.2.2 45678 typ host",
        }
        plugin.deliver({"janus": "trickle", "candidate": janus_candidate})
        plugin.deliver({"janus": "trickle", "candidate": {"completed": True}})
        async with deadline(5):
            while plugin.pending_candidates < 2:  # delivered in order by the handle's inbox
                await asyncio.sleep(0.005)
        assert plugin.pending_candidates == 2  # no PC yet: both kept
        assert plugin.peer_connection is None

        offer = local_jsep(remote, candidates=False)
        assert "a=candidate" not in offer["sdp"]
        await plugin.on_receive_jsep(offer)
        assert plugin.pending_candidates == 0
        assert "192.0.2.2 45678 typ host" in plugin.pc.remoteDescription.sdp
        assert "a=end-of-candidates" in plugin.pc.remoteDescription.sdp

        with caplog.at_level(logging.WARNING, logger="janus_fast.media"):
            applied = await add_remote_candidates(plugin.pc, [{"candidate": "junk"}])
        assert applied == 0 and "ignoring a trickled candidate" in caplog.text
    finally:
        await plugin.destroy()
        await remote.close()
    assert plugin.peer_connection is None


def test_importing_janus_fast_media_imports_no_media_library() -> None:
    code = (
        "import sys, janus_fast, janus_fast.media, janus_fast.plugins, janus_fast.plugin; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('aiortc', 'av')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
