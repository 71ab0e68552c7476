"""The WebSocket event receiver against a real Janus 1.1.2 whose ``wsevh`` connects to it: typed
lifecycle events, grouped or not, the subprotocol, reconnection after a receiver restart (events
raised meanwhile still arrive), and the server side of RFC 6455 on raw sockets."""

from __future__ import annotations

import asyncio
import base64
import os
import struct

import pytest

from _eventhandlers import collect_until, custom_event, wait_for
from janus_fast import JanusSession
from janus_fast.eventhandlers import (
    CoreEvent,
    EventStream,
    ExternalEvent,
    HandleEvent,
    PluginEvent,
    SessionEvent,
    WebSocketEventReceiver,
)
from janus_fast.plugins import JanusEchoTestPlugin
from janus_fast.testing.config import EventHandler


def _wsevh(url: str, **settings: object) -> tuple[EventHandler, ...]:
    return (EventHandler("wsevh", url, **settings),)  # type: ignore[arg-type]


@pytest.mark.parametrize("grouping", [True, False])
async def test_lifecycle_events_over_websocket(janus_factory, grouping: bool) -> None:
    async with WebSocketEventReceiver(
        path="/evh", subprotocol="janus-event-handlers", server="ws-a"
    ) as receiver:
        janus = janus_factory(event_handlers=_wsevh(receiver.url, grouping=grouping))
        async with JanusSession(base_url=janus.http_url) as session:
            echo = JanusEchoTestPlugin()
            await echo.attach(session, opaque_id="ws-opaque")
            handle_id = echo.id
            await echo.configure(bitrate=128000)
            # The EchoTest notifies its plugin event after it answered, from its own thread, and
            # Janus drops it if the handle is gone by then: wait for it before detaching.
            early = await collect_until(
                receiver.stream, lambda got: any(isinstance(e, PluginEvent) for e in got)
            )
            await echo.destroy()
            session_id = session.id

        def done(got: list[object]) -> bool:
            seen = [*early, *got]
            names = {(type(e), getattr(e, "name", None)) for e in seen}
            return (
                any(isinstance(e, CoreEvent) and e.status == "started" for e in seen)
                and {
                    (SessionEvent, "created"),
                    (HandleEvent, "attached"),
                    (HandleEvent, "detached"),
                    (SessionEvent, "destroyed"),
                }
                <= names
            )

        events = early + await collect_until(receiver.stream, done)
    # Janus gives no order across its threads (core, transports, plugins): look events up by kind.
    (started,) = [e for e in events if isinstance(e, CoreEvent)]
    assert started.status == "started" and started.session_id is None
    sessions = {(e.name, e.session_id) for e in events if isinstance(e, SessionEvent)}
    assert sessions == {("created", session_id), ("destroyed", session_id)}
    handles = {(e.name, e.handle_id, e.opaque_id) for e in events if isinstance(e, HandleEvent)}
    assert handles == {("attached", handle_id, "ws-opaque"), ("detached", handle_id, "ws-opaque")}
    (plugin,) = [e for e in events if isinstance(e, PluginEvent)]
    assert plugin.handle_id == handle_id and plugin.data["bitrate"] == 128000
    assert {e.server for e in events} == {"ws-a"}
    assert receiver.stats()["handshakes"] == 1 and receiver.stats()["errors"] == 0
    if not grouping:  # one event per message
        assert receiver.stats()["messages"] == receiver.stream.stats()["received"]


async def test_janus_reconnects_and_delivers_what_happened_meanwhile(janus_factory) -> None:
    stream = EventStream()
    first = await WebSocketEventReceiver(stream).start()
    try:
        janus = janus_factory(event_handlers=_wsevh(first.url, events="external,core"))
        await collect_until(stream, lambda got: any(isinstance(e, CoreEvent) for e in got))
    finally:
        await first.close()  # the receiver restarts: Janus sees its connection closed
    await custom_event(janus, "test.while-away", {"n": 1})
    async with WebSocketEventReceiver(stream, port=first.port) as second:
        (event,) = await collect_until(stream, lambda got: len(got) == 1, seconds=15)
        assert second.stats()["handshakes"] == 1
    assert isinstance(event, ExternalEvent) and event.schema == "test.while-away"


