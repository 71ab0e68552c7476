"""The GELF receiver: a real Janus 1.1.2's ``gelfevh`` over TCP and over UDP (gzip-compressed,
and chunked when a message is larger than ``max_message_len``), plus the chunk reassembly's
bounds on hand-made datagrams."""

from __future__ import annotations

import asyncio
import gzip
import os
import socket

import orjson
import pytest

from _eventhandlers import collect_until, custom_event, wait_for
from janus_fast import JanusSession
from janus_fast.eventhandlers import (
    CoreEvent,
    ExternalEvent,
    GelfEventReceiver,
    HandleEvent,
    SessionEvent,
)
from janus_fast.plugins import JanusEchoTestPlugin
from janus_fast.testing.config import EventHandler


async def test_gelf_over_tcp_lifecycle_events(janus_factory) -> None:
    async with GelfEventReceiver(protocol="tcp", server="gelf-a") as receiver:
        janus = janus_factory(
            event_handlers=(EventHandler("gelfevh", f"tcp://127.0.0.1:{receiver.port}"),)
        )
        async with JanusSession(base_url=janus.ws_url) as session:
            echo = JanusEchoTestPlugin()
            await echo.attach(session, opaque_id="gelf-opaque")
            handle_id = echo.id
            await echo.destroy()
            session_id = session.id
        events = await collect_until(
            receiver.stream,
            lambda got: (
                any(isinstance(e, CoreEvent) and e.status == "started" for e in got)
                and {("attached", HandleEvent), ("detached", HandleEvent)}
                <= {(getattr(e, "name", None), type(e)) for e in got}
                and any(isinstance(e, SessionEvent) and e.name == "destroyed" for e in got)
            ),
        )
    # Janus gives no order across its threads (core, transports, plugins): look events up by kind.
    (started,) = [e for e in events if isinstance(e, CoreEvent)]
    assert started.status == "started" and started.session_id is None
    handles = {
        (e.name, e.session_id, e.handle_id, e.opaque_id)
        for e in events
        if isinstance(e, HandleEvent)
    }
    assert handles == {
        ("attached", session_id, handle_id, "gelf-opaque"),
        ("detached", session_id, handle_id, "gelf-opaque"),
    }
    assert {e.server for e in events} == {"gelf-a"}
    assert receiver.stats()["connections"] == 1 and receiver.stats()["invalid"] == 0


async def test_gelf_over_udp_compressed_and_chunked(janus_factory) -> None:
    async with GelfEventReceiver(protocol="udp") as receiver:
        janus = janus_factory(
            event_handlers=(
                EventHandler(
                    "gelfevh",
                    f"udp://127.0.0.1:{receiver.port}",
                    events="external",
                    compress=True,
                    extra={"max_message_len": 200},
                ),
            )
        )
        big = {"text": os.urandom(600).hex()}  # incompressible: gzip stays > 200 bytes
        await custom_event(janus, "test.small", {"n": 1})
        await custom_event(janus, "test.big", big)
        events = await collect_until(receiver.stream, lambda got: len(got) == 2)
    assert [(e.schema, e.data) for e in events if isinstance(e, ExternalEvent)] == [
        ("test.small", {"n": 1}),
        ("test.big", big),
    ]
    assert receiver.stats()["invalid"] == receiver.stats()["incomplete"] == 0
    assert receiver.stats()["chunked"] == 1  # the big one came in GELF chunks


def _chunks(payload: bytes, size: int, message_id: bytes) -> list[bytes]:
    parts = [payload[i : i + size] for i in range(0, len(payload), size)]
    return [b"\x1e\x0f" + message_id + bytes([i, len(parts)]) + p for i, p in enumerate(parts)]


async def test_udp_reassembly_out_of_order_bounded_and_expiring() -> None:
    async with GelfEventReceiver(
        protocol="udp", max_pending=2, chunk_timeout=0.2, max_message_size=10_000
    ) as receiver:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        address = ("127.0.0.1", receiver.port)
        event = {"type": 4, "timestamp": 1, "event": {"schema": "s", "data": {"n": 7}}}
        message = gzip.compress(orjson.dumps({"version": "1.1", "full_message": event}))
        for chunk in reversed(_chunks(message, 16, b"A" * 8)):  # out of order
            sock.sendto(chunk, address)
        (got,) = await collect_until(receiver.stream, lambda got: len(got) == 1)
        assert isinstance(got, ExternalEvent) and got.data == {"n": 7}
        assert receiver.stats()["chunked"] == 1
        # Three half-sent messages with room for two: the oldest is dropped at once…
        for message_id in (b"B" * 8, b"C" * 8, b"D" * 8):
            sock.sendto(_chunks(message, 16, message_id)[0], address)
        await wait_for(lambda: receiver.stats()["incomplete"] == 1)
        await asyncio.sleep(0.3)  # …the other two expire
        sock.sendto(b'{"full_message": "not json"}', address)  # any datagram runs the expiry
        await wait_for(lambda: receiver.stats()["incomplete"] == 3)
        assert receiver.stats()["pending"] == 0 and receiver.stats()["invalid"] == 1
        sock.sendto(b"\x1e\x0f" + b"E" * 8 + bytes([5, 2]) + b"x", address)  # sequence >= total
        too_big = _chunks(b"y" * 20_000, 1000, b"F" * 8)
        for chunk in too_big:
            sock.sendto(chunk, address)
        await wait_for(lambda: receiver.stats()["invalid"] == 3)
        sock.close()
    assert len(receiver.stream) == 0


@pytest.mark.parametrize("protocol", ["tcp", "udp"])
async def test_bad_options(protocol: str) -> None:
    from janus_fast.errors import InvalidOptionError

    with pytest.raises(InvalidOptionError):
        GelfEventReceiver(protocol="sctp")  # type: ignore[arg-type]
    with pytest.raises(InvalidOptionError):
        GelfEventReceiver(protocol=protocol, chunk_timeout=0)  # type: ignore[arg-type]
