"""``CountedSession``: a ``JanusSession`` whose requests the pool counts per server.

Rule: counting adds one clock read and a few dict increments per request, nothing else; the
request itself, its errors and its deadline are the session's own. The type is the Janus request
(``attach``, ``keepalive``, ``trickle`` ...) or, for plugin messages, ``message:<request>`` — at
most ``MAX_TYPES`` distinct types per server, the rest counted as ``other``. Outcomes: ``ok``,
``timeout``, ``janus_error``, ``connection``, ``error``.

A session also knows which of its calls are waiting (one set add and discard per request), so the
pool can end them all with a typed error when it declares the session's server down
(``end_calls``), including calls parked in the transport's outage queue.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from janus_fast._core import Message
from janus_fast.errors import JanusError, RequestTimeoutError, SessionLostError, TransportError
from janus_fast.pool.metrics import ServerMetrics
from janus_fast.session import JanusSession

MAX_TYPES = 64


def request_type(body: dict[str, Any], known: set[str]) -> str:
    """Name the type of a request for the metrics, keeping the number of types bounded.

    Args:
        body: the Janus request.
        known: the types counted so far (a new type is added to it).

    Returns:
        The ``janus`` value, ``message:<request>`` for a plugin message (its name cut to 40
        characters), or ``other`` once ``MAX_TYPES`` types are known.
    """
    kind = str(body.get("janus", "?"))
    if kind == "message":
        inner = body.get("body")
        name = inner.get("request") if isinstance(inner, dict) else None
        if isinstance(name, str):
            kind = f"message:{name[:40]}"
    if kind in known:
        return kind
    if len(known) >= MAX_TYPES:
        return "other"
    known.add(kind)
    return kind


def outcome_of(error: BaseException) -> str:
    """Return the metrics outcome of a failed request.

    Args:
        error: what the request raised.

    Returns:
        ``timeout``, ``janus_error``, ``connection``, ``cancelled`` or ``error``.
    """
    if isinstance(error, RequestTimeoutError):
        return "timeout"
    if isinstance(error, JanusError):
        return "janus_error"
    if isinstance(error, TransportError):
        return "connection"
    if isinstance(error, asyncio.CancelledError):
        return "cancelled"
    return "error"


class CountedSession(JanusSession):
    """A session placed by a ``JanusPool``.

    ``request()`` (hence every plugin request) is counted in its server's metrics.
    """

    pool_metrics: ServerMetrics | None = None
    #: The tasks waiting in ``request()`` now, and those ``end_calls`` cancelled.
    _calls: set[asyncio.Task[Any]] | None = None
    _ended: dict[asyncio.Task[Any], SessionLostError] | None = None

    async def request(self, body: dict[str, Any], *args: Any, **kwargs: Any) -> Message:
        """Send a request in this session (see ``JanusSession.request``), counted per server.

        Args:
            body: the Janus request.
            *args: passed on to ``JanusSession.request``.
            **kwargs: passed on to ``JanusSession.request``.

        Returns:
            The completing reply.

        Raises:
            SessionLostError: the pool ended the call (``end_calls``: its server is down), or
                any error of ``JanusSession.request``.
            asyncio.CancelledError: the call was cancelled by its caller.
        """
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - request() always runs in a task
            return await self._counted(body, args, kwargs)
        if self._calls is None:
            self._calls = set()
        self._calls.add(task)
        try:
            return await self._counted(body, args, kwargs)
        except asyncio.CancelledError:
            error = self._ended.pop(task, None) if self._ended else None
            if error is None:
                raise
            uncancel = getattr(task, "uncancel", None)  # Python 3.11+
            if uncancel is not None:
                uncancel()
            raise error from None
        finally:
            self._calls.discard(task)

    async def _counted(self, body: dict[str, Any], args: Any, kwargs: Any) -> Message:
        metrics = self.pool_metrics
        if metrics is None:
            return await super().request(body, *args, **kwargs)
        kind = request_type(body, metrics.request_types)
        started = time.perf_counter()
        try:
            reply = await super().request(body, *args, **kwargs)
        except BaseException as exc:
            metrics.observe(kind, outcome_of(exc), time.perf_counter() - started)
            raise
        metrics.observe(kind, "ok", time.perf_counter() - started)
        return reply

    def end_calls(self, error: SessionLostError) -> int:
        """Fail every call waiting in this session with a copy of ``error``, wherever it waits.

        Args:
            error: the typed error the calls raise (a ``SessionLostError``, e.g.
                ``ServerDownError``).

        Returns:
            How many calls were ended.
        """
        calls = [task for task in self._calls or () if not task.done()]
        if calls and self._ended is None:
            self._ended = {}
        for task in calls:
            assert self._ended is not None
            self._ended[task] = type(error)(*error.args)
            task.cancel()
        return len(calls)


__all__ = ["CountedSession", "request_type"]
