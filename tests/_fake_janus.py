"""A scripted fake Janus WebSocket server for what a real Janus cannot be made to do: malformed
frames, broken handshakes, garbage. Tests drive it step by step (read a request, write bytes)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
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


class FakeJanus:
    """Accepts one client; answers the upgrade with ``handshake_reply`` (or a correct 101)."""

    def __init__(self, handshake_reply: bytes | None = None) -> None:
        self.handshake_reply = handshake_reply
        self.connected = asyncio.Event()
        self._server: asyncio.Server | None = None
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def start(self) -> FakeJanus:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
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

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
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
        """The requests of the next text frame (coalesced frames hold several objects)."""
        opcode, payload = await self.read_frame()
        while opcode != 0x1:
            opcode, payload = await self.read_frame()
        decoder = json.JSONDecoder()
        requests, index = [], 0
        text_payload = payload.decode()
        while index < len(text_payload):
            obj, index = decoder.raw_decode(text_payload, index)
            requests.append(obj)
        return requests

    def send(self, data: bytes) -> None:
        assert self.writer is not None
        self.writer.write(data)
