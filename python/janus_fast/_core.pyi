"""Type stubs for the Rust extension ``janus_fast._core`` (crate ``rust/bindings``).

The extension wraps the sans-I/O ``janus_proto`` core: bytes in, completions and events out.
Waiters and route targets are opaque Python objects handed back as they were given.
"""

from collections.abc import Awaitable, Callable, Coroutine, Generator, Mapping
from typing import Any, Final, Protocol, final, type_check_only

from typing_extensions import Self, disjoint_base

__all__ = [
    "CLOSED",
    "COMPLETE",
    "COMPLETE_ERROR",
    "EVENT",
    "MALFORMED",
    "STREAM_ITEM",
    "UNROUTED",
    "Expect",
    "HttpRequestWriter",
    "HttpResponseReader",
    "JanusCore",
    "Message",
    "Ready",
    "StreamGet",
    "StreamState",
    "Transaction",
    "WebSocketConnection",
    "__version__",
    "is_subset",
]

__version__: str

# Kinds of the items returned by ``drain()``: ``(kind, target, item)``.
COMPLETE: Final[int]  # target: the waiter; item: Message
COMPLETE_ERROR: Final[int]  # target: the waiter; item: Message with error_code/error_reason
STREAM_ITEM: Final[int]  # target: a stream waiter other than a StreamState; item: Message
EVENT: Final[int]  # target: its handle or session; item: its dict (Message if orjson refuses it)
UNROUTED: Final[int]  # target: None; item: Message nobody owns (counted)
MALFORMED: Final[int]  # target: None; item: str describing a message that failed to parse
CLOSED: Final[int]  # target: None; item: (code | None, reason, clean)

@final
class Expect:
    """How a request completes (Janus 1.1.2's rules)."""

    SUCCESS: Final[int]  # create/attach/detach/destroy/hangup/claim: success | error
    ACK: Final[int]  # keepalive/trickle: ack | error
    PONG: Final[int]  # ping
    SERVER_INFO: Final[int]  # info
    PLUGIN_MESSAGE: Final[int]  # message: success | error | (ack and event, either order)
    STREAM: Final[int]  # every message with the transaction, until cancel()
    ANY: Final[int]  # the first message with the transaction

@final
class Message:
    """One incoming Janus message: routing facts decoded in Rust, payload parsed on demand."""

    @property
    def janus(self) -> str: ...
    @property
    def transaction(self) -> str | None: ...
    @property
    def session_id(self) -> int | None: ...
    @property
    def sender(self) -> int | None: ...
    @property
    def error_code(self) -> int | None: ...
    @property
    def error_reason(self) -> str | None: ...
    @property
    def plugin(self) -> str | None: ...
    @property
    def plugin_error_code(self) -> int | None: ...
    @property
    def plugin_error(self) -> str | None: ...
    @property
    def has_jsep(self) -> bool: ...
    @property
    def raw(self) -> bytes: ...
    def json(self) -> dict[str, Any]:
        """The whole message as Python objects (a new dict per call)."""

@type_check_only
class CoreTables(Protocol):
    """What ``JanusCore`` and ``WebSocketConnection`` share (one Rust macro generates both): the
    transaction, deadline and route tables. Typing only: no such class exists at runtime."""

    def register(self, waiter: object, expect: int, deadline: float | None = None) -> str:
        """Register ``waiter`` for a request the caller encodes itself; returns the transaction."""
    def receive_message(self, payload: bytes) -> None:
        """Feed one payload: a JSON object, concatenated objects, or a long-poll array."""
    def drain(self) -> list[tuple[int, Any, Any]]: ...
    def dispatch(self, other: Callable[[int, Any, Any], object]) -> None:
        """Hand everything produced so far to its owner, in order: a completion's future gets
        its result (unless done), an event goes to ``target.deliver(item)``, a stream item to
        ``target.put_msg(item)``, any other kind to ``other(kind, target, item)``. The core is
        free again before the first call."""
    def cancel(self, transaction: str) -> object | None: ...
    def expire(self, now: float) -> list[object]:
        """Remove and return the waiters whose deadline is ``<= now``; a stream whose deadline
        (``set_stream_deadline``) passed is returned too but stays registered."""
    def set_stream_deadline(self, transaction: str, deadline: float | None) -> bool:
        """Give the stream ``transaction`` a deadline (None: none), replacing the one it had;
        False when ``transaction`` is not a pending stream."""
    def next_deadline(self) -> float | None: ...
    def fail_all(self) -> list[object]: ...
    def drain_session(self, session_id: int, handle_id: int | None = None) -> list[object]:
        """Remove and return the waiters of requests sent in ``session_id`` (only those for
        ``handle_id`` when given): the session or handle ended."""
    def add_session(self, session_id: int, target: object) -> None: ...
    def remove_session(self, session_id: int) -> object | None: ...
    def add_handle(self, session_id: int, handle_id: int, target: object) -> None: ...
    def remove_handle(self, session_id: int, handle_id: int) -> object | None: ...
    def stats(self) -> dict[str, int]: ...
    @property
    def event_bytes(self) -> int:
        """Wire bytes of every message routed as an event so far (monotonic)."""
    @property
    def awaiting_replies(self) -> int:
        """Sent requests for which no message has arrived yet."""
    def receive_low_watermark(self) -> int:
        """Bytes a socket read may wait for (SO_RCVLOWAT): at least that many are owed."""
    timer_at: float | None
    """The deadline the transport's timer is armed for (None: none); the transport keeps it
    current so that a stream's ``get`` calls the transport only for an earlier deadline."""
    def __len__(self) -> int: ...

