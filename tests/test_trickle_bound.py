"""Candidates Janus trickles before a handle's remote description are kept with a bound: at most
``MAX_EARLY_CANDIDATES`` per handle, the oldest dropped beyond it (counted, one warning), the
kept ones applied in arrival order when the remote description arrives.

Rule: no network; events enter through the handle's public ``deliver`` seam (the transport's
path) and the one PeerConnection standing in for Janus uses ``no_stun()``; all are closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from _media import (
    clean_teardown,  # noqa: F401  (autouse fixture)
    no_default_stun,  # noqa: F401  (autouse fixture)
    no_stun,
)
from janus_fast._compat import timeout
from janus_fast.media import local_jsep
from janus_fast.plugins import JanusTextRoomPlugin
from janus_fast.plugins._peer import MAX_EARLY_CANDIDATES

SENT = MAX_EARLY_CANDIDATES * 4


def candidate(n: int) -> dict[str, object]:
    return {
        "sdpMid": "0",
        "sdpMLineIndex": 0,
        "candidate": f"candidate:{n} 1 udp 2130706431 192.0.2.2 {20000 + n} typ host",
    }


async def settle(condition: Callable[[], bool]) -> None:
    async with timeout(10):
        while not condition():
            await asyncio.sleep(0.005)


async def test_early_candidates_are_bounded_counted_and_applied_in_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from aiortc import RTCPeerConnection

    remote = RTCPeerConnection(no_stun())  # stands in for Janus: makes the offer
    plugin = JanusTextRoomPlugin(pc_config=no_stun())
    try:
        with caplog.at_level(logging.WARNING, logger="janus_fast.plugins"):
            for n in range(SENT):
                plugin.deliver({"janus": "trickle", "candidate": candidate(n)})
                if n % 100 == 99:  # let the inbox drain: its own bound is not under test
                    await settle(
                        lambda n=n: plugin.pending_candidates + plugin.candidates_dropped > n
                    )
            await settle(lambda: plugin.pending_candidates + plugin.candidates_dropped == SENT)
        assert plugin.pending_candidates == MAX_EARLY_CANDIDATES
        assert plugin.candidates_dropped == SENT - MAX_EARLY_CANDIDATES
        assert plugin.events_dropped == 0
        warnings = [r for r in caplog.records if "candidates_dropped" in r.getMessage()]
        assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING

        remote.createDataChannel("janus")
        await remote.setLocalDescription(await remote.createOffer())
        await plugin.on_receive_jsep(local_jsep(remote, candidates=False))
        assert plugin.pending_candidates == 0
        sdp = plugin.pc.remoteDescription.sdp
        first_kept = SENT - MAX_EARLY_CANDIDATES
        assert f"192.0.2.2 {20000 + first_kept - 1} typ host" not in sdp  # dropped (oldest)
        positions = [sdp.index(f"192.0.2.2 {20000 + n} typ host") for n in range(first_kept, SENT)]
        assert positions == sorted(positions)  # every kept one applied, in arrival order
    finally:
        await plugin.destroy()
        await remote.close()
