"""janus-client's ``MessageTransaction`` and ``is_subset``: same names and behaviour, no bugs.

Rule: a MessageTransaction is a *stream*: every message carrying its transaction id is kept until
``done()``; ``get(matcher, timeout)`` returns the first kept or future message the matcher accepts.
Messages are kept in their lazy core form and turned into dicts only when a ``get`` looks at them.
Unlike janus-client, ``timeout`` is an overall deadline (default: the transport's ``timeout``), a
lost connection fails a waiting ``get`` at once, and ``async with`` guarantees ``done()``.
Bound: a stream keeps at most ``MAX_KEPT_MESSAGES`` messages; beyond it the oldest is dropped
(counted in ``messages_dropped`` when no ``get`` had returned it, one warning per stream).
Lifetime: a stream lives until ``done()`` (or ``async with`` exit), until the caller drops its
``MessageTransaction`` (the transport's core holds only the stream's ``state``, so a dropped
transaction is released as ``done()`` would, on its loop soon after), or until its session or
connection ends (a waiting ``get`` then fails); it has no deadline of its own, each ``get`` has
one. A message that is not valid JSON is dropped with one ``ProtocolError`` and never blocks the
messages after it. The machinery is in the extension (``janus_fast._core.Transaction`` and
``StreamState``); this module holds the class users see and the three Python helpers it calls:
``expire_waiter``, ``warn_dropped`` and ``supervise_release``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Protocol

from janus_fast import _core
from janus_fast._core import StreamState
from janus_fast.errors import RequestTimeoutError
from janus_fast.logfields import log_fields

logger = logging.getLogger("janus_fast.message_transaction")

JsonDict = dict[str, Any]
Matcher = JsonDict | Callable[[JsonDict], Any]

#: Messages one stream keeps (arrived, not yet released by ``done()``); beyond it the oldest is
#: dropped. A request's real replies are a handful; this only stops a chatty or hostile server.
#: Read when a transport opens a stream.
MAX_KEPT_MESSAGES = 1_000


class Deadlines(Protocol):
    """Where a waiting ``get`` registers its deadline.

    The deadline goes on the stream's own entry in the transport's core, under the transport's
    one timer for all deadlines.
    """

    def watch_stream(self, stream: StreamState, deadline: float | None) -> bool:
        """Give ``stream`` the waiting ``get``'s deadline, replacing the one it had.

        When it passes, the transport calls ``stream.deadline_passed()``.

        Args:
            stream: The state of the transaction whose ``get`` waits.
            deadline: The loop time the wait ends at, or None (no deadline).

        Returns:
            False when the transport no longer knows the stream (the caller keeps its own timer
            then).
        """


def is_subset(dict_1: JsonDict, dict_2: JsonDict) -> bool:
    """Tell whether ``dict_2`` is contained in ``dict_1`` (recursively), as in janus-client.

    ``dict``, ``str`` and ``int`` values (``bool`` counts as ``int``) are compared; any other value
    type (None, list, float) only requires the key to be present — janus-client's documented rule,
    kept so ported matchers behave the same.

    Args:
        dict_1: The message.
        dict_2: What it must contain.

    Returns:
        True when every key of ``dict_2`` is in ``dict_1`` with a matching value.

    Raises:
        TypeError: Either argument is not a dict (janus-client's texts).
    """
    return _core.is_subset(dict_1, dict_2)


class MessageTransaction(_core.Transaction):
    """The messages of one request, in arrival order, until ``done()`` (janus-client's API).

    It keeps at most ``MAX_KEPT_MESSAGES`` of them (``messages_dropped`` counts the oldest
    dropped). Returned by ``JanusSession.send`` and ``JanusPlugin.send``.
    ``async with transaction:`` calls ``done()`` at the end; a transaction dropped without
    ``done()`` is released as ``done()`` would. The machinery is the extension's
    (``janus_fast._core.Transaction``): ``get`` and ``done`` return awaitables (also usable with
    ``asyncio.create_task``) rather than coroutines, and the transport's core hands messages to
    the stream's ``state`` without a Python call per message.

    Args:
        id: The transaction id; a random one when None.
        timeout: The default deadline of each ``get``, in seconds (None: none).
        on_done: Called with the stream's ``state`` by ``done()`` (may return an awaitable).
        route: ``(session_id, handle_id)`` the request was sent for: where leftovers go on
            ``done()``.
        loop: The event loop of its waits; the running loop when None.
        deadlines: Where a waiting ``get`` registers its deadline (the transport); None: a
            timer of its own.
        core: The transport's core (``JanusCore`` or ``WebSocketConnection``): a waiting
            ``get``'s deadline and ``done()`` reach it without Python.
        on_leftovers: Called with the stream's ``state`` on release when messages no ``get``
            took remain (acks excepted).
        max_kept: How many messages it keeps (default ``MAX_KEPT_MESSAGES``).
    """

    __slots__ = ()

    #: Whether this class keeps the base ``on_done`` (``done()`` then calls the hook directly).
    _plain_on_done: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Note whether a subclass overrides ``on_done`` (janus-client subclasses may).

        Args:
            **kwargs: passed on to ``object.__init_subclass__``.
        """
        super().__init_subclass__(**kwargs)
        cls._plain_on_done = cls.on_done is MessageTransaction.on_done

    async def on_done(self) -> None:
        """Hook run by ``done()``: unregisters the transaction from its transport."""
        result = self.state.call_on_done()
        if result is not None:
            await result


#: Asynchronous release hooks still running (kept referenced until they end).
_RELEASES: set[asyncio.Future[Any]] = set()


def supervise_release(hook_result: Awaitable[Any]) -> None:
    """Run an asynchronous release hook of a dropped transaction as a supervised task.

    Called by the extension when a stream released on drop has an ``on_done`` hook that
    returned an awaitable; a failure is logged, never lost.

    Args:
        hook_result: What the hook returned.
    """
    task = asyncio.ensure_future(hook_result)
    _RELEASES.add(task)
    task.add_done_callback(_release_finished)


def _release_finished(task: asyncio.Future[Any]) -> None:
    _RELEASES.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error(
            "releasing a dropped transaction failed", exc_info=task.exception(), extra=log_fields()
        )


def warn_dropped(stream: StreamState) -> None:
    """Log a stream's first message dropped at its bound (called by the extension, once).

    Args:
        stream: The stream that dropped its oldest message.
    """
    session_id, handle_id = stream.route
    logger.warning(
        "%r: %d messages kept already and no get() took them; dropping the oldest "
        "(counted in messages_dropped; call get() or done())",
        stream,
        len(stream),
        extra=log_fields(session_id=session_id, handle_id=handle_id, transaction=stream.id),
    )


def expire_waiter(waiter: asyncio.Future[None]) -> None:
    """Fail a waiting ``get``'s future with ``RequestTimeoutError``: its deadline passed.

    Args:
        waiter: The future the ``get`` waits on.
    """
    if not waiter.done():
        waiter.set_exception(RequestTimeoutError("no matching message before the deadline"))
