"""Write backpressure on the WebSocket: a peer that floods pings and never reads cannot make us
buffer pongs without limit, and a request that expired while the socket could not take it is
never sent afterwards. A scripted fake server: a real Janus always reads."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from _fake_janus import FakeJanus, frame, text
from janus_fast import Expect, JanusTransport, QueueFullError, RequestTimeoutError

LIMIT = 256 * 1024
#: What one read (256 KiB) of empty pings can turn into: 6-byte masked pongs for 2-byte pings.
ONE_READ_OF_PONGS = 3 * 256 * 1024
CONFIG = {
    "max_retries": 0,
    "timeout": 5,
    "ping_interval": None,
    "coalesce": False,  # one request per frame, no version probe
    "write_buffer_limit": LIMIT,
}


class Flooder(FakeJanus):
    """Floods pings on request; never reads unless told to. Small kernel buffers on its side, so
    that what piles up is what the client buffers."""

    def __init__(self) -> None:
        super().__init__()
        self.flooded = 0
        self.writers: list[asyncio.StreamWriter] = []
        #: Bytes read and not parsed yet (the start of a frame).
        self._unparsed = bytearray()

    async def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raw = writer.get_extra_info("socket")
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        self.writers.append(writer)
        await super().accept(reader, writer)

    async def flood(self, total: int, payload: bytes = b"") -> None:
        ping = frame(0x9, payload)
        chunk = ping * (65536 // len(ping))
        assert self.writer is not None
        while self.flooded < total:
            self.writer.write(chunk)
            self.flooded += len(chunk)
            await self.writer.drain()

    async def read_everything(self, until: Any) -> list[dict[str, Any]]:
        """Read (and parse) what the client sent until ``until(requests)``; the JSON requests."""
        assert self.reader is not None
        buffer = self._unparsed
        requests: list[dict[str, Any]] = []
        while not until(requests):
            data = await asyncio.wait_for(self.reader.read(1 << 20), 5)
            assert data, "the client closed the connection"
            buffer += data
            consumed = _parse_client_frames(buffer, requests)
            del buffer[:consumed]
        return requests

    async def close(self) -> None:
        for writer in self.writers:
            writer.transport.abort()
        await super().close()


def _parse_client_frames(buffer: bytearray, requests: list[dict[str, Any]]) -> int:
    """Parse the complete (masked) client frames at the start of ``buffer``: text frames'
    requests are appended to ``requests``; returns the bytes consumed."""
    import json

    index, size = 0, len(buffer)
    while size - index >= 2:
        opcode, length = buffer[index] & 0x0F, buffer[index + 1] & 0x7F
        start = index + 2
        extra = {126: 2, 127: 8}.get(length, 0)
        if size < start + extra + 4:
            break
        if extra:
            length = int.from_bytes(buffer[start : start + extra], "big")
        start += extra + 4  # client frames are masked
        if size < start + length:
            break
        if opcode == 0x1:
            key = buffer[start - 4 : start]
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(buffer[start : start + length]))
            decoder, body, at = json.JSONDecoder(), payload.decode(), 0
            while at < len(body):
                request, at = decoder.raw_decode(body, at)
                requests.append(request)
        index = start + length
    return index


async def _until_the_flood_stalls(
    fake: Flooder, flooding: asyncio.Future[None], transport: JanusTransport
) -> None:
    """Until the flood made no progress for 0.2 s while our writing is paused (or it ended)."""
    last = -1
    for _ in range(100):
        paused = transport.write_flow_stats["paused"]  # type: ignore[attr-defined]
        if flooding.done() or (fake.flooded == last and paused):
            return
        last = fake.flooded
        await asyncio.sleep(0.2)


async def test_a_peer_flooding_pings_and_never_reading_cannot_grow_our_buffers() -> None:
    fake = await Flooder().start()
    transport = JanusTransport.create_transport(fake.url, config=CONFIG)
    await transport.connect()
    total = 16 << 20
    flooding = asyncio.ensure_future(fake.flood(total))
    try:
        await _until_the_flood_stalls(fake, flooding, transport)
        stats = transport.write_flow_stats  # type: ignore[attr-defined]
        # Unbounded, 16 MiB of pings made ~45 MiB of pongs wait in our write buffer.
        assert stats["buffered"] <= LIMIT + ONE_READ_OF_PONGS, stats
        assert stats["paused"] == 1 and stats["pauses"] >= 1, stats
        assert fake.flooded < total  # we stopped reading, so the flood stalled
        assert transport.connected
    finally:
        flooding.cancel()
        await asyncio.gather(flooding, return_exceptions=True)
        await transport.disconnect()
        await fake.close()


async def test_a_request_that_expired_while_writing_was_paused_is_never_sent() -> None:
    fake = await Flooder().start()
    transport = JanusTransport.create_transport(fake.url, config=CONFIG)
    await transport.connect()
    flooding = asyncio.ensure_future(fake.flood(16 << 20, payload=b"p" * 125))
    try:
        await _until_the_flood_stalls(fake, flooding, transport)
        assert transport.write_flow_stats["paused"] == 1  # type: ignore[attr-defined]
        with pytest.raises(RequestTimeoutError):
            await transport.request({"janus": "ping"}, Expect.PONG, timeout=0.3)
        assert transport.write_flow_stats["waiting"] == 0  # type: ignore[attr-defined]
        flooding.cancel()
        await asyncio.gather(flooding, return_exceptions=True)
        # The peer reads again: the buffer drains, writing resumes, a fresh ping goes out and is
        # answered. The expired one never appears on the wire.
        fresh = asyncio.ensure_future(transport.request({"janus": "info"}, Expect.SERVER_INFO))
        requests = await fake.read_everything(lambda seen: len(seen) >= 1)
        assert [r["janus"] for r in requests] == ["info"], requests
        fake.send(text({"janus": "server_info", "transaction": requests[0]["transaction"]}))
        assert (await asyncio.wait_for(fresh, 5)).janus == "server_info"
        stats = transport.write_flow_stats  # type: ignore[attr-defined]
        assert stats["paused"] == 0 and stats["pauses"] >= 1
        # Nothing else was queued behind: one more round trip sees no stale ping either.
        ping = asyncio.ensure_future(transport.ping())
        later = await fake.read_everything(lambda seen: len(seen) >= 1)
        assert [r["janus"] for r in later] == ["ping"]
        fake.send(text({"janus": "pong", "transaction": later[0]["transaction"]}))
        assert (await asyncio.wait_for(ping, 5))["janus"] == "pong"
    finally:
        flooding.cancel()
        await asyncio.gather(flooding, return_exceptions=True)
        await transport.disconnect()
        await fake.close()


async def test_requests_waiting_for_the_write_buffer_are_bounded() -> None:
    fake = await Flooder().start()
    transport = JanusTransport.create_transport(fake.url, config={**CONFIG, "queue_size": 2})
    await transport.connect()
    flooding = asyncio.ensure_future(fake.flood(16 << 20))
    waiting: list[asyncio.Future[Any]] = []
    try:
        await _until_the_flood_stalls(fake, flooding, transport)
        assert transport.write_flow_stats["paused"] == 1  # type: ignore[attr-defined]
        waiting = [asyncio.ensure_future(transport.ping()) for _ in range(2)]
        await asyncio.sleep(0.05)
        assert transport.write_flow_stats["waiting"] == 2  # type: ignore[attr-defined]
        with pytest.raises(QueueFullError):
            await transport.ping()
    finally:
        for ping in waiting:
            ping.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        flooding.cancel()
        await asyncio.gather(flooding, return_exceptions=True)
        await transport.disconnect()
        await fake.close()
