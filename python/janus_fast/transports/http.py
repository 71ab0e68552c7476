"""HTTP transport (``http://``, ``https://``) on janus_fast's own keep-alive HTTP/1.1 client.

Rule: a request is a POST with the ids in the path, written by the Rust ``HttpRequestWriter`` on a
pooled connection (``_http_pool``; idle ones closed after ``http_idle_timeout``); a 200 reply's
body goes from the connection straight to the core, so the waiting request wakes once, already
answered. Any other status fails the request with a typed error (403 ``AuthError``, 404
``SessionLostError``, else ``ConnectionClosedError``). A request whose connection closes before
its reply is complete is sent once more on another connection when resending cannot change
anything on the server (ping, info, keepalive, or ``idempotent=True``, as on WebSocket
reconnection); the others fail at once. Events come from exactly one long poll per Janus session,
on connections of their own (``maxev`` batches, ``rid``, credentials on the GET). Long polls and
requests share one budget, ``max_connections``: requests may use what the polls leave (a session's
poll counts from its admission, before its create is sent), never less than a reserve; a session
that would leave less fails at once with ``ConnectionLimitError``. Poll
failures are retried with backoff (so are polls answered at once with no message); 404 means the
session is lost and 403 an auth failure — both are delivered to the session, never swallowed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import orjson

from janus_fast._compat import timeout, timeout_at
from janus_fast._core import Expect, HttpRequestWriter, JanusCore, StreamState
from janus_fast.errors import (
    AuthError,
    ConnectionClosedError,
    ConnectionLimitError,
    InvalidStateError,
    ProtocolError,
    RequestTimeoutError,
    SessionLostError,
    TransportError,
)
from janus_fast.logfields import log_fields
from janus_fast.transport import (
    STREAM_OPEN_LIMIT,
    InFlight,
    JanusTransport,
    JsonDict,
    fail_waiter,
    info_object,
)
from janus_fast.transports._backoff import backoff_delay
from janus_fast.transports._http_pool import (
    Exchange,
    FutureExchange,
    HTTPConnection,
    HTTPConnectionPool,
)
from janus_fast.transports._url import parse_url

if TYPE_CHECKING:
    from janus_fast.session import JanusSession

logger = logging.getLogger("janus_fast.transport.http")
_STREAM = Expect.STREAM
#: Janus answers an idle long poll after 30 s; a silent poll for twice that is dead.
_POLL_SILENCE_LIMIT = 65.0
_CLOSE_WAIT = 2.0
#: Most connections of ``max_connections`` kept for requests (an eighth of it, at least 1).
_MAX_REQUEST_RESERVE = 64
#: A long poll answered at once with no message waits at least this long before the next one,
#: even with ``retry_delay=0``; warnings about it come at most this often (s).
_EMPTY_POLL_MIN_DELAY = 0.05
_EMPTY_POLL_WARN_EVERY = 60.0


class _TransactionExchange(Exchange):
    """A Janus request on a connection: its reply feeds the core, its failure fails the waiter.

    It is also what ``_submit`` returns to the request template (an ``InFlight``: its
    ``transaction``, and in ``wait`` the wait for a free connection when none was idle).
    """

    __slots__ = ("resendable", "transaction", "transport", "wait", "waiter")

    def __init__(
        self,
        transport: JanusTransportHTTP,
        transaction: str,
        waiter: Any,
        data: bytes,
        resendable: bool,
    ) -> None:
        super().__init__(data)
        self.transport = transport
        self.transaction = transaction
        self.waiter = waiter
        self.resendable = resendable
        self.wait: Awaitable[None] | None = None

    def resolve(self, status: int, body: bytes) -> None:
        transport = self.transport
        if status != 200:
            self.give_up(_status_error(status, "request"))
            return
        malformed = transport.stats_malformed
        transport.feed(body)  # lenient: bad JSON becomes a MALFORMED item
        if transport.stats_malformed != malformed:  # the reply to this request was not Janus JSON
            self.give_up(ProtocolError("Janus answered an HTTP request with malformed JSON"))

    def fail(self, error: Exception) -> None:
        if self.resendable and isinstance(error, ConnectionClosedError):
            self.resendable = False  # once: a second failure is the server's answer
            self.transport._resend(self)  # noqa: SLF001 - this module's half of the transport
            return
        self.give_up(error)

    def give_up(self, error: Exception) -> None:
        self.transport.forget_transaction(self.transaction)
        fail_waiter(self.waiter, error)

    def start(self, loop: asyncio.AbstractEventLoop, timeout: float | None) -> None:
        """Sent now (stream exchanges start their reply timer here)."""

    def withdraw(self) -> None:
        """The request ended without its reply: drop the connection if it is still due."""
        self.abandon()


class _StreamExchange(_TransactionExchange):
    """The POST behind a ``send()`` stream, whose HTTP reply is due within the request timeout.

    Else the connection is dropped and the stream fails with ``RequestTimeoutError``; and
    ``done()`` drops a connection still waiting for it — a reply that never comes pins nothing.
    """

    __slots__ = ("timer",)

    def __init__(self, transport: JanusTransportHTTP, transaction: str, waiter: Any, data: bytes):
        super().__init__(transport, transaction, waiter, data, False)
        self.timer: asyncio.TimerHandle | None = None

    def start(self, loop: asyncio.AbstractEventLoop, timeout: float | None) -> None:
        # This module's half of the transport: the table of streams whose reply is due.
        self.transport._stream_exchanges[self.transaction] = self  # noqa: SLF001
        if timeout is not None:
            self.timer = loop.call_later(timeout, self.expire)

    def _finish(self) -> bool:
        """Forget the exchange; False if it was already finished."""
        exchanges = self.transport._stream_exchanges  # noqa: SLF001 - see start()
        if exchanges.pop(self.transaction, None) is None:
            return False
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        return True

    def resolve(self, status: int, body: bytes) -> None:
        self._finish()
        super().resolve(status, body)

    def fail(self, error: Exception) -> None:
        self._finish()
        super().fail(error)

    def expire(self) -> None:
        if self._finish():
            self.abandon()
            self.give_up(RequestTimeoutError("Janus did not answer the HTTP request in time"))

    def close(self) -> None:
        """The stream is done: drop the connection if the reply is still due."""
        if self._finish():
            self.abandon()

    withdraw = close


class JanusTransportHTTP(JanusTransport):
    """janus-client's HTTP transport: same name; pooled, batched and recovering.

    Args:
        base_url: Janus's ``http://`` or ``https://`` URL (no credentials in it).
        api_secret: Janus's ``api_secret``, added to every request (never logged).
        token: A Janus auth token, added to every request (never logged).
        **kwargs: Transport options (see ``TransportOptions``); ``max_connections`` bounds
            the pool (one long poll per session, plus the connections kept for requests).

    Raises:
        InvalidURLError: A malformed URL or one that is not ``http``/``https``.
        InvalidOptionError: An option with a bad value.
    """

    _core: JanusCore

    def __init__(
        self, base_url: str, api_secret: str | None = None, token: str | None = None, **kwargs: Any
    ) -> None:
        self._url = parse_url(base_url, ("http", "https"))
        super().__init__(base_url, api_secret, token, **kwargs)
        self._on_stream_done = self._close_stream_exchange
        path, _, query = self._url.path.partition("?")
        self._path = path.rstrip("/")
        self._query = query
        self._root_target = self._with_query(self._path or "/")
        self._writer = HttpRequestWriter(self._url.host_header, list(self.options.headers))
        self._requests: HTTPConnectionPool | None = None
        #: Long polls hold a connection each for up to 30 s: they get their own pool, so they can
        #: never starve requests of their reserve; the budget is enforced per session instead.
        self._poll_pool: HTTPConnectionPool | None = None
        self._polls: dict[int, asyncio.Task[None]] = {}
        #: ``create`` requests in flight: each will hold a long poll.
        self._creating = 0
        #: POSTs of ``send()`` streams whose HTTP reply has not come yet, by transaction.
        self._stream_exchanges: dict[str, _StreamExchange] = {}
        #: Long-poll replies that delivered no message (empty, ``[]``, not JSON): backed off.
        self.stats_empty_polls = 0
        self._empty_poll_warned_at: float | None = None

    def _with_query(self, path: str) -> str:
        return f"{path}?{self._query}" if self._query else path

    # -- connection ------------------------------------------------------------------------------
    async def _connect(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        context = self.options.ssl_context(self._url.secure)
        pool = functools.partial(
            HTTPConnectionPool,
            loop,
            self._url.host,
            self._url.port,
            ssl=context,
            connect_timeout=self.options.connect_timeout,
            max_body_size=self.options.max_message_size,
            idle_expiry=self.options.http_idle_timeout,
        )
        self._requests = pool(limit=self._request_limit())
        self._poll_pool = pool(limit=0)

    async def _disconnect(self) -> None:
        # End the polls first (each drops the connection it holds), then close the pools, which
        # waits until every connection is really closed.
        streams, self._stream_exchanges = self._stream_exchanges, {}
        for exchange in streams.values():
            if exchange.timer is not None:
                exchange.timer.cancel()
        polls, self._polls = self._polls, {}
        for task in polls.values():
            task.cancel()
        await asyncio.gather(*polls.values(), return_exceptions=True)
        pools = [pool for pool in (self._requests, self._poll_pool) if pool is not None]
        self._requests = self._poll_pool = None
        for pool in pools:
            await pool.close(_CLOSE_WAIT)

    def _pool(self) -> HTTPConnectionPool:
        if not self.connected or self._requests is None:
            raise InvalidStateError("Must connect before any communication.")
        return self._requests

    # -- the connection budget ---------------------------------------------------------------------
    @property
    def max_sessions(self) -> int:
        """Sessions this transport can hold: one long poll each.

        They fit within ``max_connections`` minus the connections kept for requests (an
        eighth, at most 64, at least 1).
        """
        limit = self.options.max_connections
        return limit - max(1, min(_MAX_REQUEST_RESERVE, limit // 8))

    def _request_limit(self) -> int:
        # A session's long-poll room is taken from the moment it is admitted, before its create
        # is sent: shrunk only later, the limit could fall under connections busy with requests
        # just as the polls open, and the two together exceed the budget.
        sessions = len(self._polls) + self._creating
        return self.options.max_connections - min(sessions, self.max_sessions)

    def _resize_request_pool(self) -> None:
        if self._requests is not None:
            self._requests.set_limit(self._request_limit())

    async def create_session(self, session: JanusSession, *, session_id: int | None = None) -> int:
        """Send Janus ``create`` and register the session; its long poll then starts.

        Args:
            session: The session object that gets the session's events.
            session_id: A client-chosen session id; Janus picks one when None.

        Returns:
            The new session's id.

        Raises:
            ConnectionLimitError: The transport already holds ``max_sessions`` sessions.
        """
        if len(self._polls) + self._creating >= self.max_sessions:
            raise ConnectionLimitError(
                f"this HTTP transport already holds {len(self._polls) + self._creating} sessions, "
                f"each with a long poll: max_connections={self.options.max_connections} leaves "
                f"room for {self.max_sessions}. Use a WebSocket transport (one connection for "
                "every session), more transports, or a larger max_connections below what the "
                "Janus HTTP server accepts (about 1,000)"
            )
        self._creating += 1
        self._resize_request_pool()
        try:
            return await super().create_session(session, session_id=session_id)
        finally:
            self._creating -= 1
            self._resize_request_pool()

    @property
    def open_connections(self) -> int:
        """Connections open now (requests and long polls)."""
        return sum(len(pool) for pool in (self._requests, self._poll_pool) if pool is not None)

    def _transport_stats(self) -> dict[str, int]:
        return {
            "open_connections": self.open_connections,
            "long_polls": len(self._polls),
            "empty_polls": self.stats_empty_polls,
        }

    # -- requests --------------------------------------------------------------------------------
    def _target(self, session_id: int | None, handle_id: int | None) -> str:
        if session_id is None:
            return self._root_target
        if handle_id is None:
            return self._with_query(f"{self._path}/{session_id}")
        return self._with_query(f"{self._path}/{session_id}/{handle_id}")

    async def _acquire(self, pool: HTTPConnectionPool, deadline: float | None) -> HTTPConnection:
        """A connection when none is idle: open one or queue, within the request's deadline."""
        if deadline is None:
            return await pool.acquire()
        try:
            async with timeout_at(deadline):
                return await pool.acquire()
        except asyncio.TimeoutError:
            raise RequestTimeoutError("no HTTP connection was free before the deadline") from None

    def _submit(
        self,
        body: JsonDict,
        expect: int,
        session_id: int | None,
        handle_id: int | None,
        deadline: float | None,
        waiter: Any,
        resendable: bool,
    ) -> _TransactionExchange:
        """Start a POST to the request's path on an idle pooled connection.

        When none is idle, the template awaits one (opened or queued for, within the
        request's deadline). The exchange is the request's I/O state (``_withdraw`` drops its
        connection if the reply is due).

        Args:
            body: The request.
            expect: What completes it (an ``Expect`` value).
            session_id: The session it addresses, if any.
            handle_id: The handle it addresses, if any.
            deadline: The loop time by which it must complete (None: no deadline).
            waiter: What the core completes with the reply.
            resendable: Whether it may be sent again after a lost connection.

        Returns:
            The exchange: the transaction, and the wait for a connection if none was idle.

        Raises:
            TransportError: The transport is not connected.
        """
        pool = self._requests
        if pool is None:
            raise self._not_connected()
        transaction, data = self._core.encode(
            orjson.dumps(body), waiter, expect, session_id, handle_id, deadline, ids_in_body=False
        )
        try:
            request = self._writer.post(self._target(session_id, handle_id), data)
        except BaseException:
            self.forget_transaction(transaction)
            raise
        exchange: _TransactionExchange
        stream = expect == _STREAM
        if stream:
            exchange = _StreamExchange(self, transaction, waiter, request)
            limit = self.options.timeout
            deadline = pool.loop.time() + (limit if limit is not None else STREAM_OPEN_LIMIT)
        else:
            exchange = _TransactionExchange(self, transaction, waiter, request, resendable)
        connection = pool.take_idle()
        if connection is None:
            exchange.wait = self._send_when_free(pool, exchange, deadline)
            return exchange
        if stream:  # (a plain request's start does nothing)
            exchange.start(pool.loop, self.options.timeout)
        connection.send(exchange)
        return exchange

    async def _send_when_free(
        self, pool: HTTPConnectionPool, exchange: _TransactionExchange, deadline: float | None
    ) -> None:
        connection = await self._acquire(pool, deadline)
        exchange.start(pool.loop, self.options.timeout)
        connection.send(exchange)

    def _withdraw(self, sent: str | InFlight, waiter: Any) -> None:
        super()._withdraw(sent, waiter)
        if isinstance(sent, _TransactionExchange):
            sent.withdraw()

    def _resend(self, exchange: _TransactionExchange) -> None:
        """Send ``exchange`` again on another connection (its first one closed before the reply)."""
        pool = self._requests
        if pool is None:
            exchange.give_up(ConnectionClosedError(None, "transport disconnected"))
            return
        self._spawn(self._resend_on_fresh_connection(pool, exchange))

    async def _resend_on_fresh_connection(
        self, pool: HTTPConnectionPool, exchange: _TransactionExchange
    ) -> None:
        try:
            connection = await pool.acquire(fresh=True)
        except Exception as exc:
            exchange.give_up(exc)
            return
        if exchange.waiter.done():  # timed out or cancelled meanwhile
            pool.release(connection)
            return
        connection.send(exchange)

    def _close_stream_exchange(self, stream: StreamState) -> None:
        """A stream was released: drop the connection of its POST if the reply is still due."""
        exchange = self._stream_exchanges.get(stream.id)
        if exchange is not None:
            exchange.close()

    async def _exchange(
        self, data: bytes, pool: HTTPConnectionPool, limit: float | None
    ) -> tuple[int, bytes]:
        """One request whose reply the caller handles itself, bounded by ``limit`` seconds."""
        assert self._loop is not None
        exchange = FutureExchange(data, self._loop)
        try:
            async with timeout(limit):
                connection = pool.take_idle() or await pool.acquire()
                connection.send(exchange)
                return await exchange.future
        except asyncio.TimeoutError:
            exchange.abandon()
            raise _timeout() from None
        except BaseException:
            exchange.abandon()
            raise

    async def _send(self, message: JsonDict) -> None:
        target = self._target(message.get("session_id"), message.get("handle_id"))
        request = self._writer.post(target, orjson.dumps(message))
        status, reply = await self._exchange(request, self._pool(), self.options.timeout)
        if status != 200:
            raise _status_error(status, "request")
        self.feed(reply)

    async def info(self) -> JsonDict:
        """Fetch ``GET /info`` (no session needed), bounded by ``timeout``.

        The result is also cached as the transport's server info.

        Returns:
            Janus's ``info`` object.

        Raises:
            AuthError: HTTP 403 (check ``api_secret``/``token``).
            ConnectionClosedError: Another HTTP status than 200, or the connection failed.
            ProtocolError: The reply is not a JSON ``info`` object.
            RequestTimeoutError: No reply within the ``timeout`` option.
        """  # noqa: DOC501 (_status_error builds the AuthError or ConnectionClosedError listed)
        request = self._writer.get(self._with_query(f"{self._path}/info"))
        status, reply = await self._exchange(request, self._pool(), self.options.timeout)
        if status != 200:
            raise _status_error(status, "/info")
        try:
            info = info_object(orjson.loads(reply), "/info")
        except orjson.JSONDecodeError as exc:
            raise ProtocolError(f"/info did not answer JSON: {exc}") from None
        self._server_info = info
        return info

    # -- long poll -------------------------------------------------------------------------------
    async def dispatch_session_created(self, session_id: int) -> None:
        """Start the session's long poll (a supervised task).

        Args:
            session_id: The new session.
        """
        assert self._loop is not None
        self._polls[session_id] = self._loop.create_task(
            self._poll(session_id), name=f"janus-fast long poll {session_id}"
        )
        self._resize_request_pool()

    async def dispatch_session_destroyed(self, session_id: int) -> None:
        """Stop the session's long poll.

        Args:
            session_id: The destroyed session.
        """
        task = self._polls.pop(session_id, None)
        self._resize_request_pool()
        if task is not None and task is not asyncio.current_task():
            await self._stop_poll(task)

    async def _stop_poll(self, task: asyncio.Task[None]) -> None:
        """End a poll; the cancelled exchange drops its connection.

        Janus keeps a poll of a destroyed session open for up to 30 s.

        Args:
            task: The poll's task.
        """
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    def _poll_target(self, session_id: int) -> str:
        params = {"maxev": str(self.options.maxev), "rid": str(int(time.time() * 1000))}
        if self._api_secret is not None:
            params["apisecret"] = self._api_secret
        if self._token is not None:
            params["token"] = self._token
        query = urlencode(params, quote_via=quote)
        if self._query:
            query = f"{self._query}&{query}"
        return f"{self._path}/{session_id}?{query}"

    async def _poll(self, session_id: int) -> None:
        """Run the one long poll of a session, supervised.

        Whatever ends it unexpectedly (a bug, an error nothing typed) is logged and reported
        to the session as a loss, never a silently dead task.

        Args:
            session_id: The session polled.

        Raises:
            CancelledError: The poll was stopped (re-raised).
        """
        try:
            await self._poll_loop(session_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception(
                "the long poll of session %s failed",
                session_id,
                extra=log_fields(session_id=session_id, server=self._base_url),
            )
            wrapped = TransportError(f"long poll failed: {type(exc).__name__}: {exc}")
            wrapped.__cause__ = exc
            self._report_session_lost(session_id, wrapped)

    async def _poll_loop(self, session_id: int) -> None:
        """The long poll's loop: until the session is destroyed, lost or retries run out."""
        failures = 0
        empty = 0  # 200 replies in a row that delivered no message
        while self.connected and session_id in self._sessions:
            pool = self._poll_pool
            if pool is None:
                return
            request = self._writer.get(self._poll_target(session_id))
            try:
                status, payload = await self._exchange(request, pool, _POLL_SILENCE_LIMIT)
            except asyncio.CancelledError:
                raise
            except (TransportError, ProtocolError, TimeoutError, OSError) as exc:
                failures += 1
                if failures > self.options.max_retries or not self.connected:
                    self._report_session_lost(
                        session_id, TransportError(f"long poll failed {failures} times: {exc}")
                    )
                    return
                await asyncio.sleep(self._backoff(failures))
                continue
            if status == 200:
                failures = 0
                if self._deliver_poll(payload):
                    empty = 0
                else:
                    empty += 1
                    self._count_empty_poll(session_id, payload)
                    await asyncio.sleep(max(self._backoff(empty), _EMPTY_POLL_MIN_DELAY))
            elif status in (403, 404):
                error: Exception = (
                    AuthError("long poll refused (HTTP 403): check api_secret/token")
                    if status == 403
                    else SessionLostError(f"Janus no longer knows session {session_id} (HTTP 404)")
                )
                self._report_session_lost(session_id, error)
                return
            else:
                failures += 1
                if failures > self.options.max_retries:
                    self._report_session_lost(session_id, _status_error(status, "long poll"))
                    return
                await asyncio.sleep(self._backoff(failures))

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(attempt, self.options.retry_delay, self.options.retry_delay_max)

    def _deliver_poll(self, payload: bytes) -> bool:
        """Feed a 200 long-poll reply to the core.

        Args:
            payload: The reply's body.

        Returns:
            False if it held no message (empty, ``[]`` or not Janus JSON, which ``_dispatch``
            counts as malformed).
        """
        if not payload.strip(b" \t\r\n[]"):
            return False
        malformed = self.stats_malformed
        self.feed(payload)
        return self.stats_malformed == malformed

    def _count_empty_poll(self, session_id: int, payload: bytes) -> None:
        """Count a poll that delivered nothing, and warn (rate-limited).

        The warning comes at most once per ``_EMPTY_POLL_WARN_EVERY`` seconds (a broken proxy
        would otherwise log once per poll).

        Args:
            session_id: The session polled.
            payload: The reply's body.
        """
        self.stats_empty_polls += 1
        assert self._loop is not None
        now = self._loop.time()
        last = self._empty_poll_warned_at
        if last is not None and now - last < _EMPTY_POLL_WARN_EVERY:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "long poll of session %s answered with no message",
                    session_id,
                    extra=log_fields(session_id=session_id, server=self._base_url),
                )
            return
        self._empty_poll_warned_at = now
        logger.warning(
            "long poll of session %s answered at once with no Janus message (%d bytes): backing "
            "off; a proxy in front of Janus may be cutting long polls short (%d so far, see "
            "stats()['empty_polls'])",
            session_id,
            len(payload),
            self.stats_empty_polls,
            extra=log_fields(session_id=session_id, server=self._base_url),
        )

    def _report_session_lost(self, session_id: int, error: Exception) -> None:
        self._polls.pop(session_id, None)
        self._resize_request_pool()
        session = self._sessions.get(session_id)
        if session is not None:
            session.mark_lost(error)


def _status_error(status: int, what: str) -> Exception:
    if status == 403:
        return AuthError(f"HTTP 403 from Janus on {what}: check api_secret/token")
    if status == 404:
        return SessionLostError(f"HTTP 404 from Janus on {what}: unknown session or handle")
    return ConnectionClosedError(None, f"HTTP {status} from Janus on {what}")


def _timeout() -> Exception:
    return RequestTimeoutError("Janus did not answer before the deadline")
