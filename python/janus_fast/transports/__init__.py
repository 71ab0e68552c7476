"""Built-in transports: importing this package registers their URL schemes.

The schemes are ws/wss, http/https, Unix-socket URLs
(``unix://``, ``unix+seqpacket://``, ``unix+dgram://``), ``mqtt://``, ``amqp://`` and nanomsg
(``nanomsg+ipc://``, ``nanomsg+tcp://``); the broker and nanomsg libraries are imported only when
such a transport is made.
"""

from janus_fast.transport import JanusTransport, SchemeMatcher
from janus_fast.transports.http import JanusTransportHTTP
from janus_fast.transports.mqtt import JanusTransportMQTT
from janus_fast.transports.nanomsg import SCHEMES as _NANOMSG_SCHEMES
from janus_fast.transports.nanomsg import JanusTransportNanomsg
from janus_fast.transports.rabbitmq import JanusTransportRabbitMQ
from janus_fast.transports.unix import SCHEMES as _UNIX_SCHEMES
from janus_fast.transports.unix import JanusTransportUnix
from janus_fast.transports.websocket import JanusTransportWebsocket

JanusTransport.register_transport(SchemeMatcher("ws", "wss"), JanusTransportWebsocket)
JanusTransport.register_transport(SchemeMatcher("http", "https"), JanusTransportHTTP)
JanusTransport.register_transport(
    SchemeMatcher(*_UNIX_SCHEMES, authority=False), JanusTransportUnix
)
JanusTransport.register_transport(SchemeMatcher("mqtt"), JanusTransportMQTT)
JanusTransport.register_transport(SchemeMatcher("amqp"), JanusTransportRabbitMQ)
JanusTransport.register_transport(SchemeMatcher(*_NANOMSG_SCHEMES), JanusTransportNanomsg)

__all__ = [
    "JanusTransportHTTP",
    "JanusTransportMQTT",
    "JanusTransportNanomsg",
    "JanusTransportRabbitMQ",
    "JanusTransportUnix",
    "JanusTransportWebsocket",
]
