"""Built-in transports; importing this package registers ws/wss, http/https, Unix-socket URLs
(``unix://``, ``unix+seqpacket://``, ``unix+dgram://``), ``mqtt://`` and ``amqp://`` (the broker
libraries are imported only when such a transport is made)."""

from janus_fast.transport import JanusTransport
from janus_fast.transports.http import JanusTransportHTTP
from janus_fast.transports.mqtt import JanusTransportMQTT
from janus_fast.transports.rabbitmq import JanusTransportRabbitMQ
from janus_fast.transports.unix import SCHEMES as _UNIX_SCHEMES
from janus_fast.transports.unix import JanusTransportUnix
from janus_fast.transports.websocket import JanusTransportWebsocket


def _is_ws(url: str) -> bool:
    return url.startswith(("ws://", "wss://"))


def _is_http(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def _is_unix(url: str) -> bool:
    return url.partition(":")[0] in _UNIX_SCHEMES


def _is_mqtt(url: str) -> bool:
    return url.startswith("mqtt://")


def _is_amqp(url: str) -> bool:
    return url.startswith("amqp://")


JanusTransport.register_transport(_is_ws, JanusTransportWebsocket)
JanusTransport.register_transport(_is_http, JanusTransportHTTP)
JanusTransport.register_transport(_is_unix, JanusTransportUnix)
JanusTransport.register_transport(_is_mqtt, JanusTransportMQTT)
JanusTransport.register_transport(_is_amqp, JanusTransportRabbitMQ)

__all__ = [
    "JanusTransportHTTP",
    "JanusTransportMQTT",
    "JanusTransportRabbitMQ",
    "JanusTransportUnix",
    "JanusTransportWebsocket",
]
