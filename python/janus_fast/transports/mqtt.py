"""MQTT transport (``mqtt://``): Janus's ``janus.transport.mqtt``, through an MQTT broker.

Rule: each request is one publish to Janus's ``subscribe_topic`` (the URL's ``request_topic``,
default ``to-janus``); every message on Janus's ``publish_topic`` (``response_topic``, default
``from-janus``) goes to the Rust core, which completes transactions and routes events. The URL
is ``mqtt://user:password@host:port/?request_topic=...&response_topic=...&qos=1&client_id=...``;
``admin=1`` switches the default topics to the Admin API's (``to-janus-admin``/
``from-janus-admin``); ``mqtt_version`` is ``3.1.1`` (default) or ``5``. With MQTT 5,
``reply_topic=...`` asks Janus to publish each reply on that topic (the request's Response
Topic; events still come on ``response_topic``), which gives a client its own reply topic.
Every client subscribed to one response topic sees every message on it: what no request,
session or handle of this client owns is counted (``unrouted``), never an error. The broker
link, its backoff and session recovery are ``transports/_broker.py``'s; this module speaks MQTT
(aiomqtt, the optional extra ``janus-fast[mqtt]``, imported when the transport is made).
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any
from urllib.parse import unquote

from janus_fast.errors import InvalidURLError, TransportError
from janus_fast.transports._broker import BrokerTransport, BrokerURL, import_broker_library

#: The URL's query settings (anything else is refused).
_QUERY_KEYS = frozenset(
    ("request_topic", "response_topic", "reply_topic", "qos", "client_id", "admin", "mqtt_version")
)
_VERSIONS = ("3.1.1", "5")


def _check_topic(name: str, topic: str) -> str:
    if not topic or "#" in topic or "+" in topic or "\0" in topic:
        raise InvalidURLError(f"{name} must be a plain MQTT topic (no wildcards), not {topic!r}")
    return topic


def _code(granted: Any) -> int:
    """A SUBACK entry as a number: MQTT 3.1.1 grants a QoS (int), MQTT 5 gives a reason code."""
    return int(granted.value if hasattr(granted, "value") else granted)


class MqttSettings:
    """What an ``mqtt://`` URL says (credentials kept apart, never shown).

    Args:
        url: The ``mqtt://`` URL.

    Raises:
        InvalidURLError: A malformed URL, an unknown setting, a path or fragment, a bad topic,
            ``qos`` or ``mqtt_version``, or ``reply_topic`` without MQTT 5.
    """

    __slots__ = (
        "client_id",
        "host",
        "password",
        "port",
        "qos",
        "reply_topic",
        "request_topic",
        "response_topic",
        "username",
        "version",
    )

    def __init__(self, url: str) -> None:
        split = BrokerURL.parse(url, "mqtt", "MQTT", 1883, _QUERY_KEYS)
        parts, query, suffix = split.parts, split.query, split.admin_suffix
        if parts.path not in ("", "/") or parts.fragment:
            raise InvalidURLError("an mqtt:// URL has no path or fragment; topics go in the query")
        assert parts.hostname is not None  # checked by BrokerURL.parse
        self.host = parts.hostname
        self.port = split.port
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.request_topic = _check_topic(
            "request_topic", query.get("request_topic", f"to-janus{suffix}")
        )
        self.response_topic = _check_topic(
            "response_topic", query.get("response_topic", f"from-janus{suffix}")
        )
        qos = query.get("qos", "1")
        if qos not in ("0", "1", "2"):
            raise InvalidURLError(f"qos must be 0, 1 or 2, not {qos!r}")
        self.qos = int(qos)
        self.client_id = query.get("client_id") or None
        version = query.get("mqtt_version", "3.1.1")
        if version not in _VERSIONS:
            raise InvalidURLError(f"mqtt_version must be 3.1.1 or 5, not {version!r}")
        self.version = version
        reply = query.get("reply_topic")
        if reply is not None and version != "5":
            raise InvalidURLError("reply_topic needs mqtt_version=5 (a Response Topic property)")
        self.reply_topic = _check_topic("reply_topic", reply) if reply is not None else None

    @property
    def shown(self) -> str:
        """The URL as shown: no credentials."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        extra = f"&reply_topic={self.reply_topic}" if self.reply_topic else ""
        return (
            f"mqtt://{host}:{self.port}/?request_topic={self.request_topic}"
            f"&response_topic={self.response_topic}{extra}"
        )


