"""Typed pool events and their bounded delivery.

Rule: the pool reports every change of a server (state, drain, loss) as one frozen event. Each
event goes to every callback (``on``), then to every open ``events()`` iterator. A callback that
raises is logged and the others carry on; a coroutine callback runs as a task the hub keeps (at
most ``MAX_CALLBACK_TASKS`` at once, beyond that it is skipped and counted). Each iterator buffers
``ITERATOR_BUFFER`` events and then drops its oldest (counted in ``dropped``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from janus_fast.logfields import log_fields
from janus_fast.pool.spec import ServerState

logger = logging.getLogger("janus_fast.pool")

ITERATOR_BUFFER = 1024
MAX_CALLBACK_TASKS = 256


@dataclasses.dataclass(frozen=True)
class PoolEvent:
    """Base of every pool event; ``server`` is the server's name."""

    server: str


@dataclasses.dataclass(frozen=True)
class ServerStateChanged(PoolEvent):
    """A server moved from ``old`` to ``new`` (``reason``: why, e.g. the probe's error)."""

    old: ServerState
    new: ServerState
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class ServerDraining(PoolEvent):
    """``drain()`` started on the server: no new placements; Janus refuses new sessions."""

    keys: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class ServerDrained(PoolEvent):
    """``drain()`` ended.

    Attributes:
        remaining: sessions still there (0: fully drained).
        timed_out: whether the deadline passed with sessions still there.
        janus_refusing: Janus confirmed it refuses new sessions (Admin
            ``accept_new_sessions``).
    """

    remaining: int
    timed_out: bool
    janus_refusing: bool


@dataclasses.dataclass(frozen=True)
class ServerLost(PoolEvent):
    """The server went down: what this pool had on it, and where its keys go now.

    ``sessions`` are the ids of the sessions this pool created there that were still alive,
    ``keys`` the keys placed there, ``moved`` each key's new server (None: no server left).
    The caller re-creates what it needs on the new servers (``pool.session(key)``).
    """

    sessions: tuple[int, ...]
    keys: tuple[str, ...]
    moved: Mapping[str, str | None]


@dataclasses.dataclass(frozen=True)
class ServerRecovered(PoolEvent):
    """A server that was down answers again (up or degraded).

    Nothing moves by itself: the caller decides whether to move each key back
    (``pool.session(key)`` now lands on the recovered server) or to leave it.

    Attributes:
        keys: this pool's keys whose rendezvous owner is that server again.
        placed: where each is recorded now (None: on no server, it had none left).
    """

    keys: tuple[str, ...]
    placed: Mapping[str, str | None]


PoolCallback = Callable[[PoolEvent], Awaitable[None] | None]


class PoolEventStream:
    """The async iterator ``JanusPool.events()`` returns (ends with ``aclose()`` or the pool)."""

    def __init__(self, hub: EventHub, types: tuple[type[PoolEvent], ...]) -> None:
        self._hub = hub
        self._types = types
        self.queue: asyncio.Queue[PoolEvent | None] = asyncio.Queue(ITERATOR_BUFFER)
        #: Events dropped because this iterator fell ``ITERATOR_BUFFER`` behind.
        self.dropped = 0

    def offer(self, event: PoolEvent | None) -> None:
        """Queue an event of the wanted types (None: the end); at the bound drop the oldest."""
        if event is not None and self._types and not isinstance(event, self._types):
            return
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)

    def __aiter__(self) -> PoolEventStream:
        return self

    async def __anext__(self) -> PoolEvent:
        event = await self.queue.get()
        if event is None:
            self._hub.unsubscribe(self)
            raise StopAsyncIteration
        return event

    async def aclose(self) -> None:
        """Stop this iterator: it ends after the events already queued."""
        self._hub.unsubscribe(self)
        self.offer(None)


class EventHub:
    """Fan-out of pool events to callbacks and iterators (see the module rule)."""

    def __init__(self) -> None:
        self._callbacks: list[PoolCallback] = []
        self._streams: list[PoolEventStream] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Coroutine callbacks skipped because ``MAX_CALLBACK_TASKS`` were still running.
        self.callbacks_skipped = 0
        self.delivered = 0

    def on(self, callback: PoolCallback) -> None:
        """Call ``callback(event)`` for every event (sync, or async run as a task)."""
        self._callbacks.append(callback)

    def off(self, callback: PoolCallback) -> None:
        """Remove a callback added with ``on`` (nothing if absent)."""
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def subscribe(self, types: tuple[type[PoolEvent], ...]) -> PoolEventStream:
        """Return a new iterator over the events of ``types`` (empty: every event)."""
        stream = PoolEventStream(self, types)
        self._streams.append(stream)
        return stream

    def unsubscribe(self, stream: PoolEventStream) -> None:
        """Stop feeding ``stream`` (nothing if it is not subscribed)."""
        if stream in self._streams:
            self._streams.remove(stream)

    def emit(self, event: PoolEvent) -> None:
        """Deliver ``event`` to every callback and iterator; a raising callback is logged."""
        self.delivered += 1
        logger.info("pool event: %r", event, extra=log_fields())
        for callback in list(self._callbacks):
            try:
                result = callback(event)
            except Exception:
                logger.exception("pool callback %r raised", callback, extra=log_fields())
                continue
            if inspect.isawaitable(result):
                if len(self._tasks) >= MAX_CALLBACK_TASKS:
                    self.callbacks_skipped += 1
                    logger.warning(
                        "pool callback %r skipped: too many still running",
                        callback,
                        extra=log_fields(),
                    )
                    if inspect.iscoroutine(result):
                        result.close()
                    continue
                task = asyncio.ensure_future(_logged(result, callback))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        for stream in list(self._streams):
            stream.offer(event)

    async def close(self, deadline: float) -> None:
        """End every iterator; wait (until ``deadline`` seconds) for running callbacks."""
        for stream in list(self._streams):
            stream.offer(None)
        self._streams.clear()
        tasks = list(self._tasks)
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=deadline)
            for task in pending:
                task.cancel()


async def _logged(awaitable: Awaitable[None], callback: PoolCallback) -> None:
    try:
        await awaitable
    except Exception:
        logger.exception("pool callback %r raised", callback, extra=log_fields())


__all__ = [
    "EventHub",
    "PoolCallback",
    "PoolEvent",
    "PoolEventStream",
    "ServerDrained",
    "ServerDraining",
    "ServerLost",
    "ServerRecovered",
    "ServerStateChanged",
]
