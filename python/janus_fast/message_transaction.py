"""janus-client's ``MessageTransaction`` and ``is_subset``: same names and behaviour, no bugs.

Rule: a MessageTransaction is a *stream*: every message carrying its transaction id is kept until
``done()``; ``get(matcher, timeout)`` returns the first kept or future message the matcher accepts.
Messages are kept in their lazy core form and turned into dicts only when a ``get`` looks at them.
Unlike janus-client, ``timeout`` is an overall deadline (default: the transport's ``timeout``), a
lost connection fails a waiting ``get`` at once, and ``async with`` guarantees ``done()``.
Bound: a stream keeps at most ``MAX_KEPT_MESSAGES`` messages; beyond it the oldest is dropped
(counted in ``messages_dropped`` when no ``get`` had returned it, one warning per stream).
Lifetime: a stream lives until ``done()`` (or ``async with`` exit), until the caller drops its
handle (``CallerTransaction``, what session and plugin ``send`` return: released as ``done()``
would), or until its session or connection ends (a waiting ``get`` then fails); it has no deadline
of its own, each ``get`` has one. A message that is not valid JSON is dropped with one
``ProtocolError`` and never blocks the messages after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import orjson

from janus_fast._core import Message as _Message
from janus_fast.errors import ProtocolError, RequestTimeoutError
from janus_fast.logfields import log_fields

if TYPE_CHECKING:
    from typing_extensions import Self

logger = logging.getLogger("janus_fast.message_transaction")
_loads = orjson.loads

JsonDict = dict[str, Any]
Matcher = JsonDict | Callable[[JsonDict], Any]

#: Messages one stream keeps (arrived, not yet released by ``done()``); beyond it the oldest is
#: dropped. A request's real replies are a handful; this only stops a chatty or hostile server.
MAX_KEPT_MESSAGES = 1_000


class _LazyMessage(Protocol):
    @property
    def raw(self) -> bytes: ...

    @property
    def janus(self) -> str: ...


class Deadlines(Protocol):
    """Where a waiting ``get`` registers its deadline.

    The deadline goes on the stream's own entry in the transport's core, under the transport's
    one timer for all deadlines.
    """

    def watch_stream(self, stream: MessageTransaction, deadline: float | None) -> bool:
        """Give ``stream`` the waiting ``get``'s deadline, replacing the one it had.

        When it passes, the transport calls ``stream.deadline_passed()``.

        Args:
            stream: The transaction whose ``get`` waits.
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
    if not isinstance(dict_1, dict):  # janus-client's texts
        raise TypeError(f"dict_1 must be a dictionary: {dict_1}")
    if not isinstance(dict_2, dict):
        raise TypeError(f"dict_2 must be a dictionary: {dict_2}")
    for key, expected in dict_2.items():
        if key not in dict_1:
            return False
        if isinstance(expected, dict):
            actual = dict_1[key]
            if not isinstance(actual, dict) or not is_subset(actual, expected):
                return False
        elif isinstance(expected, str | int) and dict_1[key] != expected:
            return False
    return True


def _accept_all(*_args: Any, **_kwargs: Any) -> bool:
    return True


