"""``JanusTransport``: the transport registry and the one request path every transport shares.

Rule: the Rust core (``_core``) owns transactions, completion rules, deadlines and routing; this
class owns the event loop side of them — one future per request, one timer for all deadlines, one
dispatch pass per batch of incoming messages — and the request template: ``send_request`` and
``open_stream`` prepare each request once (the connected guard, the deadline from the timeout
rule, the outage wait, the waiter or stream, the resend rule, cancel and timeout handling). A
concrete transport supplies only its I/O: ``_submit(...)`` (how a prepared request goes out: the
transaction, or a ``Submitted`` when its I/O must still wait or holds state), ``feed(bytes)`` (how
bytes come in), ``_connect``/``_disconnect`` (how a connection opens and
closes), and optionally ``_must_wait``/``_wait_until_ready`` (an outage gate) and
``_may_resend`` (whether a resendable request goes again after its connection closed). Custom
transports written for janus-client implement ``_connect``/``_disconnect``/``_send(dict)`` and
feed replies to ``receive(dict)``, exactly as before. Sessions and plugin handles are routed
through the route API (``register_session``, ``drop_session``, ``register_handle``,
``drop_handle``, ``rebind_session``, ``rebind_handle``); the transport hands them messages through
their public ``deliver``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import orjson

from janus_fast import _core
from janus_fast._core import Expect, Message
from janus_fast._ids import reply_id
from janus_fast.errors import (
    ConnectionClosedError,
    InvalidStateError,
    InvalidURLError,
    JanusFastError,
    ProtocolError,
    RequestTimeoutError,
    SessionLostError,
    janus_error,
)
from janus_fast.events import ConnectionCallback, ConnectionEvent
from janus_fast.logfields import log_fields
from janus_fast.message_transaction import MessageTransaction
from janus_fast.options import TransportOptions
from janus_fast.redact import redact_url

if TYPE_CHECKING:
    from janus_fast._core import CoreTables
    from janus_fast.plugin import JanusPlugin
    from janus_fast.session import JanusSession

logger = logging.getLogger("janus_fast.transport")

JsonDict = dict[str, Any]
ProtocolMatcher = Callable[[str], bool]


class SchemeMatcher:
    """A ``ProtocolMatcher`` for URL schemes: accepts ``scheme://…`` (or, with
    ``authority=False``, also ``scheme:…``) for each of ``schemes``. ``create_transport`` names
    the schemes of every registered ``SchemeMatcher`` when no transport accepts a URL.
    """

    __slots__ = ("authority", "schemes")

    def __init__(self, *schemes: str, authority: bool = True) -> None:
        self.schemes = schemes
        self.authority = authority

    def __call__(self, url: str) -> bool:
        scheme, colon, rest = url.partition(":")
        return (
            bool(colon) and scheme in self.schemes and (not self.authority or rest.startswith("//"))
        )

    def __repr__(self) -> str:
        return f"SchemeMatcher({', '.join(map(repr, self.schemes))})"


_DEFAULT: Any = object()
#: The default ``timeout`` of requests: the transport's ``timeout`` option (sessions and plugins
#: take it as their own default and pass it on).
DEFAULT_TIMEOUT: Any = _DEFAULT
#: Keys the library sets itself; a caller's copy is dropped (janus-client warned and replaced).
_RESERVED_KEYS = frozenset(("transaction", "session_id", "handle_id", "apisecret", "token"))
#: Requests whose resending cannot change anything on the server: ping, info, and the ack-only
#: ones (keepalive, trickle).
RESENDABLE_EXPECTS = frozenset((Expect.PONG, Expect.SERVER_INFO, Expect.ACK))
#: Kinds of malformed input logged as warnings per transport (the rest go to debug level).
_MAX_MALFORMED_KINDS = 32
#: The core's error code for a Janus ``error`` reply whose ``error.code`` is not an integer.
_INVALID_ERROR_CODE = 0
#: Expiry runs this much early so a timer that fires a hair before its deadline still expires it.
_TIMER_SLACK = 0.001
#: The kinds of drained items the dispatch pass tests most (module constants: no attribute lookup
#: per item).
_COMPLETE = _core.COMPLETE
_COMPLETE_ERROR = _core.COMPLETE_ERROR
_STREAM_ITEM = _core.STREAM_ITEM
_EVENT = _core.EVENT
#: How long opening a stream may wait for the connection (or a free HTTP connection) when the
#: ``timeout`` option is None: streams have no reply deadline, their opening still has one.
STREAM_OPEN_LIMIT = 3600.0


class Submitted:
    """What ``_submit`` returns when a bare transaction is not enough: the request's
    ``transaction``; ``wait``, an awaitable the template awaits (within the request's deadline and
    cancellation) when the I/O must still wait (a free HTTP connection, a custom transport's
    ``_send``); ``io``, the transport's own state of the request (``_withdraw`` gets it back).
    The WebSocket transport returns the bare transaction: no object per request on its path.
    """

    __slots__ = ("io", "transaction", "wait")

    def __init__(self, transaction: str, wait: Awaitable[None] | None, io: Any = None) -> None:
        self.transaction = transaction
        self.wait = wait
        self.io = io


def info_object(value: object, what: str) -> JsonDict:
    """A server's ``info`` answer, checked once for every transport: it must be a JSON object.

    Raises:
        ProtocolError: anything else (a number, a list, a string…) from a broken or hostile
            server.

    """
    if not isinstance(value, dict):
        raise ProtocolError(f"{what} is not a JSON object but {type(value).__name__}")
    return value


class JanusTransport(ABC):
    """Base of all transports; same public API as janus-client's ``JanusTransport``.

    One transport is one connection to Janus (WebSocket) or one pool of connections (HTTP),
    shared by any number of sessions. Make one with ``create_transport`` (or let a
    ``JanusSession`` make it). Custom transports subclass it and implement ``_connect``,
    ``_disconnect`` and ``_send``, feeding what they read to ``receive``.

    Args:
        base_url: Janus's URL.
        api_secret: Janus's ``api_secret``, added to every request (never logged).
        token: a Janus auth token, added to every request (never logged).
        **kwargs: transport options (see ``TransportOptions``).

    Raises:
        InvalidOptionError: an option with a bad value (also TLS options on a plain URL).

    """

    _protocols: ClassVar[list[tuple[ProtocolMatcher, type[JanusTransport]]]] = []

    def __init__(
        self, base_url: str, api_secret: str | None = None, token: str | None = None, **kwargs: Any
    ) -> None:
        #: The URL as given (``base_url``, for custom transports to connect with) and as shown in
        #: reprs, logs and errors (``_base_url``: no user info, no query values).
        self._given_url = base_url.rstrip("/")
        self._base_url = redact_url(self._given_url)
        self._api_secret = api_secret
        self._token = token
        self.options = TransportOptions.from_kwargs(kwargs)
        self.options.check_url(urlsplit(base_url).scheme)
        self.connected = False
        self._sessions: dict[int, JanusSession] = {}
        self._core: CoreTables = self._make_core()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_when = 0.0
        self._server_info: JsonDict | None = None
        self.stats_unrouted = 0
        self.stats_malformed = 0
        self._malformed_kinds: set[str] = set()
        self._connection_callbacks: list[ConnectionCallback] = []
        self._background: set[asyncio.Task[Any]] = set()

    def _make_core(self) -> CoreTables:
        """The transaction/routing core; custom transports get a plain ``JanusCore``."""
        return _core.JanusCore(apisecret=self._api_secret, token=self._token, seed=os.urandom(32))

    # -- janus-client API: identity --------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self._given_url

    def __repr__(self) -> str:  # never shows credentials
        state = "connected" if self.connected else "disconnected"
        return f"<{type(self).__name__} {self._base_url} {state} sessions={len(self._sessions)}>"

    # -- connection events -----------------------------------------------------------------------
    def on_connection_event(self, callback: ConnectionCallback) -> None:
        """Call ``callback(ConnectionEvent)`` on disconnected / reconnecting / reconnected /
        given_up. Exceptions it raises are logged; coroutine callbacks run as tasks.
        """
        self._connection_callbacks.append(callback)

    def _emit_connection_event(self, event: ConnectionEvent) -> None:
        for callback in self._connection_callbacks:
            try:
                result = callback(event)
            except Exception:
                logger.exception(
                    "connection callback %r raised",
                    callback,
                    extra=log_fields(server=self._base_url),
                )
                continue
            if inspect.isawaitable(result):
                self._spawn(_log_errors(result, callback))

    def _spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        """Run a background task the transport keeps a reference to until it ends."""
        task: asyncio.Task[Any] = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    # -- janus-client API: registry --------------------------------------------------------------
    @staticmethod
    def register_transport(
        protocol_matcher: ProtocolMatcher, transport_cls: type[JanusTransport]
    ) -> None:
        """Register ``transport_cls`` for the URLs ``protocol_matcher`` accepts.

        Args:
            protocol_matcher: a predicate on the URL string.
            transport_cls: the ``JanusTransport`` subclass ``create_transport`` then makes.

        """
        JanusTransport._protocols.append((protocol_matcher, transport_cls))

    @staticmethod
    def unregister_transport(
        protocol_matcher: ProtocolMatcher, transport_cls: type[JanusTransport]
    ) -> None:
        """Undo one ``register_transport`` of this pair (nothing if it is not registered)."""
        entry = (protocol_matcher, transport_cls)
        if entry in JanusTransport._protocols:
            JanusTransport._protocols.remove(entry)

    @staticmethod
    def registered_schemes() -> list[str]:
        """The URL schemes registered transports accept, in registration order (a transport
        registered with a plain predicate appears as its class name).
        """
        names: list[str] = []
        for matcher, cls in JanusTransport._protocols:
            names.extend(matcher.schemes if isinstance(matcher, SchemeMatcher) else [cls.__name__])
        return list(dict.fromkeys(names))

    @staticmethod
    def create_transport(
        base_url: str,
        api_secret: str | None = None,
        token: str | None = None,
        config: dict[str, Any] | None = None,
    ) -> JanusTransport:
        """Instantiate the one registered transport whose matcher accepts ``base_url``.

        Args:
            base_url: Janus's URL; ``registered_schemes()`` lists what is registered (built in:
                ``ws``, ``wss``, ``http``, ``https``, ``unix``, ``unix+seqpacket``,
                ``unix+dgram``, ``mqtt``, ``amqp``, ``nanomsg+ipc`` and ``nanomsg+tcp``).
            api_secret: Janus's ``api_secret``.
            token: a Janus auth token.
            config: transport options (see ``TransportOptions``); unknown keys are logged and
                ignored.

        Returns:
            The new, not yet connected transport.

        Raises:
            InvalidURLError: no URL, no transport or several for it, or credentials in it.
            InvalidOptionError: an option with a bad value.

        """
        if not isinstance(base_url, str) or not base_url:
            raise InvalidURLError(f"a Janus URL is required, got {type(base_url).__name__}")
        matches = [cls for matcher, cls in JanusTransport._protocols if matcher(base_url)]
        unique = list(dict.fromkeys(matches))
        if not unique:
            raise InvalidURLError(
                f"No protocol matched {redact_url(base_url)!r} "
                f"(registered: {', '.join(JanusTransport.registered_schemes())})"
            )
        if len(unique) > 1:
            raise InvalidURLError(
                f"Matched to more than 1 protocol: {[c.__name__ for c in unique]}"
            )
        return unique[0](base_url=base_url, api_secret=api_secret, token=token, **(config or {}))

    # -- janus-client API: connection ------------------------------------------------------------
    async def connect(self) -> None:
        """Connect (idempotent); requests also connect on demand.

        Raises:
            TransportError: the connection could not be made (``connect_timeout`` bounds
                each attempt).

        """
        async with self._get_lock():
            if not self.connected:
                self._loop = asyncio.get_running_loop()
                await self._connect()
                self.connected = True

    async def disconnect(self) -> None:
        """Close the connection on purpose: pending requests fail with ``ConnectionClosedError``
        and every session is told (``transport_disconnected``: its keepalive stops).
        """
        async with self._get_lock():
            if self.connected:
                self.connected = False
                try:
                    await self._disconnect()
                finally:
                    self._fail_pending(ConnectionClosedError(None, "transport disconnected"))
                    if self._timer is not None:
                        self._timer.cancel()
                        self._timer = None
                    for session in list(self._sessions.values()):
                        session.transport_disconnected()

    def _get_lock(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the transport connected on (None before the first ``connect()``)."""
        return self._loop

    @abstractmethod
    async def _connect(self) -> None: ...

    @abstractmethod
    async def _disconnect(self) -> None: ...

    @abstractmethod
    async def _send(self, message: JsonDict) -> None:
        """Send one complete Janus request (custom transports; built-ins override ``_submit``)."""

    # -- janus-client API: requests --------------------------------------------------------------
    def send(
        self, message: JsonDict, session_id: int | None = None, handle_id: int | None = None
    ) -> Coroutine[Any, Any, MessageTransaction]:
        """Send ``message``; every reply carrying its transaction goes to the returned stream.

        The caller's dict is not modified. Call ``done()`` (or use ``async with``) when finished.
        (A plain function returning the ``open_stream`` coroutine: no coroutine layer more.)

        Args:
            message: the Janus request, with a ``janus`` key.
            session_id: address it to this session.
            handle_id: address it to this handle.

        Returns:
            A coroutine giving the ``MessageTransaction``.

        Raises:
            ValueError: ``message`` has no ``janus`` key.

        """
        if "janus" not in message:
            raise ValueError('a Janus request needs a "janus" key')
        return self.open_stream(_without_reserved(message), session_id, handle_id)

    def request(
        self,
        body: JsonDict,
        expect: int,
        session_id: int | None = None,
        handle_id: int | None = None,
        *,
        timeout: float | None = _DEFAULT,
        idempotent: bool = False,
    ) -> Coroutine[Any, Any, Message]:
        """Send one Janus (or Admin API) request and return the reply that completes it.

        ``expect`` (``Expect.SUCCESS``, ``Expect.ANY`` …) is the rule that decides which reply
        completes it; ``session_id``/``handle_id`` address it. The library adds ``transaction``,
        the ids, ``apisecret`` and ``token`` (caller copies are dropped); the caller's dict is not
        modified. An ``error`` reply raises its typed ``JanusError``, no answer within ``timeout``
        seconds (default: the ``timeout`` option; None: no deadline) ``RequestTimeoutError``, a
        lost connection ``ConnectionClosedError`` (``idempotent=True``: sent again after a
        reconnection instead).
        """
        if "janus" not in body:
            raise ValueError('a Janus request needs a "janus" key')
        return self.send_request(
            _without_reserved(body), expect, session_id, handle_id, timeout, idempotent=idempotent
        )

    async def receive(self, response: JsonDict) -> None:
        """Feed one incoming message (custom transports call this for everything they read)."""
        self.feed(orjson.dumps(response))

    def feed(self, data: bytes) -> None:
        """Bytes in: one payload (a JSON object, several concatenated, or a long-poll array)
        goes to the core, then one dispatch pass hands out what it completed or routed. Bad
        JSON is counted and logged (``stats_malformed``), never raised.
        """
        self._core.receive_message(data)
        self._dispatch()

    async def info(self) -> JsonDict:
        """Janus ``info`` (server_info), bounded by the ``timeout`` option.

        Returns:
            The server's info (``version``, ``version_string``, ``plugins``,
            ``reclaim-session-timeout`` …), also kept for the transport's own use.

        Raises:
            RequestTimeoutError: no answer in time.
            TransportError: the connection could not be made or was lost.

        """
        reply: Message = await self.send_request({"janus": "info"}, Expect.SERVER_INFO)
        info = info_object(reply.json(), "info")
        self._server_info = info
        return info

    async def ping(self) -> JsonDict:
        """Janus ``ping``, bounded by the ``timeout`` option.

        Returns:
            The ``pong`` message.

        Raises:
            RequestTimeoutError: no answer in time.
            TransportError: the connection could not be made or was lost.

        """
        reply: Message = await self.send_request({"janus": "ping"}, Expect.PONG)
        result: JsonDict = reply.json()
        return result

    async def create_session(self, session: JanusSession, *, session_id: int | None = None) -> int:
        """Janus ``create`` (optionally with a client-chosen id); registers the session."""
        body: JsonDict = {"janus": "create"}
        if session_id is not None:
            body["id"] = session_id
        reply: Message = await self.send_request(body, Expect.SUCCESS)
        new_id = reply_id(reply, "create")
        self.register_session(new_id, session)
        await self.dispatch_session_created(new_id)
        return new_id

    async def destroy_session(self, session_id: int) -> None:
        """Forget a session locally (the Janus ``destroy`` is sent by the session)."""
        error = SessionLostError(f"session {session_id} was destroyed before the reply")
        if self.drop_session(session_id, error) is not None:
            await self.dispatch_session_destroyed(session_id)

    async def dispatch_session_created(self, session_id: int) -> None:
        """Hook: a session was created (HTTP starts its long poll here)."""

    async def dispatch_session_destroyed(self, session_id: int) -> None:
        """Hook: a session was destroyed (HTTP stops its long poll here)."""

    async def server_info(self) -> JsonDict:
        """``info``, fetched once per transport and cached."""
        if self._server_info is None:
            await self.info()
        assert self._server_info is not None
        return self._server_info

    # -- routes: which session or handle object gets a Janus id's events ---------------------------
    @property
    def session_count(self) -> int:
        """Sessions routed through this transport now."""
        return len(self._sessions)

    def sessions(self) -> list[JanusSession]:
        """The sessions routed through this transport now (a new list)."""
        return list(self._sessions.values())

    def register_session(self, session_id: int, session: JanusSession) -> None:
        """Route the events of Janus session ``session_id`` to ``session`` (after ``create``,
        ``claim`` or an adoption).
        """
        self._sessions[session_id] = session
        self._core.add_session(session_id, session)

    def drop_session(self, session_id: int, error: JanusFastError) -> JanusSession | None:
        """Forget a session (lost or destroyed) and fail the requests still waiting in it with
        ``error``: their replies or events would only ever have come from that session.
        """
        session = self._sessions.pop(session_id, None)
        self._core.remove_session(session_id)
        for waiter in self._core.drain_session(session_id):
            fail_waiter(waiter, error)
        return session

    def register_handle(self, session_id: int, handle_id: int, plugin: JanusPlugin) -> None:
        """Route the events of handle ``handle_id`` of session ``session_id`` to ``plugin``.

        Raises:
            SessionLostError: the session was lost or destroyed meanwhile (for example while
                its ``attach`` reply was on the way), so nothing can be routed to it.

        """
        if session_id not in self._sessions:
            raise SessionLostError(
                f"session {session_id} ended before handle {handle_id} could be routed"
            )
        self._core.add_handle(session_id, handle_id, plugin)

    def drop_handle(self, session_id: int, handle_id: int) -> None:
        """Forget a detached handle and fail the requests still waiting for it."""
        self._core.remove_handle(session_id, handle_id)
        error = InvalidStateError(f"handle {handle_id} was detached before the reply")
        for waiter in self._core.drain_session(session_id, handle_id):
            fail_waiter(waiter, error)

    def rebind_session(self, session: JanusSession, new_id: int) -> None:
        """Route ``session`` under the new id Janus gave it (re-created after a reconnection)
        and tell it (``session.rebind``); its waiting requests keep their routes.
        """
        old_id = session.id
        if old_id is not None:
            self._sessions.pop(old_id, None)
            self._core.remove_session(old_id)
        self.register_session(new_id, session)
        session.rebind(new_id)

    def rebind_handle(self, session: JanusSession, plugin: JanusPlugin, new_id: int) -> None:
        """Route ``plugin`` (a handle of ``session``) under the new id Janus gave it (re-attached
        after a reconnection) and tell it (``plugin.rebind``).
        """
        session_id, old_id = session.id, plugin.id
        assert session_id is not None
        if old_id is not None:
            self._core.remove_handle(session_id, old_id)
        plugin.rebind(new_id)
        self._core.add_handle(session_id, new_id, plugin)

    # -- monitoring ------------------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        """Counters for monitoring and tests: one new flat dict of ints per call (not hot path).

        Every transport: the core's tables — ``pending`` (requests and ``send()`` streams open
        now; a waiting ``MessageTransaction.get`` adds none), ``completed``, ``expired``,
        ``cancelled``, ``ended_with_route`` (failed with their session or handle),
        ``stray_acks``, ``unknown_transactions``, ``sessions``, ``handles``,
        ``routed_to_handle``, ``routed_to_session``, ``unroutable``, ``malformed``
        (messages that did not parse, dropped and logged) — plus ``unrouted`` (messages no
        request, session or handle owned, dropped) and ``open_connections``. The WebSocket
        transport adds receive batching (``receive_watermark``, ``receive_watermark_raised``,
        ``receive_guard_trips``) and coalescing (``coalescing``, ``frames_resent``); the HTTP
        transport adds ``long_polls`` and ``empty_polls``; the Unix-socket transport adds
        ``queued_writes`` and ``oversized`` (received packets over ``max_message_size``, dropped);
        the MQTT and RabbitMQ transports add ``inflight_publishes`` and ``oversized``.
        docs/guide/transports.md lists them all.
        """
        stats = self._core.stats()
        stats["unrouted"] = self.stats_unrouted
        stats["open_connections"] = int(self.connected)
        stats.update(self._transport_stats())
        return stats

    def _transport_stats(self) -> dict[str, int]:
        """Hook: the counters a transport kind adds to ``stats()`` (may replace
        ``open_connections``).
        """
        return {}

    # -- the request template ----------------------------------------------------------------------
    async def send_request(
        self,
        body: JsonDict,
        expect: int,
        session_id: int | None = None,
        handle_id: int | None = None,
        timeout: float | None = _DEFAULT,
        *,
        idempotent: bool = False,
    ) -> Message:
        """The one request path: send ``body`` as given (the library's own requests; ``request``
        checks a caller's dict first) and wait for its completion per Janus's rules for
        ``expect``.

        Prepared once here: the connected guard, the deadline (``timeout``; default the
        ``timeout`` option, None none), the outage wait, the waiter, the resend rule; the
        transport's ``_submit`` only moves it. Janus ``error`` replies raise the typed
        ``JanusError``, the deadline ``RequestTimeoutError``, a lost connection
        ``ConnectionClosedError`` — unless the request is resendable (``RESENDABLE_EXPECTS`` or
        ``idempotent=True``) and the transport recovers (``_may_resend``): then it goes again.
        Cancelling the caller withdraws it.
        """
        loop = self._loop
        if not self.connected or loop is None:
            raise self._not_connected()
        limit = self.options.timeout if timeout is _DEFAULT else timeout
        deadline = None if limit is None else loop.time() + limit
        resendable = idempotent or expect in RESENDABLE_EXPECTS
        while True:
            if self._must_wait():
                handle_id = await self._wait_until_ready(deadline, handle_id)
            waiter: asyncio.Future[Message] = loop.create_future()
            sent: str | Submitted = ""
            try:
                sent = self._submit(
                    body, expect, session_id, handle_id, deadline, waiter, resendable
                )
                if deadline is not None and (self._timer is None or deadline < self._timer_when):
                    self._arm_timer(deadline)
                if type(sent) is Submitted and sent.wait is not None:
                    await sent.wait
                return await waiter
            except ConnectionClosedError:
                self._withdraw(sent, waiter)
                if not (resendable and self._may_resend()):
                    raise
            except BaseException:
                self._withdraw(sent, waiter)
                raise

    async def open_stream(
        self, body: JsonDict, session_id: int | None = None, handle_id: int | None = None
    ) -> MessageTransaction:
        """The stream path (``send()``): send ``body`` as given; every message carrying its
        transaction goes to the returned ``MessageTransaction`` until ``done()``. Same guard and
        outage wait as ``send_request`` (bounded by the ``timeout`` option); no reply deadline
        (``MessageTransaction.get`` has its own).
        """
        loop = self._loop
        if not self.connected or loop is None:
            raise self._not_connected()
        if self._must_wait():
            limit = self.options.timeout
            deadline = loop.time() + (limit if limit is not None else STREAM_OPEN_LIMIT)
            handle_id = await self._wait_until_ready(deadline, handle_id)
        stream = self._new_stream(session_id, handle_id)
        sent: str | Submitted = ""
        try:
            sent = self._submit(body, Expect.STREAM, session_id, handle_id, None, stream, False)
            if isinstance(sent, str):
                stream.id = sent
            else:
                stream.id = sent.transaction
                if sent.wait is not None:
                    await sent.wait
        except BaseException:
            self._withdraw(sent, stream)
            raise
        return stream

    # -- what a transport supplies -----------------------------------------------------------------
    def _submit(
        self,
        body: JsonDict,
        expect: int,
        session_id: int | None,
        handle_id: int | None,
        deadline: float | None,
        waiter: Any,
        resendable: bool,
    ) -> str | Submitted:
        """Send one prepared request: register ``waiter`` (the reply's future, or the
        ``MessageTransaction`` of a stream: ``expect == Expect.STREAM``, no ``deadline``) with the
        core and hand the bytes to the connection. ``body`` has no transaction, ids or
        credentials yet; ``resendable``: sending it again cannot change anything on the server.
        Return the transaction when the request is on its way, or a ``Submitted`` (with what the
        template must still await, and the transport's own state of the request). This default
        serves custom janus-client transports: the complete request dict goes to their
        ``_send``.
        """
        transaction: str = self._core.register(waiter, expect, deadline)
        message = self._wire_message(body, transaction, session_id, handle_id)
        return Submitted(transaction, self._send(message))

    def forget_transaction(self, transaction: str) -> None:
        """Forget a request the transport's I/O gave up on (its caller fails the waiter)."""
        self._core.cancel(transaction)

    def _withdraw(self, sent: str | Submitted, waiter: Any) -> None:
        """The request ended without its reply (failed, timed out, cancelled): forget it in the
        core (and, in a transport's override, drop its I/O). ``sent`` is what ``_submit``
        returned ("" if it raised).
        """
        transaction = sent if isinstance(sent, str) else sent.transaction
        if transaction:
            self._core.cancel(transaction)
        if isinstance(waiter, asyncio.Future) and waiter.done() and not waiter.cancelled():
            waiter.exception()  # failed by the timer too: the caller gets the error raised
        if isinstance(sent, Submitted) and isinstance(sent.wait, Coroutine):
            sent.wait.close()  # never awaited when the timer or a cancel came first

    def _must_wait(self) -> bool:
        """Whether new requests must wait before going out (an outage, a full write buffer)."""
        return False

    async def _wait_until_ready(self, deadline: float | None, handle_id: int | None) -> int | None:
        """Wait (bounded by ``deadline``) until requests may go out; returns the id the handle
        has now (a handle re-attached during an outage has a new one).
        """
        return handle_id

    def _may_resend(self) -> bool:
        """Whether a resendable request whose connection closed goes again (the transport is
        recovering the connection).
        """
        return False

    def _not_connected(self) -> Exception:
        """The error of a request made while not connected."""
        return InvalidStateError("Must connect before any communication.")

    def _new_stream(self, session_id: int | None, handle_id: int | None) -> MessageTransaction:
        """A janus-client ``MessageTransaction`` bound to this transport (id set by the caller)."""
        return MessageTransaction(
            "",
            timeout=self.options.timeout,
            on_done=self._release_stream,
            route=(session_id, handle_id),
            loop=self._loop,
            deadlines=self,
        )

    def watch_stream(self, stream: MessageTransaction, deadline: float | None) -> bool:
        """Put a waiting ``MessageTransaction.get``'s deadline on the stream's own core entry
        (replacing the previous one): the core's one deadline table and timer serve it, and
        nothing is registered or removed per ``get``.

        Args:
            stream: a stream this transport opened.
            deadline: loop time, or None (no deadline).

        Returns:
            False when the core no longer holds the stream (released, or the connection lost).
        """
        if not self._core.set_stream_deadline(stream.id, deadline):
            return False
        if deadline is not None and (self._timer is None or deadline < self._timer_when):
            self._arm_timer(deadline)
        return True

    def _release_stream(self, stream: MessageTransaction) -> None:
        """``done()``: forget the stream; what no ``get`` took goes to the handle as events."""
        self._core.cancel(stream.id)
        leftovers = stream.leftovers()
        if not leftovers:
            return
        session_id, handle_id = stream.route
        session = self._sessions.get(session_id) if session_id is not None else None
        if session is None:
            return
        owner = session.plugin_handles.get(handle_id, session) if handle_id is not None else session
        for item in leftovers:
            owner.deliver(item)

    def _wire_message(
        self, body: JsonDict, transaction: str, session_id: int | None, handle_id: int | None
    ) -> JsonDict:
        message = {**body, "transaction": transaction}
        if session_id is not None:
            message["session_id"] = session_id
        if handle_id is not None:
            message["handle_id"] = handle_id
        if self._api_secret is not None:
            message["apisecret"] = self._api_secret
        if self._token is not None and "token" not in body:
            message["token"] = self._token
        return message

    def _arm_timer(self, deadline: float) -> None:
        if self._timer is not None:
            if deadline >= self._timer_when:
                return
            self._timer.cancel()
        assert self._loop is not None
        self._timer_when = deadline
        self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        assert self._loop is not None
        for waiter in self._core.expire(self._loop.time() + _TIMER_SLACK):
            if isinstance(waiter, MessageTransaction):
                waiter.deadline_passed()  # its waiting get times out; the stream stays
            else:
                fail_waiter(waiter, RequestTimeoutError("Janus did not answer before the deadline"))
        next_deadline = self._core.next_deadline()
        if next_deadline is not None:
            self._arm_timer(next_deadline)

    def _fail_pending(self, error: JanusFastError) -> None:
        """Fail every pending request and stream (the connection is gone)."""
        for waiter in self._core.fail_all():
            fail_waiter(waiter, error)

    def _dispatch(self) -> None:
        """Hand every completion, stream item and event the core produced to its owner."""
        for kind, target, item in self._core.drain():
            if kind == _COMPLETE:
                if not target.done():
                    target.set_result(item)
            elif kind == _EVENT:
                target.deliver(item)
            elif kind == _STREAM_ITEM:
                target.put_msg(item)
            elif kind == _COMPLETE_ERROR:
                if not target.done():
                    target.set_exception(_error_reply(item))
            elif kind == _core.UNROUTED:
                self.stats_unrouted += 1
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug(
                        "no owner for %s message (session %s, sender %s)",
                        item.janus,
                        item.session_id,
                        item.sender,
                        extra=log_fields(
                            session_id=item.session_id,
                            handle_id=item.sender,
                            transaction=item.transaction,
                            server=self._base_url,
                        ),
                    )
            elif kind == _core.MALFORMED:
                self.stats_malformed += 1
                self._log_malformed(item)
            elif kind == _core.CLOSED:
                self._on_peer_closed(*item)

    def _log_malformed(self, fault: str) -> None:
        """Log a dropped message: the first of each kind of fault as a warning, the rest at
        debug level (a hostile peer could repeat one forever); ``stats_malformed`` counts all.
        """
        if fault in self._malformed_kinds or len(self._malformed_kinds) >= _MAX_MALFORMED_KINDS:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "dropped a malformed message from Janus: %s",
                    fault,
                    extra=log_fields(server=self._base_url),
                )
            return
        self._malformed_kinds.add(fault)
        logger.warning(
            "dropped a malformed message from Janus: %s (further ones of this kind are logged "
            "at debug level and counted in stats_malformed)",
            fault,
            extra=log_fields(server=self._base_url),
        )

    def _on_peer_closed(self, code: int | None, reason: str, clean: bool) -> None:
        """Hook: the peer closed the connection (WebSocket close frame or EOF)."""


async def _log_errors(awaitable: Any, callback: Any) -> None:
    try:
        await awaitable
    except Exception:
        logger.exception("connection callback %r raised", callback, extra=log_fields())


def _error_reply(message: Message) -> JanusFastError:
    """The error a Janus ``error`` reply fails its request with: the typed ``JanusError`` for its
    code, or ``ProtocolError`` when ``error.code`` was missing or not an integer.
    """
    reason = message.error_reason or ""
    code = message.error_code
    if code is None or code == _INVALID_ERROR_CODE:
        return ProtocolError(
            f"Janus error reply without an integer error code (reason: {reason[:200]!r})"
        )
    return janus_error(code, reason)


def fail_waiter(waiter: Any, error: BaseException) -> None:
    """Fail a request's future or a stream with ``error`` (nothing if the future is done)."""
    if isinstance(waiter, MessageTransaction):
        waiter.fail(error)
    elif not waiter.done():
        waiter.set_exception(error)


def _without_reserved(message: JsonDict) -> JsonDict:
    if _RESERVED_KEYS.isdisjoint(message):  # the usual case: no set built
        return message
    dropped = message.keys() & _RESERVED_KEYS
    logger.warning(
        "ignoring caller-set %s; the library sets them",
        ", ".join(sorted(dropped)),
        extra=log_fields(),
    )
    return {key: value for key, value in message.items() if key not in _RESERVED_KEYS}
