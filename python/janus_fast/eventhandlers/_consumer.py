"""The lifecycle every broker consumer shares (MQTT, AMQP).

One supervised task connects, subscribes, feeds the stream, and reconnects after
``reconnect_interval`` when the link fails.

Rule: ``start()`` returns once the first subscription is in place, or raises ``TransportError``
after ``connect_timeout``; later failures are counted (``errors``), logged at WARNING once per
outage (the exception's class and the broker's host:port only: never credentials) and retried
until ``close()``. ``close()`` is bounded in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import types
from collections.abc import Callable
from typing import Any, TypeVar

from janus_fast.errors import InvalidOptionError, InvalidStateError, TransportError
from janus_fast.eventhandlers.events import InvalidEventError, decode_payload
from janus_fast.eventhandlers.stream import EventStream
from janus_fast.logfields import log_fields

logger = logging.getLogger("janus_fast.eventhandlers")

_C = TypeVar("_C", bound="BrokerReceiver")


def _positive(name: str, value: float) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise InvalidOptionError(f"{name} must be finite and > 0, not {value!r}")
    return float(value)


class BrokerReceiver:
    """Base of ``MqttEventReceiver`` and ``AmqpEventReceiver``.

    Subclasses implement ``_consume(ready)``: connect, subscribe, call ``ready()``, then
    ``_deliver`` each message.
    """

    kind = "broker"

    def __init__(
        self,
        stream: EventStream | None,
        *,
        host: str,
        port: int,
        server: str | None,
        reconnect_interval: float,
        connect_timeout: float,
    ) -> None:
        if not (isinstance(port, int) and 0 < port <= 65535):
            raise InvalidOptionError(f"port must be 1..65535, not {port!r}")
        self.stream = stream if stream is not None else EventStream()
        self.host = host
        self.port = port
        self.server = server
        self.reconnect_interval = _positive("reconnect_interval", reconnect_interval)
        self.connect_timeout = _positive("connect_timeout", connect_timeout)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._counters = {"connects": 0, "messages": 0, "errors": 0}
        self._failure: BaseException | None = None

    def stats(self) -> dict[str, int]:
        """Return the counters: ``connects``, ``messages``, ``errors`` (and the subclass's)."""
        return dict(self._counters)

    def _count(self, name: str) -> None:
        self._counters[name] = self._counters.get(name, 0) + 1

    @property
    def connected(self) -> bool:
        """Whether the subscription is in place now."""
        return self._ready.is_set()

    async def start(self: _C) -> _C:
        """Start the consumer task and wait for the first subscription.

        Returns:
            The receiver itself.

        Raises:
            InvalidStateError: the receiver was already started.
            ImportError: the broker client library (the extra) is not installed.
            TransportError: no subscription within ``connect_timeout`` (the task is stopped).
        """
        if self._task is not None:
            raise InvalidStateError(f"{self.kind} receiver already started")
        self._library()  # a missing extra is an ImportError here, not a retried failure
        self._task = asyncio.get_running_loop().create_task(self._run())
        try:
            await asyncio.wait_for(self._ready.wait(), self.connect_timeout)
        except asyncio.TimeoutError:
            failure = self._failure
            await self.close()
            detail = f": {type(failure).__name__}" if failure is not None else ""
            raise TransportError(
                f"could not subscribe at the {self.kind} broker {self.host}:{self.port} within "
                f"{self.connect_timeout} s{detail}"
            ) from None
        return self

    async def close(self, *, close_stream: bool = False) -> None:
        """Stop the consumer (within about 5 s).

        Args:
            close_stream: also close the event stream, ending its iterators.
        """
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError, Exception):
                await asyncio.wait_for(task, 5.0)
        self._ready.clear()
        if close_stream:
            self.stream.close()

    async def __aenter__(self: _C) -> _C:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        await self.close()

    async def _run(self) -> None:
        warned = False
        while True:
            try:
                await self._consume(self._on_ready)
                raise ConnectionError("subscription ended")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the link failed: count, say so once, retry
                self._ready.clear()
                self._failure = exc
                self._count("errors")
                if not warned:
                    warned = True
                    logger.warning(
                        "%s event receiver lost %s:%d (%s); reconnecting every %.1f s",
                        self.kind,
                        self.host,
                        self.port,
                        type(exc).__name__,
                        self.reconnect_interval,
                        extra=log_fields(),
                    )
            await asyncio.sleep(self.reconnect_interval)

    def _on_ready(self) -> None:
        self._count("connects")
        self._ready.set()

    def _library(self) -> Any:
        """Import the client library module (ImportError naming the extra to install)."""
        raise NotImplementedError

    async def _consume(self, ready: Callable[[], None]) -> None:
        raise NotImplementedError

    def _deliver(self, payload: bytes) -> None:
        """Publish one broker message: one event or a grouped array of them."""
        self._count("messages")
        try:
            events = decode_payload(payload)
        except InvalidEventError as exc:
            self.stream.count_invalid()
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("%s event message refused: %s", self.kind, exc, extra=log_fields())
            return
        self.stream.publish(events, self.server)
