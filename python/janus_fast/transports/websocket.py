"""WebSocket transport (``ws://``, ``wss://``) on a bare ``asyncio.Protocol`` feeding the Rust core.

Rule: bytes read from the socket go to ``_core.WebSocketConnection.receive_data`` in one call per
read, followed by one dispatch pass; requests are encoded straight into the core's coalescing
buffer and one writer flushes everything queued once per loop iteration. The ``websockets``
library is not used on this path.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import orjson

from janus_fast import _core
from janus_fast._core import Message
from janus_fast.errors import (
    ConnectionClosedError,
    InvalidStateError,
    ProtocolError,
    TransportError,
)
from janus_fast.message_transaction import MessageTransaction
from janus_fast.transport import _DEFAULT, JanusTransport, JsonDict
from janus_fast.transports._url import parse_url

logger = logging.getLogger("janus_fast.transport.websocket")


class _WebSocketProtocol(asyncio.Protocol):
    """Forwards socket callbacks to the transport; holds no state of its own."""

    __slots__ = ("_owner",)

    def __init__(self, owner: JanusTransportWebsocket) -> None:
        self._owner = owner

    def data_received(self, data: bytes) -> None:
        self._owner._on_data(data)

    def eof_received(self) -> bool:
        self._owner._on_eof()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner._on_connection_lost(exc)


class JanusTransportWebsocket(JanusTransport):
    """janus-client's WebSocket transport: same name, and now every documented knob works."""

    def __init__(
        self,
        base_url: str = "",
        api_secret: str | None = None,
        token: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._url = parse_url(base_url, ("ws", "wss"))
        self._socket: asyncio.Transport | None = None
        self._opened: asyncio.Future[None] | None = None
        self._flush_pending = False
        super().__init__(base_url, api_secret, token, **kwargs)

    @property
    def subprotocol(self) -> str:
        return self.options.subprotocol

    def _make_core(self) -> Any:
        options = self.options
        return _core.WebSocketConnection(
            self._url.host_header,
            self._url.path,
            subprotocol=options.subprotocol,
            apisecret=self._api_secret,
            token=self._token,
            max_message_size=options.max_message_size,
            coalesce=options.coalesce,
            coalesce_max_bytes=options.coalesce_max_bytes,
            extra_headers=list(options.headers),
            seed=os.urandom(32),
        )

    # -- connection ------------------------------------------------------------------------------
    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        if self._core.state != "connecting":
            self._core.reset(os.urandom(32))
        self._opened = loop.create_future()
        url = self._url
        context = self.options.ssl_context(url.secure)
        try:
            async with asyncio.timeout(self.options.connect_timeout):
                socket, _ = await loop.create_connection(
                    lambda: _WebSocketProtocol(self),
                    url.host,
                    url.port,
                    ssl=context,
                    server_hostname=url.host if context is not None else None,
                )
                self._socket = socket
                socket.write(self._core.data_to_send())
                await self._opened
        except TimeoutError:
            self._abort()
            raise TransportError(
                f"connecting to {self._base_url} timed out after {self.options.connect_timeout} s"
            ) from None
        except OSError as exc:
            self._abort()
            raise TransportError(f"cannot connect to {self._base_url}: {exc}") from exc
        except BaseException:
            self._abort()
            raise

    async def _disconnect(self) -> None:
        socket = self._socket
        if socket is None:
            return
        if self._core.state == "open":
            self._core.close(1000, "")
            socket.write(self._core.data_to_send())
        socket.close()
        self._socket = None

    def _abort(self) -> None:
        if self._socket is not None:
            self._socket.abort()
            self._socket = None

    # -- socket callbacks ------------------------------------------------------------------------
    def _on_data(self, data: bytes) -> None:
        core = self._core
        try:
            core.receive_data(data)
        except ProtocolError as exc:
            self._on_fatal(exc)
            return
        opened = self._opened
        if opened is not None and not opened.done() and core.state == "open":
            opened.set_result(None)
        self._dispatch()
        pending = core.data_to_send()
        if pending and self._socket is not None:
            self._socket.write(pending)

    def _on_eof(self) -> None:
        self._core.receive_eof()
        self._dispatch()

    def _on_connection_lost(self, exc: Exception | None) -> None:
        self._socket = None
        opened = self._opened
        error = ConnectionClosedError(1006, f"connection lost: {exc}" if exc else "connection lost")
        if opened is not None and not opened.done():
            opened.set_exception(error)
        if self.connected:
            self.connected = False
            self._fail_pending(error)

    def _on_fatal(self, error: ProtocolError) -> None:
        """The peer broke the protocol: send the close frame the core queued, then drop."""
        logger.warning("closing the connection to %s: %s", self._base_url, error)
        opened = self._opened
        if opened is not None and not opened.done():
            opened.set_exception(error)
        socket = self._socket
        if socket is not None:
            pending = self._core.data_to_send()
            if pending:
                socket.write(pending)
            socket.close()
        self._dispatch()
        if self.connected:
            self.connected = False
            self._fail_pending(ConnectionClosedError(1002, f"protocol error: {error}"))

    def _on_peer_closed(self, code: int | None, reason: str, clean: bool) -> None:
        pending = self._core.data_to_send()  # our close reply
        if self._socket is not None:
            if pending:
                self._socket.write(pending)
            self._socket.close()
        if self.connected:
            self.connected = False
            self._fail_pending(ConnectionClosedError(code, reason or "closed by Janus"))

    # -- sending ---------------------------------------------------------------------------------
    def _schedule_flush(self) -> None:
        if not self._flush_pending:
            self._flush_pending = True
            assert self._loop is not None
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        data = self._core.data_to_send()
        if data and self._socket is not None:
            self._socket.write(data)

    def _writable_loop(self) -> asyncio.AbstractEventLoop:
        if not self.connected or self._loop is None or self._socket is None:
            raise InvalidStateError("Must connect before any communication.")
        return self._loop

    async def _request(
        self,
        body: JsonDict,
        expect: int,
        session_id: int | None = None,
        handle_id: int | None = None,
        timeout: float | None = _DEFAULT,
    ) -> Message:
        loop = self._writable_loop()
        waiter: asyncio.Future[Message] = loop.create_future()
        limit = self.options.timeout if timeout is _DEFAULT else timeout
        deadline = None if limit is None else loop.time() + limit
        transaction: str = self._core.request(
            orjson.dumps(body), waiter, expect, session_id, handle_id, deadline
        )
        if not self._flush_pending:
            self._flush_pending = True
            loop.call_soon(self._flush)
        if deadline is not None and (self._timer is None or deadline < self._timer_when):
            self._arm_timer(deadline)
        try:
            return await waiter
        except asyncio.CancelledError:
            self._core.cancel(transaction)
            raise

    async def _open_stream(
        self, body: JsonDict, session_id: int | None, handle_id: int | None
    ) -> MessageTransaction:
        self._writable_loop()
        stream = MessageTransaction(
            "",
            timeout=self.options.timeout,
            on_done=self._release_stream,
            owner=self._route_owner(session_id, handle_id),
        )
        stream.id = self._core.request(
            orjson.dumps(body), stream, _core.Expect.STREAM, session_id, handle_id, None
        )
        self._schedule_flush()
        return stream

    async def _send(self, message: JsonDict) -> None:
        """Send a complete request dict as-is (kept for janus-client subclasses)."""
        self._writable_loop()
        self._core.send_raw(orjson.dumps(message))
        self._schedule_flush()
