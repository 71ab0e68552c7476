"""HTTP/1.1 request heads and bodies read from asyncio streams, for the receivers' servers.

Rule: every read is bounded in size (``HttpError`` 431/413 past the limit) and the caller bounds
it in time; nothing here writes except ``respond``. Header names come back lower-cased.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import zlib
from dataclasses import dataclass

MAX_HEAD = 16 * 1024
_REASONS = {
    100: "Continue",
    101: "Switching Protocols",
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    426: "Upgrade Required",
    431: "Request Header Fields Too Large",
    505: "HTTP Version Not Supported",
}


class HttpError(Exception):
    """A request to refuse with ``status`` (the connection is closed after the answer)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status} {detail}")
        self.status = status


@dataclass(frozen=True)
class RequestHead:
    method: str
    target: str
    version: str
    headers: dict[str, str]

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def keep_alive(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection


async def read_head(reader: asyncio.StreamReader) -> RequestHead | None:
    """Read the next request head; None at a clean end of the connection."""
    try:
        data = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise HttpError(400, "connection ended inside the request head") from None
    except asyncio.LimitOverrunError:
        raise HttpError(431, "request head too large") from None
    lines = data.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise HttpError(400, "malformed request line")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise HttpError(505, "only HTTP/1.x")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HttpError(400, "malformed header line")
        key = name.lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return RequestHead(method, target, version, headers)


async def read_body(reader: asyncio.StreamReader, head: RequestHead, max_size: int) -> bytes:
    """Read the body by ``Content-Length`` or chunked encoding, at most ``max_size`` bytes."""
    encoding = head.headers.get("transfer-encoding", "").lower()
    if encoding:
        if encoding != "chunked":
            raise HttpError(400, "unsupported transfer encoding")
        return await _read_chunked(reader, max_size)
    length_text = head.headers.get("content-length", "0")
    if not length_text.isdigit():
        raise HttpError(400, "bad Content-Length")
    length = int(length_text)
    if length > max_size:
        raise HttpError(413, "body too large")
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        raise HttpError(400, "connection ended inside the body") from None


async def _read_chunked(reader: asyncio.StreamReader, max_size: int) -> bytes:
    body = bytearray()
    try:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise HttpError(400, "bad chunk size") from None
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return bytes(body)
            if len(body) + size > max_size:
                raise HttpError(413, "body too large")
            body += await reader.readexactly(size)
            if await reader.readexactly(2) != b"\r\n":
                raise HttpError(400, "bad chunk end")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        raise HttpError(400, "bad chunked body") from None


def gunzip(data: bytes, max_size: int) -> bytes:
    """Inflate a gzip (or zlib) body, refusing more than ``max_size`` bytes of output."""
    inflater = zlib.decompressobj(wbits=47)  # 32 + 15: gzip or zlib header, detected
    try:
        out = inflater.decompress(data, max_size + 1)
    except zlib.error:
        raise HttpError(400, "body is not valid gzip") from None
    if len(out) > max_size or inflater.unconsumed_tail:
        raise HttpError(413, "inflated body too large")
    if not inflater.eof:
        raise HttpError(400, "truncated gzip body")
    return out


def basic_auth_ok(header: str | None, username: str, password: str) -> bool:
    """Check an ``Authorization`` header carries these Basic credentials (constant time)."""
    if header is None:
        return False
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = f"{username}:{password}".encode()
    return hmac.compare_digest(decoded, expected)


def respond(
    writer: asyncio.StreamWriter,
    status: int,
    *,
    headers: dict[str, str] | None = None,
    close: bool = False,
) -> None:
    """Write a response without a body (``Content-Length: 0`` unless a 1xx)."""
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if status >= 200 and status != 101:
        lines.append("Content-Length: 0")
        if close:
            lines.append("Connection: close")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
