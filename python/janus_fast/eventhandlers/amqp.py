"""``AmqpEventReceiver``: consumes what Janus's RabbitMQ event handler (``rabbitmqevh``) publishes.

Rule: with ``exchange`` set (rabbitmqevh's ``exchange``, of ``exchange_type``), an exclusive queue
of our own is bound to it, so any number of receivers each get every event; without it, the named
``queue`` (rabbitmqevh's ``route_key``, a queue Janus declares too) is consumed, shared between
consumers. Exchange and queue are declared with the arguments Janus uses (not durable, not
auto-deleted), so whichever side comes first, the other's declaration matches. Messages are acked
once in the stream. Needs the optional extra ``janus-fast[amqp]`` (aio-pika), imported only when
the receiver starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from janus_fast.errors import InvalidOptionError
from janus_fast.eventhandlers._consumer import BrokerReceiver
from janus_fast.eventhandlers.stream import EventStream


def _aio_pika() -> Any:
    try:
        import aio_pika
    except ImportError as exc:
        raise ImportError(
            "AmqpEventReceiver needs aio-pika: pip install 'janus-fast[amqp]'"
        ) from exc
    return aio_pika


class AmqpEventReceiver(BrokerReceiver):
    """Consume rabbitmqevh's events. ``stats()``: ``connects``, ``messages``, ``errors``.

    Args:
        stream: the stream the events go to (None: a new ``EventStream``, as ``receiver.stream``).
        host: the broker's host.
        port: the broker's port.
        username: the broker user.
        password: the broker password; never logged or shown.
        vhost: the broker's virtual host.
        exchange: rabbitmqevh's ``exchange``: bind an exclusive queue of this receiver's own
            to it (every receiver gets every event); None: consume ``queue``.
        exchange_type: the exchange's type, as rabbitmqevh declares it.
        routing_key: the binding key of the exclusive queue.
        queue: without ``exchange``, the queue consumed (rabbitmqevh's ``route_key``).
        prefetch: messages delivered ahead of their ack at most.
        server: the tag set on every event (``event.server``; None: the event's emitter).
        reconnect_interval: seconds between attempts to get a lost link back.
        connect_timeout: seconds ``start()`` waits for the first subscription.

    Raises:
        InvalidOptionError: a bad port, prefetch or duration, or neither exchange nor queue.
    """

    kind = "AMQP"

    def __init__(
        self,
        stream: EventStream | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 5672,
        username: str = "guest",
        password: str = "guest",
        vhost: str = "/",
        exchange: str | None = None,
        exchange_type: str = "fanout",
        routing_key: str = "#",
        queue: str = "janus-events",
        prefetch: int = 100,
        server: str | None = None,
        reconnect_interval: float = 1.0,
        connect_timeout: float = 10.0,
    ) -> None:
        super().__init__(
            stream,
            host=host,
            port=port,
            server=server,
            reconnect_interval=reconnect_interval,
            connect_timeout=connect_timeout,
        )
        if exchange_type not in ("fanout", "topic", "direct", "headers"):
            raise InvalidOptionError(f"unknown exchange_type {exchange_type!r}")
        if not (isinstance(prefetch, int) and prefetch > 0):
            raise InvalidOptionError("prefetch must be an integer > 0")
        if exchange is None and not queue:
            raise InvalidOptionError("give an exchange, or the queue (rabbitmqevh's route_key)")
        self.vhost = vhost
        self.exchange = exchange
        self.exchange_type = exchange_type
        self.routing_key = routing_key
        self.queue = queue
        self.prefetch = prefetch
        self._username = username
        self._password = password

    def __repr__(self) -> str:
        source = f"exchange={self.exchange!r}" if self.exchange else f"queue={self.queue!r}"
        return (
            f"AmqpEventReceiver(host={self.host!r}, port={self.port}, vhost={self.vhost!r}, "
            f"{source}, server={self.server!r})"
        )

    def _library(self) -> Any:
        return _aio_pika()

    async def _consume(self, ready: Callable[[], None]) -> None:
        aio_pika = _aio_pika()
        connection = await aio_pika.connect(
            host=self.host,
            port=self.port,
            login=self._username,
            password=self._password,
            virtualhost=self.vhost,
            timeout=self.connect_timeout,
        )
        async with connection:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=self.prefetch)
            if self.exchange is not None:
                exchange = await channel.declare_exchange(
                    self.exchange, self.exchange_type, durable=False, auto_delete=False
                )
                queue = await channel.declare_queue(exclusive=True, auto_delete=True)
                await queue.bind(exchange, routing_key=self.routing_key)
            else:
                queue = await channel.declare_queue(self.queue, durable=False, auto_delete=False)
            async with queue.iterator() as messages:
                ready()
                async for message in messages:
                    async with message.process():
                        self._deliver(bytes(message.body))
