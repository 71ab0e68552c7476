"""Typed Janus events, and their ordered, isolated delivery to user code.

Rule: an event for a handle or session is delivered in arrival order to (1) its ``on_receive``
(janus-client's dict API), (2) callbacks registered with ``on(type, callback)`` and (3) every open
``events()`` iterator. Delivery never runs in the reader: one runner task per event loop serves
every target with events waiting, running each handler until it returns; a handler that suspends
(awaits a request, a lock ...) keeps that task — the rest of its target's events follow it there —
while a new runner takes over the other targets, so a handler may await requests on the same
connection and never holds up another target. A handler that raises is logged and the others (and
the reader) carry on. Idle targets hold no task. A busy target keeps at most ``event_queue_size``
events waiting (default 10,000); beyond it the oldest are dropped, counted in ``events_dropped``
and reported by one WARNING per overflow episode.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import inspect
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any, ClassVar

from janus_fast._compat import StrEnum
from janus_fast.logfields import log_fields

logger = logging.getLogger("janus_fast.events")
_running_loop = asyncio.get_running_loop

JsonDict = dict[str, Any]


class EventType(StrEnum):
    """Values of the ``janus`` field of events pushed without a (pending) transaction."""

    EVENT = "event"
    WEBRTCUP = "webrtcup"
    MEDIA = "media"
    SLOWLINK = "slowlink"
    HANGUP = "hangup"
    DETACHED = "detached"
    ICE_FAILED = "ice-failed"
    TRICKLE = "trickle"
    TIMEOUT = "timeout"
    #: Synthetic (not from Janus): the session is gone — timed out, not reclaimed after a
    #: reconnection, HTTP 404/403 on its long poll, or the transport gave up.
    LOST = "lost"
    #: Any other ``janus`` value (kept as data, never an error).
    OTHER = "other"


@dataclasses.dataclass(frozen=True, slots=True)
class JanusEvent:
    """An event for a session or handle; the base of every typed event.

    Attributes:
        type: the event's ``EventType`` (a class attribute of each subclass).
        session_id: the ``session_id`` of the message, if it has an integer one.
        handle_id: the ``sender`` of the message (the handle), if it has an integer one.
        message: the full Janus message, as received.
    """

    type: ClassVar[EventType] = EventType.OTHER
    session_id: int | None
    handle_id: int | None
    message: JsonDict

    @property
    def janus(self) -> str:
        """The message's ``janus`` field (``""`` if absent)."""
        return str(self.message.get("janus", ""))


@dataclasses.dataclass(frozen=True, slots=True)
class PluginEvent(JanusEvent):
    """A plugin ``event`` (with ``plugindata`` and maybe a ``jsep``)."""

    type: ClassVar[EventType] = EventType.EVENT

    @property
    def plugin(self) -> str | None:
        """The plugin package (``plugindata.plugin``, e.g. ``janus.plugin.echotest``), if any."""
        plugindata = self.message.get("plugindata")
        return plugindata.get("plugin") if isinstance(plugindata, dict) else None

    @property
    def data(self) -> JsonDict:
        """The plugin's payload (``plugindata.data``); ``{}`` when it is missing or not a dict."""
        plugindata = self.message.get("plugindata")
        data = plugindata.get("data") if isinstance(plugindata, dict) else None
        return data if isinstance(data, dict) else {}

    @property
    def jsep(self) -> JsonDict | None:
        """The event's JSEP (``{"type", "sdp"}``), if it carries one."""
        jsep = self.message.get("jsep")
        return jsep if isinstance(jsep, dict) else None


@dataclasses.dataclass(frozen=True, slots=True)
class WebRTCUpEvent(JanusEvent):
    """The handle's PeerConnection is up (ICE and DTLS done)."""

    type: ClassVar[EventType] = EventType.WEBRTCUP


@dataclasses.dataclass(frozen=True, slots=True)
class MediaEvent(JanusEvent):
    """Janus started or stopped receiving a medium on the handle."""

    type: ClassVar[EventType] = EventType.MEDIA

    @property
    def media_type(self) -> str | None:
        """The medium: ``"audio"`` or ``"video"`` (the message's ``type``), if given."""
        return self.message.get("type")

    @property
    def receiving(self) -> bool:
        """Whether Janus is receiving that medium now."""
        return bool(self.message.get("receiving"))

    @property
    def mid(self) -> str | None:
        """The ``mid`` of the stream concerned, if given."""
        return self.message.get("mid")