@final
class JanusCore(CoreTables):
    """Transactions, completion rules, deadlines and routing for one Janus connection."""

    timer_at: float | None

    def __new__(
        cls, *, apisecret: str | None = None, token: str | None = None, seed: bytes
    ) -> JanusCore: ...
    def encode(
        self,
        body: bytes,
        waiter: object,
        expect: int,
        session_id: int | None = None,
        handle_id: int | None = None,
        deadline: float | None = None,
        ids_in_body: bool = True,
    ) -> tuple[str, bytes]:
        """Register ``waiter`` and return (transaction, the request bytes); the ids go into the
        body unless ``ids_in_body`` is false, and the transaction belongs to ``session_id``."""

@final
class HttpRequestWriter:
    """Keep-alive HTTP/1.1 requests to one host (headers validated once)."""

    def __new__(
        cls, host: str, extra_headers: list[tuple[str, str]] = ...
    ) -> HttpRequestWriter: ...
    def post(self, target: str, body: bytes) -> bytes: ...
    def get(self, target: str) -> bytes: ...

@final
class HttpResponseReader:
    """Incremental HTTP/1.1 response reader: ``(status, body, keep_alive)`` when complete."""

    def __new__(cls, max_body_size: int = ...) -> HttpResponseReader: ...
    def receive_data(self, data: bytes) -> tuple[int, bytes, bool] | None: ...
    def receive_eof(self) -> tuple[int, bytes, bool] | None: ...
    @property
    def buffered(self) -> int: ...
    @property
    def idle(self) -> bool: ...

@final
class WebSocketConnection(CoreTables):
    """A WebSocket client connection composed with a ``JanusCore`` (bytes in, bytes out)."""

    timer_at: float | None

    def __new__(
        cls,
        host: str,
        path: str,
        *,
        subprotocol: str = "janus-protocol",
        apisecret: str | None = None,
        token: str | None = None,
        max_message_size: int = ...,
        coalesce: bool = True,
        coalesce_max_bytes: int = 65536,
        extra_headers: list[tuple[str, str]] = ...,
        seed: bytes,
    ) -> WebSocketConnection: ...
    @property
    def state(self) -> str:
        """ "connecting", "open", "closing" or "closed"."""
    def reset(self, seed: bytes) -> None:
        """Start a new handshake on a new socket; transactions and routes are kept, what was
        learned about the server (``server_version``, ``coalesce``) is learned again."""
    def receive_data(self, data: bytes) -> None:
        """Feed bytes read from the socket; raises ProtocolError if the peer broke the protocol."""
    def receive_eof(self) -> None: ...
    def data_to_send(self) -> bytes: ...
    def close(self, code: int = 1000, reason: str = "") -> None: ...
    def ping(self, payload: bytes = ...) -> None: ...
    @property
    def pongs_received(self) -> int: ...
    @property
    def coalesce(self) -> bool:
        """Whether requests queued now may share a frame: only after this socket's ``info``
        probe (sent right after each handshake) said Janus >= 1.1.2, never once a multi-request
        frame was rejected, never with ``coalesce=False``."""
    @coalesce.setter
    def coalesce(self, accepts: bool) -> None:
        """Say whether the server accepts several requests per frame (until ``reset``)."""
    @property
    def server_version(self) -> int | None:
        """``version`` from this socket's ``info`` probe (e.g. 1102), once answered."""
    @property
    def server_info(self) -> bytes | None:
        """The ``server_info`` reply (JSON) to this socket's ``info`` probe, once answered."""
    @property
    def frames_resent(self) -> int:
        """Multi-request frames the server rejected (an error without a transaction), sent
        again one request per frame."""
    def request(
        self,
        body: bytes,
        waiter: object,
        expect: int,
        session_id: int | None = None,
        handle_id: int | None = None,
        deadline: float | None = None,
        event_expected: bool = False,
    ) -> str:
        """Register ``waiter`` and queue the request (coalesced while ``coalesce``); returns the
        transaction. ``event_expected``: an ``ack`` is followed by the answer (a plugin
        ``message`` sent as a stream); implied for ``Expect.PLUGIN_MESSAGE``."""
    def submit(
        self,
        body: Mapping[str, Any],
        expect: int,
        session_id: int | None,
        handle_id: int | None,
        deadline: float | None,
        waiter: object,
        resendable: bool,
    ) -> str:
        """The transport's send step in one call: encode ``body`` with orjson, ``request`` it
        (a stream collects plugin messages when ``body`` is a ``message``) and
        ``schedule_flush()``. ``resendable`` concerns the caller only. Returns the
        transaction."""
    def set_flush_hook(self, call_soon: Callable[..., object], callback: object) -> None:
        """Say how to schedule a flush: ``call_soon(callback)`` (a new loop: none pending)."""
    def schedule_flush(self) -> None:
        """Schedule the flush callback once until it runs (nothing before ``set_flush_hook``)."""
    flush_scheduled: bool
    """A flush is scheduled and has not run yet; the flush callback sets it False."""
    def read_watermark(self, now: float) -> int:
        """After a socket read: the receive low-watermark the socket may have now, the larger
        of what the replies owed allow and what a dense event stream asks for (``now``: the
        monotonic clock, in seconds)."""
    def receive_watermark(self) -> int:
        """The same without a read (after a flush, on a guard tick)."""
    def end_event_stream(self) -> None:
        """The event stream paused: it asks for nothing until a read shows it again."""
    @property
    def event_streams(self) -> int:
        """Times a dense event stream raised the estimate (from none)."""
    def send_raw(self, message: bytes) -> None:
        """Queue a complete JSON request as-is."""

