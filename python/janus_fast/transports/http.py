"""HTTP transport (``http://``, ``https://``) on one pooled aiohttp ``ClientSession``.

Rule: requests are keep-alive POSTs with the ids in the path and the reply fed to the core; events
come from exactly one long poll per Janus session (``maxev`` batches, ``rid``, credentials on the
GET). Poll failures are retried with backoff; 404 means the session is lost and 403 an auth
failure — both are delivered to the session, never swallowed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from typing import TYPE_CHECKING, Any

import orjson

from janus_fast._core import Expect, Message
from janus_fast.errors import (
    AuthError,
    ConnectionClosedError,
    InvalidStateError,
    ProtocolError,
    SessionLostError,
    TransportError,
)
from janus_fast.message_transaction import MessageTransaction
from janus_fast.transport import _DEFAULT, JanusTransport, JsonDict
from janus_fast.transports._url import parse_url

if TYPE_CHECKING:
    import aiohttp

logger = logging.getLogger("janus_fast.transport.http")
_JSON_HEADERS = {"Content-Type": "application/json"}
_POLL_SILENCE_LIMIT = 65.0
_CLOSE_WAIT = 2.0


def _connector_class(track_holders: bool = False) -> Any:
    """A TCPConnector that (1) keeps every connection it opened, so ``disconnect()`` can wait
    until all are really closed — aiohttp closes some connections (a cancelled request's, one
    the server ended) without waiting, and a TLS shutdown needs a round trip; and (2) with
    ``track_holders``, tells which connection a long-poll task holds or is still opening. The
    request pool does not need (2), which would cost a coroutine and an Event per request."""
    import weakref

    import aiohttp

    class TrackingConnector(aiohttp.TCPConnector):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.opened: weakref.WeakSet[Any] = weakref.WeakSet()

        async def _create_connection(self, req: Any, traces: Any, timeout: Any) -> Any:
            protocol = await super()._create_connection(req, traces, timeout)
            self.opened.add(protocol)
            return protocol

        async def wait_all_closed(self, limit: float) -> None:
            waiters = [closed for p in list(self.opened) if (closed := p.closed) is not None]
            if waiters:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(limit):
                        await asyncio.gather(*waiters, return_exceptions=True)

    class HolderTrackingConnector(TrackingConnector):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.held: dict[asyncio.Task[Any], Any] = {}
            self.connecting: dict[asyncio.Task[Any], asyncio.Event] = {}

        async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
            task = asyncio.current_task()
            assert task is not None
            self.connecting[task] = asyncio.Event()
            try:
                connection = await super().connect(req, traces, timeout)
                self.held[task] = connection.protocol
                return connection
            finally:
                self.connecting.pop(task).set()

    return HolderTrackingConnector if track_holders else TrackingConnector


class JanusTransportHTTP(JanusTransport):
    """janus-client's HTTP transport: same name; pooled, batched and recovering."""

    def __init__(
        self, base_url: str, api_secret: str | None = None, token: str | None = None, **kwargs: Any
    ) -> None:
        self._url = parse_url(base_url, ("http", "https"))
        self._http: aiohttp.ClientSession | None = None
        #: Long polls hold a connection each for up to 30 s: they get their own unbounded pool,
        #: so they can never starve requests of ``max_connections``.
        self._poll_http: aiohttp.ClientSession | None = None
        self._polls: dict[int, asyncio.Task[None]] = {}
        self._poll_connector: Any = None
        super().__init__(base_url, api_secret, token, **kwargs)

    # -- connection ------------------------------------------------------------------------------
    async def _connect(self) -> None:
        import aiohttp

        self._loop = asyncio.get_running_loop()
        context = self.options.ssl_context(self._url.secure)
        connector = _connector_class()(
            limit=self.options.max_connections,
            ssl=context if context is not None else False,
        )
        headers = {**_JSON_HEADERS, **dict(self.options.headers)}
        # One timer per request, aiohttp's own: the request deadline (``timeout``).
        request_timeout = aiohttp.ClientTimeout(
            total=self.options.timeout, sock_connect=self.options.connect_timeout
        )
        self._http = aiohttp.ClientSession(
            connector=connector, headers=headers, timeout=request_timeout
        )
        # Janus answers an idle poll after 30 s; a silent socket for twice that is dead.
        poll_timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self.options.connect_timeout, sock_read=_POLL_SILENCE_LIMIT
        )
        self._poll_connector = _connector_class(track_holders=True)(
            limit=0, ssl=context if context is not None else False
        )
        self._poll_http = aiohttp.ClientSession(
            connector=self._poll_connector, headers=headers, timeout=poll_timeout
        )

    async def _disconnect(self) -> None:
        # Close the pools first: that also closes the connections the long polls hold and
        # waits until they are really closed (a TLS shutdown takes a round trip); only then
        # end the poll tasks. Cancelling a poll mid-request would drop its socket unawaited.
        clients, self._http, self._poll_http = (self._http, self._poll_http), None, None
        connectors = [client.connector for client in clients if client is not None]
        for connector in connectors:
            # No TLS close_notify round trip: drop the sockets now (nothing is pending).
            await connector.close(abort_ssl=True)  # type: ignore[union-attr]
        for client in clients:
            if client is not None:
                await client.close()
        polls, self._polls = self._polls, {}
        for task in polls.values():
            await self._stop_poll(task)
        for connector in connectors:
            await connector.wait_all_closed(_CLOSE_WAIT)  # type: ignore[union-attr]
        self._poll_connector = None

    def _client(self) -> aiohttp.ClientSession:
        if not self.connected or self._http is None:
            raise InvalidStateError("Must connect before any communication.")
        return self._http

    # -- requests --------------------------------------------------------------------------------
    def _path_url(self, session_id: int | None, handle_id: int | None) -> str:
        url = self._base_url
        if session_id is not None:
            url = f"{url}/{session_id}"
            if handle_id is not None:
                url = f"{url}/{handle_id}"
        return url

    async def _post(self, url: str, data: bytes, timeout: float | None = _DEFAULT) -> bytes:
        import aiohttp

        extra: dict[str, Any] = {}
        if timeout is not _DEFAULT:  # a per-call deadline other than the session's
            extra["timeout"] = aiohttp.ClientTimeout(total=timeout)
        try:
            async with self._client().post(url, data=data, **extra) as response:
                payload = await response.read()
                if response.status != 200:
                    raise _status_error(response.status, url)
                return payload
        except aiohttp.ClientError as exc:
            raise TransportError(f"HTTP request to {self._base_url} failed: {exc}") from exc

    async def _request(
        self,
        body: JsonDict,
        expect: int,
        session_id: int | None = None,
        handle_id: int | None = None,
        timeout: float | None = _DEFAULT,
        *,
        idempotent: bool = False,
    ) -> Message:
        self._client()
        loop = self._loop
        assert loop is not None
        waiter: asyncio.Future[Message] = loop.create_future()
        deadline = self._deadline(timeout)
        transaction, data = self._core.encode(
            orjson.dumps(body), waiter, expect, None, None, deadline
        )
        if deadline is not None:
            self._arm_timer(deadline)
        try:
            reply = await self._post(self._path_url(session_id, handle_id), data, timeout)
            self._core.receive_message(reply)
            self._dispatch()
            return await waiter
        except TimeoutError:
            self._core.cancel(transaction)
            if waiter.done() and not waiter.cancelled():
                return waiter.result()
            raise _timeout() from None
        except BaseException:
            self._core.cancel(transaction)
            raise

    async def _open_stream(
        self, body: JsonDict, session_id: int | None, handle_id: int | None
    ) -> MessageTransaction:
        self._client()
        stream = self._new_stream(session_id, handle_id)
        stream.id, data = self._core.encode(
            orjson.dumps(body), stream, Expect.STREAM, None, None, None
        )
        try:
            reply = await self._post(self._path_url(session_id, handle_id), data)
        except BaseException:
            self._core.cancel(stream.id)
            raise
        self._core.receive_message(reply)
        self._dispatch()
        return stream

    async def _send(self, message: JsonDict) -> None:
        reply = await self._post(
            self._path_url(message.get("session_id"), message.get("handle_id")),
            orjson.dumps(message),
        )
        self._core.receive_message(reply)
        self._dispatch()

    async def info(self) -> JsonDict:
        """``GET /info`` (no session needed), bounded by ``timeout``."""
        import aiohttp

        try:
            async with asyncio.timeout(self.options.timeout):
                async with self._client().get(f"{self._base_url}/info") as response:
                    if response.status != 200:
                        raise _status_error(response.status, "/info")
                    info: JsonDict = orjson.loads(await response.read())
        except TimeoutError:
            raise _timeout() from None
        except aiohttp.ClientError as exc:
            raise TransportError(f"HTTP request to {self._base_url} failed: {exc}") from exc
        self._server_info = info
        return info

    # -- long poll -------------------------------------------------------------------------------
    async def dispatch_session_created(self, session_id: int) -> None:
        assert self._loop is not None
        self._polls[session_id] = self._loop.create_task(
            self._poll(session_id), name=f"janus-fast long poll {session_id}"
        )

    async def dispatch_session_destroyed(self, session_id: int) -> None:
        task = self._polls.pop(session_id, None)
        if task is not None and task is not asyncio.current_task():
            await self._stop_poll(task)

    async def _stop_poll(self, task: asyncio.Task[None]) -> None:
        """End a poll (Janus keeps a poll of a destroyed session open for up to 30 s) and wait
        until its connection is really closed, TLS shutdown included."""
        connector = self._poll_connector
        connecting = connector.connecting.get(task) if connector is not None else None
        if connecting is not None:  # cancelling a TLS handshake would drop the socket unawaited
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.options.connect_timeout):
                    await connecting.wait()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        protocol = connector.held.pop(task, None) if connector is not None else None
        transport = getattr(protocol, "transport", None)
        if transport is not None:
            transport.abort()  # aiohttp only close()d it: skip the TLS shutdown round trip
        closed = getattr(protocol, "closed", None)
        if closed is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_CLOSE_WAIT):
                    await asyncio.shield(closed)

    def _poll_params(self) -> dict[str, str]:
        params = {"maxev": str(self.options.maxev), "rid": str(int(time.time() * 1000))}
        if self._api_secret is not None:
            params["apisecret"] = self._api_secret
        if self._token is not None:
            params["token"] = self._token
        return params

    async def _poll(self, session_id: int) -> None:
        """The one long poll of a session: until it is destroyed, lost or retries run out."""
        await self._poll_loop(session_id)
        # Ended by itself (lost session, retries exhausted): its connection went back to the pool.
        # (A cancelled poll is cleaned up by _stop_poll, which waits for its socket.)
        if self._poll_connector is not None:
            self._poll_connector.held.pop(asyncio.current_task(), None)

    async def _poll_loop(self, session_id: int) -> None:
        import aiohttp

        url = f"{self._base_url}/{session_id}"
        failures = 0
        while self.connected and session_id in self._sessions:
            try:
                poller = self._poll_http
                if poller is None or not self.connected:
                    return
                async with poller.get(url, params=self._poll_params()) as response:
                    payload = await response.read()
                    status = response.status
            except asyncio.CancelledError:
                raise
            except (aiohttp.ClientError, OSError, InvalidStateError) as exc:
                failures += 1
                if failures > self.options.max_retries or not self.connected:
                    self._session_lost(
                        session_id, TransportError(f"long poll failed {failures} times: {exc}")
                    )
                    return
                await asyncio.sleep(self._backoff(failures))
                continue
            if status == 200:
                failures = 0
                try:
                    self._core.receive_message(payload)
                except ProtocolError as exc:
                    logger.warning("dropped a malformed long-poll reply: %s", exc)
                self._dispatch()
            elif status in (403, 404):
                error: Exception = (
                    AuthError("long poll refused (HTTP 403): check api_secret/token")
                    if status == 403
                    else SessionLostError(f"Janus no longer knows session {session_id} (HTTP 404)")
                )
                self._session_lost(session_id, error)
                return
            else:
                failures += 1
                if failures > self.options.max_retries:
                    self._session_lost(session_id, _status_error(status, "long poll"))
                    return
                await asyncio.sleep(self._backoff(failures))

    def _backoff(self, attempt: int) -> float:
        delay = min(self.options.retry_delay * 2.0 ** (attempt - 1), self.options.retry_delay_max)
        return delay * (0.5 + random.random() / 2)

    def _session_lost(self, session_id: int, error: Exception) -> None:
        self._polls.pop(session_id, None)
        session = self._sessions.get(session_id)
        if session is not None:
            session._lost(error)


def _status_error(status: int, what: str) -> Exception:
    if status == 403:
        return AuthError(f"HTTP 403 from Janus on {what}: check api_secret/token")
    if status == 404:
        return SessionLostError(f"HTTP 404 from Janus on {what}: unknown session or handle")
    return ConnectionClosedError(None, f"HTTP {status} from Janus on {what}")


def _timeout() -> Exception:
    from janus_fast.errors import RequestTimeoutError

    return RequestTimeoutError("Janus did not answer before the deadline")
