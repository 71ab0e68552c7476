"""``GelfEventReceiver``: the endpoint Janus's GELF event handler (``gelfevh``) sends to.

Graylog-style, over TCP (NUL-terminated messages) or UDP (datagrams, chunked and optionally
gzipped).

Rule: each GELF message carries one Janus event in ``full_message`` (an object, or a JSON string
per the GELF spec); the GELF envelope (``host``, ``level``, ``short_message``) is dropped. Every
buffer is bounded: a TCP message or reassembled UDP message over ``max_message_size`` is refused,
at most ``max_pending`` chunked messages wait for their missing chunks, each for at most
``chunk_timeout`` seconds (then dropped and counted as ``incomplete``). Over UDP a burst
that outruns the reader overflows the socket's receive buffer (``recv_buffer``) in the kernel:
those datagrams are lost before the receiver sees them, and counted from the kernel's own
counter (``kernel_drops``, Linux).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import os
import socket
import time
import types
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import orjson

from janus_fast.errors import InvalidOptionError, InvalidStateError
from janus_fast.eventhandlers._http import HttpError, gunzip
from janus_fast.eventhandlers.stream import EventStream
from janus_fast.logfields import log_fields

logger = logging.getLogger("janus_fast.eventhandlers")

_G = TypeVar("_G", bound="GelfEventReceiver")
_CHUNK_MAGIC = b"\x1e\x0f"
_MAX_CHUNKS = 128  # the GELF limit
#: Per-socket tables with a ``drops`` column (Linux), IPv4 then IPv6.
_PROC_UDP = ("/proc/net/udp", "/proc/net/udp6")


def _udp_socket_drops(inode: int) -> int | None:
    """Return how many datagrams the kernel dropped for one UDP socket (its receive buffer full).

    Args:
        inode: the socket's inode (``os.fstat(sock.fileno()).st_ino``).

    Returns:
        The kernel's ``drops`` counter of that socket, or None where it cannot be read (not
        Linux, no ``/proc``, the socket is gone).
    """
    for table in _PROC_UDP:
        try:
            with open(table, encoding="ascii") as rows:
                next(rows, None)  # the header
                for row in rows:
                    fields = row.split()
                    if len(fields) >= 13 and fields[9] == str(inode):
                        return int(fields[12])
        except (OSError, ValueError):
            continue
    return None


class GelfEventReceiver:
    """A GELF input for ``janus.eventhandler.gelfevh``.

    Configure gelfevh with ``backend`` = ``host``, ``port`` = ``receiver.port`` and
    ``protocol`` = ``protocol``. ``stats()``: ``messages``, ``chunked`` (UDP messages
    reassembled from chunks), ``invalid``, ``incomplete`` (chunked messages never completed),
    ``pending``, ``connections`` (TCP), ``kernel_drops`` (UDP: datagrams the kernel dropped
    because the socket's receive buffer was full; Linux only, 0 where unknown).

    Args:
        stream: the stream the events go to (None: a new ``EventStream``, as ``receiver.stream``).
        host: the address to listen on.
        port: the port to listen on (0: a free one, read ``receiver.port`` after ``start()``).
        protocol: ``tcp`` (NUL-terminated messages) or ``udp`` (datagrams, maybe chunked).
        server: the tag set on every event (``event.server``; None: the event's emitter).
        max_message_size: the largest message accepted, also after gzip inflation.
        max_pending: chunked UDP messages waiting for their other chunks at most.
        chunk_timeout: seconds a chunked message may wait for its other chunks (then it is
            counted as ``incomplete``).
        recv_buffer: UDP: the receive buffer asked of the kernel, in bytes (``SO_RCVBUF``;
            Linux caps it at ``net.core.rmem_max``). gelfevh never waits for the reader, so a
            burst larger than this buffer is lost (``kernel_drops``).

    Raises:
        InvalidOptionError: an unknown protocol, a bad port, size, count or duration.
    """

    def __init__(
        self,
        stream: EventStream | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        protocol: Literal["tcp", "udp"] = "tcp",
        server: str | None = None,
        max_message_size: int = 1024 * 1024,
        max_pending: int = 256,
        chunk_timeout: float = 5.0,
        recv_buffer: int = 4 * 1024 * 1024,
    ) -> None:
        """Check the options; nothing is opened before ``start()``."""
        if protocol not in ("tcp", "udp"):
            raise InvalidOptionError(f"protocol must be tcp or udp, not {protocol!r}")
        if not (isinstance(port, int) and 0 <= port <= 65535):
            raise InvalidOptionError(f"port must be 0..65535, not {port!r}")
        if not (isinstance(max_message_size, int) and max_message_size > 0):
            raise InvalidOptionError("max_message_size must be an integer > 0")
        if not (isinstance(max_pending, int) and max_pending > 0):
            raise InvalidOptionError("max_pending must be an integer > 0")
        if not (isinstance(chunk_timeout, int | float) and 0 < chunk_timeout < math.inf):
            raise InvalidOptionError("chunk_timeout must be > 0 and finite")
        if not (isinstance(recv_buffer, int) and recv_buffer > 0):
            raise InvalidOptionError("recv_buffer must be an integer > 0")
        self.stream = stream if stream is not None else EventStream()
        self.host = host
        self.port = port
        self.protocol = protocol
        self.server = server
        self.max_message_size = max_message_size
        self.max_pending = max_pending
        self.chunk_timeout = float(chunk_timeout)
        self.recv_buffer = recv_buffer
        self._udp_inode: int | None = None
        self._kernel_drops = 0
        self._counters = {
            "messages": 0,
            "chunked": 0,
            "invalid": 0,
            "incomplete": 0,
            "connections": 0,
        }
        #: chunked message id → (first seen, total, chunks by sequence number)
        self._pending: collections.OrderedDict[bytes, tuple[float, int, dict[int, bytes]]] = (
            collections.OrderedDict()
        )
        self._server: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def __repr__(self) -> str:
        return (
            f"GelfEventReceiver(host={self.host!r}, port={self.port}, "
            f"protocol={self.protocol!r}, server={self.server!r})"
        )

    def stats(self) -> dict[str, int]:
        """Return the counters (see the class docstring), with ``pending`` chunked messages.

        Returns:
            The counters by name.
        """
        if self._udp_inode is not None:
            drops = _udp_socket_drops(self._udp_inode)
            if drops is not None:
                self._kernel_drops = drops
        return dict(self._counters, pending=len(self._pending), kernel_drops=self._kernel_drops)

    async def start(self: _G) -> _G:
        """Start listening (TCP) or bind the datagram socket (UDP); ``port`` 0 is replaced.

        Returns:
            The receiver itself.

        Raises:
            InvalidStateError: the receiver was already started.
            OSError: the address cannot be bound.
        """
        if self._server is not None or self._udp is not None:
            raise InvalidStateError("receiver already started")
        loop = asyncio.get_running_loop()
        if self.protocol == "tcp":
            self._server = await asyncio.start_server(
                self._connection, self.host, self.port, limit=self.max_message_size + 1
            )
            self.port = self._server.sockets[0].getsockname()[1]
        else:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(self._datagram), local_addr=(self.host, self.port)
            )
            self._udp = transport
            self.port = transport.get_extra_info("sockname")[1]
            sock = transport.get_extra_info("socket")
            with contextlib.suppress(OSError):  # the kernel's default buffer then
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.recv_buffer)
            self._udp_inode = os.fstat(sock.fileno()).st_ino
        return self

    async def close(self, *, close_stream: bool = False) -> None:
        """Stop listening and close every connection (within a few seconds).

        Args:
            close_stream: also close the event stream, ending its iterators.
        """
        server, self._server = self._server, None
        if server is not None:
            server.close()
            for writer in list(self._writers):
                writer.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 5.0)
        udp, self._udp = self._udp, None
        if udp is not None:
            self.stats()  # keep the kernel's last count: it goes with the socket
            self._udp_inode = None
            udp.close()
        self._pending.clear()
        if close_stream:
            self.stream.close()

    async def __aenter__(self: _G) -> _G:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        await self.close()

    # -- TCP ---------------------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        self._counters["connections"] += 1
        try:
            while True:
                try:
                    message = await reader.readuntil(b"\0")
                except asyncio.IncompleteReadError as exc:
                    if exc.partial.strip():
                        self._message(exc.partial)  # the last one, unterminated
                    return
                except asyncio.LimitOverrunError:
                    self._counters["invalid"] += 1
                    logger.debug(
                        "GELF message over %d bytes: connection closed",
                        self.max_message_size,
                        extra=log_fields(),
                    )
                    return
                self._message(message[:-1])
        except ConnectionError:
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    # -- UDP ---------------------------------------------------------------------------------
    def _datagram(self, data: bytes) -> None:
        now = time.monotonic()
        self._expire(now)
        if not data.startswith(_CHUNK_MAGIC):
            self._message(data)
            return
        if len(data) < 12:
            self._counters["invalid"] += 1
            return
        message_id, sequence, total = data[2:10], data[10], data[11]
        if total == 0 or total > _MAX_CHUNKS or sequence >= total:
            self._counters["invalid"] += 1
            return
        entry = self._pending.get(message_id)
        if entry is None:
            if len(self._pending) >= self.max_pending:
                self._pending.popitem(last=False)
                self._counters["incomplete"] += 1
            entry = (now, total, {})
            self._pending[message_id] = entry
        chunks = entry[2]
        chunks[sequence] = data[12:]
        if sum(len(chunk) for chunk in chunks.values()) > self.max_message_size:
            del self._pending[message_id]
            self._counters["invalid"] += 1
            return
        if len(chunks) == entry[1]:
            del self._pending[message_id]
            self._counters["chunked"] += 1
            self._message(b"".join(chunks[i] for i in range(entry[1])))

    def _expire(self, now: float) -> None:
        while self._pending:
            message_id, (first_seen, _, _) = next(iter(self._pending.items()))
            if now - first_seen < self.chunk_timeout:
                return
            del self._pending[message_id]
            self._counters["incomplete"] += 1

    # -- both --------------------------------------------------------------------------------
    def _message(self, data: bytes) -> None:
        try:
            if data[:1] in (b"\x1f", b"\x78"):  # gzip or zlib
                data = gunzip(data, self.max_message_size)
            envelope = orjson.loads(data)
            event: Any = envelope.get("full_message") if isinstance(envelope, dict) else None
            if isinstance(event, str):
                event = orjson.loads(event)
        except (HttpError, orjson.JSONDecodeError):
            event = None
        if not isinstance(event, dict):
            self._counters["invalid"] += 1
            self.stream.count_invalid()
            return
        self._counters["messages"] += 1
        self.stream.publish([event], self.server)


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, handle: Callable[[bytes], None]) -> None:
        self._handle = handle

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            self._handle(data)
        except Exception as exc:  # a bad datagram never stops the endpoint
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("GELF datagram refused: %r", exc, extra=log_fields())