@dataclasses.dataclass(frozen=True, slots=True)
class SlowLinkEvent(JanusEvent):
    """Janus saw packet loss on the handle's PeerConnection."""

    type: ClassVar[EventType] = EventType.SLOWLINK

    @property
    def uplink(self) -> bool:
        """True: the peer reported packets from Janus missing; False: Janus misses the peer's."""
        return bool(self.message.get("uplink"))

    @property
    def lost(self) -> int:
        """How many packets were lost (0 if not given)."""
        return int(self.message.get("lost") or 0)


@dataclasses.dataclass(frozen=True, slots=True)
class HangupEvent(JanusEvent):
    """The handle's PeerConnection was closed."""

    type: ClassVar[EventType] = EventType.HANGUP

    @property
    def reason(self) -> str:
        """Why Janus hung up (``""`` if not given)."""
        return str(self.message.get("reason", ""))


@dataclasses.dataclass(frozen=True, slots=True)
class DetachedEvent(JanusEvent):
    """The handle was detached from its plugin."""

    type: ClassVar[EventType] = EventType.DETACHED


@dataclasses.dataclass(frozen=True, slots=True)
class IceFailedEvent(JanusEvent):
    """ICE failed on the handle's PeerConnection."""

    type: ClassVar[EventType] = EventType.ICE_FAILED


@dataclasses.dataclass(frozen=True, slots=True)
class TrickleEvent(JanusEvent):
    """A server ICE candidate (``full_trickle``), or ``completed``."""

    type: ClassVar[EventType] = EventType.TRICKLE

    @property
    def candidate(self) -> JsonDict | None:
        """The candidate (``{"sdpMid", "sdpMLineIndex", "candidate"}``); None for ``completed``."""
        candidate = self.message.get("candidate")
        if isinstance(candidate, dict) and not candidate.get("completed"):
            return candidate
        return None

    @property
    def completed(self) -> bool:
        """Whether this is the end-of-candidates mark."""
        candidate = self.message.get("candidate")
        return isinstance(candidate, dict) and bool(candidate.get("completed"))


@dataclasses.dataclass(frozen=True, slots=True)
class SessionTimeoutEvent(JanusEvent):
    """Janus destroyed the session for inactivity."""

    type: ClassVar[EventType] = EventType.TIMEOUT


@dataclasses.dataclass(frozen=True, slots=True)
class SessionLostEvent(JanusEvent):
    """The session can no longer be used (see ``reason``); its handles are released."""

    type: ClassVar[EventType] = EventType.LOST

    @property
    def reason(self) -> str:
        """Why the session is lost (timeout, not reclaimed, refused long poll, gave up)."""
        return str(self.message.get("reason", ""))


@dataclasses.dataclass(frozen=True, slots=True)
class OtherEvent(JanusEvent):
    """A message of any other ``janus`` type, kept as data."""

    type: ClassVar[EventType] = EventType.OTHER


_EVENT_CLASSES: dict[str, type[JanusEvent]] = {
    cls.type.value: cls
    for cls in (
        PluginEvent,
        WebRTCUpEvent,
        MediaEvent,
        SlowLinkEvent,
        HangupEvent,
        DetachedEvent,
        IceFailedEvent,
        TrickleEvent,
        SessionTimeoutEvent,
        SessionLostEvent,
    )
}


async def _nothing() -> None:
    pass


def parse_event(message: JsonDict) -> JanusEvent:
    """Build the typed event for a Janus message.

    Args:
        message: a decoded Janus message (an event or notification).

    Returns:
        The ``JanusEvent`` subclass instance for its ``janus`` type; ``OtherEvent`` for a type
        without its own class.
    """
    cls = _EVENT_CLASSES.get(str(message.get("janus")), OtherEvent)
    session_id = message.get("session_id")
    sender = message.get("sender")
    return cls(
        session_id if isinstance(session_id, int) else None,
        sender if isinstance(sender, int) else None,
        message,
    )


