"""Connection recovery for the WebSocket, Unix-socket and broker (MQTT, RabbitMQ) transports.

The ``Reconnector`` reconnects with backoff, then reclaims (or re-creates) every session at once,
and owns the outage queue in the meantime.

Rule: each such transport owns one ``Reconnector`` and talks to it through four calls
(``start`` when the connection drops, ``stop`` on ``disconnect()``, ``wait`` and ``alias`` for
requests made during an outage); the reconnector acts on the transport only through the
``RecoveryLink`` the transport hands it. While the connection is down, new requests wait in a
bounded queue (``queue_size``). Recovery reopens the socket (exponential backoff with jitter,
``max_retries`` attempts capped at ``retry_delay_max``), then sends ``info`` (does Janus keep
sessions across connections: ``reclaim-session-timeout`` > 0?) and every ``claim`` at once, in
shared frames, so N sessions come back in about one round trip, and only then lets the queue
go. A session that cannot be claimed is reported lost, or with ``reconnect_policy="recreate"``
created again under the same id (all at once) and its handles re-attached (all at once);
sessions and handles take new ids through their own ``rebind``.

Supervision: a failure of the new connection (refused, cut, timed out) is retried; anything else
(a malformed or unexpected reply, a Janus error on ``info``, a bug) ends recovery at once with
``given_up`` carrying a typed error (``ProtocolError`` for bad replies; anything untyped is wrapped
in ``TransportError`` and logged with its traceback). Giving up closes the socket, fails
everything waiting and reports every session lost: the transport is then plainly disconnected
and ``connect()`` starts afresh.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from janus_fast._compat import timeout_at
from janus_fast._core import Expect, Message
from janus_fast._durations import info_seconds
from janus_fast._ids import reply_id
from janus_fast.errors import (
    ConnectionClosedError,
    JanusError,
    JanusFastError,
    ProtocolError,
    QueueFullError,
    RequestTimeoutError,
    SessionConflictError,
    SessionLostError,
    TransportError,
)
from janus_fast.events import ConnectionEvent
from janus_fast.logfields import log_fields
from janus_fast.options import TransportOptions
from janus_fast.transports._backoff import backoff_delay

if TYPE_CHECKING:
    from janus_fast.plugin import JanusPlugin
    from janus_fast.session import JanusSession

logger = logging.getLogger("janus_fast.transport.recovery")

JsonDict = dict[str, Any]
_T = TypeVar("_T")


@dataclasses.dataclass(frozen=True, slots=True)
class RecoveryLink:
    """Everything the reconnector may do to its transport; recovery touches nothing else.

    The transport builds it from its own methods.
    """

    #: A new connection (socket, handshake or broker link) ready for requests, bounded by
    #: ``connect_timeout``; raises ``TransportError``/``ProtocolError`` when that fails.
    open_socket: Callable[[], Awaitable[None]]
    #: Drop the current socket, if any (and its liveness pings).
    close_socket: Callable[[], None]
    #: Queue one request on the current socket, past the outage gate: ``(body, expect,
    #: session_id, timeout)`` → the future of its completion (by Janus's rules; fails with
    #: ``RequestTimeoutError`` after ``timeout`` s, ``ConnectionClosedError`` if the socket goes).
    send: Callable[[JsonDict, int, int | None, float], asyncio.Future[Message]]
    #: Fail every request still registered (the connection is gone for good).
    fail_pending: Callable[[JanusFastError], None]
    #: The sessions the transport routes now.
    sessions: Callable[[], Sequence[JanusSession]]
    #: Route a session under the new id Janus gave it (and ``session.rebind(new_id)``).
    move_session: Callable[[JanusSession, int], None]
    #: Route a handle under the new id Janus gave it (and ``plugin.rebind(new_id)``).
    move_handle: Callable[[JanusSession, JanusPlugin, int], None]
    #: Report a session lost (its events, its waiting requests, its handles).
    lose_session: Callable[[JanusSession, Exception], None]
    #: Janus's fresh ``info`` (the transport caches it), and the last one known (None if none;
    #: read when the connection drops, before a new socket forgets it).
    set_server_info: Callable[[JsonDict], None]
    server_info: Callable[[], JsonDict | None]
    #: The transport is no longer connected (called once, when giving up).
    mark_down: Callable[[], None]
    #: Tell the transport's connection-event listeners.
    emit: Callable[[ConnectionEvent], None]
    #: Run a background task the transport keeps a reference to.
    spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]]


class _Retry(Exception):
    """The new connection failed (refused, cut, timed out): the next attempt may succeed."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class Reconnector:
    """Reconnection, session recovery and the outage queue of one transport."""

    __slots__ = (
        "_aliases",
        "_attempt",
        "_base_url",
        "_down_error",
        "_known_info",
        "_link",
        "_options",
        "_outage",
        "_task",
        "_waiting",
    )

    def __init__(self, link: RecoveryLink, options: TransportOptions, base_url: str) -> None:
        self._link = link
        self._options = options
        self._base_url = base_url
        #: Resolved when the connection is usable again (or recovery ended in failure).
        self._outage: asyncio.Future[None] | None = None
        self._waiting = 0
        #: Handle ids re-attached under a new id ("recreate"): old → new, so that requests queued
        #: during the outage reach the re-attached handle.
        self._aliases: dict[int, int] = {}
        #: Why the connection is gone for good (new requests fail with it); None otherwise.
        self._down_error: Exception | None = None
        self._task: asyncio.Task[None] | None = None
        self._attempt = 0
        #: The server's ``info`` as last known when the connection dropped.
        self._known_info: JsonDict | None = None

    # -- the transport's side --------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """True while the connection is down and being re-established."""
        return self._outage is not None

    @property
    def down_error(self) -> Exception | None:
        """Why the connection ended for good (recovery gave up), until the next ``connect()``."""
        return self._down_error

    def clear(self) -> None:
        """Forget an earlier give-up: the user connects again."""
        self._down_error = None

    def start(self, error: ConnectionClosedError, loop: asyncio.AbstractEventLoop) -> None:
        """Handle a connection dropped while wanted: open the outage gate, then recover.

        What must fail fails (resendable requests wait at the gate and go again), the
        ``disconnected`` event is reported, and recovery starts, or gives up at once when
        reconnection is off.

        Args:
            error: Why the connection dropped.
            loop: The transport's event loop.
        """
        options = self._options
        can_recover = options.reconnect and options.max_retries > 0
        if can_recover:
            self._outage = loop.create_future()
            self._known_info = self._link.server_info()
        self._link.fail_pending(error)
        self._link.emit(ConnectionEvent("disconnected", 0, error))
        if can_recover:
            self._task = self._link.spawn(self._supervise(error))
        else:
            self._give_up(error, attempts=0)

    def stop(self, error: Exception) -> None:
        """Cancel recovery and wake every waiting request with ``error`` (``disconnect()``).

        Args:
            error: What the waiting requests fail with.
        """
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        self._end_outage(error)

    async def wait(self, deadline: float | None) -> None:
        """Wait in the bounded outage queue until the connection is back.

        Args:
            deadline: The loop time to give up at (None: no deadline).

        Raises:
            ConnectionClosedError: Recovery gave up.
            QueueFullError: ``queue_size`` requests already wait.
            RequestTimeoutError: The deadline passed first.
        """
        outage = self._outage
        if outage is None:
            self._raise_if_down()
            return
        if self._waiting >= self._options.queue_size:
            raise QueueFullError(
                f"{self._waiting} requests already wait for the connection "
                f"(queue_size={self._options.queue_size})"
            )
        self._waiting += 1
        try:
            if deadline is None:
                await asyncio.shield(outage)
            else:
                async with timeout_at(deadline):
                    await asyncio.shield(outage)
        except asyncio.TimeoutError:
            raise RequestTimeoutError(
                "the connection did not come back before the deadline"
            ) from None
        finally:
            self._waiting -= 1
        self._raise_if_down()

    def alias(self, handle_id: int) -> int:
        """Map a handle id to the id the handle has now.

        Args:
            handle_id: The id the caller knows.

        Returns:
            The handle's new id when it was re-attached after the outage, else ``handle_id``.
        """
        return self._aliases.get(handle_id, handle_id)

    # -- recovery --------------------------------------------------------------------------------
    def _raise_if_down(self) -> None:
        if self._down_error is not None:
            raise ConnectionClosedError(
                None, f"connection lost for good: {_describe(self._down_error)}"
            )

    def _end_outage(self, error: Exception | None) -> None:
        self._down_error = error
        outage, self._outage = self._outage, None
        if outage is not None and not outage.done():
            outage.set_result(None)

    async def _supervise(self, error: Exception) -> None:
        """Run recovery; whatever goes wrong ends in a typed ``given_up``, never a dead task."""
        self._attempt = 0
        try:
            await self._run(error)
        except asyncio.CancelledError:
            raise
        except JanusFastError as exc:
            logger.warning(
                "recovery of the connection to %s failed: %s",
                self._base_url,
                _describe(exc),
                extra=log_fields(server=self._base_url),
            )
            self._give_up(exc, attempts=self._attempt)
        except Exception as exc:  # a bug or a reply nothing validated: still a clean end
            logger.exception(
                "recovery of the connection to %s failed",
                self._base_url,
                extra=log_fields(server=self._base_url),
            )
            wrapped = TransportError(f"reconnection failed: {type(exc).__name__}: {exc}")
            wrapped.__cause__ = exc
            self._give_up(wrapped, attempts=self._attempt)

    async def _run(self, error: Exception) -> None:
        options = self._options
        last_error: Exception = error
        for attempt in range(1, options.max_retries + 1):
            self._attempt = attempt
            self._link.emit(ConnectionEvent("reconnecting", attempt, last_error))
            await asyncio.sleep(
                backoff_delay(attempt, options.retry_delay, options.retry_delay_max)
            )
            try:
                await self._attempt_once()
            except _Retry as retry:
                last_error = retry.error
                logger.info(
                    "reconnect attempt %d to %s failed: %s",
                    attempt,
                    self._base_url,
                    _describe(last_error),
                    extra=log_fields(server=self._base_url),
                )
                self._link.close_socket()
                continue
            self._task = None
            self._end_outage(None)
            logger.info(
                "reconnected to %s after %d attempt(s)",
                self._base_url,
                attempt,
                extra=log_fields(server=self._base_url),
            )
            self._link.emit(ConnectionEvent("reconnected", attempt, None))
            return
        self._give_up(last_error, attempts=options.max_retries)

    async def _attempt_once(self) -> None:
        try:
            await self._link.open_socket()
        except (JanusFastError, OSError) as exc:
            raise _Retry(exc) from exc
        try:
            await self._restore()
        except (TransportError, RequestTimeoutError) as exc:  # this connection failed too
            raise _Retry(exc) from exc

    def _give_up(self, error: Exception, *, attempts: int) -> None:
        """No connection any more: close, fail what waits, report every session lost."""
        self._task = None
        self._link.close_socket()
        self._link.mark_down()
        self._end_outage(error)
        self._link.fail_pending(ConnectionClosedError(None, f"connection lost: {_describe(error)}"))
        for session in list(self._link.sessions()):
            self._lose(session, SessionLostError(f"connection to Janus lost: {_describe(error)}"))
        logger.warning(
            "giving up on %s after %d attempt(s): %s",
            self._base_url,
            attempts,
            _describe(error),
            extra=log_fields(server=self._base_url),
        )
        self._link.emit(ConnectionEvent("given_up", attempts, error))

    def _lose(self, session: JanusSession, error: Exception) -> None:
        try:
            self._link.lose_session(session, error)
        except Exception:  # one session's listeners must not stop the others being told
            logger.exception(
                "reporting session %s lost raised",
                session.id,
                extra=log_fields(session_id=session.id, server=self._base_url),
            )

    def _send_all(
        self, requests: Iterable[tuple[JsonDict, int, int | None]]
    ) -> list[asyncio.Future[Message]]:
        """Queue every request now: they leave together, in the same coalesced frames."""
        timeout = self._options.connect_timeout
        return [self._link.send(body, expect, sid, timeout) for body, expect, sid in requests]

    async def _batch(
        self, requests: Iterable[tuple[JsonDict, int, int | None]]
    ) -> list[Message | BaseException]:
        """Send every request at once and wait for all of them.

        Args:
            requests: ``(body, expect, session_id)`` of each request.

        Returns:
            Each request's reply or error, in order.
        """
        return await _gather(self._send_all(requests))

    async def _restore(self) -> None:
        self._aliases.clear()  # earlier outages' waiters were all woken already
        sessions = [s for s in self._link.sessions() if s.id is not None]
        if not sessions:
            return
        # info and every claim at once: one round trip. (Claims to a Janus that does not keep
        # sessions just fail; the info says why.) The info is checked as soon as it is in.
        # Only when re-creating sessions on a Janus known not to keep them are the claims left
        # out (they would all fail, and cost Janus an error each).
        (info_future,) = self._send_all([({"janus": "info"}, Expect.SERVER_INFO, None)])
        claiming = (
            self._send_all(({"janus": "claim"}, Expect.SUCCESS, s.id) for s in sessions)
            if self._claims_may_succeed()
            else []
        )
        try:
            info = _json(await info_future, "info")
            keeps_sessions = _reclaim_timeout(info) > 0
            self._link.set_server_info(info)
        except BaseException:
            for claim_future in claiming:
                claim_future.cancel()  # the attempt ends here; their replies do not matter
            raise
        failed: list[tuple[JanusSession, Exception]] = []
        if keeps_sessions and not claiming:  # it keeps them now: claim after all
            claiming = self._send_all(({"janus": "claim"}, Expect.SUCCESS, s.id) for s in sessions)
        claims: list[Message | BaseException] = await _gather(claiming)
        if not claiming:
            claims = [SessionLostError("not claimed") for _ in sessions]
        for session, claim in zip(sessions, claims, strict=True):
            if isinstance(claim, JanusError | SessionLostError):
                reason: Exception = claim
                if not keeps_sessions:
                    reason = SessionLostError(
                        "Janus does not keep sessions across connections "
                        "(reclaim_session_timeout = 0)"
                    )
                failed.append((session, reason))
            else:
                _result(claim)  # anything but a Janus refusal ends this attempt
        if self._options.reconnect_policy == "recreate":
            await self._recreate(failed)
        else:
            for session, why in failed:
                self._lose(session, SessionLostError(f"session {session.id} not reclaimed: {why}"))

    def _claims_may_succeed(self) -> bool:
        if self._options.reconnect_policy != "recreate":
            return True
        known = self._known_info
        try:
            return known is None or _reclaim_timeout(known) > 0
        except ProtocolError:
            return True

    async def _recreate(self, failed: list[tuple[JanusSession, Exception]]) -> None:
        """Create the sessions again under their ids (retry-safe), then re-attach every handle.

        Each step is one batch.

        Args:
            failed: The sessions that could not be claimed, with why.
        """
        sessions = [session for session, _ in failed]
        replies = await self._batch(
            ({"janus": "create", "id": s.id}, Expect.SUCCESS, None) for s in sessions
        )
        back: list[JanusSession] = []
        conflicts: list[JanusSession] = []
        for session, reply in zip(sessions, replies, strict=True):
            if isinstance(reply, SessionConflictError):  # our earlier attempt went through
                conflicts.append(session)
            elif isinstance(reply, JanusError):
                self._lose(
                    session, SessionLostError(f"session {session.id} not re-created: {reply}")
                )
            else:
                new_id = reply_id(_result(reply), "create")
                if new_id != session.id:
                    self._link.move_session(session, new_id)
                back.append(session)
        claims = await self._batch(({"janus": "claim"}, Expect.SUCCESS, s.id) for s in conflicts)
        for session, claim in zip(conflicts, claims, strict=True):
            if isinstance(claim, JanusError):
                self._lose(
                    session, SessionLostError(f"session {session.id} not reclaimed: {claim}")
                )
            else:
                _result(claim)
                back.append(session)
        handles = [(s, plugin) for s in back for plugin in list(s.plugin_handles.values())]
        attaches = await self._batch(
            ({"janus": "attach", "plugin": plugin.name}, Expect.SUCCESS, session.id)
            for session, plugin in handles
        )
        refused: dict[JanusSession, Exception] = {}
        for (session, plugin), reply in zip(handles, attaches, strict=True):
            if isinstance(reply, JanusError):
                refused.setdefault(session, reply)
                continue
            handle_id = reply_id(_result(reply), "attach")
            old_id = plugin.id
            self._link.move_handle(session, plugin, handle_id)
            if old_id is not None:
                self._aliases[old_id] = handle_id
        for session, why in refused.items():
            self._lose(session, SessionLostError(f"a handle of session {session.id}: {why}"))
        for session in back:
            if session not in refused:
                logger.info(
                    "re-created session %s with %d handle(s)",
                    session.id,
                    len(session.plugin_handles),
                    extra=log_fields(session_id=session.id, server=self._base_url),
                )


async def _gather(futures: list[asyncio.Future[Message]]) -> list[Message | BaseException]:
    if not futures:
        return []
    return list(await asyncio.gather(*futures, return_exceptions=True))


def _result(outcome: _T | BaseException) -> _T:
    """A batch result as a value, or its error raised."""
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def _json(reply: Message, what: str) -> JsonDict:
    try:
        body = reply.json()
    except (orjson.JSONDecodeError, ValueError) as exc:
        raise ProtocolError(f"Janus's {what} reply is not valid JSON: {exc}") from None
    return body


def _reclaim_timeout(info: JsonDict) -> float:
    """Read ``reclaim-session-timeout`` from ``info``, strictly (a bad value is not guessed).

    Args:
        info: the server's ``info`` answer.

    Returns:
        Seconds; 0 when missing (Janus keeps no session across a lost connection).

    Raises:
        ProtocolError: the value is not a finite number ≥ 0: recovery must not decide
            whether to reclaim sessions from an answer it cannot read.
    """
    return info_seconds(info, "reclaim-session-timeout", missing=0.0)


def _describe(error: BaseException) -> str:
    """An error's text, or its repr when the text is empty (``RequestTimeoutError`` has none)."""
    return str(error) or repr(error)
