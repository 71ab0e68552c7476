"""``JanusSession``: one Janus session — create/destroy, keepalive, attach, claim, session events.

Rule: the Janus session is created lazily (first ``send``/``attach``), as in janus-client. Many
sessions may share one transport (``transport=``); a session only disconnects a transport it
created itself. Keepalive runs per session with an interval derived from the server's
``session-timeout`` (or ``keepalive_interval``) and is skipped while the session is busy.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from types import TracebackType
from typing import TYPE_CHECKING, Any

from janus_fast._core import Expect, Message
from janus_fast._durations import info_seconds_or
from janus_fast._ids import reply_id
from janus_fast.errors import (
    InvalidStateError,
    JanusError,
    JanusFastError,
    SessionLostError,
    SessionNotFoundError,
    TransportError,
    attach_error,
    connect_error,
    create_session_error,
    missing_janus_field,
)
from janus_fast.events import EVENT_QUEUE_SIZE, EventSource, JsonDict
from janus_fast.logfields import log_fields
from janus_fast.message_transaction import MessageTransaction
from janus_fast.transport import DEFAULT_TIMEOUT, JanusTransport

if TYPE_CHECKING:
    from typing_extensions import Self

    from janus_fast.plugin import JanusPlugin

logger = logging.getLogger("janus_fast.session")

#: Session options read by the session itself; everything else goes to the transport.
_SESSION_KWARGS = ("keepalive_interval",)
#: The ``session-timeout`` assumed when the server's is missing, invalid or cannot be asked (s).
_FALLBACK_SESSION_TIMEOUT = 60.0


def session_timeout_of(info: JsonDict) -> float:
    """Read the ``session-timeout`` of a server's ``info``, in seconds.

    Args:
        info: The server's ``info`` reply.

    Returns:
        The timeout, capped at 86400; 60 when it is missing or invalid (not a finite number
        ≥ 0): the fall-back policy, as a hostile or broken server must not stop the keepalive
        from starting.
    """
    return info_seconds_or(info, "session-timeout", fallback=_FALLBACK_SESSION_TIMEOUT)


def _period_of(timeout: float) -> float | None:
    """Half of a session timeout, at least 1 s; None for 0 (sessions never time out)."""
    return max(timeout / 2, 1.0) if timeout > 0 else None


def keepalive_period_of(info: JsonDict) -> float | None:
    """Derive the keepalive period from a server's ``info``: half its ``session-timeout``.

    Args:
        info: The server's ``info`` reply.

    Returns:
        The period in seconds (at least 1), or None when the server never times sessions out
        (``session-timeout`` 0). The last answer is kept for the same ``info`` object (each
        transport caches its server's ``info``): sessions created one after another on a
        transport derive it once.
    """
    global _last_period  # one tuple, replaced whole: safe across threads
    known, period = _last_period
    if known is info:
        return period
    period = _period_of(session_timeout_of(info))
    _last_period = (info, period)
    return period


#: The last ``info`` object ``keepalive_period_of`` read, and its answer.
_last_period: tuple[JsonDict | None, float | None] = (None, None)


class JanusSession(EventSource):
    """A Janus session (janus-client's ``JanusSession``, same constructor and methods).

    The Janus session is created lazily, on the first ``send``, ``request`` or ``attach`` (or
    by ``create()``). ``async with`` connects on entry; on exit it destroys the session (if
    created) and disconnects the transport if the session made it.

    Args:
        base_url: Janus's URL: ``ws://``/``wss://`` for WebSocket, ``http://``/``https://``
            for HTTP. Unused when ``transport`` is given.
        api_secret: Janus's ``api_secret``, added to every request (never logged).
        token: a Janus auth token, added to every request (never logged).
        transport: a transport to share with other sessions instead of making one; the
            session never disconnects it.
        **kwargs: transport options (``timeout``, ``connect_timeout``, ``reconnect`` …: see
            ``TransportOptions``) and the session's own ``keepalive_interval`` and
            ``event_queue_size``. With ``transport`` given, only those two are used.

    Raises:
        InvalidURLError: no transport for the URL's scheme, or credentials in the URL.
        InvalidOptionError: an option with a bad value.

    """

    def __init__(
        self,
        base_url: str = "",
        api_secret: str | None = None,
        token: str | None = None,
        transport: JanusTransport | None = None,
        **kwargs: Any,
    ) -> None:
        self._init_event_source(kwargs.pop("event_queue_size", EVENT_QUEUE_SIZE))
        if transport is None:
            transport = JanusTransport.create_transport(
                base_url=base_url, api_secret=api_secret, token=token, config=kwargs
            )
            self._owns_transport = True
        else:
            self._owns_transport = False
        self.transport: JanusTransport = transport
        interval = kwargs.get("keepalive_interval", transport.options.keepalive_interval)
        self._keepalive_interval: float | None = interval
        self.created = False
        self.plugin_handles: dict[int, JanusPlugin] = {}
        self.keepalive_task: asyncio.Task[None] | None = None
        self._keepalive_period: float | None = None
        #: Keepalive tasks started: each task knows its number, to tell whether it is current.
        self._keepalive_runs = 0
        self._id: int | None = None
        self._create_lock: asyncio.Lock | None = None
        self._last_activity = 0.0
        self._lost_error: Exception | None = None
        self._destroying = False

    @property
    def id(self) -> int | None:
        """The Janus session id (None until created)."""
        return self._id

    session_id = id

    def _log_fields(self) -> dict[str, object]:
        """Build the structured log fields of this session's records.

        Returns:
            ``log_fields`` with the session id (None until created) and the redacted server URL.
        """
        return log_fields(session_id=self._id, server=self.transport.base_url)

    @property
    def lost_error(self) -> Exception | None:
        """Why the server side of this session was lost, or None while it was not.

        Set by ``mark_lost`` (a session timeout, a 404 for its id, a connection given up, a pool
        that declared its server down); cleared when the session is created again.
        """
        return self._lost_error

    def rebind(self, new_id: int) -> None:
        """Take the id Janus gave this session when it re-created it after a reconnection.

        The transport re-registers the route; nothing else changes.

        Args:
            new_id: The session's new id.
        """
        self._id = new_id

    def __repr__(self) -> str:
        return (
            f"<JanusSession {self._id if self.created else '(not created)'} via {self.transport!r}>"
        )

    __str__ = __repr__

    # -- lifecycle -------------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        await self._connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.created:
            await self.destroy()
        if self._owns_transport:
            await self.transport.disconnect()

    async def create(self, *, session_id: int | None = None) -> None:
        """Create the Janus session (connects the transport if needed). Idempotent.

        Args:
            session_id: ask Janus for this session id (``create`` with ``id``).

        Raises:
            JanusError: Janus refused, e.g. ``UnauthorizedError`` for a wrong api_secret or
                token (janus-client's ``Create session fail: …`` text).
            TransportError: the connection could not be made.
            RequestTimeoutError: no answer within the ``timeout`` option.

        """  # noqa: DOC501 (create_session_error builds the JanusError listed)
        if self._create_lock is None:
            self._create_lock = asyncio.Lock()
        async with self._create_lock:
            if self.created:
                return
            if not self.transport.connected:
                await self._connect()
            try:
                self._id = await self.transport.create_session(self, session_id=session_id)
            except JanusError as exc:  # janus-client's text, the typed class of the code
                raise create_session_error(exc) from None
            self.created = True
            self._lost_error = None
            self._touch()
            await self._start_keepalive()

    async def _connect(self) -> None:
        try:
            await self.transport.connect()
        except TransportError as exc:  # janus-client let the socket's OSError through
            error = connect_error(exc)
            if error is exc:
                raise
            raise error from exc.__cause__

    async def destroy(self) -> None:
        """Janus ``destroy``; detaches every plugin object and stops keepalive.

        Errors (the session already gone, a dead connection) are logged, not raised: after this
        call the session is released locally whatever Janus said.
        """
        if not self.created or self._id is None:
            return
        session_id = self._id
        self._destroying = True  # a long poll's 404 racing the destroy reply is not a loss
        try:
            if self.transport.connected:
                await self.transport.send_request({"janus": "destroy"}, Expect.SUCCESS, session_id)
        except JanusFastError as exc:
            logger.info(
                "destroy of session %s: %r",
                session_id,
                exc,
                extra=log_fields(session_id=session_id, server=self.transport.base_url),
            )
        finally:
            self._destroying = False
            self._release()
            await self.transport.destroy_session(session_id)
            if self._owns_transport and not self.transport.session_count:
                await self.transport.disconnect()

    def _release(self) -> None:
        self.created = False
        if self.keepalive_task is not None:
            self.keepalive_task.cancel()
            self.keepalive_task = None
        for plugin in list(self.plugin_handles.values()):
            plugin.released()
        self.plugin_handles.clear()
        self._close_events()

    def mark_lost(self, error: Exception) -> None:
        """Mark the session gone on the server (timeout, 404, lost connection).

        Its listeners get a ``lost`` event, its handles are released and its waiting requests
        fail. Transports call this; nothing happens if the session is not created or is being
        destroyed.

        Args:
            error: Why the session is gone (in the ``lost`` event and the requests' errors).
        """
        if not self.created or self._destroying:
            return
        logger.warning("session %s lost: %s", self._id, error, extra=self._log_fields())
        self._lost_error = error
        session_id = self._id
        self._deliver({"janus": "lost", "session_id": session_id, "reason": str(error)})
        self._release()
        if session_id is not None:
            self.transport.drop_session(session_id, SessionLostError(f"session lost: {error}"))

    # -- requests --------------------------------------------------------------------------------
    def _touch(self) -> None:
        # The monotonic clock the event loops read too (uvloop's in whole milliseconds, cached
        # per iteration): a C call, where the loop's time is a property and a method away.
        self._last_activity = time.monotonic()

    async def _ensure_created(self) -> int:
        if not self.created:
            if self._lost_error is not None:
                raise SessionLostError(f"session lost: {self._lost_error}")
            await self.create()
        assert self._id is not None
        return self._id

    def send(
        self, message: JsonDict, handle_id: int | None = None
    ) -> Coroutine[Any, Any, MessageTransaction]:
        """Send a request in this session (created on first use): janus-client's API (await it).

        A plain function: once the session exists (and its keepalive runs, if it has one), it
        returns the transport's ``send`` coroutine itself, with no coroutine layer more; the
        errors below are raised when it is awaited, as from a coroutine.

        Args:
            message: the Janus request, with a ``janus`` key; not modified. A ``session_id``
                in it is ignored with a warning: the session sets it.
            handle_id: address the request to this plugin handle.

        Returns:
            A coroutine giving a ``MessageTransaction`` that receives every message with the
            request's transaction; call ``done()`` on it (or use ``async with``) when finished.

        Raises:
            InvalidMessageError: ``message`` has no ``janus`` key (janus-client's text).
            SessionLostError: the session was lost earlier.

        """
        if (
            self.created
            and "janus" in message
            and "session_id" not in message
            and (self.keepalive_task is not None or self._keepalive_period is None)
        ):
            self._touch()
            return self.transport.send(message, self._id, handle_id)
        return self._send_checked(message, handle_id)

    async def _send_checked(
        self, message: JsonDict, handle_id: int | None = None
    ) -> MessageTransaction:
        if "janus" not in message:
            raise missing_janus_field()
        if "session_id" in message:
            logger.warning(
                "ignoring caller-set session_id; the session sets it", extra=self._log_fields()
            )
            message = {k: v for k, v in message.items() if k != "session_id"}
        session_id = self._id if self.created else await self._ensure_created()
        assert session_id is not None
        self._touch()
        if self.keepalive_task is None:
            self._resume_keepalive()
        # Released as done() would when the caller drops it (the core holds only its state).
        return await self.transport.send(message, session_id, handle_id)

    async def request(
        self,
        body: JsonDict,
        expect: int = Expect.SUCCESS,
        handle_id: int | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        *,
        idempotent: bool = False,
    ) -> Message:
        """Send a core request in this session and wait for its completion (native API).

        Args:
            body: the Janus request (``{"janus": "keepalive"}`` …); not modified.
            expect: the completion rule: ``Expect.SUCCESS``, ``Expect.ACK``,
                ``Expect.PLUGIN_MESSAGE`` …
            handle_id: address the request to this plugin handle.
            timeout: seconds to wait; default: the ``timeout`` option; ``None``: no deadline.
            idempotent: let the WebSocket transport send it again after a reconnection if
                the connection died before the reply (otherwise it fails with
                ``ConnectionClosedError``).

        Returns:
            The completing reply, the core's lazy ``Message`` (``.json()`` gives the dict).

        Raises:
            JanusError: Janus answered ``error`` (the typed subclass of its code).
            SessionNotFoundError: Janus no longer has the session; it is then marked lost.
            RequestTimeoutError: no completing reply before the deadline.
            ConnectionClosedError: the connection was lost with the request in flight.
            SessionLostError: the session is lost.

        """
        session_id = self._id if self.created else await self._ensure_created()
        self._touch()
        if self.keepalive_task is None:
            self._resume_keepalive()
        try:
            return await self.transport.send_request(
                body, expect, session_id, handle_id, timeout, idempotent=idempotent
            )
        except SessionNotFoundError as exc:
            self.mark_lost(exc)  # Janus no longer has it (destroyed elsewhere, timed out)
            raise

    async def keepalive(self) -> None:
        """Send one Janus ``keepalive`` and wait for its ack.

        (janus-client's ``keepalive()`` looped forever; the periodic keepalive runs by itself.)

        Raises:
            SessionNotFoundError: Janus no longer has the session (it is then marked lost).
            RequestTimeoutError: no ack within the ``timeout`` option.

        """
        await self.request({"janus": "keepalive"}, Expect.ACK)

    async def claim(self) -> None:
        """Janus ``claim``: take this session over on the current connection.

        Raises:
            InvalidStateError: the session has no id yet (create it first).
            JanusError: Janus refused, e.g. ``SessionNotFoundError``.

        """
        if self._id is None:
            raise InvalidStateError("claim needs a session id: create the session first")
        await self.transport.send_request({"janus": "claim"}, Expect.SUCCESS, self._id)
        self.transport.register_session(self._id, self)

    async def adopt(self, session_id: int, *, claim: bool = True) -> None:
        """Bind this new session object to an existing Janus session.

        The session is one a process that restarted had created. It is claimed on this
        connection so its events come here, then kept alive as after ``create``. Its handles:
        ``JanusPlugin.adopt``.

        Args:
            session_id: The existing session's id.
            claim: ``claim`` it; False: only check it is alive with a ``keepalive`` (Janus
                then keeps sending its events, plugin replies included, to the connection
                that owns it).

        Raises:
            InvalidStateError: This object is already bound to a Janus session.
            JanusError: Janus refused (the typed class: ``SessionNotFoundError`` …); nothing
                is registered then.
            RequestTimeoutError: No answer within the ``timeout`` option.
        """
        if self.created:
            raise InvalidStateError(f"{self!r} is already bound to a Janus session")
        if not self.transport.connected:
            await self._connect()
        if claim:
            await self.transport.send_request({"janus": "claim"}, Expect.SUCCESS, session_id)
        else:
            await self.transport.send_request({"janus": "keepalive"}, Expect.ACK, session_id)
        self._id = session_id
        self.transport.register_session(session_id, self)
        await self.transport.dispatch_session_created(session_id)
        self.created = True
        self._lost_error = None
        self._touch()
        await self._start_keepalive()

    async def _start_keepalive(self) -> None:
        interval = self._keepalive_interval
        if interval is None:
            try:
                interval = keepalive_period_of(await self.transport.server_info())
            except JanusFastError:
                interval = _period_of(_FALLBACK_SESSION_TIMEOUT)
            if interval is None:
                return
        self._keepalive_period = interval
        self._run_keepalive()

    def _run_keepalive(self) -> None:
        assert self._keepalive_period is not None
        self._keepalive_runs += 1
        self.keepalive_task = asyncio.get_running_loop().create_task(
            self._keepalive_loop(self._keepalive_period, self._keepalive_runs),
            name=f"janus-fast keepalive {self._id}",
        )

    def _resume_keepalive(self) -> None:
        """A request on a session whose keepalive stopped with a disconnect: run it again."""
        if self.keepalive_task is None and self._keepalive_period is not None and self.created:
            self._run_keepalive()

    def transport_disconnected(self) -> None:
        """Stop the keepalive now: the transport was disconnected on purpose.

        The keepalive runs again with the next request on this session. Transports call this;
        the keepalive also stops by itself at its next tick when it finds the transport
        disconnected.
        """
        task, self.keepalive_task = self.keepalive_task, None
        if task is not None:
            task.cancel()

    async def _keepalive_loop(self, interval: float, run: int) -> None:
        try:
            while self.created:
                idle_for = time.monotonic() - self._last_activity
                if idle_for < interval:
                    await asyncio.sleep(interval - idle_for)
                    continue
                try:
                    await self.keepalive()
                except (SessionLostError, JanusError) as exc:
                    self.mark_lost(exc)
                    return
                except JanusFastError as exc:
                    if not self.transport.connected:  # disconnected (or lost for good): stop
                        logger.info(
                            "keepalive of session %s stopped: %r",
                            self._id,
                            exc,
                            extra=self._log_fields(),
                        )
                        return
                    logger.info(
                        "keepalive of session %s failed: %r",
                        self._id,
                        exc,
                        extra=self._log_fields(),
                    )
                    self._touch()
        finally:
            # Forget this task unless a newer keepalive replaced it (a cancelled task's last
            # step may run after the session was created again).
            if self._keepalive_runs == run:
                self.keepalive_task = None

    # -- plugins ---------------------------------------------------------------------------------
    async def attach_plugin(
        self,
        plugin: JanusPlugin,
        *,
        opaque_id: str | None = None,
        loop_index: int | None = None,
        token: str | None = None,
    ) -> int:
        """Janus ``attach`` of ``plugin`` (``JanusPlugin.attach`` calls this).

        Args:
            plugin: the plugin object; its ``name`` is the Janus plugin package.
            opaque_id: Janus's ``opaque_id`` for the handle.
            loop_index: the Janus event loop to run the handle on (with ``event_loops``).
            token: a token for this handle (Janus token auth).

        Returns:
            The new handle id.

        Raises:
            PluginAttachFail: Janus answered ``error``; also the typed class of the code
                (``PluginNotFoundError``, ``UnauthorizedPluginError`` …).
            RequestTimeoutError: no answer within the ``timeout`` option.

        """  # noqa: DOC501 (attach_error builds the PluginAttachFail listed)
        body: JsonDict = {"janus": "attach", "plugin": plugin.name}
        if opaque_id is not None:
            body["opaque_id"] = opaque_id
        if loop_index is not None:
            body["loop_index"] = loop_index
        if token is not None:
            body["token"] = token
        try:
            reply = await self.request(body, Expect.SUCCESS)
        except JanusError as exc:
            raise attach_error(exc.code, exc.reason) from None
        handle_id = reply_id(reply, "attach")
        assert self._id is not None
        self.plugin_handles[handle_id] = plugin
        self.transport.register_handle(self._id, handle_id, plugin)
        return handle_id

    def detach_plugin(self, plugin: JanusPlugin) -> None:
        """Forget a plugin handle locally (the Janus ``detach`` is sent by the plugin).

        Args:
            plugin: The plugin whose handle is forgotten.
        """
        handle_id = plugin.id
        if handle_id is None:
            return
        self.plugin_handles.pop(handle_id, None)
        if self._id is not None:
            self.transport.drop_handle(self._id, handle_id)

    def bind_plugin(self, plugin: JanusPlugin, handle_id: int) -> None:
        """Route the events of an existing handle of this session to ``plugin``.

        ``JanusPlugin.adopt`` calls this; no request is sent.

        Args:
            plugin: The plugin object that gets the handle's events.
            handle_id: The existing handle's id.

        Raises:
            InvalidStateError: The session is neither created nor adopted.
        """
        if not self.created or self._id is None:
            raise InvalidStateError("bind_plugin needs a created or adopted session")
        self.plugin_handles[handle_id] = plugin
        self.transport.register_handle(self._id, handle_id, plugin)

    # -- events ----------------------------------------------------------------------------------
    #: No ``janus`` type needs ``_on_message``: the runner calls ``on_receive`` itself.
    _receive_hooks = frozenset()

    def _on_message(self, message: JsonDict) -> Coroutine[Any, Any, None]:
        return self.on_receive(message)  # stepped by the event runner, no coroutine layer more

    _after_types = frozenset(("timeout",))

    def _after_message(self, message: JsonDict) -> None:
        if message.get("janus") == "timeout" and self.created:
            self.mark_lost(SessionLostError(f"Janus destroyed session {self._id} for inactivity"))

    async def on_receive(self, response: JsonDict) -> None:
        """Handle a session-level event (``timeout``, events for unknown handles).

        Does nothing here; override freely (janus-client's hook).

        Args:
            response: The message from Janus.
        """