EventCallback = Callable[[JanusEvent], Awaitable[None] | None]
_END_OF_EVENTS = object()
#: Events waiting for ``on_receive`` per session or handle (option ``event_queue_size``) before
#: the oldest are dropped: counted in ``events_dropped``, one WARNING per overflow episode.
EVENT_QUEUE_SIZE = 10_000
#: Events buffered per ``events()`` iterator before the oldest are dropped (and counted).
ITERATOR_BUFFER = 1024


class _Subscription:
    __slots__ = ("dropped", "queue", "types")

    def __init__(self, types: frozenset[EventType] | None) -> None:
        self.types = types
        self.queue: asyncio.Queue[JanusEvent | None] = asyncio.Queue(ITERATOR_BUFFER)
        self.dropped = 0

    def offer(self, event: JanusEvent) -> None:
        if self.types is not None and event.type not in self.types:
            return
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)


class EventStream:
    """The async iterator returned by ``events()``."""

    __slots__ = ("_source", "_subscription")

    def __init__(self, source: EventSource, subscription: _Subscription) -> None:
        self._source = source
        self._subscription = subscription

    @property
    def dropped(self) -> int:
        """Events dropped because this iterator fell more than ``ITERATOR_BUFFER`` behind."""
        return self._subscription.dropped

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> JanusEvent:
        event = await self._subscription.queue.get()
        if event is None:
            self._detach()
            raise StopAsyncIteration
        return event

    async def aclose(self) -> None:
        """Stop this iterator: it receives no more events (those buffered are discarded)."""
        self._detach()

    def _detach(self) -> None:
        # An iterator of its own EventSource (same module): it owns its subscription entry.
        subscriptions = self._source._subscriptions  # noqa: SLF001
        if subscriptions is not None and self._subscription in subscriptions:
            subscriptions.remove(self._subscription)


