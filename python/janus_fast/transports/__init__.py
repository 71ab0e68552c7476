"""Built-in transports; importing this package registers ws/wss, http/https and Unix-socket URLs
(``unix://``, ``unix+seqpacket://``, ``unix+dgram://``)."""

from janus_fast.transport import JanusTransport
from janus_fast.transports.http import JanusTransportHTTP
from janus_fast.transports.unix import SCHEMES as _UNIX_SCHEMES
from janus_fast.transports.unix import JanusTransportUnix
from janus_fast.transports.websocket import JanusTransportWebsocket


def _is_ws(url: str) -> bool:
    return url.startswith(("ws://", "wss://"))


def _is_http(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def _is_unix(url: str) -> bool:
    return url.partition(":")[0] in _UNIX_SCHEMES


JanusTransport.register_transport(_is_ws, JanusTransportWebsocket)
JanusTransport.register_transport(_is_http, JanusTransportHTTP)
JanusTransport.register_transport(_is_unix, JanusTransportUnix)

__all__ = ["JanusTransportHTTP", "JanusTransportUnix", "JanusTransportWebsocket"]
