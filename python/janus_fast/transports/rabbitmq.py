"""RabbitMQ transport (``amqp://``): Janus's ``janus.transport.rabbitmq``, through RabbitMQ.

Rule: each request is one message published on the default exchange with Janus's ``to_janus``
queue as routing key (the URL's ``request_queue``, default ``to-janus``); every message Janus
publishes with its ``from_janus`` routing key (``response_queue``, default ``from-janus``) goes
to the Rust core, which completes transactions and routes events. Responses are read from the
``from-janus`` queue itself (declared as Janus declares it: not durable, not exclusive, not
auto-deleted) — one consumer per queue, as RabbitMQ hands each message of a queue to one
consumer — or, with ``exchange=`` (Janus's ``janus_exchange``, of ``exchange_type``), from an
exclusive queue of this client's own bound to that exchange with the ``from_janus`` routing key,
so that several clients each get every response (what no request, session or handle of a
client owns is counted, ``unrouted``, never an error). The URL is
``amqp://user:password@host:port/vhost?request_queue=...&response_queue=...&exchange=...``;
``admin=1`` switches the default queues to the Admin API's (``to-janus-admin``/
``from-janus-admin``). A request RabbitMQ cannot route (no ``to-janus`` queue: Janus's RabbitMQ
transport is not connected) fails at once with ``TransportError``. The broker link, its backoff
and session recovery are ``transports/_broker.py``'s; this module speaks AMQP 0-9-1 (aio-pika,
the optional extra ``janus-fast[amqp]``, imported when the transport is made).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from janus_fast.errors import InvalidURLError, TransportError
from janus_fast.transports._broker import BrokerTransport, BrokerURL, import_broker_library

_QUERY_KEYS = frozenset(
    ("request_queue", "response_queue", "exchange", "exchange_type", "admin", "heartbeat")
)
_EXCHANGE_TYPES = ("fanout", "direct", "topic")


def _check_name(name: str, value: str) -> str:
    if not value or len(value.encode()) > 255 or "\0" in value:
        raise InvalidURLError(f"{name} must be an AMQP name of 1 to 255 bytes, not {value!r}")
    return value


class AmqpSettings:
    """What an ``amqp://`` URL says (credentials kept apart, never shown).

    Args:
        url: The ``amqp://`` URL.

    Raises:
        InvalidURLError: A malformed URL, an unknown setting, a fragment, or a bad queue,
            exchange or setting value.
    """

    __slots__ = (
        "exchange",
        "exchange_type",
        "heartbeat",
        "host",
        "password",
        "port",
        "request_queue",
        "response_queue",
        "username",
        "vhost",
    )

    def __init__(self, url: str) -> None:
        split = BrokerURL.parse(url, "amqp", "RabbitMQ", 5672, _QUERY_KEYS)
        parts, query, suffix = split.parts, split.query, split.admin_suffix
        if parts.fragment:
            raise InvalidURLError("an amqp:// URL has no fragment")
        assert parts.hostname is not None  # checked by BrokerURL.parse
        self.host = parts.hostname
        self.port = split.port
        self.username = unquote(parts.username) if parts.username else "guest"
        self.password = unquote(parts.password) if parts.password else "guest"
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        self.vhost = unquote(path) if path else "/"
        self.request_queue = _check_name(
            "request_queue", query.get("request_queue", f"to-janus{suffix}")
        )
        self.response_queue = _check_name(
            "response_queue", query.get("response_queue", f"from-janus{suffix}")
        )
        exchange = query.get("exchange")
        self.exchange = _check_name("exchange", exchange) if exchange is not None else None
        self.exchange_type = query.get("exchange_type", "fanout")
        if self.exchange_type not in _EXCHANGE_TYPES:
            raise InvalidURLError(
                f"exchange_type must be one of {', '.join(_EXCHANGE_TYPES)}, "
                f"not {self.exchange_type!r}"
            )
        heartbeat = query.get("heartbeat", "20")
        if not heartbeat.isdigit() or int(heartbeat) > 65535:
            raise InvalidURLError(f"heartbeat must be 0..65535 seconds, not {heartbeat!r}")
        self.heartbeat = int(heartbeat)

    @property
    def shown(self) -> str:
        """The URL as shown: no credentials."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        vhost = "" if self.vhost == "/" else self.vhost
        extra = f"&exchange={self.exchange}" if self.exchange else ""
        return (
            f"amqp://{host}:{self.port}/{vhost}?request_queue={self.request_queue}"
            f"&response_queue={self.response_queue}{extra}"
        )


