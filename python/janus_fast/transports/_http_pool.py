"""Keep-alive HTTP/1.1 connections to one server, and their pool (the HTTP transport's wire).

Rule: a connection carries one exchange at a time (no pipelining); the Rust reader
(``HttpResponseReader``) decides what a complete, valid response is. A connection is reused only
after a whole response with keep-alive and nothing after it; a protocol error, bytes nobody asked
for, a response cut short, an abandoned exchange or an idle age over ``idle_expiry`` closes it.
An exchange learns its outcome exactly once — ``resolve(status, body)`` or ``fail(error)`` — and
a connection goes back to its pool by itself the moment its response is read, before the owner
even runs. The pool lends idle connections newest first, opens new ones up to ``limit`` (0: no
limit; it may change, see ``set_limit``: lowered, it closes idle connections over it at once) and
queues borrowers first-come first-served beyond it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as _ssl
from collections import deque
from typing import cast

from janus_fast._compat import timeout
from janus_fast._core import HttpResponseReader
from janus_fast.errors import ConnectionClosedError, ProtocolError, TransportError
from janus_fast.logfields import log_fields
from janus_fast.transports._client_errors import http_connect_error

logger = logging.getLogger("janus_fast.transport.http")


class Exchange:
    """One request on a connection. Subclasses say what its outcome means."""

    __slots__ = ("connection", "data")

    def __init__(self, data: bytes) -> None:
        #: The request's bytes, kept so that it can be sent again on another connection.
        self.data = data
        self.connection: HTTPConnection | None = None

    def resolve(self, status: int, body: bytes) -> None:
        """Complete the exchange with the HTTP reply's ``status`` and ``body`` (subclasses)."""
        raise NotImplementedError

    def fail(self, error: Exception) -> None:
        """Fail the exchange with ``error``: no reply will come (subclasses)."""
        raise NotImplementedError

    def abandon(self) -> None:
        """Close the connection if it still carries this exchange: the owner stopped waiting."""
        connection = self.connection
        if connection is not None and connection.exchange is self:
            connection.exchange = None
            connection.abort()


