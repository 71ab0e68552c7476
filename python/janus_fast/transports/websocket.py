"""WebSocket transport (``ws://``, ``wss://``) on a bare ``asyncio.Protocol`` feeding the Rust core.

Rule: bytes read from the socket go to ``_core.WebSocketConnection.receive_data`` in one call per
read, followed by one dispatch pass; requests are encoded straight into the core's coalescing
buffer and one writer flushes everything queued once per loop iteration; after every read and
flush the receive low-watermark is retuned (``transports/_batching.py``). Several requests share
a frame only once the core learned, from the ``info`` it sends after each handshake, that the
server is Janus >= 1.1.2; a multi-request frame rejected anyway is re-sent by the core one request
per frame, and this module logs that once. The ``websockets``
library is not used on this path. Reconnection, the outage queue and session reclaiming belong
to the transport's ``Reconnector`` (``transports/_recovery.py``), which acts on the transport only
through the ``RecoveryLink`` built here; this module moves bytes and reports the connection going
down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from janus_fast import _core
from janus_fast._compat import timeout, timeout_at
from janus_fast._core import WebSocketConnection
from janus_fast.errors import (
    ConnectionClosedError,
    ProtocolError,
    QueueFullError,
    RequestTimeoutError,
    TransportError,
)
from janus_fast.logfields import log_fields
from janus_fast.transport import JsonDict, info_object
from janus_fast.transports._batching import ReceiveBatcher
from janus_fast.transports._client_errors import websocket_connect_error
from janus_fast.transports._recovering import RecoveringTransport
from janus_fast.transports._recovery import Reconnector
from janus_fast.transports._url import parse_url

if TYPE_CHECKING:
    pass

logger = logging.getLogger("janus_fast.transport.websocket")


#: Bytes read per socket read into one reused buffer (asyncio's default reader allocates a
#: fresh 256 KiB object per read, which costs an mmap/munmap pair each time).
_READ_BUFFER_SIZE = 256 * 1024
#: How long ``disconnect()`` waits for the socket (and its TLS shutdown) to finish.
_CLOSE_WAIT = 2.0


class _WebSocketProtocol(asyncio.BufferedProtocol):
    """Forwards socket callbacks to the transport; reads into one reused buffer.

    It is the socket half of ``JanusTransportWebsocket`` (same module), so it calls the
    transport's private ``_on_*`` callbacks (marked ``noqa: SLF001``); nothing else does.
    """

    __slots__ = ("_owner", "_view", "closed")

    def __init__(self, owner: JanusTransportWebsocket) -> None:
        self._owner = owner
        self._view = memoryview(bytearray(_READ_BUFFER_SIZE))
        #: Resolved when the socket is really gone (TLS shutdown included).
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports have the method without being asyncio.WriteTransport subclasses.
        set_limits = getattr(transport, "set_write_buffer_limits", None)
        if set_limits is not None:
            set_limits(high=self._owner.options.write_buffer_limit)

    def buffer_updated(self, nbytes: int) -> None:
        self._owner._on_data(self._view[:nbytes].tobytes())  # noqa: SLF001

    def pause_writing(self) -> None:
        self._owner._on_write_paused(self)  # noqa: SLF001

    def resume_writing(self) -> None:
        self._owner._on_write_resumed(self)  # noqa: SLF001

    def eof_received(self) -> bool:
        self._owner._on_eof()  # noqa: SLF001
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        self._owner._on_connection_lost(self, exc)  # noqa: SLF001


class JanusTransportWebsocket(RecoveringTransport):
    """janus-client's WebSocket transport: same name, and now every documented knob works.

    Args:
        base_url: Janus's ``ws://`` or ``wss://`` URL (no credentials in it).
        api_secret: Janus's ``api_secret``, added to every request (never logged).
        token: A Janus auth token, added to every request (never logged).
        **kwargs: Transport options (see ``TransportOptions``).

    Raises:
        InvalidURLError: A malformed URL or one that is not ``ws``/``wss``.
        InvalidOptionError: An option with a bad value.
    """

    _core: WebSocketConnection
    #: Whether the core's ``submit`` may stand for ``_submit`` (False in a subclass that
    #: overrides ``_submit``: its own step is called then).
    _native_send: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "_submit" in cls.__dict__:
            cls._native_send = False

    def __init__(
        self,
        base_url: str = "",
        api_secret: str | None = None,
        token: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._url = parse_url(base_url, ("ws", "wss"))
        self._socket: asyncio.Transport | None = None
        self._protocol: _WebSocketProtocol | None = None
        self._batcher: ReceiveBatcher | None = None
        self._opened: asyncio.Future[None] | None = None
        self._core_used = False
        self._close_info: tuple[int | None, str] | None = None
        #: While the socket's write buffer is over ``write_buffer_limit``: resolved when it
        #: drained (or the socket went). Reading is paused meanwhile and new requests wait.
        self._write_gate: asyncio.Future[None] | None = None
        self._write_waiting = 0
        self._write_pauses = 0
        self._pinger: asyncio.TimerHandle | None = None
        self._ping_sent_at: float | None = None
        self._pongs_seen = 0
        #: Set once the server was seen rejecting a multi-request frame (logged once).
        self._coalesce_rejected = False
        #: The request template's gate test: True from the moment recovery starts or the write
        #: gate closes until ``_must_wait()`` sees both open again (see ``JanusTransport``).
        self._may_hold = False
        super().__init__(base_url, api_secret, token, **kwargs)
        # The request template's send step is the core's own ``submit`` (what ``_submit`` does,
        # with no Python frame per request), unless a subclass sends its own way.
        if self._native_send:
            self._send_step = self._core.submit
        #: Reconnection, the outage queue and session recovery (``transports/_recovery.py``).
        self._recovery = Reconnector(
            self._recovery_link(self._open_socket, self._close_for_recovery, self._send_now),
            self.options,
            self._base_url,
        )

    @property
    def subprotocol(self) -> str:
        """The WebSocket subprotocol asked for (the ``subprotocol`` option)."""
        return self.options.subprotocol

    @property
    def reconnecting(self) -> bool:
        """True while the connection is down and being re-established."""
        return self._recovery.active

    @property
    def coalescing(self) -> bool:
        """Whether requests queued now share WebSocket frames.

        Only after the server said (on this socket) it is Janus >= 1.1.2, never after it rejected
        such a frame, never with ``coalesce=False``.
        """
        return bool(self._core.coalesce)

    @property
    def server_version(self) -> int | None:
        """Janus's ``version`` (e.g. 1102) from the ``info`` sent after the handshake.

        None until answered; learned again on every reconnection.
        """
        version: int | None = self._core.server_version
        return version

    @property
    def frames_resent(self) -> int:
        """Multi-request frames the server rejected that were sent again one request each."""
        count: int = self._core.frames_resent
        return count

    async def server_info(self) -> JsonDict:
        """Return Janus's ``info``, cached.

        The answer to the ``info`` sent after the handshake is used when it came; else ``info`` is
        asked.

        Returns:
            The server's info.

        Raises:
            RequestTimeoutError: No answer in time (when asked).
            TransportError: The connection could not be made or was lost (when asked).
        """
        if self._server_info is not None:
            return self._server_info
        probed = self._core.server_info
        if probed is not None:
            # Not an object: ask again below, where the request path reports what is wrong.
            with contextlib.suppress(orjson.JSONDecodeError, ProtocolError):
                self._server_info = info_object(orjson.loads(probed), "info")
        return await super().server_info()

    def _make_core(self) -> WebSocketConnection:
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
        self._recovery.clear()
        await self._open_socket()

    async def _open_socket(self) -> None:
        """TCP (+TLS) connect and WebSocket handshake, bounded by ``connect_timeout``."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._core.set_flush_hook(loop.call_soon, self._flush)
        if self._core_used:
            self._core.reset(os.urandom(32))  # new handshake; transactions and routes kept
        self._core_used = True
        self._close_info = None
        self._opened = loop.create_future()
        url = self._url
        context = self.options.ssl_context(url.secure)
        try:
            async with timeout(self.options.connect_timeout):
                socket, protocol = await loop.create_connection(
                    lambda: _WebSocketProtocol(self),
                    url.host,
                    url.port,
                    ssl=context,
                    server_hostname=url.host if context is not None else None,
                )
                self._socket, self._protocol = socket, protocol
                if self._batcher is not None:
                    self._batcher.close()  # never two duplicate descriptors for one transport
                self._batcher = (
                    ReceiveBatcher.attach(self._core, loop, socket)
                    if self.options.receive_batching
                    else None
                )
                socket.write(self._core.data_to_send())
                await self._opened
        except asyncio.TimeoutError:
            self._abort()
            raise TransportError(
                f"connecting to {self._base_url} timed out after {self.options.connect_timeout} s"
            ) from None
        except OSError as exc:
            self._abort()
            raise websocket_connect_error(exc) from exc  # janus-client's class and text
        except BaseException:
            self._abort()
            raise
        self._start_pinger()

    async def _disconnect(self) -> None:
        self._stop_pinger()
        self._recovery.stop(ConnectionClosedError(None, "transport disconnected"))
        socket, protocol = self._socket, self._protocol
        if socket is None or protocol is None:
            return
        if self._core.state == "open":
            self._core.close(1000, "")
            socket.write(self._core.data_to_send())
        socket.close()
        self._forget_socket()
        # Wait (briefly) until the socket is really closed — a TLS shutdown takes a round trip —
        # so that no transport outlives the loop that owns it.
        try:
            async with timeout(_CLOSE_WAIT):
                await asyncio.shield(protocol.closed)
        except asyncio.TimeoutError:
            socket.abort()

    def _abort(self) -> None:
        if self._socket is not None:
            self._socket.abort()
            self._forget_socket()

    def _forget_socket(self) -> None:
        self._socket = self._protocol = None
        self._open_write_gate()
        if self._batcher is not None:
            self._batcher.close()
            self._batcher = None

    @property
    def receive_batching_stats(self) -> dict[str, int]:
        """The current socket's receive batching counters.

        ``watermark`` (now), ``raised`` (times it was raised), ``event_streams`` (times a dense
        event stream raised it), ``guard_trips`` (times the guard dropped it for a partial batch),
        ``quiet_drops`` (times it was dropped because nothing arrived), ``guard_checks`` (the
        guard's ticks) and ``reads`` (socket reads processed); all 0 when batching is off or
        unsupported.
        """
        batcher = self._batcher
        if batcher is None:
            return {
                "watermark": 0,
                "raised": 0,
                "event_streams": 0,
                "guard_trips": 0,
                "guard_checks": 0,
                "quiet_drops": 0,
                "reads": 0,
            }
        return {
            "watermark": batcher.watermark,
            "raised": batcher.raised,
            "event_streams": batcher.event_streams,
            "guard_trips": batcher.guard_trips,
            "guard_checks": batcher.guard_checks,
            "quiet_drops": batcher.quiet_drops,
            "reads": batcher.reads,
        }

    def _transport_stats(self) -> dict[str, int]:
        batching = self.receive_batching_stats
        return {
            "open_connections": int(self._socket is not None and self._core.state == "open"),
            "receive_watermark": batching["watermark"],
            "receive_watermark_raised": batching["raised"],
            "receive_guard_trips": batching["guard_trips"],
            "coalescing": int(self._core.coalesce),
            "frames_resent": self._core.frames_resent,
        }

    @property
    def write_flow_stats(self) -> dict[str, int]:
        """The write backpressure counters.

        ``paused`` (1 while writing is paused), ``pauses`` (times it paused), ``buffered`` (bytes in
        the socket's write buffer), ``waiting`` (requests waiting for it to drain).
        """
        socket = self._socket
        return {
            "paused": int(self._write_gate is not None),
            "pauses": self._write_pauses,
            "buffered": socket.get_write_buffer_size() if socket is not None else 0,
            "waiting": self._write_waiting,
        }

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
        if not self._coalesce_rejected and core.frames_resent:
            self._on_coalescing_rejected()
        pending = core.data_to_send()  # rejected requests, re-queued one per frame, go now
        if pending and self._socket is not None:
            self._socket.write(pending)
        if self._batcher is not None:
            self._batcher.after_read()

    def _on_coalescing_rejected(self) -> None:
        self._coalesce_rejected = True
        logger.warning(
            "Janus at %s (version %s) rejected a WebSocket frame holding several requests: "
            "they were sent again one per frame, and this connection sends one request per "
            "frame from now on",
            self._url.host_header,
            self._core.server_version,
            extra=log_fields(server=self._base_url),
        )

    def _on_write_paused(self, protocol: _WebSocketProtocol) -> None:
        """Stop reading and hold new requests back: the write buffer is over its limit.

        The buffer went over ``write_buffer_limit`` (the peer does not read); reading stops so that
        nothing we answer by ourselves (pongs) piles up, until it drains.

        Args:
            protocol: The protocol whose buffer filled (ignored when no longer the current one).
        """
        socket = self._socket
        if protocol is not self._protocol or socket is None or self._write_gate is not None:
            return
        assert self._loop is not None
        self._write_gate = self._loop.create_future()
        self._may_hold = True
        self._write_pauses += 1
        socket.pause_reading()
        logger.debug(
            "write buffer of %s over its limit: reading paused",
            self._base_url,
            extra=log_fields(server=self._base_url),
        )

    def _on_write_resumed(self, protocol: _WebSocketProtocol) -> None:
        socket = self._socket
        if protocol is not self._protocol or socket is None:
            return
        if not socket.is_closing():
            socket.resume_reading()
        self._open_write_gate()
        self._schedule_flush()

    def _open_write_gate(self) -> None:
        gate, self._write_gate = self._write_gate, None
        if gate is not None and not gate.done():
            gate.set_result(None)

    async def _wait_writable(self, deadline: float | None) -> None:
        """Wait (bounded, like the outage queue) until the write buffer drained."""
        gate = self._write_gate
        assert gate is not None
        if self._write_waiting >= self.options.queue_size:
            raise QueueFullError(
                f"{self._write_waiting} requests already wait for the write buffer to drain "
                f"(queue_size={self.options.queue_size})"
            )
        self._write_waiting += 1
        try:
            if deadline is None:
                await asyncio.shield(gate)
            else:
                async with timeout_at(deadline):
                    await asyncio.shield(gate)
        except asyncio.TimeoutError:
            raise RequestTimeoutError(
                "the connection's write buffer did not drain before the deadline"
            ) from None
        finally:
            self._write_waiting -= 1

    def _on_eof(self) -> None:
        self._core.receive_eof()
        self._dispatch()

    def _on_connection_lost(self, protocol: _WebSocketProtocol, exc: Exception | None) -> None:
        if protocol is not self._protocol:
            return  # an older socket
        self._forget_socket()
        code, reason = self._close_info or (
            1006,
            f"connection lost: {exc}" if exc else "connection lost",
        )
        error = ConnectionClosedError(code, reason)
        opened = self._opened
        if opened is not None and not opened.done():
            opened.set_exception(error)
            opened.exception()  # retrieved: the connecting coroutine reports it
        self._socket_gone(error)

    def _on_fatal(self, error: ProtocolError) -> None:
        """The peer broke the protocol: the core queued the close frame and reports CLOSED."""
        logger.warning(
            "closing the connection to %s: %s",
            self._base_url,
            error,
            extra=log_fields(server=self._base_url),
        )
        opened = self._opened
        if opened is not None and not opened.done():
            opened.set_exception(error)
            opened.exception()
        self._dispatch()  # the CLOSED item ends up in _on_peer_closed
        if self._socket is not None:
            self._on_peer_closed(1002, f"protocol error: {error}", False)

    def _on_peer_closed(self, code: int | None, reason: str, clean: bool) -> None:
        """End the socket now: the WebSocket ended (close frame, EOF or protocol error).

        Not when the OS reports it, so no request can slip into a closed connection.

        Args:
            code: The close code, if any.
            reason: The close reason.
            clean: Whether the closing handshake completed.
        """
        self._close_info = (code, reason or "closed by Janus")
        socket = self._socket
        self._forget_socket()
        if socket is not None:
            pending = self._core.data_to_send()  # our close frame
            if pending:
                socket.write(pending)
            socket.close()
        error = ConnectionClosedError(code, reason or "closed by Janus")
        opened = self._opened
        if opened is not None and not opened.done():
            opened.set_exception(error)
            opened.exception()
        self._socket_gone(error)

    def _socket_gone(self, error: ConnectionClosedError) -> None:
        """Let recovery take over: the socket is gone while the user wants it.

        If recovery is already at work, the requests it sent on that socket fail now instead of at
        their deadline.

        Args:
            error: Why the socket is gone.
        """
        if not self.connected:
            return
        self._stop_pinger()
        self._may_hold = True  # before recovery opens its outage gate
        if self._recovery.active:
            self._fail_pending(error)
        else:
            assert self._loop is not None
            self._recovery.start(error, self._loop)

    # -- recovery's view of the transport ---------------------------------------------------------
    def _close_for_recovery(self) -> None:
        self._stop_pinger()
        self._abort()

    def _known_server_info(self) -> JsonDict | None:
        if self._server_info is None:
            probed = self._core.server_info
            if probed is not None:
                info: JsonDict = orjson.loads(probed)
                return info
        return self._server_info

    # -- liveness --------------------------------------------------------------------------------
    def _start_pinger(self) -> None:
        interval = self.options.ping_interval
        if interval is None or self._loop is None:
            return
        self._ping_sent_at = None
        self._pongs_seen = self._core.pongs_received
        self._pinger = self._loop.call_later(interval, self._ping_tick)

    def _stop_pinger(self) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
            self._pinger = None

    def _ping_tick(self) -> None:
        """Send a WebSocket ping; runs each ``ping_interval``.

        No pong within ``ping_timeout`` means the peer is dead (no FIN needed): the socket is
        aborted and reconnection starts.
        """
        assert self._loop is not None
        self._pinger = None
        if self._socket is None or self._core.state != "open":
            return
        now = self._loop.time()
        pongs = self._core.pongs_received
        timeout = self.options.ping_timeout
        if self._ping_sent_at is not None and pongs == self._pongs_seen:
            if timeout is not None and now - self._ping_sent_at >= timeout:
                logger.warning(
                    "no pong from %s within %s s: dropping the connection",
                    self._base_url,
                    timeout,
                    extra=log_fields(server=self._base_url),
                )
                self._close_info = (1006, f"no pong within {timeout} s")
                self._socket.abort()
                return
        else:
            self._pongs_seen = pongs
            self._ping_sent_at = now
            self._core.ping(b"")
            self._schedule_flush()
        interval = self.options.ping_interval or 1.0
        delay = min(interval, timeout) if timeout is not None else interval
        self._pinger = self._loop.call_later(delay, self._ping_tick)

    # -- sending ---------------------------------------------------------------------------------
    def _schedule_flush(self) -> None:
        self._core.schedule_flush()

    def _flush(self) -> None:
        self._core.flush_scheduled = False
        socket = self._socket
        if socket is not None and self._core.state == "open" and self._write_gate is None:
            data = self._core.data_to_send()
            if data:
                socket.write(data)
            if self._batcher is not None:
                self._batcher.tune()

    # -- the request template's I/O --------------------------------------------------------------
    def _must_wait(self) -> bool:
        if self._recovery.active or self._write_gate is not None:
            return True
        self._may_hold = False  # both gates open: the template skips this call from now on
        return False

    async def _wait_until_ready(self, deadline: float | None, handle_id: int | None) -> int | None:
        """Wait in the outage queue (reconnecting) or at the write gate (buffer full).

        Both are bounded by ``queue_size`` and ``deadline``.

        Args:
            deadline: The loop time to give up at (None: no deadline).
            handle_id: The handle the request addresses, if any.

        Returns:
            The id the handle has now (a handle re-attached during an outage has a new one).
        """
        while self._recovery.active or self._write_gate is not None:
            if self._recovery.active:
                await self._recovery.wait(deadline)
                if handle_id is not None:
                    handle_id = self._recovery.alias(handle_id)
            else:
                await self._wait_writable(deadline)
        return handle_id

    def _submit(
        self,
        body: JsonDict,
        expect: int,
        session_id: int | None,
        handle_id: int | None,
        deadline: float | None,
        waiter: Any,
        resendable: bool,
    ) -> str:
        """Encode into the core's (coalescing) send buffer; one flush per loop iteration."""
        return self._core.submit(body, expect, session_id, handle_id, deadline, waiter, resendable)

    async def _send_bytes(self, data: bytes) -> None:
        """Frame one complete request (janus-client's raw ``_send``) and flush it soon."""
        self._core.send_raw(data)
        self._schedule_flush()
