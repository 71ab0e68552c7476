"""``JanusTransport``: the transport registry and the one request path every transport shares.

Rule: the Rust core (``_core``) owns transactions, completion rules, deadlines and routing; this
class owns the event loop side of them — one future per request, one timer for all deadlines, one
dispatch pass per batch of incoming messages — and the request template: ``send_request`` and
``open_stream`` prepare each request once (the connected guard, the deadline from the timeout
rule, the outage wait, the waiter or stream, the resend rule, cancel and timeout handling). A
concrete transport supplies only its I/O: ``_submit(...)`` (how a prepared request goes out: the
transaction, or an ``InFlight`` when its I/O must still wait or holds state), ``feed(bytes)`` (how
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
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from urllib.parse import urlsplit

import orjson

from janus_fast import _core, message_transaction
from janus_fast._core import Expect, Message, StreamState
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
    """A ``ProtocolMatcher`` for URL schemes.

    It accepts ``scheme://…`` (or, with ``authority=False``, also ``scheme:…``) for each of
    ``schemes``. ``create_transport`` names the schemes of every registered ``SchemeMatcher``
    when no transport accepts a URL.

    Args:
        *schemes: The URL schemes (``"ws"``, ``"wss"`` …).
        authority: Require ``//`` after the colon.
    """

    __slots__ = ("authority", "schemes")

    def __init__(self, *schemes: str, authority: bool = True) -> None:
        self.schemes = schemes
        self.authority = authority

    def __call__(self, url: str) -> bool:
        """Tell whether ``url`` uses one of the schemes.

        Args:
            url: The URL.

        Returns:
            True when it starts with ``scheme://`` (or ``scheme:`` without ``authority``) for one of
            the schemes.
        """
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
#: How long opening a stream may wait for the connection (or a free HTTP connection) when the
#: ``timeout`` option is None: streams have no reply deadline, their opening still has one.
STREAM_OPEN_LIMIT = 3600.0
_NO_TIMER = float("inf")


class InFlight(Protocol):
    """What ``_submit`` returns when a bare transaction is not enough (a request in flight).

    ``Submitted`` is the ready-made one; a transport may return its own request object with
    these two attributes instead (the HTTP transport returns its exchange: no object more per
    request). The WebSocket transport returns the bare transaction.
    """

    @property
    def transaction(self) -> str:
        """The request's transaction."""

    @property
    def wait(self) -> Awaitable[None] | None:
        """What the template must still await (None: nothing).

        The I/O's own wait (a free HTTP connection, a custom transport's ``_send``), awaited
        within the request's deadline and cancellation.
        """


class Submitted:
    """A ready-made ``InFlight``: the transaction, what to await, and the transport's own state.

    Args:
        transaction: The request's transaction.
        wait: What the template must still await (see ``InFlight.wait``), or None.
        io: The transport's own state of the request (``_withdraw`` gets it back).
    """

    __slots__ = ("io", "transaction", "wait")

    def __init__(self, transaction: str, wait: Awaitable[None] | None, io: Any = None) -> None:
        self.transaction = transaction
        self.wait = wait
        self.io = io


#: The template's send step: ``JanusTransport._submit``'s signature.
SendStep = Callable[
    [JsonDict, int, int | None, int | None, float | None, Any, bool], "str | InFlight"
]


