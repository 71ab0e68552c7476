"""A scripted fake Janus WebSocket server for what a real Janus cannot be made to do: malformed
frames, broken handshakes, garbage, an older Janus. Tests drive ``FakeJanus`` step by step (read a
request, write bytes; the client's ``info`` probe is answered by ``read_requests`` itself), or let
``OldJanus`` answer by itself like a Janus of a given version."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import struct
from typing import Any

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_key(key: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


def frame(
    opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0, mask: bool = False
) -> bytes:
    """One server frame (unmasked unless ``mask``: servers must not mask)."""
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    length = len(payload)
    mask_bit = 0x80 if mask else 0
    if length < 126:
        head += bytes([mask_bit | length])
    elif length < 65536:
        head += bytes([mask_bit | 126]) + struct.pack("!H", length)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", length)
    if mask:
        key = b"\x01\x02\x03\x04"
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        head += key
    return head + payload


def text(message: Any) -> bytes:
    return frame(0x1, json.dumps(message).encode())


def indented(message: Any) -> bytes:
    """A text frame in Janus's default style (jansson ``JSON_INDENT(3)``, keys in order)."""
    return frame(0x1, json.dumps(message, indent=3).encode())


#: What Janus 1.0.x (and 1.1.0/1.1.1) answers to a frame holding several requests: ONE error
#: with no transaction; none of the requests is executed (accepted since 1.1.2).
MULTI_REQUEST_REJECTION = {
    "janus": "error",
    "error": {"code": 456, "reason": "Missing mandatory element (transaction)"},
}


def server_info(transaction: str, version: int, version_string: str) -> dict[str, Any]:
    return {
        "janus": "server_info",
        "transaction": transaction,
        "name": "Janus WebRTC Server",
        "version": version,
        "version_string": version_string,
        "author": "Meetecho s.r.l.",
        "session-timeout": 60,
        "reclaim-session-timeout": 0,
        "api_secret": False,
        "auth_token": False,
        "transports": {"janus.transport.websockets": {"version": 1}},
        "plugins": {"janus.plugin.echotest": {"version": 7}},
    }


def split_objects(payload: bytes) -> list[dict[str, Any]]:
    """The JSON objects of one frame (a coalesced frame holds several back to back)."""
    decoder = json.JSONDecoder()
    objects, index = [], 0
    text_payload = payload.decode()
    while index < len(text_payload):
        obj, index = decoder.raw_decode(text_payload, index)
        objects.append(obj)
    return objects


class FakeJanus:
    """Accepts one client; answers the upgrade with ``handshake_reply`` (or a correct 101)."""

    def __init__(
        self, handshake_reply: bytes | None = None, *, version: tuple[int, str] = (1102, "1.1.2")
    ) -> None:
        self.handshake_reply = handshake_reply
        #: What ``read_requests`` answers to the client's ``info`` probe.
        self.version = version
        self.connected = asyncio.Event()
        self._server: asyncio.Server | None = None
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def start(self) -> FakeJanus:
        self._server = await asyncio.start_server(self.accept, "127.0.0.1", 0)
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"ws://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.transport.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one accepted client: the upgrade handshake (subclasses and tests override it
        or set it on the instance before ``start`` to script what follows)."""
        request = await reader.readuntil(b"\r\n\r\n")
        key = b""
        for line in request.split(b"\r\n"):
            if line.lower().startswith(b"sec-websocket-key:"):
                key = line.split(b":", 1)[1].strip()
        reply = self.handshake_reply
        if reply is None:
            reply = (
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept_key(key) + b"\r\n"
                b"Sec-WebSocket-Protocol: janus-protocol\r\n\r\n"
            )
        writer.write(reply)
        self.reader, self.writer = reader, writer
        self.connected.set()

    async def read_frame(self) -> tuple[int, bytes]:
        """One client frame (opcode, unmasked payload)."""
        assert self.reader is not None
        first, second = await self.reader.readexactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
        key = await self.reader.readexactly(4) if second & 0x80 else b"\0\0\0\0"
        data = await self.reader.readexactly(length)
        return first & 0x0F, bytes(b ^ key[i % 4] for i, b in enumerate(data))

    async def read_requests(self) -> list[dict[str, Any]]:
        """The requests of the next text frame (coalesced frames hold several objects); a frame
        holding only an ``info`` is answered with ``version`` and skipped."""
        while True:
            opcode, payload = await self.read_frame()
            if opcode != 0x1:
                continue
            requests = split_objects(payload)
            if len(requests) == 1 and requests[0].get("janus") == "info":
                self.send(indented(server_info(requests[0]["transaction"], *self.version)))
                continue
            return requests

    def send(self, data: bytes) -> None:
        assert self.writer is not None
        self.writer.write(data)


class OldJanus(FakeJanus):
    """Answers by itself like a Janus of ``version`` (default 1.0.4) for ping, info, create,
    attach, keepalive, an EchoTest ``message`` (ack, then event), detach and destroy, in Janus's
    indented style. Unless ``multi_request_frames``, a frame holding several requests gets
    ``MULTI_REQUEST_REJECTION`` and none of them is executed — byte for byte what Janus 1.0.x
    does. Records every frame's requests (``frames``) and every request executed (``executed``).
    """

    def __init__(
        self, version: tuple[int, str] = (1004, "1.0.4"), *, multi_request_frames: bool = False
    ) -> None:
        super().__init__(version=version)
        self.multi_request_frames = multi_request_frames
        self.frames: list[list[dict[str, Any]]] = []
        self.executed: list[dict[str, Any]] = []
        self.rejections = 0
        self._ids = itertools.count(7_000_000_000_001, 7919)

    async def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await super().accept(reader, writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                opcode, payload = await self.read_frame()
                if opcode == 0x8:
                    self.send(frame(0x8, payload[:2]))
                    return
                if opcode != 0x1:
                    continue
                requests = split_objects(payload)
                self.frames.append(requests)
                if len(requests) > 1 and not self.multi_request_frames:
                    self.rejections += 1
                    self.send(indented(MULTI_REQUEST_REJECTION))
                    continue
                for request in requests:
                    self.executed.append(request)
                    for reply in self._answer(request):
                        self.send(indented(reply))

    def _answer(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        kind, tx = request.get("janus"), request.get("transaction")
        session = request.get("session_id")
        head: dict[str, Any] = {"janus": "success"}
        if session is not None:
            head["session_id"] = session
        head["transaction"] = tx
        if kind == "ping":
            return [{"janus": "pong", "transaction": tx}]
        if kind == "info":
            return [server_info(str(tx), *self.version)]
        if kind in ("create", "attach"):
            return [{**head, "data": {"id": next(self._ids)}}]
        if kind in ("detach", "destroy"):
            return [head]
        if kind == "keepalive":
            return [{**head, "janus": "ack"}]
        if kind == "message":
            return [
                {**head, "janus": "ack"},
                {
                    **head,
                    "janus": "event",
                    "sender": request.get("handle_id"),
                    "plugindata": {
                        "plugin": "janus.plugin.echotest",
                        "data": {"echotest": "event", "result": "ok"},
                    },
                },
            ]
        error = {"code": 453, "reason": f"Unknown request '{kind}'"}
        return [{**head, "janus": "error", "error": error}]