class FutureExchange(Exchange):
    """An exchange whose owner awaits ``future`` for ``(status, body)``."""

    __slots__ = ("future",)

    def __init__(self, data: bytes, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(data)
        self.future: asyncio.Future[tuple[int, bytes]] = loop.create_future()

    def resolve(self, status: int, body: bytes) -> None:
        """Set ``future`` to ``(status, body)`` unless it is done already."""
        if not self.future.done():
            self.future.set_result((status, body))

    def fail(self, error: Exception) -> None:
        """Fail ``future`` with ``error`` unless it is done already."""
        if not self.future.done():
            self.future.set_exception(error)


class HTTPConnection(asyncio.Protocol):
    """One keep-alive connection; see the module rule."""

    def __init__(self, pool: HTTPConnectionPool) -> None:
        self._pool = pool
        self._reader = HttpResponseReader(pool.max_body_size)
        self._transport: asyncio.Transport | None = None
        self.exchange: Exchange | None = None
        #: False once the connection may not carry another exchange (it is closing or closed).
        self.reusable = True
        self.idle_since = 0.0
        self.closed: asyncio.Future[None] = pool.loop.create_future()

    # -- the owner's side --------------------------------------------------------------------------
    def send(self, exchange: Exchange) -> None:
        """Write an exchange's request on this idle connection; the reply completes it."""
        assert self.exchange is None
        assert self._transport is not None
        self.exchange = exchange
        exchange.connection = self
        self._transport.write(exchange.data)

    def abort(self) -> None:
        """Drop the connection now (no TLS close_notify round trip)."""
        self.reusable = False
        if self._transport is not None:
            self._transport.abort()

    # -- asyncio.Protocol --------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the asyncio transport the connection writes on."""
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        """Parse reply bytes; a complete reply completes the exchange, bad bytes close it."""
        exchange = self.exchange
        if exchange is None:
            self._close_with(ProtocolError("HTTP data received with no request outstanding"))
            return
        try:
            response = self._reader.receive_data(data)
        except ProtocolError as exc:
            self._close_with(exc)
            return
        if response is not None:
            self._complete(exchange, response)

    def eof_received(self) -> bool:
        """Complete a reply delimited by the close, or fail one cut short; always False."""
        exchange = self.exchange
        try:
            response = self._reader.receive_eof()
        except ProtocolError:  # a reply cut short: the connection closed, the bytes were fine
            self._close_with(
                ConnectionClosedError(
                    None, f"HTTP connection to {self._pool.where} closed in the middle of the reply"
                )
            )
            return False
        if response is not None and exchange is not None:
            self._complete(exchange, response)
        return False  # let asyncio close the transport; connection_lost fails what is left

    def connection_lost(self, exc: Exception | None) -> None:
        """Fail the exchange still waiting (``ConnectionClosedError``) and leave the pool."""
        self.reusable = False
        exchange, self.exchange = self.exchange, None
        if exchange is not None:
            reason = f": {exc}" if exc is not None else ""
            exchange.fail(
                ConnectionClosedError(
                    None, f"HTTP connection to {self._pool.where} closed before the reply{reason}"
                )
            )
        self._pool.discard(self)
        if not self.closed.done():
            self.closed.set_result(None)

    # -- internals ---------------------------------------------------------------------------------
    def _complete(self, exchange: Exchange, response: tuple[int, bytes, bool]) -> None:
        status, body, keep_alive = response
        self.exchange = None
        if self._reader.buffered:
            logger.warning(
                "closing an HTTP connection that sent bytes after a complete response",
                extra=log_fields(),
            )
            self.abort()
        elif not keep_alive:
            self.reusable = False
            assert self._transport is not None
            self._transport.close()
        else:
            self._pool.release(self)
        try:
            exchange.resolve(status, body)
        except Exception:  # an owner's bug must not kill the connection's reader
            logger.exception("handling an HTTP response failed", extra=log_fields())

    def _close_with(self, error: Exception) -> None:
        exchange, self.exchange = self.exchange, None
        self.abort()
        if exchange is not None:
            exchange.fail(error)
        else:
            logger.warning(
                "closed an HTTP connection to %s: %s", self._pool.where, error, extra=log_fields()
            )


class HTTPConnectionPool:
    """Connections to one ``host:port`` (TLS when ``ssl`` is a context); see the module rule."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        host: str,
        port: int,
        *,
        ssl: _ssl.SSLContext | None,
        limit: int,
        connect_timeout: float,
        max_body_size: int,
        idle_expiry: float,
    ) -> None:
        self.loop = loop
        self.where = f"{host}:{port}"
        self.max_body_size = max_body_size
        self._host, self._port, self._ssl = host, port, ssl
        self._limit = limit
        self._connect_timeout = connect_timeout
        self._idle_expiry = idle_expiry
        self._idle: list[HTTPConnection] = []
        self._connections: set[HTTPConnection] = set()
        self._opening = 0
        self._waiters: deque[asyncio.Future[HTTPConnection | None]] = deque()
        self._closed = False

    def __len__(self) -> int:
        """Open connections (idle or busy)."""
        return len(self._connections)

    def set_limit(self, limit: int) -> None:
        """Change the connection limit.

        Over it, idle connections close at once (oldest first) and busy ones as they finish
        their exchange; under it, queued borrowers get to open the new room.

        Args:
            limit: The new limit (>= 1).
        """
        room = limit - self._limit
        self._limit = limit
        for _ in range(max(room, 0)):
            if not self._wake_one(None):
                break
        # Connections still closing count (their socket is open until their close is seen).
        surplus = len(self._connections) + self._opening - limit
        idle = self._idle
        while surplus > 0 and idle:
            connection = idle.pop(0)
            if connection.reusable:
                connection.abort()
                surplus -= 1

    def take_idle(self) -> HTTPConnection | None:
        """Take an idle connection, never waiting.

        Returns:
            The connection, or None when none is idle.
        """
        idle = self._idle
        while idle:
            connection = idle.pop()
            if not connection.reusable:
                continue
            if self.loop.time() - connection.idle_since > self._idle_expiry:
                connection.abort()  # the server may be closing it right now
                continue
            return connection
        return None

    async def acquire(self, *, fresh: bool = False) -> HTTPConnection:
        """Borrow a connection: an idle one, a new one, or the next released at the limit.

        Args:
            fresh: Never one that sat idle: after a failure, idle connections may be failing
                too (a server restart or a cut drops them all, and their close may not be seen
                yet).

        Returns:
            A connection, to give back with ``release``.

        Raises:
            ConnectionClosedError: The pool is closed.
            TransportError: A new connection could not be opened (refused, timed out).
            CancelledError: The wait was cancelled; a connection handed over meanwhile goes
                back to the pool.
        """
        while True:
            connection = None if fresh else self.take_idle()
            if connection is not None:
                return connection
            if self._closed:
                raise ConnectionClosedError(None, "transport disconnected")
            if not self._limit or len(self._connections) + self._opening < self._limit:
                return await self._open()
            waiter: asyncio.Future[HTTPConnection | None] = self.loop.create_future()
            self._waiters.append(waiter)
            try:
                connection = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                    handed = waiter.result()
                    if handed is not None:
                        self.release(handed)
                    else:
                        self._wake_one(None)
                raise
            if connection is not None and connection.reusable:
                return connection
            # None: a connection closed, so there is room to open one (or the one handed over
            # closed before this task ran); go round again.

    async def _open(self) -> HTTPConnection:
        self._opening += 1
        opened = False
        try:
            async with timeout(self._connect_timeout):
                _, connection = await self.loop.create_connection(
                    lambda: HTTPConnection(self),
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._ssl is not None else None,
                )
            opened = True
        except asyncio.TimeoutError:
            raise TransportError(
                f"connecting to {self.where} timed out after {self._connect_timeout} s"
            ) from None
        except (OSError, _ssl.SSLError) as exc:  # janus-client's (aiohttp's) class and text
            raise http_connect_error(exc, self._host, self._port) from None
        finally:
            self._opening -= 1
            if not opened and not self._closed:
                # The slot this attempt held is free again (failed or cancelled): the next
                # queued borrower tries in its turn, instead of waiting for a release that
                # will never come.
                self._wake_one(None)
        if self._closed:
            connection.abort()
            raise ConnectionClosedError(None, "transport disconnected")
        self._connections.add(connection)
        return connection

    def release(self, connection: HTTPConnection) -> None:
        """Give back a connection that finished an exchange; it may carry another.

        Over the limit it closes instead, and its closing lets a queued borrower go round.

        Args:
            connection: The connection borrowed with ``acquire``.
        """
        if self._limit and len(self._connections) > self._limit:
            connection.abort()
            return
        if not self._wake_one(connection):
            connection.idle_since = self.loop.time()
            self._idle.append(connection)

    def discard(self, connection: HTTPConnection) -> None:
        """Forget a closed connection; a queued borrower may open a new one.

        Args:
            connection: The connection that closed.
        """
        self._connections.discard(connection)
        with contextlib.suppress(ValueError):
            self._idle.remove(connection)
        if not self._closed:
            self._wake_one(None)

    def _wake_one(self, connection: HTTPConnection | None) -> bool:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return True
        return False

    async def close(self, wait: float) -> None:
        """Drop every connection and wait until each is really closed.

        Queued borrowers fail with ``ConnectionClosedError``.

        Args:
            wait: The longest wait, in seconds.
        """
        self._closed = True
        waiters, self._waiters = self._waiters, deque()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(ConnectionClosedError(None, "transport disconnected"))
        connections = list(self._connections)
        self._idle.clear()
        for connection in connections:
            connection.abort()
        if connections:
            with contextlib.suppress(asyncio.TimeoutError):
                async with timeout(wait):
                    await asyncio.gather(*(c.closed for c in connections))
