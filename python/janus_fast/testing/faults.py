"""``FaultProxy``: a TCP proxy for fault injection on loopback.

For this project's tests and benches and for users' own suites.

Rule: it forwards bytes between a client and a local target port and changes nothing unless told:
``cut()`` aborts every live connection, ``hold()``/``release()`` buffer server→client data,
``freeze`` stops forwarding without closing (a dead peer), ``refuse`` rejects new connections,
``chunk`` splits writes into tiny segments, ``delay`` adds latency. It runs on the caller's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket


class FaultProxy:
    """A loopback TCP proxy to ``target_port`` that injects faults on demand.

    Args:
        target_port: the local port to forward to (e.g. Janus's WebSocket port).
        chunk: split every write into segments of at most this many bytes (None: as read).
        delay: seconds added before forwarding each read.

    Attributes:
        connections: client connections accepted so far.
        refuse: while True, new client connections are closed at once.
        hold_downstream: while True, server→client bytes are buffered (``hold``/``release``).
    """

    def __init__(self, target_port: int, *, chunk: int | None = None, delay: float = 0.0) -> None:
        self.target_port = target_port
        self.chunk = chunk
        self.delay = delay
        #: Server→client bytes are buffered instead of forwarded while True.
        self.hold_downstream = False
        self._thawed = asyncio.Event()
        self._thawed.set()
        #: Close new client connections at once.
        self.refuse = False
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._links: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._released = asyncio.Event()
        self._released.set()

    @property
    def freeze(self) -> bool:
        """Stop forwarding in both directions without closing anything (a dead peer)."""
        return not self._thawed.is_set()

    @freeze.setter
    def freeze(self, value: bool) -> None:
        if value:
            self._thawed.clear()
        else:
            self._thawed.set()

    @property
    def port(self) -> int:
        """The proxy's listening port (after ``start``)."""
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def url(self, scheme: str = "ws") -> str:
        """Return the proxy's URL for ``scheme`` (``http`` adds the ``/janus`` path)."""
        return f"{scheme}://127.0.0.1:{self.port}" + ("/janus" if scheme == "http" else "")

    async def start(self) -> FaultProxy:
        """Listen on 127.0.0.1 on a free port and return the proxy itself."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def close(self) -> None:
        """Cut every connection, stop listening and end the forwarding tasks."""
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def cut(self) -> None:
        """Abort every live connection on both sides (an RST, no close handshake)."""
        for client, upstream in list(self._links):
            for writer in (client, upstream):
                writer.transport.abort()
        self._links.clear()

    def hold(self) -> None:
        """Buffer server→client data instead of forwarding it, until ``release``."""
        self.hold_downstream = True
        self._released.clear()

    def release(self) -> None:
        """Forward what ``hold`` buffered, and everything after it."""
        self.hold_downstream = False
        self._released.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refuse:
            writer.transport.abort()
            return
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        for w in (writer, up_writer):
            sock = w.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link = (writer, up_writer)
        self._links.add(link)
        for task in (
            asyncio.ensure_future(self._pump(reader, up_writer, downstream=False)),
            asyncio.ensure_future(self._pump(up_reader, writer, downstream=True)),
        ):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, downstream: bool
    ) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                await self._thawed.wait()
                if downstream:
                    await self._released.wait()
                if self.delay:
                    await asyncio.sleep(self.delay)
                step = self.chunk or len(data)
                for start in range(0, len(data), step):
                    writer.write(data[start : start + step])
                    await writer.drain()
                    if self.chunk:
                        await asyncio.sleep(0)
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()