class MessageTransaction:
    """The messages of one request, in arrival order, until ``done()`` (janus-client's API).

    It keeps at most ``MAX_KEPT_MESSAGES`` of them (``messages_dropped`` counts the oldest
    dropped). Returned by ``JanusSession.send`` and ``JanusPlugin.send``.
    ``async with transaction:`` calls ``done()`` at the end; a transaction dropped without
    ``done()`` is released as ``done()`` would.

    Args:
        id: The transaction id; a random one when None.
        timeout: The default deadline of each ``get``, in seconds (None: none).
        on_done: Called with the transaction by ``done()`` (may return an awaitable).
        route: ``(session_id, handle_id)`` the request was sent for: where leftovers go on
            ``done()``.
        loop: The event loop of its waits; the running loop when None.
        deadlines: Where a waiting ``get`` registers its deadline (the transport); None: a
            timer of its own.
    """

    __slots__ = (
        "_deadlines",
        "_error",
        "_extra_waiters",
        "_first",
        "_items",
        "_loop",
        "_on_done",
        "_taken",
        "_timeout",
        "_types",
        "_wait_deadline",
        "_wait_timer",
        "_waiter",
        "_waiting_for",
        "done_called",
        "id",
        "messages_dropped",
        "route",
    )

    def __init__(
        self,
        id: str | None = None,
        *,
        timeout: float | None = None,
        on_done: Callable[[MessageTransaction], Awaitable[None] | None] | None = None,
        route: tuple[int | None, int | None] = (None, None),
        loop: asyncio.AbstractEventLoop | None = None,
        deadlines: Deadlines | None = None,
    ) -> None:
        if id is None:
            import uuid

            id = uuid.uuid4().hex
        self.id: str = id
        self.done_called = False
        self._items: list[JsonDict | _LazyMessage] = []
        #: The ``janus`` type of each kept message (read once, when it arrives).
        self._types: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None
        #: The message type the waiting ``get`` needs (None: any); others do not wake it.
        self._waiting_for: str | None = None
        #: The waiting ``get``'s deadline, and its own timer when the transport cannot hold it.
        self._wait_deadline: float | None = None
        self._wait_timer: asyncio.TimerHandle | None = None
        #: Gets waiting while another one already does (rare): woken by every message, each on
        #: a timer of its own.
        self._extra_waiters: list[asyncio.Future[None]] | None = None
        self._error: BaseException | None = None
        self._timeout = timeout
        self._on_done = on_done
        #: (session_id, handle_id) the request was sent for: where leftovers go on ``done()``.
        self.route = route
        self._loop = loop
        self._deadlines = deadlines
        #: Bit i set: message i was returned by a ``get`` (not a leftover).
        self._taken = 0
        #: How many messages were dropped from the front (``MAX_KEPT_MESSAGES``).
        self._first = 0
        #: Messages dropped at the bound before any ``get`` returned them.
        self.messages_dropped = 0

    def __repr__(self) -> str:
        return f"<MessageTransaction {self.id} messages={len(self._items)} done={self.done_called}>"

    # -- fed by the transport ------------------------------------------------------------------
    def put_msg(self, message: JsonDict | _LazyMessage) -> None:
        """Keep one more message; a ``get`` waiting for it wakes up.

        Beyond the ``MAX_KEPT_MESSAGES`` bound the oldest kept message is dropped.

        Args:
            message: A dict, or the core's lazy message.
        """
        kind: Any
        if message.__class__ is _Message or not isinstance(message, dict):
            kind = message.janus
        else:
            kind = message.get("janus")
        items = self._items
        items.append(message)
        self._types.append(kind)
        if len(items) > MAX_KEPT_MESSAGES:
            self._drop_oldest()
        waiter = self._waiter
        if waiter is not None:
            wanted = self._waiting_for
            if (wanted is None or kind == wanted) and not waiter.done():
                waiter.set_result(None)
        if self._extra_waiters:
            _wake_all(self._extra_waiters)

    def _drop_oldest(self) -> None:
        """Forget the oldest kept message: the bound is reached.

        It is counted in ``messages_dropped`` unless a ``get`` returned it already (or it is an
        ack); the first counted drop of the stream is logged.
        """
        del self._items[0]
        kind = self._types.pop(0)
        taken = self._taken & 1
        self._taken >>= 1
        self._first += 1
        if taken or kind == "ack":
            return
        if not self.messages_dropped:
            logger.warning(
                "%r: %d messages kept already and no get() took them; dropping the oldest "
                "(counted in messages_dropped; call get() or done())",
                self,
                MAX_KEPT_MESSAGES,
                extra=log_fields(
                    session_id=self.route[0], handle_id=self.route[1], transaction=self.id
                ),
            )
        self.messages_dropped += 1

    def fail(self, error: BaseException) -> None:
        """End the transaction's reception: it can receive nothing more.

        Called when the connection is lost or the session gone; every waiting ``get`` (and every
        later one, once no kept message matches) raises ``error``.

        Args:
            error: What the waiting ``get`` raises.
        """
        if self._error is None:
            self._error = error
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self._extra_waiters:
            _wake_all(self._extra_waiters)

    def deadline_passed(self) -> None:
        """Fail the waiting ``get`` with ``RequestTimeoutError``: its deadline passed.

        The transport calls this at the deadline the ``get`` gave it; the stream lives on (later
        gets, ``done()``).
        """
        waiter = self._waiter
        if waiter is not None:
            _expire_waiter(waiter)

    # -- janus-client API ----------------------------------------------------------------------
    async def get(self, matcher: Matcher = _accept_all, timeout: float | None = None) -> JsonDict:
        """The first message (kept or future) that ``matcher`` accepts.

        Args:
            matcher: a dict (the message must contain it, checked with ``is_subset``) or a
                callable taking the message dict; default: any message.
            timeout: seconds for the whole wait; default: the transport's ``timeout``
                option (``None`` there too means no deadline).

        Returns:
            The message, as a dict.

        Raises:
            RequestTimeoutError: no matching message in time (also ``asyncio.TimeoutError``;
                its text is ``""`` as janus-client's was).
            TypeError: ``matcher`` is neither a dict nor callable (janus-client's text).
            ProtocolError: a message of this transaction was not valid JSON (raised once;
                the next ``get`` reads on).
            TransportError: the connection was lost (``ConnectionClosedError``) or the
                session ended (``SessionLostError``) while waiting.

        """
        wanted_type: str | None = None
        #: What decides after the type check: nothing (the type alone, or accept all), a dict
        #: (``is_subset``) or a callable. Worked out once per call, not per message.
        subset: JsonDict | None = None
        call: Callable[[JsonDict], Any] | None = None
        if matcher.__class__ is dict or isinstance(matcher, dict):
            janus_type = matcher.get("janus")
            if janus_type.__class__ is str or isinstance(janus_type, str):
                wanted_type = janus_type  # lets messages of other types be skipped unparsed
                if len(matcher) > 1:
                    subset = matcher
            else:
                subset = matcher
        elif matcher is not _accept_all:
            if not callable(matcher):  # janus-client's check and text
                raise TypeError(f"matcher must be callable or dictionary: {matcher}")
            call = matcher
        deadline: float | None = None
        index = 0
        items = self._items
        types = self._types
        while True:
            count = len(items)
            while index < count:
                if wanted_type is not None and types[index] != wanted_type:
                    index += 1
                    continue
                item = items[index]
                index += 1
                cls = item.__class__
                message: JsonDict
                if cls is dict:
                    message = item  # type: ignore[assignment]
                elif cls is _Message or not isinstance(item, dict):
                    if item is _DROPPED:
                        continue
                    try:
                        message = _loads(item.raw)  # type: ignore[union-attr]
                    except orjson.JSONDecodeError as exc:  # dropped once, never blocks the rest
                        items[index - 1] = _DROPPED
                        raise ProtocolError(
                            f"dropped a message of transaction {self.id} that is not valid JSON "
                            f"({exc}); the messages after it can still be read"
                        ) from None
                    items[index - 1] = message
                else:
                    message = item
                if (subset is None or is_subset(message, subset)) and (
                    call is None or call(message)
                ):
                    self._taken |= 1 << (index - 1)
                    return message
                count = len(items)  # a matcher may have fed the stream (never shrinks here)
            if self._error is not None:
                raise self._error
            # Wait for the next message of the wanted type (or the deadline, or a failure).
            loop = self._loop or asyncio.get_running_loop()
            waiter: asyncio.Future[None] = loop.create_future()
            if deadline is None:
                limit = self._timeout if timeout is None else timeout
                if limit is not None:
                    deadline = loop.time() + limit
            if self._waiter is not None:  # another get waits already: wait beside it
                first = self._first
                await self._wait_beside(waiter, deadline)
                if self._first != first:
                    index = max(0, index - (self._first - first))
                continue
            self._waiter = waiter
            self._waiting_for = wanted_type
            self._wait_deadline = deadline
            first = self._first
            # The deadline goes on the stream's own entry in the transport's core (replacing
            # the previous get's; nothing to undo after the wait); a stream without one (or
            # released by done() meanwhile) keeps a timer of its own.
            deadlines = self._deadlines
            if (deadlines is None or not deadlines.watch_stream(self, deadline)) and (
                deadline is not None
            ):
                self._wait_timer = loop.call_at(deadline, _expire_waiter, waiter)
            try:
                await waiter
            finally:
                self._waiter = None
                timer = self._wait_timer
                if timer is not None:
                    timer.cancel()
                    self._wait_timer = None
            if self._first != first:  # messages were dropped at the front meanwhile
                index = max(0, index - (self._first - first))

    async def on_done(self) -> None:
        """Hook run by ``done()``: unregisters the transaction from its transport."""
        if self._on_done is not None:
            result = self._on_done(self)
            if result is not None:
                await result

    async def done(self) -> None:
        """Release the transaction: later messages with its id go to the handle as events.

        Messages that already arrived but that no ``get`` returned (other than acks) go to the
        handle's ``on_receive`` too (the transport delivers ``leftovers()``), so an event racing
        with ``done()`` is never lost.
        """
        if self.done_called:
            return
        self.done_called = True
        if self._plain_on_done:  # on_done not overridden: skip a coroutine
            on_done = self._on_done
            if on_done is not None:
                result = on_done(self)
                if result is not None:
                    await result
        else:
            await self.on_done()
        if self._waiter is not None:  # a get still waits; the transport forgot the stream
            self._keep_own_deadline()

    #: Whether this class keeps the base ``on_done`` (``done()`` then calls the hook directly).
    _plain_on_done: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Note whether a subclass overrides ``on_done`` (janus-client subclasses may).

        Args:
            **kwargs: passed on to ``object.__init_subclass__``.
        """
        super().__init_subclass__(**kwargs)
        cls._plain_on_done = cls.on_done is MessageTransaction.on_done

    def release_soon(self) -> None:
        """Release the transaction as ``done()`` would, without awaiting, from anywhere.

        Callable from a finalizer or another thread: the release runs on the transaction's loop soon
        after; nothing happens if that loop is closed.
        """
        loop = self._loop
        if self.done_called or loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nothing to do
            loop.call_soon_threadsafe(self._release_now)

    def _release_now(self) -> None:
        if self.done_called:
            return
        self.done_called = True
        on_done = self._on_done
        if on_done is not None:
            result = on_done(self)
            if result is not None:  # an asynchronous hook: a supervised task
                task = asyncio.ensure_future(result)
                _RELEASES.add(task)
                task.add_done_callback(_release_finished)
        if self._waiter is not None:
            self._keep_own_deadline()

    async def _wait_beside(self, waiter: asyncio.Future[None], deadline: float | None) -> None:
        """Wait for any next message (or failure) while another ``get`` holds the main wait.

        Bounded by ``deadline`` on a timer of this wait's own.

        Args:
            waiter: This wait's future.
            deadline: The loop time the wait ends at, or None.
        """
        extra = self._extra_waiters
        if extra is None:
            extra = self._extra_waiters = []
        extra.append(waiter)
        loop = self._loop or asyncio.get_running_loop()
        timer = loop.call_at(deadline, _expire_waiter, waiter) if deadline is not None else None
        try:
            await waiter
        finally:
            extra.remove(waiter)
            if timer is not None:
                timer.cancel()

    def _keep_own_deadline(self) -> None:
        """Move a waiting ``get``'s deadline to a timer of its own: the stream was released.

        The transport no longer holds that get's deadline (it lived on the stream's entry).
        """
        waiter, deadline = self._waiter, self._wait_deadline
        if waiter is None or waiter.done() or deadline is None or self._wait_timer is not None:
            return
        loop = self._loop or asyncio.get_running_loop()
        self._wait_timer = loop.call_at(deadline, _expire_waiter, waiter)

    def leftovers(self) -> list[JsonDict | _LazyMessage]:
        """List the messages no ``get`` returned, acks excepted.

        Returns:
            The messages, in arrival order; the transport delivers them as events on ``done()``.
        """
        items = self._items
        taken = self._taken
        if taken == (1 << len(items)) - 1:
            return []
        types = self._types
        return [
            item
            for index, item in enumerate(items)
            if not (taken >> index) & 1 and item is not _DROPPED and types[index] != "ack"
        ]

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.done()


class CallerTransaction(MessageTransaction):
    """What ``JanusSession.send``/``JanusPlugin.send`` return: the caller's handle on a transaction.

    It is a ``MessageTransaction`` with the same methods, delegating to the one the transport
    registered.

    Lifetime: when the caller drops its last reference without ``done()``, the transaction is
    released as ``done()`` would (on the loop, soon after): the core forgets it, messages no
    ``get`` returned go to ``on_receive``, and later events with its id go to ``on_receive``.

    Args:
        stream: The transaction the transport registered.
    """

    __slots__ = ("_stream", "done", "get")

    def __init__(self, stream: MessageTransaction) -> None:  # no super(): nothing of its own
        self._stream = stream
        # The stream's own bound methods: a call costs no delegating frame.
        self.get = stream.get  # type: ignore[method-assign]
        self.done = stream.done  # type: ignore[method-assign]

    @property
    def id(self) -> str:  # type: ignore[override]
        """The transaction id (the registered stream's)."""
        return self._stream.id

    @property
    def done_called(self) -> bool:  # type: ignore[override]
        """Whether ``done()`` was called on the registered stream."""
        return self._stream.done_called

    @property
    def route(self) -> tuple[int | None, int | None]:  # type: ignore[override]
        """``(session_id, handle_id)`` the request was sent for."""
        return self._stream.route

    @property
    def messages_dropped(self) -> int:  # type: ignore[override]
        """Messages the stream dropped at its bound before any ``get`` returned them."""
        return self._stream.messages_dropped

    def __repr__(self) -> str:
        return repr(self._stream)

    def put_msg(self, message: JsonDict | _LazyMessage) -> None:
        """Keep one more message in the registered stream.

        Args:
            message: A dict, or the core's lazy message.
        """
        self._stream.put_msg(message)

    def fail(self, error: BaseException) -> None:
        """End the registered stream's reception (see ``MessageTransaction.fail``).

        Args:
            error: What the waiting ``get`` raises.
        """
        self._stream.fail(error)

    def on_done(self) -> Coroutine[Any, Any, None]:
        """Run the registered stream's ``done()`` hook.

        Returns:
            The hook's coroutine.
        """
        return self._stream.on_done()

    def leftovers(self) -> list[JsonDict | _LazyMessage]:
        """List the registered stream's messages no ``get`` returned, acks excepted.

        Returns:
            The messages, in arrival order.
        """
        return self._stream.leftovers()

    def __del__(self) -> None:
        if not self._stream.done_called:
            self._stream.release_soon()


#: Asynchronous release hooks still running (kept referenced until they end).
_RELEASES: set[asyncio.Future[Any]] = set()


def _release_finished(task: asyncio.Future[Any]) -> None:
    _RELEASES.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error(
            "releasing a dropped transaction failed", exc_info=task.exception(), extra=log_fields()
        )


class _Dropped:
    """Stands where an undecodable message was (indices, hence ``_taken`` bits, stay valid)."""

    __slots__ = ()
    raw = b""
    janus = None


_DROPPED: Any = _Dropped()


def _wake_all(waiters: list[asyncio.Future[None]]) -> None:
    """Wake every waiting future of ``waiters`` (the extra gets re-check the stream)."""
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)


def _expire_waiter(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(RequestTimeoutError("no matching message before the deadline"))
