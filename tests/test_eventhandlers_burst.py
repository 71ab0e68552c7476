"""Event handlers of a real Janus 1.1.2 under a burst: 50 sessions of 4 EchoTest handles opened
and closed at once (500 session and handle events in ~0.3 s). sampleevh, wsevh, gelfevh (TCP)
and nanomsgevh deliver every event; gelfevh over UDP loses what overflows the receiving socket's
buffer in the kernel, and the receiver counts it; the stream's bound drops the oldest and counts
them. The broker handlers' burst test (mqttevh, rabbitmqevh) is in test_eventhandlers_brokers.py.
"""

from __future__ import annotations

import os

import pytest

from _eventhandlers import burst_events, lifecycle_burst, wait_for
from janus_fast.eventhandlers import (
    EventStream,
    GelfEventReceiver,
    HandleEvent,
    HttpEventReceiver,
    NanomsgEventReceiver,
    SessionEvent,
    WebSocketEventReceiver,
)
from janus_fast.testing.config import EventHandler

_BURST = (50, 4)
_EVENTS = "sessions,handles"


def _publish_failures(log: str) -> list[str]:
    words = ("Can't publish", "FAILURE", "Failed", "dropping event", "Error sending")
    return [line for line in log.splitlines() if any(word in line for word in words)]


async def test_http_ws_gelf_tcp_and_nanomsg_lose_no_event_of_a_burst(janus_factory) -> None:
    streams = {name: EventStream() for name in ("sampleevh", "wsevh", "gelfevh", "nanomsgevh")}
    async with (
        HttpEventReceiver(streams["sampleevh"]) as http,
        WebSocketEventReceiver(streams["wsevh"]) as ws,
        GelfEventReceiver(streams["gelfevh"], protocol="tcp") as gelf,
        NanomsgEventReceiver(streams["nanomsgevh"], address="tcp://127.0.0.1:0") as nanomsg,
    ):
        assert nanomsg.address is not None
        janus = janus_factory(
            event_handlers=(
                EventHandler("sampleevh", http.url, events=_EVENTS),
                EventHandler("wsevh", ws.url, events=_EVENTS),
                EventHandler("gelfevh", f"tcp://127.0.0.1:{gelf.port}", events=_EVENTS),
                # ungrouped: one nanomsg message per event, the hardest case for the receiver
                EventHandler("nanomsgevh", nanomsg.address, events=_EVENTS, grouping=False),
            )
        )
        await nanomsg.wait_connected(10)
        ids, expected = await lifecycle_burst(janus.ws_url, *_BURST)
        got = {name: await burst_events(stream, ids, expected) for name, stream in streams.items()}
    assert {name: len(events) for name, events in got.items()} == dict.fromkeys(got, expected)
    for events in got.values():
        names = {(type(e), e.name, e.session_id, e.handle_id) for e in events}  # type: ignore[attr-defined]
        assert len(names) == expected
        assert {e.name for e in events if isinstance(e, SessionEvent)} == {"created", "destroyed"}
        assert {e.name for e in events if isinstance(e, HandleEvent)} == {"attached", "detached"}
    for stream in streams.values():  # counts add up: nothing dropped, nothing twice
        counts = stream.stats()
        assert counts["dropped"] == counts["duplicates"] == counts["invalid"] == 0
        assert counts["received"] == counts["delivered"] + counts["queued"] >= expected
    assert http.stats()["accepted"] == http.stats()["requests"]
    assert gelf.stats()["messages"] == streams["gelfevh"].stats()["received"]  # never grouped
    assert nanomsg.stats()["messages"] == streams["nanomsgevh"].stats()["received"]
    assert nanomsg.stats()["unread"] == 0
    assert _publish_failures(janus.log_path.read_text(errors="replace")) == []


@pytest.mark.skipif(not os.path.exists("/proc/net/udp"), reason="kernel drop counts are Linux's")
@pytest.mark.parametrize("recv_buffer", [4096, 4 * 1024 * 1024])
async def test_gelf_udp_burst_losses_are_counted(janus_factory, recv_buffer: int) -> None:
    """gelfevh never waits: what overflows the socket's buffer is lost in the kernel, counted."""
    async with GelfEventReceiver(protocol="udp", recv_buffer=recv_buffer) as gelf:
        janus = janus_factory(
            event_handlers=(
                EventHandler("gelfevh", f"udp://127.0.0.1:{gelf.port}", events=_EVENTS),
            )
        )
        ids, expected = await lifecycle_burst(janus.ws_url, *_BURST)
        got = await burst_events(gelf.stream, ids, expected, quiet=0.5)
        stats = gelf.stats()
    # Only this burst's events were sent (events = "sessions,handles"): each one either
    # arrived or is one of the kernel's drops.
    assert stats["messages"] == len(got) and stats["invalid"] == 0
    assert stats["messages"] + stats["kernel_drops"] == expected, stats
    if recv_buffer == 4096:  # a few datagrams fill it: part of the burst is lost, and counted
        assert stats["kernel_drops"] > 0
    assert gelf.stats()["kernel_drops"] == stats["kernel_drops"]  # kept after close()


async def test_nanomsg_receiver_buffer_overflow_is_counted(janus_factory) -> None:
    """NNG drops what does not fit its buffer (``recv_buffer``); ``unread`` counts it."""
    async with NanomsgEventReceiver(address="tcp://127.0.0.1:0", recv_buffer=4) as nanomsg:
        assert nanomsg.address is not None
        janus = janus_factory(
            event_handlers=(
                EventHandler("nanomsgevh", nanomsg.address, events=_EVENTS, grouping=False),
            )
        )
        await nanomsg.wait_connected(10)
        # The loop is busy with the burst's 1000 requests: the events pile up in NNG's buffer.
        ids, expected = await lifecycle_burst(janus.ws_url, *_BURST)
        got = await burst_events(nanomsg.stream, ids, expected, quiet=0.5)
        stats = nanomsg.stats()
    assert stats["messages"] == len(got) and stats["invalid"] == 0
    assert stats["messages"] + stats["unread"] == expected, stats
    assert stats["unread"] > 0
    assert nanomsg.stats()["unread"] == stats["unread"]  # kept after close()


async def test_stream_bound_drops_the_oldest_of_a_burst_and_counts_them(janus_factory) -> None:
    stream = EventStream(maxsize=64)
    async with WebSocketEventReceiver(stream) as ws:
        janus = janus_factory(event_handlers=(EventHandler("wsevh", ws.url, events=_EVENTS),))
        ids, expected = await lifecycle_burst(janus.ws_url, *_BURST)
        # Nobody reads during the burst: wait until every event was received, then drain.
        await wait_for(lambda: stream.stats()["received"] >= expected)
        counts = stream.stats()
        kept = await burst_events(stream, ids, expected, quiet=0.2)
    assert (counts["received"], counts["queued"]) == (expected, 64), counts
    assert counts["dropped"] == expected - 64 and counts["duplicates"] == 0
    # The newest were kept: none of the burst's first events (its 50 session creations), and the
    # burst ends with detaches and destroys (Janus may report a handle's `detached` after its
    # session's `destroyed`, so which of the two comes last varies).
    names = {e.name for e in kept}  # type: ignore[attr-defined]
    assert len(kept) == 64 and "created" not in names and names & {"destroyed", "detached"}
    assert stream.stats()["delivered"] == 64