class JanusTransportRabbitMQ(BrokerTransport):
    """Janus's RabbitMQ transport through RabbitMQ (see the module rule for the URL).

    Args:
        base_url: ``amqp://[user:password@]host[:port][/vhost][?request_queue=…&…]``.
        api_secret: Janus's ``api_secret`` (never logged).
        token: a Janus auth token (never logged).
        **kwargs: transport options (``TransportOptions``): ``timeout``, ``connect_timeout``,
            ``queue_size`` (publishes in flight and requests waiting during an outage),
            ``reconnect``, ``max_retries``, ``retry_delay(_max)``, ``reconnect_policy``.

    """

    kind = "RabbitMQ"

    def __init__(
        self,
        base_url: str = "",
        api_secret: str | None = None,
        token: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.settings = AmqpSettings(base_url)
        self._aio_pika = import_broker_library(
            "aio_pika", "aio-pika", "the RabbitMQ transport (amqp:// URLs)", "amqp"
        )
        self._connection: Any = None
        self._channel: Any = None
        secrets = (self.settings.password,) if self.settings.password != "guest" else ()
        super().__init__(
            base_url,
            api_secret,
            token,
            shown_url=self.settings.shown,
            secrets=secrets,
            **kwargs,
        )

    @property
    def request_queue(self) -> str:
        """The queue requests are published to (Janus's ``to_janus``)."""
        return self.settings.request_queue

    @property
    def response_queue(self) -> str:
        """The queue Janus publishes replies and events to (its ``from_janus``)."""
        return self.settings.response_queue

    def _link_open(self) -> bool:
        return self._connection is not None

    async def _open_link(self) -> None:
        aio_pika = self._aio_pika
        settings = self.settings
        connection = await aio_pika.connect(
            host=settings.host,
            port=settings.port,
            login=settings.username,
            password=settings.password,
            virtualhost=settings.vhost,
            timeout=self.options.connect_timeout,
            heartbeat=settings.heartbeat,
        )
        self._connection = connection
        generation = self._link_generation
        connection.close_callbacks.add(
            lambda _sender, exc=None: self._link_lost(
                generation,
                "the RabbitMQ connection closed"
                + (f": {self.describe(exc)}" if isinstance(exc, BaseException) else ""),
            )
        )
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        self._channel = channel
        if settings.exchange is not None:
            exchange = await channel.declare_exchange(
                settings.exchange, settings.exchange_type, durable=False, auto_delete=False
            )
            queue = await channel.declare_queue(exclusive=True, auto_delete=True)
            await queue.bind(exchange, routing_key=settings.response_queue)
        else:
            queue = await channel.declare_queue(
                settings.response_queue, durable=False, exclusive=False, auto_delete=False
            )
        await queue.consume(self._on_message, no_ack=True)

    async def _on_message(self, message: Any) -> None:
        self._received(bytes(message.body))

    async def _publish(self, data: bytes) -> None:
        channel = self._channel
        if channel is None:
            raise TransportError("the RabbitMQ link is down")
        aio_pika = self._aio_pika
        try:
            await channel.default_exchange.publish(
                aio_pika.Message(body=data, content_type="application/json"),
                routing_key=self.settings.request_queue,
                mandatory=True,
                timeout=self.options.connect_timeout,
            )
        except aio_pika.exceptions.DeliveryError:
            raise TransportError(
                f"RabbitMQ could not route the request to queue {self.settings.request_queue!r} "
                "(is Janus's RabbitMQ transport connected to this broker and vhost?)"
            ) from None

    def _drop_link(self) -> None:
        connection, self._connection = self._connection, None
        self._channel = None
        if connection is not None:
            self.close_later(connection.close())
