"""RFC 6455 server side, the little a receiver needs: the opening handshake answer and frames.

Rule: frames from a client must be masked and at most ``max_size`` bytes per message; anything
else is a ``WsProtocolError`` carrying the close code to send (1002 protocol, 1009 too big).
Server frames go out unmasked and unfragmented.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import struct

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONTINUATION, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA


class WsProtocolError(Exception):
    def __init__(self, code: int, detail: str) -> None:
        super().__init__(detail)
        self.code = code


def accept_key(key: str) -> str:
    """Compute the ``Sec-WebSocket-Accept`` for a client's ``Sec-WebSocket-Key``."""
    digest = hashlib.sha1(key.encode("ascii") + _GUID).digest()  # SHA-1: RFC 6455 says so
    return base64.b64encode(digest).decode("ascii")


def valid_key(key: str | None) -> bool:
    if not key:
        return False
    try:
        return len(base64.b64decode(key, validate=True)) == 16
    except ValueError:
        return False


def frame(opcode: int, payload: bytes = b"") -> bytes:
    """Encode one final, unmasked frame."""
    length = len(payload)
    if length < 126:
        head = struct.pack("!BB", 0x80 | opcode, length)
    elif length < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, length)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, length)
    return head + payload


def close_frame(code: int, reason: str = "") -> bytes:
    return frame(OP_CLOSE, struct.pack("!H", code) + reason.encode()[:120])


def _unmask(data: bytes, mask: bytes) -> bytes:
    if not data:
        return data
    size = len(data)
    key = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(size, "big")


async def read_frame_head(reader: asyncio.StreamReader) -> tuple[bool, int, int]:
    """Parse the first two bytes of a frame: (fin, opcode, length field 0..127)."""
    first, second = await reader.readexactly(2)
    if first & 0x70:
        raise WsProtocolError(1002, "reserved bits set (no extension was negotiated)")
    if not second & 0x80:
        raise WsProtocolError(1002, "client frames must be masked")
    return bool(first & 0x80), first & 0x0F, second & 0x7F


async def read_frame_rest(
    reader: asyncio.StreamReader, opcode: int, fin: bool, length: int, max_size: int
) -> bytes:
    """Read the rest of a frame whose head was read: extended length, mask, unmasked payload."""
    if opcode >= OP_CLOSE and (length > 125 or not fin):
        raise WsProtocolError(1002, "bad control frame")
    if length == 126:
        (length,) = struct.unpack("!H", await reader.readexactly(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", await reader.readexactly(8))
    if length > max_size:
        raise WsProtocolError(1009, "message too big")
    mask = await reader.readexactly(4)
    return _unmask(await reader.readexactly(length), mask)
