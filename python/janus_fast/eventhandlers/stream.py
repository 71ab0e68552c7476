"""``EventStream``: the one bounded, de-duplicated async stream every receiver feeds.

Rule: ``publish`` never blocks and never raises: receivers call it from their connection handlers
and must answer Janus at once (a slow answer makes Janus retransmit). At the bound the oldest event
is dropped and counted (``stats()["dropped"]``; one WARNING per stream). An event already seen in
the last ``dedup_window`` events (a retransmission) is discarded and counted.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson

from janus_fast._compat import timeout as _timeout
from janus_fast.errors import InvalidOptionError
from janus_fast.eventhandlers.events import JanusEvent, parse_event
from janus_fast.logfields import log_fields

logger = logging.getLogger("janus_fast.eventhandlers")

DedupKey = tuple[Any, ...]


def dedup_key(raw: Mapping[str, Any], server: str | None) -> DedupKey:
    """Return what makes two received events the same event.

    A retransmission repeats the bytes, so the header fields and a hash of the body identify it
    (the body keeps Janus's key order).

    Args:
        raw: one event object as received.
        server: the receiver's tag.

    Returns:
        A hashable key, equal for a retransmission of the same event.
    """
    try:
        body_hash = hash(orjson.dumps(raw.get("event")))
    except TypeError:  # not JSON-serialisable: cannot be a retransmission we can recognise
        body_hash = id(raw)
    return (
        server,
        raw.get("emitter"),
        raw.get("type"),
        raw.get("subtype"),
        raw.get("timestamp"),
        raw.get("session_id"),
        raw.get("handle_id"),
        body_hash,
    )


class _Dedup:
    """The keys of the last ``size`` events, oldest forgotten first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._order: collections.deque[DedupKey] = collections.deque()
        self._seen: set[DedupKey] = set()

    def seen(self, key: DedupKey) -> bool:
        """Return True if ``key`` is in the window; otherwise remember it and return False."""
        if self._size == 0:
            return False
        if key in self._seen:
            return True
        self._order.append(key)
        self._seen.add(key)
        if len(self._order) > self._size:
            self._seen.discard(self._order.popleft())
        return False


class EventStream:
    """Typed Janus events from any number of receivers, in arrival order.

    ``async for event in stream`` until ``close()``; or ``await stream.get(timeout=…)``.

    Args:
        maxsize: events queued at most; beyond it the oldest is dropped (counted).
        dedup_window: how many recent events a retransmission is recognised among (0: off).

    Raises:
        InvalidOptionError: ``maxsize`` < 1 or ``dedup_window`` < 0 (or not integers).
    """

    def __init__(self, maxsize: int = 10_000, *, dedup_window: int = 4096) -> None:
        if not isinstance(maxsize, int) or isinstance(maxsize, bool) or maxsize < 1:
            raise InvalidOptionError(f"maxsize must be an integer >= 1, not {maxsize!r}")
        if not isinstance(dedup_window, int) or isinstance(dedup_window, bool) or dedup_window < 0:
            raise InvalidOptionError(f"dedup_window must be an integer >= 0, not {dedup_window!r}")
        self.maxsize = maxsize
        self._queue: collections.deque[JanusEvent] = collections.deque()
        self._dedup = _Dedup(dedup_window)
        self._ready = asyncio.Event()
        self._closed = False
        self._warned = False
        self._stats = dict.fromkeys(
            ("received", "delivered", "dropped", "duplicates", "invalid"), 0
        )

    def __repr__(self) -> str:
        return f"EventStream(maxsize={self.maxsize}, queued={len(self._queue)}, {self._stats})"

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._closed

    def stats(self) -> dict[str, int]:
        """Return the counters.

        Returns:
            ``received`` (accepted into the queue), ``delivered`` (taken out), ``dropped``
            (oldest dropped at the bound), ``duplicates``, ``invalid`` (payloads refused), and
            ``queued`` (now).
        """
        return dict(self._stats, queued=len(self._queue))

    def count_invalid(self) -> None:
        """Count a payload a receiver refused because it was not Janus events."""
        self._stats["invalid"] += 1

    def publish(self, raw_events: list[dict[str, Any]], server: str | None = None) -> int:
        """Queue events decoded from one payload, skipping duplicates.

        Args:
            raw_events: the event objects of one payload (``decode_payload``).
            server: the receiver's tag (None: each event's ``emitter``).

        Returns:
            How many were new (not duplicates).
        """
        added = 0
        for raw in raw_events:
            if self._dedup.seen(dedup_key(raw, server)):
                self._stats["duplicates"] += 1
                continue
            self.put(parse_event(raw, server))
            added += 1
        return added

    def put(self, event: JanusEvent) -> None:
        """Queue one typed event (no de-duplication); at the bound drop the oldest."""
        if self._closed:
            return
        if len(self._queue) >= self.maxsize:
            self._queue.popleft()
            self._stats["dropped"] += 1
            if not self._warned:
                self._warned = True
                logger.warning(
                    "event stream full (%d events): dropping the oldest; "
                    "see stats()['dropped'] for the count",
                    self.maxsize,
                    extra=log_fields(),
                )
        self._queue.append(event)
        self._stats["received"] += 1
        self._ready.set()

    def get_nowait(self) -> JanusEvent | None:
        """Take the oldest queued event; return None if there is none."""
        if not self._queue:
            return None
        self._stats["delivered"] += 1
        if len(self._queue) == 1:
            self._ready.clear()
        return self._queue.popleft()

    async def get(self, timeout: float | None = None) -> JanusEvent:
        """Wait for the next event.

        Args:
            timeout: seconds to wait at most; None: until one comes or the stream closes.

        Returns:
            The oldest queued event.

        Raises:
            InvalidOptionError: ``timeout`` is negative, NaN or infinite.
            asyncio.TimeoutError: no event within ``timeout``.
            EOFError: the stream is closed and drained.
        """
        if timeout is not None and not (math.isfinite(timeout) and timeout >= 0):
            raise InvalidOptionError(f"timeout must be finite and >= 0, not {timeout!r}")
        async with _timeout(timeout):
            while True:
                event = self.get_nowait()
                if event is not None:
                    return event
                if self._closed:
                    raise EOFError("event stream closed")
                await self._ready.wait()

    def close(self) -> None:
        """End the stream: iteration stops once the queued events are taken."""
        self._closed = True
        self._ready.set()

    def __aiter__(self) -> AsyncIterator[JanusEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[JanusEvent]:
        while True:
            try:
                yield await self.get()
            except EOFError:
                return