class JanusTransportMQTT(BrokerTransport):
    """Janus's MQTT transport through an MQTT broker (see the module rule for the URL).

    Args:
        base_url: ``mqtt://[user:password@]host[:port]/?request_topic=…&response_topic=…``.
        api_secret: Janus's ``api_secret`` (never logged).
        token: a Janus auth token (never logged).
        **kwargs: transport options (``TransportOptions``): ``timeout``, ``connect_timeout``,
            ``queue_size`` (publishes in flight and requests waiting during an outage; also the
            incoming message queue), ``reconnect``, ``max_retries``, ``retry_delay(_max)``,
            ``ping_interval`` (the MQTT keepalive, s), ``reconnect_policy``.

    """

    kind = "MQTT"

    def __init__(
        self,
        base_url: str = "",
        api_secret: str | None = None,
        token: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.settings = MqttSettings(base_url)
        self._aiomqtt = import_broker_library(
            "aiomqtt", "aiomqtt", "the MQTT transport (mqtt:// URLs)", "mqtt"
        )
        self._client: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._properties: Any = None
        super().__init__(
            base_url,
            api_secret,
            token,
            shown_url=self.settings.shown,
            secrets=(self.settings.password or "",),
            **kwargs,
        )
        if self.settings.reply_topic is not None:
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.ResponseTopic = self.settings.reply_topic
            self._properties = properties

    @property
    def request_topic(self) -> str:
        """The topic requests are published to (Janus's ``subscribe_topic``)."""
        return self.settings.request_topic

    @property
    def response_topic(self) -> str:
        """The topic Janus publishes replies and events to (its ``publish_topic``)."""
        return self.settings.response_topic

    def _link_open(self) -> bool:
        return self._client is not None

    async def _open_link(self) -> None:
        aiomqtt = self._aiomqtt
        settings = self.settings
        version = (
            aiomqtt.ProtocolVersion.V5 if settings.version == "5" else aiomqtt.ProtocolVersion.V311
        )
        client = aiomqtt.Client(
            settings.host,
            settings.port,
            username=settings.username,
            password=settings.password,
            identifier=settings.client_id,
            protocol=version,
            timeout=self.options.connect_timeout,
            keepalive=max(1, int(self.options.ping_interval or 60)),
            max_queued_incoming_messages=self.options.queue_size,
            # Small publishes must not wait for the broker's delayed ACK (Nagle: ~40 ms each).
            socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
        )
        # aiomqtt warns past 10 publishes awaiting their acknowledgement; ours are bounded.
        client.pending_calls_threshold = self.options.queue_size + 1
        try:
            await client.__aenter__()
        except BaseException:
            # Its socket may still be open (a CONNACK could connect it later): close it.
            self.close_later(client.__aexit__(None, None, None))
            raise
        self._client = client
        generation = self._link_generation
        topics = [settings.response_topic]
        if settings.reply_topic is not None and settings.reply_topic != settings.response_topic:
            topics.append(settings.reply_topic)
        for topic in topics:
            granted = await client.subscribe(topic, qos=settings.qos)
            if any(_code(code) >= 0x80 for code in granted):
                raise TransportError(
                    f"the MQTT broker refused the subscription to {topic!r} (check its ACL)"
                )
        self._reader = self._spawn(self._read(client, generation))

    async def _read(self, client: Any, generation: int) -> None:
        """Every message of the subscribed topics into the core, until the link fails."""
        try:
            async for message in client.messages:
                payload = message.payload
                if isinstance(payload, str):
                    payload = payload.encode()
                if isinstance(payload, bytes | bytearray):
                    self._received(bytes(payload))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._link_lost(generation, f"the MQTT link failed: {self.describe(exc)}")
            return
        self._link_lost(generation, "the MQTT link ended")

    async def _publish(self, data: bytes) -> None:
        client = self._client
        if client is None:
            raise TransportError("the MQTT link is down")
        await client.publish(
            self.settings.request_topic,
            data,
            qos=self.settings.qos,
            properties=self._properties,
            timeout=self.options.connect_timeout,
        )

    def _drop_link(self) -> None:
        client, self._client = self._client, None
        reader, self._reader = self._reader, None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
        if client is not None:
            self.close_later(client.__aexit__(None, None, None))