class EventSource:
    """Ordered, isolated event delivery for one session or handle (a mixin; state is lazy)."""

    __slots__ = (
        "_callbacks",
        "_inbox",
        "_observed",
        "_overflowing",
        "_subscriptions",
        "_worker",
        "event_queue_size",
        "events_dropped",
    )

    #: The ``janus`` types ``_after_message`` reacts to; the runner skips the call for others
    #: (None: every message). A subclass overriding ``_after_message`` without setting it
    #: gets None.
    _after_types: ClassVar[frozenset[str] | None] = frozenset()
    #: The ``janus`` types ``_on_message`` does more for than call ``on_receive``; the runner
    #: calls ``on_receive`` itself for the others (one call less per event). None: every
    #: message goes through ``_on_message`` (what a subclass overriding it without setting
    #: this gets).
    _receive_hooks: ClassVar[frozenset[str] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "_after_message" in cls.__dict__ and "_after_types" not in cls.__dict__:
            cls._after_types = None
        if "_on_message" in cls.__dict__ and "_receive_hooks" not in cls.__dict__:
            cls._receive_hooks = None

    def _log_fields(self) -> dict[str, object]:
        """Build the structured log fields of this source's records (subclasses add their ids).

        Returns:
            ``janus_fast.logfields.log_fields()`` with the ids this source knows.
        """
        return log_fields()

    def _init_event_source(self, event_queue_size: int = EVENT_QUEUE_SIZE) -> None:
        if event_queue_size < 1:
            raise ValueError(f"event_queue_size must be >= 1, not {event_queue_size!r}")
        #: Events kept waiting for delivery at most; beyond it the oldest are dropped.
        self.event_queue_size = event_queue_size
        #: Events dropped because ``event_queue_size`` events were already waiting.
        self.events_dropped = 0
        self._overflowing = False
        self._inbox: collections.deque[Any] | None = None
        #: Set while the source has events waiting or being delivered (its runner owns it).
        self._worker: object | None = None
        self._callbacks: dict[EventType | None, list[EventCallback]] | None = None
        self._subscriptions: list[_Subscription] | None = None
        #: ``on()`` or ``events()`` was used: each event is also built as a typed event for them.
        self._observed = False

    # -- public API ----------------------------------------------------------------------------
    def on(self, event_type: EventType | str | None, callback: EventCallback) -> None:
        """Call ``callback(event)`` for each event of ``event_type`` (``None``: every event).

        Args:
            event_type: an ``EventType`` or its value (``"webrtcup"`` …); ``None``: all.
            callback: called with the typed event (``PluginEvent`` …); may be sync or async.
                It runs outside the reader, in order with this target's other handlers; an
                exception it raises is logged.

        Raises:
            ValueError: ``event_type`` is not an ``EventType`` value.

        """
        key = EventType(event_type) if event_type is not None else None
        if self._callbacks is None:
            self._callbacks = {}
        self._callbacks.setdefault(key, []).append(callback)
        self._observed = True

    def off(self, event_type: EventType | str | None, callback: EventCallback) -> None:
        """Remove a callback added with ``on(event_type, callback)`` (nothing if absent).

        Args:
            event_type: the ``event_type`` it was added with.
            callback: the callback to remove.

        Raises:
            ValueError: ``event_type`` is not an ``EventType`` value.
        """
        key = EventType(event_type) if event_type is not None else None
        if self._callbacks and callback in self._callbacks.get(key, []):
            self._callbacks[key].remove(callback)

    def events(self, *types: EventType | str) -> EventStream:
        """Return an async iterator over events from now on (optionally only of ``types``).

        The subscription starts at this call, so nothing arriving before the first ``anext`` is
        missed; it ends when the session/handle goes away or ``aclose()`` is called. Each
        iterator buffers up to ``ITERATOR_BUFFER`` events, then drops the oldest (counted).

        Args:
            *types: ``EventType`` members or values to keep; none: every event.

        Returns:
            An ``EventStream`` (``async for event in stream``; ``stream.dropped`` counts drops).

        Raises:
            ValueError: a type is not an ``EventType`` value.

        """
        subscription = _Subscription(frozenset(EventType(t) for t in types) if types else None)
        if self._subscriptions is None:
            self._subscriptions = []
        self._subscriptions.append(subscription)
        self._observed = True
        return EventStream(self, subscription)

    # -- fed by the transport ------------------------------------------------------------------
    def deliver(self, message: Any) -> None:
        """Queue one event for ordered delivery to this session or handle.

        The dispatch path's seam: the transport hands over a dict or a lazy core message; at
        most ``event_queue_size`` wait, beyond it the oldest is dropped (``events_dropped``).

        Args:
            message: the event, a dict or a core message decoded on delivery.
        """
        inbox = self._inbox
        if inbox is None:
            inbox = self._inbox = collections.deque()
        elif len(inbox) >= self.event_queue_size:
            self._drop_oldest(inbox)
        inbox.append(message)
        if self._worker is None:  # idle until now: the loop's runner serves it (inlined)
            self._worker = _SCHEDULED
            runner = _HERE.runner
            if runner is None or not runner.loop.is_running():
                runner = _HERE.runner = _Runner(_running_loop())
            runner.targets.append(self)
            if not runner.active:
                runner.active = True
                runner.start()

    _deliver = deliver  # the name the library's own callers use

    def _drop_oldest(self, inbox: collections.deque[Any]) -> None:
        """Drop the oldest event of a full inbox (a slow ``on_receive``, a chatty server).

        It is counted, and logged once per overflow episode. The end-of-events mark is kept.
        """
        oldest = inbox.popleft()
        if oldest is _END_OF_EVENTS:
            if inbox:
                inbox.popleft()
            inbox.appendleft(oldest)
        self.events_dropped += 1
        if not self._overflowing:
            self._overflowing = True
            logger.warning(
                "%r: %d events already wait for on_receive; dropping the oldest "
                "(counted in events_dropped; raise event_queue_size or speed up the handler)",
                self,
                self.event_queue_size,
                extra=self._log_fields(),
            )

    def _close_events(self) -> None:
        """End every ``events()`` iterator once the events already queued are delivered."""
        if self._subscriptions:
            self._deliver(_END_OF_EVENTS)

    def _end_subscriptions(self) -> None:
        for subscription in self._subscriptions or ():
            if subscription.queue.full():
                subscription.queue.get_nowait()
            subscription.queue.put_nowait(None)

    def _decode(self, item: Any) -> JsonDict | None:
        """Return the dict of a queued message (None: undecodable, dropped and logged)."""
        if isinstance(item, dict):
            return item
        try:
            message: JsonDict = item.json()
        except ValueError as exc:  # undecodable: dropped, never stops delivery
            logger.warning(
                "%r: dropped an event that is not valid JSON: %s",
                self,
                exc,
                extra=self._log_fields(),
            )
            return None
        return message

    def _deliver_ready(self) -> _Suspended | None:
        """Deliver the waiting events in order on the runner, each handler run until it returns.

        Returns:
            The first handler that suspended (the caller finishes it, and the rest of the
            inbox, with ``_finish_delivery`` in a task of this source's own); None once the
            inbox is empty (the source is idle again).
        """
        inbox = self._inbox
        hooks = self._receive_hooks
        after = self._after_types
        while inbox:
            item = inbox.popleft()
            if isinstance(item, dict):
                message: JsonDict = item
            elif item is _END_OF_EVENTS:
                self._end_subscriptions()
                continue
            else:
                try:
                    message = item.json()
                except ValueError as exc:  # undecodable: dropped, never stops delivery
                    logger.warning(
                        "%r: dropped an event that is not valid JSON: %s",
                        self,
                        exc,
                        extra=self._log_fields(),
                    )
                    continue
            janus = message.get("janus")
            notify = self._observed
            # Iterating the awaitable runs it until it waits (a yield) or returns (the loop
            # ends, no StopIteration raised): the common, non-waiting handler costs no task.
            try:
                if hooks is None or janus in hooks:
                    step = self._on_message(message).__await__()
                else:
                    step = self.on_receive(message).__await__()
                for yielded in step:
                    return _Suspended(step, yielded, message, notify)
            except Exception:
                logger.exception(
                    "%r: on_receive raised; the event is dropped for it only",
                    self,
                    extra=self._log_fields(),
                )
            if notify:
                step = self._notify(message).__await__()
                for yielded in step:
                    return _Suspended(step, yielded, message, False)
            if after is None or janus in after:
                try:
                    self._after_message(message)
                except Exception:
                    logger.exception(
                        "%r: handling a delivered event failed", self, extra=self._log_fields()
                    )
        self._worker = None
        self._overflowing = False
        return None

    async def _finish_delivery(self, suspended: _Suspended) -> None:
        """Finish a handler that suspended, then deliver the rest of the inbox.

        This task is now the source's own: its later events come here, in order.
        """
        try:
            try:
                await _Resume(suspended.step, suspended.yielded)
            except Exception:
                logger.exception(
                    "%r: on_receive raised; the event is dropped for it only",
                    self,
                    extra=self._log_fields(),
                )
            if suspended.notify:
                await self._notify(suspended.message)
            self._after_message(suspended.message)
        except BaseException:
            self._worker = None
            self._overflowing = False
            raise
        await self._drain_inbox()

    async def _drain_inbox(self) -> None:
        inbox = self._inbox
        try:
            while inbox:
                item = inbox.popleft()
                if item is _END_OF_EVENTS:
                    self._end_subscriptions()
                    continue
                message = self._decode(item)
                if message is not None:
                    await self._handle_message(message)
        finally:
            self._worker = None
            self._overflowing = False

    async def _handle_message(self, message: JsonDict) -> None:
        try:
            await self._on_message(message)
        except Exception:
            logger.exception(
                "%r: on_receive raised; the event is dropped for it only",
                self,
                extra=self._log_fields(),
            )
        if self._observed:
            await self._notify(message)
        self._after_message(message)

    async def _notify(self, message: JsonDict) -> None:
        event = parse_event(message)
        for subscription in self._subscriptions or ():
            subscription.offer(event)
        if self._callbacks:
            for callback in (*self._callbacks.get(event.type, ()), *self._callbacks.get(None, ())):
                try:
                    result = callback(event)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    logger.exception(
                        "%r: event callback %r raised", self, callback, extra=self._log_fields()
                    )

    async def on_receive(self, response: JsonDict) -> None:
        """Handle one event (janus-client's hook; sessions and handles define their own).

        Args:
            response: The event from Janus.
        """

    def _on_message(self, message: JsonDict) -> Coroutine[Any, Any, None]:
        """Route the dict to the janus-client style ``on_receive`` (subclasses override).

        Returns:
            The handler's coroutine: the runner steps it without a coroutine layer more.
        """
        return _nothing()

    def _after_message(self, message: JsonDict) -> None:
        """React to a delivered message, e.g. a session ``timeout`` (subclasses override)."""


_SCHEDULED = object()


class _Suspended:
    """A handler coroutine stopped at its first real wait.

    It keeps what the handler yielded to the loop, the message, and whether event callbacks
    still have to see it.
    """

    __slots__ = ("message", "notify", "step", "yielded")

    def __init__(
        self, step: Generator[Any, Any, None], yielded: Any, message: JsonDict, notify: bool
    ) -> None:
        self.step = step
        self.yielded = yielded
        self.message = message
        self.notify = notify


class _Resume:
    """Continue an awaitable's iterator that was already stepped once, when awaited.

    It yielded ``yielded``; awaiting this goes on exactly as ``await`` would have: same task,
    results, exceptions, cancellation.
    """

    __slots__ = ("step", "yielded")

    def __init__(self, step: Generator[Any, Any, None], yielded: Any) -> None:
        self.step = step
        self.yielded = yielded

    def __await__(self) -> Generator[Any, Any, None]:
        step, value = self.step, self.yielded
        while True:
            try:
                sent = yield value
            except BaseException as exc:  # thrown in by the task (cancellation): pass it on
                try:
                    value = step.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    value = step.send(sent)
                except StopIteration:
                    return


class _Runner:
    """The event sources of one loop with events waiting, served in order by one task."""

    __slots__ = ("active", "loop", "serving", "targets")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.targets: collections.deque[EventSource] = collections.deque()
        self.active = False
        #: The task serving ``targets`` now (one that kept a suspended handler serves no more).
        self.serving: asyncio.Task[None] | None = None

    def start(self) -> None:
        task = self.loop.create_task(self.run())
        self.serving = task
        task.add_done_callback(self._ended)

    async def run(self) -> None:
        targets = self.targets
        while targets:
            target = targets.popleft()
            try:
                suspended = target._deliver_ready()  # noqa: SLF001 (same module)
            except BaseException:
                target._worker = None  # noqa: SLF001
                raise
            if suspended is not None:
                # This task stays with the suspended handler; a new one serves the others.
                if targets:
                    self.start()
                else:
                    self._stop()
                await target._finish_delivery(suspended)  # noqa: SLF001
                return
        self._stop()

    def _stop(self) -> None:
        self.active = False
        self.serving = None

    def _ended(self, task: asyncio.Task[None]) -> None:
        if self.serving is task and self.active:  # cancelled (with its loop) or crashed
            for target in self.targets:  # nothing stays scheduled: the next event restarts
                target._worker = None  # noqa: SLF001
            self.targets.clear()
            self._stop()


class _ThreadRunner(threading.local):
    """The event runner of the loop this thread runs now (or ran last).

    A thread runs one event loop at a time, so the runner it used last is still the right one
    while that loop runs: checking ``is_running()`` costs no system call, where asking asyncio
    for the running loop costs a ``getpid()`` per call on Python 3.11 and older (its fork check).
    The last loop stays referenced here until the thread delivers on another loop or ends.
    """

    runner: _Runner | None = None


_HERE = _ThreadRunner()


ConnectionEventKind = str


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionEvent:
    """A change of a transport's connection.

    Attributes:
        kind: ``disconnected``, ``reconnecting``, ``reconnected`` or ``given_up``.
        attempt: the reconnection attempt number (``reconnecting``), else 0.
        error: the last error (``given_up``, maybe ``disconnected``), else None.
    """

    kind: ConnectionEventKind
    attempt: int = 0
    error: BaseException | None = None


ConnectionCallback = Callable[[ConnectionEvent], Awaitable[None] | None]
