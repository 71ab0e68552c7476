"""The I/O every message-broker transport (MQTT, RabbitMQ) shares.

One publish per request, every message of the response topic or queue fed to the Rust core,
recovery by the shared ``Reconnector`` (through ``RecoveringTransport``).

Rule: a concrete broker transport supplies only its link to the broker — ``_open_link`` (connect,
subscribe, then hand each received payload to ``_received`` and report a failure with
``_link_lost``), ``_publish`` (send one payload on the current link) and ``_drop_link`` (forget
the current link now; its closing runs as a supervised task, bounded by ``connect_timeout``).
Requests are encoded by the ``JanusCore`` with their ids in the body (a broker has no URL paths)
and published at once; at most ``queue_size`` publishes are in flight (more raise
``QueueFullError``). A lost link is recovered like a WebSocket (``transports/_recovery.py``):
backoff, bounded outage queue, re-subscribe, ``claim`` every session (the broker transport is one
Janus transport session, so Janus keeps them). Broker credentials never appear in logs, reprs or
errors: every message taken from the broker library goes through ``scrub`` first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import logging
from typing import Any, ClassVar
from urllib.parse import SplitResult, parse_qsl, urlsplit

import orjson

from janus_fast._compat import timeout
from janus_fast._core import JanusCore, Message
from janus_fast.errors import (
    ConnectionClosedError,
    InvalidOptionError,
    InvalidURLError,
    JanusFastError,
    QueueFullError,
    TransportError,
)
from janus_fast.logfields import log_fields
from janus_fast.transport import InFlight, JsonDict, Submitted
from janus_fast.transports._recovering import RecoveringTransport
from janus_fast.transports._recovery import Reconnector

logger = logging.getLogger("janus_fast.transport.broker")


def import_broker_library(module: str, package: str, what: str, extra: str) -> Any:
    """Import a broker library when a transport is made.

    Args:
        module: The library's module name.
        package: The package that provides it (named in the error).
        what: What needs it (named in the error).
        extra: The janus-fast extra that installs it.

    Returns:
        The imported module.

    Raises:
        ImportError: The library is missing; the message names ``package`` and the extra
            that installs it.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{what} needs {package}: pip install 'janus-fast[{extra}]'") from exc