def is_subset(dict_1: Any, dict_2: Any) -> bool: ...

@final
class StreamState:
    """What the core registers for a ``send()`` request: its kept messages and waiting gets.

    A ``StreamState`` waiter's messages go into it during ``drain()``; a woken ``get`` comes out as
    a ``COMPLETE`` item whose target is its future (item None).
    """

    @property
    def id(self) -> str: ...
    @property
    def route(self) -> tuple[int | None, int | None]: ...
    @property
    def done_called(self) -> bool: ...
    @property
    def messages_dropped(self) -> int: ...
    def __len__(self) -> int: ...
    def put_msg(self, message: Any) -> None: ...
    def fail(self, error: BaseException) -> None: ...
    def deadline_passed(self) -> None: ...
    def leftovers(self) -> list[Any]: ...
    def call_on_done(self) -> Awaitable[None] | None: ...
    def release_now(self) -> None: ...

@disjoint_base
class Transaction:
    """The caller's handle on a stream (``MessageTransaction`` subclasses it)."""

    id: str
    def __new__(
        cls,
        id: str | None = None,
        timeout: float | None = None,
        on_done: Any = None,
        route: tuple[int | None, int | None] | None = None,
        loop: Any = None,
        deadlines: Any = None,
        core: Any = None,
        on_leftovers: Any = None,
        max_kept: int = 1000,
    ) -> Self: ...
    @property
    def state(self) -> StreamState: ...
    @property
    def done_called(self) -> bool: ...
    @property
    def route(self) -> tuple[int | None, int | None]: ...
    @property
    def messages_dropped(self) -> int: ...
    def put_msg(self, message: Any) -> None: ...
    def fail(self, error: BaseException) -> None: ...
    def deadline_passed(self) -> None: ...
    def leftovers(self) -> list[Any]: ...
    def release_soon(self) -> None: ...
    def get(self, matcher: Any = ..., timeout: float | None = None) -> StreamGet: ...
    def done(self) -> Coroutine[Any, Any, None]: ...
    def __aenter__(self) -> Awaitable[Self]: ...
    def __aexit__(self, *_exc_info: object) -> Awaitable[None]: ...

@final
class StreamGet(Coroutine[Any, Any, dict[str, Any]]):
    """The awaitable of one ``get`` (a coroutine-like object: ``send``/``throw``/``close``)."""

    def __await__(self) -> Generator[Any, None, dict[str, Any]]: ...
    def __iter__(self) -> StreamGet: ...
    def __next__(self) -> Any: ...
    def send(self, _value: Any = None) -> Any: ...
    def throw(self, typ: Any, val: Any = None, _tb: Any = None) -> Any: ...
    def close(self) -> None: ...

@final
class Ready(Coroutine[Any, Any, None]):
    """The awaitable ``done()`` returns when nothing is left to wait for: it completes at once."""

    def __await__(self) -> Generator[Any]: ...
    def __iter__(self) -> Ready: ...
    def __next__(self) -> Any: ...
    def send(self, _value: Any = None) -> Any: ...
    def throw(self, typ: Any, val: Any = None, _tb: Any = None) -> Any: ...
    def close(self) -> None: ...