def info_object(value: object, what: str) -> JsonDict:
    """Check a server's ``info`` answer, once for every transport: it must be a JSON object.

    Args:
        value: The parsed answer.
        what: What it answered (``info``, ``/info``), for the error.

    Returns:
        ``value``, typed as a dict.

    Raises:
        ProtocolError: Anything else (a number, a list, a string…) from a broken or hostile server.
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
    #: False only while the transport guarantees that no new request has to wait: the request
    #: template then skips the ``_must_wait()`` call (a plain attribute test per request). A
    #: transport that keeps it up to date sets it True whenever its gate may close and back to
    #: False once ``_must_wait()`` saw the gate open. For the others it is set per class: True
    #: when the class has a ``_must_wait`` of its own, False with the default (never waits).
    _may_hold: bool = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "_may_hold" not in cls.__dict__:
            cls._may_hold = cls._must_wait is not JanusTransport._must_wait

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
        #: The template's send step: ``_submit``, or a native callable that does the same with no
        #: Python frame per request (the WebSocket transport sets its core's ``submit``).
        self._send_step: SendStep = self._submit
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._timer: asyncio.TimerHandle | None = None
        #: When the timer fires (infinity while there is none: one comparison tells whether a
        #: deadline needs it armed sooner).
        self._timer_when = _NO_TIMER
        #: Called with a stream's state when it is released (after the core forgot it); a
        #: transport with I/O of its own per stream sets it (HTTP: the POST still due).
        self._on_stream_done: Callable[[StreamState], object] | None = None
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
        """The URL the transport was made with (as given; reprs and logs show it redacted)."""
        return self._given_url

    def __repr__(self) -> str:  # never shows credentials
        state = "connected" if self.connected else "disconnected"
        return f"<{type(self).__name__} {self._base_url} {state} sessions={len(self._sessions)}>"

    # -- connection events -----------------------------------------------------------------------
    def on_connection_event(self, callback: ConnectionCallback) -> None:
        """Call ``callback(ConnectionEvent)`` on each connection event.

        The events are disconnected, reconnecting, reconnected and given_up. Exceptions the callback
        raises are logged; coroutine callbacks run as tasks.

        Args:
            callback: Called with each ``ConnectionEvent``; may return an awaitable.
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
        """Undo one ``register_transport`` of this pair (nothing if it is not registered).

        Args:
            protocol_matcher: The predicate it was registered with.
            transport_cls: The class it was registered with.
        """
        entry = (protocol_matcher, transport_cls)
        if entry in JanusTransport._protocols:
            JanusTransport._protocols.remove(entry)

    @staticmethod
    def registered_schemes() -> list[str]:
        """List the URL schemes registered transports accept, in registration order.

        Returns:
            The schemes; a transport registered with a plain predicate appears as its class name.
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
        """Close the connection on purpose.

        Pending requests fail with ``ConnectionClosedError`` and every session is told
        (``transport_disconnected``: its keepalive stops).
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
                        self._forget_timer()
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
        if not _RESERVED_KEYS.isdisjoint(message):
            message = _without_reserved(message)
        return self.open_stream(message, session_id, handle_id)

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

        The library adds ``transaction``, the ids, ``apisecret`` and ``token`` (caller copies are
        dropped); the caller's dict is not modified. A plain function returning the ``send_request``
        coroutine.

        Args:
            body: The request, with a ``janus`` key.
            expect: The rule that decides which reply completes it (``Expect.SUCCESS``,
                ``Expect.ANY`` …).
            session_id: Address it to this session.
            handle_id: Address it to this handle.
            timeout: Seconds to wait; the ``timeout`` option by default; None: no deadline.
            idempotent: Send it again after a reconnection if the connection died before the reply
                (else that fails it with ``ConnectionClosedError``).

        Returns:
            A coroutine giving the completing reply, the core's lazy ``Message``.

        Raises:
            ValueError: ``body`` has no ``janus`` key (raised at once).
            JanusError: Janus answered ``error`` (the typed subclass of its code), when awaited.
            RequestTimeoutError: No completing reply within ``timeout``, when awaited.
            ConnectionClosedError: The connection was lost with the request in flight, when awaited.
        """
        if "janus" not in body:
            raise ValueError('a Janus request needs a "janus" key')
        if not _RESERVED_KEYS.isdisjoint(body):
            body = _without_reserved(body)
        return self.send_request(
            body, expect, session_id, handle_id, timeout, idempotent=idempotent
        )

    async def receive(self, response: JsonDict) -> None:
        """Feed one incoming message (custom transports call this for everything they read).

        Args:
            response: The message, as a dict.
        """
        self.feed(orjson.dumps(response))

    def feed(self, data: bytes) -> None:
        """Feed incoming bytes to the core, then hand out what it completed or routed.

        Bad JSON is counted and logged (``stats_malformed``), never raised.

        Args:
            data: One payload: a JSON object, several concatenated, or a long-poll array.
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
        """Send Janus ``create`` and register the session.

        Args:
            session: The session object that gets the session's events.
            session_id: A client-chosen session id; Janus picks one when None.

        Returns:
            The new session's id.

        Raises:
            JanusError: Janus refused (the typed subclass of its code).
            RequestTimeoutError: No reply within the ``timeout`` option.
        """
        body: JsonDict = {"janus": "create"}
        if session_id is not None:
            body["id"] = session_id
        reply: Message = await self.send_request(body, Expect.SUCCESS)
        new_id = reply_id(reply, "create")
        self.register_session(new_id, session)
        await self.dispatch_session_created(new_id)
        return new_id

    async def destroy_session(self, session_id: int) -> None:
        """Forget a session locally (the Janus ``destroy`` is sent by the session).

        Its waiting requests fail with ``SessionLostError``.

        Args:
            session_id: The session.
        """
        error = SessionLostError(f"session {session_id} was destroyed before the reply")
        if self.drop_session(session_id, error) is not None:
            await self.dispatch_session_destroyed(session_id)

    async def dispatch_session_created(self, session_id: int) -> None:
        """Run the hook for a created session (HTTP starts its long poll here).

        Args:
            session_id: The new session.
        """

    async def dispatch_session_destroyed(self, session_id: int) -> None:
        """Run the hook for a destroyed session (HTTP stops its long poll here).

        Args:
            session_id: The destroyed session.
        """

    async def server_info(self) -> JsonDict:
        """Return Janus's ``info``, fetched once per transport and cached.

        Returns:
            The server's info.

        Raises:
            RequestTimeoutError: No answer in time (first call).
            TransportError: The connection could not be made or was lost (first call).
        """
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
        """List the sessions routed through this transport now.

        Returns:
            A new list.
        """
        return list(self._sessions.values())

    def register_session(self, session_id: int, session: JanusSession) -> None:
        """Route the events of a Janus session to a session object.

        Called after ``create``, ``claim`` or an adoption.

        Args:
            session_id: The Janus session id.
            session: The session object.
        """
        self._sessions[session_id] = session
        self._core.add_session(session_id, session)

    def drop_session(self, session_id: int, error: JanusFastError) -> JanusSession | None:
        """Forget a session (lost or destroyed) and fail its waiting requests.

        Their replies or events would only ever have come from that session.

        Args:
            session_id: The Janus session id.
            error: What the waiting requests fail with.

        Returns:
            The session object, or None when it was not routed.
        """
        session = self._sessions.pop(session_id, None)
        self._core.remove_session(session_id)
        for waiter in self._core.drain_session(session_id):
            fail_waiter(waiter, error)
        return session

    def register_handle(self, session_id: int, handle_id: int, plugin: JanusPlugin) -> None:
        """Route the events of a plugin handle to a plugin object.

        Args:
            session_id: The handle's session.
            handle_id: The Janus handle id.
            plugin: The plugin object.

        Raises:
            SessionLostError: The session was lost or destroyed meanwhile (for example while its
                ``attach`` reply was on the way), so nothing can be routed to it.
        """
        if session_id not in self._sessions:
            raise SessionLostError(
                f"session {session_id} ended before handle {handle_id} could be routed"
            )
        self._core.add_handle(session_id, handle_id, plugin)

    def drop_handle(self, session_id: int, handle_id: int) -> None:
        """Forget a detached handle and fail the requests still waiting for it.

        They fail with ``InvalidStateError``.

        Args:
            session_id: The handle's session.
            handle_id: The Janus handle id.
        """
        self._core.remove_handle(session_id, handle_id)
        error = InvalidStateError(f"handle {handle_id} was detached before the reply")
        for waiter in self._core.drain_session(session_id, handle_id):
            fail_waiter(waiter, error)

    def rebind_session(self, session: JanusSession, new_id: int) -> None:
        """Route a session under the new id Janus gave it (re-created after a reconnection).

        The session is told (``session.rebind``); its waiting requests keep their routes.

        Args:
            session: The session object.
            new_id: Its new Janus session id.
        """
        old_id = session.id
        if old_id is not None:
            self._sessions.pop(old_id, None)
            self._core.remove_session(old_id)
        self.register_session(new_id, session)
        session.rebind(new_id)

    def rebind_handle(self, session: JanusSession, plugin: JanusPlugin, new_id: int) -> None:
        """Route a plugin handle under the new id Janus gave it (re-attached after a reconnection).

        The plugin is told (``plugin.rebind``).

        Args:
            session: The handle's session.
            plugin: The plugin object.
            new_id: Its new Janus handle id.
        """
        session_id, old_id = session.id, plugin.id
        assert session_id is not None
        if old_id is not None:
            self._core.remove_handle(session_id, old_id)
        plugin.rebind(new_id)
        self._core.add_handle(session_id, new_id, plugin)

    # -- monitoring ------------------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        """Return counters for monitoring and tests (not hot path).

        Every transport: the core's tables — ``pending`` (requests, streams and deadline watches
        waiting now), ``completed``, ``expired``, ``cancelled``, ``ended_with_route`` (failed with
        their session or handle), ``stray_acks``, ``unknown_transactions``, ``sessions``,
        ``handles``, ``routed_to_handle``, ``routed_to_session``, ``unroutable``, ``malformed``
        (messages that did not parse, dropped and logged) — plus ``unrouted`` (messages no request,
        session or handle owned, dropped) and ``open_connections``. The WebSocket transport adds
        receive batching (``receive_watermark``, ``receive_watermark_raised``,
        ``receive_guard_trips``) and coalescing (``coalescing``, ``frames_resent``); the HTTP
        transport adds ``long_polls`` and ``empty_polls``; the Unix-socket transport adds
        ``queued_writes`` and ``oversized`` (received packets over ``max_message_size``, dropped);
        the MQTT and RabbitMQ transports add ``inflight_publishes`` and ``oversized``.
        docs/guide/transports.md lists them all.

        Returns:
            One new flat dict of ints per call.
        """
        stats = self._core.stats()
        stats["unrouted"] = self.stats_unrouted
        stats["open_connections"] = int(self.connected)
        stats.update(self._transport_stats())
        return stats

    def _transport_stats(self) -> dict[str, int]:
        """Return the counters a transport kind adds to ``stats()`` (a hook).

        Returns:
            The counters (they may replace ``open_connections``); none here.
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
        """Send a request through the one request path and wait for its completion.

        ``body`` is sent as given (the library's own requests; ``request`` checks a caller's dict
        first) and completes per Janus's rules for ``expect``. Prepared once here: the connected
        guard, the deadline, the outage wait, the waiter, the resend rule; the transport's
        ``_submit`` only moves it. A resendable request (``RESENDABLE_EXPECTS`` or
        ``idempotent=True``) whose connection is lost goes again when the transport recovers
        (``_may_resend``). Cancelling the caller withdraws it.

        Args:
            body: The request, without transaction, ids or credentials.
            expect: The rule that decides which reply completes it (``Expect.SUCCESS`` …).
            session_id: Address it to this session.
            handle_id: Address it to this handle.
            timeout: Seconds to wait; the ``timeout`` option by default; None: no deadline.
            idempotent: It may be sent again after a reconnection.

        Returns:
            The completing reply, the core's lazy ``Message``.

        Raises:
            InvalidStateError: The transport is not connected (a recovering transport raises its own
                error once recovery gave up).
            JanusError: Janus answered ``error`` (the typed subclass of its code).
            RequestTimeoutError: No completing reply before the deadline.
            ConnectionClosedError: The connection was lost with the request in flight, and it is not
                resent.
        """
        loop = self._loop
        if not self.connected or loop is None:
            raise self._not_connected()
        limit = self.options.timeout if timeout is _DEFAULT else timeout
        deadline = None if limit is None else loop.time() + limit
        resendable = idempotent or expect in RESENDABLE_EXPECTS
        while True:
            if self._may_hold and self._must_wait():
                handle_id = await self._wait_until_ready(deadline, handle_id)
            waiter: asyncio.Future[Message] = loop.create_future()
            sent: str | InFlight = ""
            try:
                sent = self._send_step(
                    body, expect, session_id, handle_id, deadline, waiter, resendable
                )
                if deadline is not None and deadline < self._timer_when:
                    self._arm_timer(deadline)
                if not isinstance(sent, str) and sent.wait is not None:
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
        """Send a request through the stream path (``send()``).

        ``body`` is sent as given; every message carrying its transaction goes to the returned
        ``MessageTransaction`` until ``done()``. Same guard and outage wait as ``send_request``
        (bounded by the ``timeout`` option); no reply deadline (``MessageTransaction.get`` has its
        own).

        Args:
            body: The request, without transaction, ids or credentials.
            session_id: Address it to this session.
            handle_id: Address it to this handle.

        Returns:
            The stream of the request's messages.

        Raises:
            InvalidStateError: The transport is not connected.
            ConnectionClosedError: The connection was lost before the request went out.
        """
        loop = self._loop
        if not self.connected or loop is None:
            raise self._not_connected()
        if self._may_hold and self._must_wait():
            limit = self.options.timeout
            deadline = loop.time() + (limit if limit is not None else STREAM_OPEN_LIMIT)
            handle_id = await self._wait_until_ready(deadline, handle_id)
        # Positional: keyword matching costs more than the rest of the constructor. Its id is
        # the transaction _submit gives it.
        stream = MessageTransaction(
            "",
            self.options.timeout,
            self._on_stream_done,
            (session_id, handle_id),
            loop,
            self,
            self._core,
            self._deliver_leftovers,
            message_transaction.MAX_KEPT_MESSAGES,
        )
        sent: str | InFlight = ""
        try:
            # The core names the stream (its id) when it registers the state.
            sent = self._send_step(
                body, Expect.STREAM, session_id, handle_id, None, stream.state, False
            )
            if not isinstance(sent, str) and sent.wait is not None:
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
    ) -> str | InFlight:
        """Send one prepared request: register its waiter with the core and hand the bytes on.

        This default serves custom janus-client transports: the complete request dict goes to their
        ``_send``.

        Args:
            body: The request; no transaction, ids or credentials yet.
            expect: What completes it (``Expect.STREAM`` for a stream).
            session_id: The session it addresses, if any.
            handle_id: The handle it addresses, if any.
            deadline: The loop time by which it must complete (None for a stream).
            waiter: The reply's future, or the ``MessageTransaction`` of a stream.
            resendable: Sending it again cannot change anything on the server.

        Returns:
            The transaction when the request is on its way, or an ``InFlight`` (with what the
            template must still await; a ``Submitted`` also carries the transport's own state of
            the request).
        """
        transaction: str = self._core.register(waiter, expect, deadline)
        message = self._wire_message(body, transaction, session_id, handle_id)
        return Submitted(transaction, self._send(message))

    def forget_transaction(self, transaction: str) -> None:
        """Forget a request the transport's I/O gave up on (its caller fails the waiter)."""
        self._core.cancel(transaction)

    def _withdraw(self, sent: str | InFlight, waiter: Any) -> None:
        """Forget a request that ended without its reply (failed, timed out, cancelled).

        The core forgets it; a transport's override also drops its I/O.

        Args:
            sent: What ``_submit`` returned ("" if it raised).
            waiter: The request's future or stream.
        """
        transaction = sent if isinstance(sent, str) else sent.transaction
        if transaction:
            self._core.cancel(transaction)
        if isinstance(waiter, asyncio.Future) and waiter.done() and not waiter.cancelled():
            waiter.exception()  # failed by the timer too: the caller gets the error raised
        if not isinstance(sent, str) and isinstance(sent.wait, Coroutine):
            sent.wait.close()  # never awaited when the timer or a cancel came first

    def _must_wait(self) -> bool:
        """Whether new requests must wait before going out (an outage, a full write buffer)."""
        return False

    async def _wait_until_ready(self, deadline: float | None, handle_id: int | None) -> int | None:
        """Wait until requests may go out (a hook for an outage gate).

        Args:
            deadline: The loop time to give up at (None: no deadline).
            handle_id: The handle the request addresses, if any.

        Returns:
            The id the handle has now (a handle re-attached during an outage has a new one).
        """
        return handle_id

    def _may_resend(self) -> bool:
        """Tell whether a resendable request whose connection closed goes again.

        Returns:
            True while the transport is recovering the connection; never here.
        """
        return False

    def _not_connected(self) -> Exception:
        """Return the error of a request made while not connected.

        Returns:
            An ``InvalidStateError``.
        """
        return InvalidStateError("Must connect before any communication.")

    def watch_stream(self, stream: StreamState, deadline: float | None) -> bool:
        """Put a waiting ``MessageTransaction.get``'s deadline on the stream's core entry.

        It replaces the previous one: the core's one deadline table and timer serve it, and nothing
        is registered or removed per ``get``.

        Args:
            stream: A stream this transport opened.
            deadline: Loop time, or None (no deadline).

        Returns:
            False when the core no longer holds the stream (released, or the connection lost).
        """
        if not self._core.set_stream_deadline(stream.id, deadline):
            return False
        if deadline is not None and deadline < self._timer_when:
            self._arm_timer(deadline)
        return True

    def _deliver_leftovers(self, stream: StreamState) -> None:
        """Hand a released stream's messages no ``get`` took to its handle (or session) as events.

        The stream calls this on ``done()`` (or when dropped), after the core forgot it, only when
        there are such messages.

        Args:
            stream: The stream released.
        """
        session_id, handle_id = stream.route
        session = self._sessions.get(session_id) if session_id is not None else None
        if session is None:
            return
        owner = session.plugin_handles.get(handle_id, session) if handle_id is not None else session
        for item in stream.leftovers():
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
        """Make the one timer fire by ``deadline``; the core learns when it fires (``timer_at``)."""
        if self._timer is not None:
            if deadline >= self._timer_when:
                self._core.timer_at = self._timer_when  # a core made since (reconnection)
                return
            self._timer.cancel()
        assert self._loop is not None
        self._timer_when = deadline
        self._timer = self._loop.call_at(deadline, self._on_timer)
        self._core.timer_at = deadline

    def _forget_timer(self) -> None:
        """No timer is armed any more (it fired or was cancelled)."""
        self._timer = None
        self._timer_when = _NO_TIMER
        self._core.timer_at = None

    def _on_timer(self) -> None:
        self._forget_timer()
        assert self._loop is not None
        for waiter in self._core.expire(self._loop.time() + _TIMER_SLACK):
            if isinstance(waiter, StreamState):
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
        """Hand every completion, stream item and event the core produced to its owner.

        The core does it in one call, in order (futures, ``deliver``, ``put_msg``); the other
        kinds come back to ``_on_other_output``.
        """
        self._core.dispatch(self._on_other_output)

    def _on_other_output(self, kind: int, target: Any, item: Any) -> None:
        """Handle a drained output the core does not hand over itself (see ``_dispatch``)."""
        if kind == _core.COMPLETE_ERROR:
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
        """Log a dropped message: the first of each kind of fault as a warning.

        The rest go to debug level (a hostile peer could repeat one forever); ``stats_malformed``
        counts all.

        Args:
            fault: What was wrong with it.
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
    """Build the error a Janus ``error`` reply fails its request with.

    Args:
        message: The ``error`` reply.

    Returns:
        The typed ``JanusError`` for its code, or ``ProtocolError`` when ``error.code`` was missing
        or not an integer.
    """
    reason = message.error_reason or ""
    code = message.error_code
    if code is None or code == _INVALID_ERROR_CODE:
        return ProtocolError(
            f"Janus error reply without an integer error code (reason: {reason[:200]!r})"
        )
    return janus_error(code, reason)


def fail_waiter(waiter: Any, error: BaseException) -> None:
    """Fail a request's future or a stream with ``error`` (nothing if the future is done).

    Args:
        waiter: The request's future or stream.
        error: The error.
    """
    if isinstance(waiter, StreamState):
        waiter.fail(error)
    elif not waiter.done():
        waiter.set_exception(error)


def _without_reserved(message: JsonDict) -> JsonDict:
    """Drop the keys the library sets itself, with a warning (the caller checked there are some)."""
    dropped = message.keys() & _RESERVED_KEYS
    logger.warning(
        "ignoring caller-set %s; the library sets them",
        ", ".join(sorted(dropped)),
        extra=log_fields(),
    )
    return {key: value for key, value in message.items() if key not in _RESERVED_KEYS}
