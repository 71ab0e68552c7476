"""``WebSocketEventReceiver``: the WebSocket server Janus's ``wsevh`` event handler connects to.

Rule: Janus is the client; each text (or binary) message is one event or a grouped array of them,
published to the stream at once. Pings answered, a close echoed; an idle connection is pinged
every ``ping_interval`` and closed when it stays silent for another. wsevh sends no credentials:
keep the receiver on loopback or behind a path only the Janus config knows. Hand-written on
asyncio streams (a few frames types only), so the core install needs no WebSocket library.
"""

from __future__ import annotations

import asyncio
import logging

from janus_fast.errors import InvalidOptionError
from janus_fast.eventhandlers._http import HttpError, RequestHead, read_head, respond
from janus_fast.eventhandlers._server import ReceiverServer
from janus_fast.eventhandlers._wsframes import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_TEXT,
    WsProtocolError,
    accept_key,
    close_frame,
    frame,
    read_frame_head,
    read_frame_rest,
    valid_key,
)
from janus_fast.eventhandlers.events import InvalidEventError, decode_payload
from janus_fast.eventhandlers.stream import EventStream
from janus_fast.logfields import log_fields

logger = logging.getLogger("janus_fast.eventhandlers")

#: The subprotocol wsevh asks for unless its ``subprotocol`` setting says otherwise.
JANUS_EVH_SUBPROTOCOL = "janus-event-handlers"


class WebSocketEventReceiver(ReceiverServer):
    """A WebSocket server for ``janus.eventhandler.wsevh`` (set its ``backend`` to ``url``).

    ``subprotocol``: the one to require (None: accept what the client offers, echoing its first).
    ``stats()``: ``connections``, ``handshakes``, ``refused``, ``messages``, ``pings``, ``errors``.

    Args:
        stream: the stream the events go to (None: a new ``EventStream``, as ``receiver.stream``).
        host: the address to listen on.
        port: the port to listen on (0: a free one, read ``receiver.port`` after ``start()``).
        path: the only path upgrades are accepted on.
        subprotocol: the subprotocol to require (None: accept what the client offers).
        server: the tag set on every event (``event.server``; None: the event's emitter).
        max_message_size: the largest (joined) message accepted (close 1009 beyond).
        read_timeout: seconds the upgrade request, or the rest of a started frame, may take.
        ping_interval: a connection silent this long is pinged, and closed if it stays silent
            for another interval.

    Raises:
        InvalidOptionError: a bad path, port, size or duration.
    """

    scheme = "ws"

    def __init__(
        self,
        stream: EventStream | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/",
        subprotocol: str | None = None,
        server: str | None = None,
        max_message_size: int = 16 * 1024 * 1024,
        read_timeout: float = 30.0,
        ping_interval: float = 20.0,
    ) -> None:
        super().__init__(
            stream, host=host, port=port, path=path, server=server, read_timeout=read_timeout
        )
        if not (isinstance(max_message_size, int) and max_message_size > 0):
            raise InvalidOptionError("max_message_size must be an integer > 0")
        if not (isinstance(ping_interval, int | float) and 0 < ping_interval < float("inf")):
            raise InvalidOptionError("ping_interval must be > 0 and finite")
        self.subprotocol = subprotocol
        self.max_message_size = max_message_size
        self.ping_interval = float(ping_interval)
        self._counters.update(handshakes=0, refused=0, messages=0, pings=0)

    def __repr__(self) -> str:
        return (
            f"WebSocketEventReceiver(host={self.host!r}, port={self.port}, path={self.path!r}, "
            f"server={self.server!r}, subprotocol={self.subprotocol!r})"
        )

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(read_head(reader), self.read_timeout)
        if head is None:
            return
        try:
            protocol = self._check_handshake(head)
        except HttpError as exc:
            self._count("refused")
            respond(writer, exc.status, close=True)
            await writer.drain()
            return
        headers = {
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Accept": accept_key(head.headers["sec-websocket-key"]),
        }
        if protocol is not None:
            headers["Sec-WebSocket-Protocol"] = protocol
        respond(writer, 101, headers=headers)
        await writer.drain()
        self._count("handshakes")
        try:
            await self._messages(reader, writer)
        except WsProtocolError as exc:
            self._count("errors")
            logger.debug("wsevh connection closed: %s", exc, extra=log_fields())
            writer.write(close_frame(exc.code, str(exc)))
            await writer.drain()

    def _check_handshake(self, head: RequestHead) -> str | None:
        if head.path != self.path:
            raise HttpError(404, "unknown path")
        if head.method != "GET":
            raise HttpError(405, "a WebSocket handshake is a GET")
        upgrade = head.headers.get("upgrade", "").lower()
        connection = head.headers.get("connection", "").lower()
        if upgrade != "websocket" or "upgrade" not in connection:
            raise HttpError(426, "not a WebSocket upgrade")
        if head.headers.get("sec-websocket-version") != "13":
            raise HttpError(426, "WebSocket version 13 only")
        if not valid_key(head.headers.get("sec-websocket-key")):
            raise HttpError(400, "bad Sec-WebSocket-Key")
        offered = [
            p.strip()
            for p in head.headers.get("sec-websocket-protocol", "").split(",")
            if p.strip()
        ]
        if self.subprotocol is None:
            return offered[0] if offered else None
        if self.subprotocol not in offered:
            raise HttpError(400, "subprotocol not offered")
        return self.subprotocol

    async def _messages(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        fragments: list[bytes] = []
        size = 0
        pinged = False
        while True:
            try:  # readexactly keeps partial bytes buffered when the wait is cancelled
                fin, opcode, length = await asyncio.wait_for(
                    read_frame_head(reader), self.ping_interval
                )
            except asyncio.TimeoutError:
                if pinged:
                    return  # silent for two intervals: the peer is gone
                pinged = True
                writer.write(frame(OP_PING, b"janus-fast"))
                await writer.drain()
                continue
            pinged = False
            payload = await asyncio.wait_for(
                read_frame_rest(reader, opcode, fin, length, self.max_message_size - size),
                self.read_timeout,
            )
            if opcode == OP_CLOSE:
                code = payload[:2] if len(payload) >= 2 else b"\x03\xe8"
                writer.write(frame(OP_CLOSE, code))
                await writer.drain()
                return
            if opcode == OP_PING:
                self._count("pings")
                writer.write(frame(0xA, payload))
                await writer.drain()
                continue
            if opcode > OP_CLOSE:  # a pong
                continue
            if opcode in (OP_TEXT, OP_BINARY):
                if fragments:
                    raise WsProtocolError(1002, "new message inside a fragmented one")
            elif opcode == OP_CONTINUATION:
                if not fragments:
                    raise WsProtocolError(1002, "continuation without a message")
            else:
                raise WsProtocolError(1002, f"unknown opcode {opcode}")
            fragments.append(payload)
            size += len(payload)
            if not fin:
                continue
            message = b"".join(fragments)
            fragments.clear()
            size = 0
            self._publish(message)

    def _publish(self, message: bytes) -> None:
        self._count("messages")
        try:
            events = decode_payload(message)
        except InvalidEventError as exc:
            self.stream.count_invalid()
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("wsevh message refused: %s", exc, extra=log_fields())
            return
        self.stream.publish(events, self.server)