# -- the server side of RFC 6455 on raw sockets (what a real Janus cannot be made to send) ------


async def _handshake(
    receiver: WebSocketEventReceiver,
    protocol: str | None = "janus-event-handlers",
    path: str | None = None,
    upgrade: bool = True,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", receiver.port)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path or receiver.path} HTTP/1.1",
        f"Host: 127.0.0.1:{receiver.port}",
        "Upgrade: websocket" if upgrade else "Accept: */*",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if protocol is not None:
        lines.append(f"Sec-WebSocket-Protocol: {protocol}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    return reader, writer, head


def _client_frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True) -> bytes:
    first = (0x80 if fin else 0) | opcode
    mask = os.urandom(4) if masked else b""
    length = len(payload)
    if length < 126:
        head = struct.pack("!BB", first, (0x80 if masked else 0) | length)
    else:
        head = struct.pack("!BBH", first, (0x80 if masked else 0) | 126, length)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if masked else payload
    return head + mask + body


async def test_fragments_pings_and_close() -> None:
    async with WebSocketEventReceiver(path="/x") as receiver:
        reader, writer, head = await _handshake(receiver)
        assert head.startswith(b"HTTP/1.1 101 ")
        assert b"Sec-WebSocket-Protocol: janus-event-handlers" in head
        message = b'[{"type": 4, "timestamp": 1, "event": {"schema": "s", "data": {"n": 1}}},'
        message += b' {"type": 4, "timestamp": 2, "event": {"schema": "s", "data": {"n": 2}}}]'
        writer.write(_client_frame(0x1, message[:30], fin=False))
        writer.write(_client_frame(0x9, b"are you there"))  # a ping between fragments
        writer.write(_client_frame(0x0, message[30:300]))
        pong = await asyncio.wait_for(reader.readexactly(2 + 13), 5)
        assert pong == b"\x8a\x0dare you there"
        events = await collect_until(receiver.stream, lambda got: len(got) == 2)
        assert [e.data["n"] for e in events if isinstance(e, ExternalEvent)] == [1, 2]
        writer.write(_client_frame(0x1, b"not json"))
        await wait_for(lambda: receiver.stream.stats()["invalid"] == 1)
        writer.write(_client_frame(0x8, struct.pack("!H", 1000)))
        assert await asyncio.wait_for(reader.read(), 5) == b"\x88\x02\x03\xe8"
        writer.close()


async def test_protocol_errors_close_with_their_code() -> None:
    async with WebSocketEventReceiver(max_message_size=100) as receiver:
        reader, writer, _ = await _handshake(receiver)
        writer.write(_client_frame(0x1, b"{}", masked=False))
        assert (await asyncio.wait_for(reader.read(), 5))[2:4] == struct.pack("!H", 1002)
        writer.close()
        reader, writer, _ = await _handshake(receiver)
        writer.write(_client_frame(0x1, b"[" + b" " * 200 + b"]"))
        assert (await asyncio.wait_for(reader.read(), 5))[2:4] == struct.pack("!H", 1009)
        writer.close()
        assert receiver.stats()["errors"] == 2 and len(receiver.stream) == 0


async def test_handshake_refusals() -> None:
    async with WebSocketEventReceiver(path="/evh", subprotocol="janus-event-handlers") as receiver:
        for settings, status in (
            ({"protocol": "other"}, b"400"),
            ({"protocol": None}, b"400"),
            ({"path": "/elsewhere"}, b"404"),
            ({"upgrade": False}, b"426"),
        ):
            _, writer, head = await _handshake(receiver, **settings)  # type: ignore[arg-type]
            assert head.startswith(b"HTTP/1.1 " + status + b" "), (settings, head)
            writer.close()
        assert receiver.stats()["refused"] == 4 and receiver.stats()["handshakes"] == 0


async def test_pings_an_idle_peer_then_closes_a_silent_one() -> None:
    async with WebSocketEventReceiver(ping_interval=0.1) as receiver:
        reader, writer, _ = await _handshake(receiver)
        ping = await asyncio.wait_for(reader.readexactly(12), 5)
        assert ping == b"\x89\x0ajanus-fast"
        assert await asyncio.wait_for(reader.read(), 5) == b""  # no pong: closed after 0.2 s
        writer.close()