@dataclasses.dataclass(frozen=True, slots=True)
class BrokerURL:
    """What both broker URLs (``mqtt://``, ``amqp://``) say alike.

    Attributes:
        parts: The split URL.
        port: Its port, or the default.
        query: Its query (known settings only).
        admin_suffix: The queue/topic name suffix: ``-admin`` with ``admin=1``, else empty.
    """

    parts: SplitResult
    port: int
    query: dict[str, str]
    admin_suffix: str

    @classmethod
    def parse(
        cls, url: str, scheme: str, kind: str, default_port: int, known: frozenset[str]
    ) -> BrokerURL:
        """Split and check a broker URL; errors never show the URL itself.

        Args:
            url: The URL as the user gave it.
            scheme: The scheme it must use (``mqtt``, ``amqp``).
            kind: The transport's name, for errors.
            default_port: The port when the URL names none.
            known: The query settings the transport knows.

        Returns:
            The URL's parts.

        Raises:
            InvalidURLError: Bad syntax or port, another scheme, no host, an unknown setting, or
                ``admin`` not 0/1/true/false.
        """
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise InvalidURLError(f"malformed {scheme}:// URL (bad syntax or port)") from None
        if parts.scheme != scheme:
            raise InvalidURLError(
                f"the {kind} transport takes {scheme}:// URLs, not {parts.scheme}://"
            )
        if not parts.hostname:
            raise InvalidURLError(f"the {scheme}:// URL has no host")
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        unknown = sorted(set(query) - known)
        if unknown:
            raise InvalidURLError(
                f"unknown {scheme}:// URL setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        admin = query.get("admin", "0")
        if admin not in ("0", "1", "true", "false"):
            raise InvalidURLError(f"admin must be 0 or 1, not {admin!r}")
        suffix = "-admin" if admin in ("1", "true") else ""
        return cls(parts, port or default_port, query, suffix)


class BrokerTransport(RecoveringTransport):
    """Base of ``JanusTransportMQTT`` and ``JanusTransportRabbitMQ`` (see the module rule)."""

    #: Shown in errors ("MQTT", "RabbitMQ").
    kind: ClassVar[str] = "broker"
    _core: JanusCore

    def __init__(
        self,
        base_url: str,
        api_secret: str | None,
        token: str | None,
        *,
        shown_url: str,
        secrets: tuple[str, ...],
        **kwargs: Any,
    ) -> None:
        #: Strings never to show (the broker password, the user name).
        self._secrets = tuple(s for s in secrets if s)
        self._inflight = 0
        self._oversized = 0
        self._link_generation = 0
        #: Links being closed (``disconnect()`` waits for them, each bounded).
        self._closing: set[asyncio.Task[None]] = set()
        super().__init__(base_url, api_secret, token, **kwargs)
        self._base_url = shown_url
        if self.options.ssl not in (None, False) or self.options.ca_file:
            raise InvalidOptionError(
                f"ssl/ca_file: TLS to the broker is not supported by the {self.kind} transport yet"
            )
        self._recovery = Reconnector(
            self._recovery_link(self._open_bounded, self._drop_link, self._send_now),
            self.options,
            self._base_url,
        )

    # -- what a broker transport supplies --------------------------------------------------------
    async def _open_link(self) -> None:
        """Connect to the broker and subscribe (the caller bounds it by ``connect_timeout``)."""
        raise NotImplementedError

    async def _publish(self, data: bytes) -> None:
        """Publish one request on the current link; library errors propagate."""
        raise NotImplementedError

    def _drop_link(self) -> None:
        """Forget the current link now (its closing may run on as a supervised task)."""
        raise NotImplementedError

    def _link_open(self) -> bool:
        """Whether a link is up now."""
        raise NotImplementedError

    # -- shared helpers --------------------------------------------------------------------------
    def close_later(self, closing: Any) -> None:
        """Close a dropped link in a supervised task, bounded by ``connect_timeout``.

        Args:
            closing: The library's close, an awaitable.
        """
        task = self._spawn(close_quietly(closing, self.options.connect_timeout, self.kind))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def scrub(self, text: str) -> str:
        """Replace every credential in a text by ``***``.

        Library messages may quote them.

        Args:
            text: A message from the broker library.

        Returns:
            The text without credentials.
        """
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def describe(self, exc: BaseException) -> str:
        """Describe a library exception as shown in errors and logs.

        Args:
            exc: The exception.

        Returns:
            Its class name and scrubbed message.
        """
        detail = self.scrub(str(exc)) or "no detail"
        return f"{type(exc).__name__}: {detail}"

    @property
    def reconnecting(self) -> bool:
        """True while the link is down and being re-established."""
        return self._recovery.active

    def _transport_stats(self) -> dict[str, int]:
        return {
            "open_connections": int(self._link_open()),
            "inflight_publishes": self._inflight,
            "oversized": self._oversized,
        }

    def _received(self, payload: bytes) -> None:
        """Feed one message from Janus (a reply, an event, an ack) to the core and its owner.

        One longer than ``max_message_size`` is dropped, logged and counted (``malformed``).

        Args:
            payload: The message as the broker delivered it.
        """
        limit = self.options.max_message_size
        if len(payload) > limit:
            self._oversized += 1
            self.stats_malformed += 1
            self._log_malformed(
                f"a {len(payload)}-byte message, longer than max_message_size ({limit}), "
                "was dropped"
            )
            return
        self._core.receive_message(payload)
        self._dispatch()

    def _link_lost(self, generation: int, reason: str) -> None:
        """Link ``generation`` failed: drop it; recovery takes over while the user wants it."""
        if generation != self._link_generation or not self._link_open():
            return
        self._drop_link()
        if not self.connected:
            return
        logger.warning(
            "the %s link to %s was lost: %s",
            self.kind,
            self._base_url,
            reason,
            extra=log_fields(server=self._base_url),
        )
        error = ConnectionClosedError(None, reason)
        if self._recovery.active:
            self._fail_pending(error)
        else:
            assert self._loop is not None
            self._recovery.start(error, self._loop)

    # -- connection ------------------------------------------------------------------------------
    async def _connect(self) -> None:
        self._recovery.clear()
        await self._open_bounded()

    async def _open_bounded(self) -> None:
        """A new link, bounded by ``connect_timeout``; ``TransportError`` when that fails."""
        self._loop = asyncio.get_running_loop()
        self._drop_link()
        self._link_generation += 1
        try:
            async with timeout(self.options.connect_timeout):
                await self._open_link()
        except asyncio.TimeoutError:
            self._drop_link()
            raise TransportError(
                f"connecting to {self._base_url} timed out after {self.options.connect_timeout} s"
            ) from None
        except JanusFastError:
            self._drop_link()
            raise
        except ImportError:
            raise
        except Exception as exc:
            self._drop_link()
            raise TransportError(
                f"cannot connect to {self._base_url}: {self.describe(exc)}"
            ) from None

    async def _disconnect(self) -> None:
        self._recovery.stop(ConnectionClosedError(None, "transport disconnected"))
        self._drop_link()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    # -- the request template's I/O --------------------------------------------------------------
    def _encode(
        self,
        body: JsonDict,
        expect: int,
        session_id: int | None,
        handle_id: int | None,
        deadline: float | None,
        waiter: Any,
    ) -> tuple[str, bytes]:
        """Register ``waiter`` and encode the request, with its ids in the body.

        Args:
            body: The request.
            expect: What completes it (an ``Expect`` value).
            session_id: The session it addresses, if any.
            handle_id: The handle it addresses, if any.
            deadline: The loop time by which it must complete (None: no deadline).
            waiter: What the core completes with the reply.

        Returns:
            The request's transaction and the payload to publish.

        Raises:
            QueueFullError: ``queue_size`` publishes are already in flight.
        """
        if self._inflight >= self.options.queue_size:
            raise QueueFullError(
                f"{self._inflight} requests are already being published to {self._base_url} "
                f"(queue_size={self.options.queue_size})"
            )
        transaction: str
        data: bytes
        transaction, data = self._core.encode(
            orjson.dumps(body), waiter, expect, session_id, handle_id, deadline
        )
        return transaction, data

    def _submit(
        self,
        body: JsonDict,
        expect: int,
        session_id: int | None,
        handle_id: int | None,
        deadline: float | None,
        waiter: Any,
        resendable: bool,
    ) -> str | InFlight:
        """Encode, then publish: the template awaits the publish (within the deadline)."""
        transaction, data = self._encode(body, expect, session_id, handle_id, deadline, waiter)
        return Submitted(transaction, self._publish_counted(data))

    async def _publish_counted(self, data: bytes) -> None:
        """Publish on the current link, counted in flight.

        Args:
            data: The payload.

        Raises:
            ConnectionClosedError: The link is down, or failed (recovery then starts).
            JanusFastError: A typed error of the publish itself, as it was raised.
        """
        if not self._link_open():
            raise ConnectionClosedError(None, f"the {self.kind} link is down")
        generation = self._link_generation
        self._inflight += 1
        try:
            await self._publish(data)
        except JanusFastError:
            raise
        except Exception as exc:
            reason = f"publishing to {self._base_url} failed: {self.describe(exc)}"
            self._link_lost(generation, reason)
            raise ConnectionClosedError(None, reason) from None
        finally:
            self._inflight -= 1

    def _send_now(
        self, body: JsonDict, expect: int, session_id: int | None, limit: float
    ) -> asyncio.Future[Message]:
        """Send one of recovery's requests past the outage gate.

        Args:
            body: The request.
            expect: What completes it (an ``Expect`` value).
            session_id: The session it addresses, if any.
            limit: Seconds it may take.

        Returns:
            The future of the reply; a request that cannot be sent fails it rather than
            raising.
        """
        loop = self._loop
        if not self.connected or loop is None:
            raise self._not_connected()
        deadline = loop.time() + limit
        waiter: asyncio.Future[Message] = loop.create_future()
        try:
            transaction, data = self._encode(body, expect, session_id, None, deadline, waiter)
        except JanusFastError as exc:
            waiter.set_exception(ConnectionClosedError(None, f"cannot send: {exc}"))
            return waiter
        self._arm_timer(deadline)
        self._spawn(self._publish_for(transaction, data, waiter))
        return waiter

    async def _publish_for(
        self, transaction: str, data: bytes, waiter: asyncio.Future[Message]
    ) -> None:
        try:
            await self._publish_counted(data)
        except JanusFastError as exc:
            self.forget_transaction(transaction)
            if not waiter.done():
                waiter.set_exception(ConnectionClosedError(None, f"cannot send: {exc}"))

    async def _send_bytes(self, data: bytes) -> None:
        """Publish one complete request (janus-client's raw ``_send``)."""
        await self._publish_counted(data)


async def close_quietly(closing: Any, limit: float, what: str) -> None:
    """Await a library's close, bounded; failures are logged at debug level only.

    The link is already gone, so a failing close changes nothing.

    Args:
        closing: The library's close, an awaitable.
        limit: Seconds it may take.
        what: The link's kind, for the log.

    Raises:
        CancelledError: The wait was cancelled (re-raised).
    """
    try:
        async with timeout(limit):
            await closing
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a dead link may fail to close in any way
        logger.debug("closing the %s link: %s", what, type(exc).__name__, extra=log_fields())
