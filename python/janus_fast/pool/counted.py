"""``CountedSession``: a ``JanusSession`` whose requests the pool counts per server.

Rule: counting adds one clock read and a few dict increments per request, nothing else; the
request itself, its errors and its deadline are the session's own. The type is the Janus request
(``attach``, ``keepalive``, ``trickle`` ...) or, for plugin messages, ``message:<request>`` — at
most ``MAX_TYPES`` distinct types per server, the rest counted as ``other``. Outcomes: ``ok``,
``timeout``, ``janus_error``, ``connection``, ``error``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from janus_fast._core import Message
from janus_fast.errors import JanusError, RequestTimeoutError, TransportError
from janus_fast.pool.metrics import ServerMetrics
from janus_fast.session import JanusSession

MAX_TYPES = 64


def request_type(body: dict[str, Any], known: set[str]) -> str:
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
    """A session placed by a ``JanusPool``; ``request()`` (hence every plugin request) is
    counted in its server's metrics.
    """

    pool_metrics: ServerMetrics | None = None

    async def request(self, body: dict[str, Any], *args: Any, **kwargs: Any) -> Message:
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


__all__ = ["CountedSession", "request_type"]
