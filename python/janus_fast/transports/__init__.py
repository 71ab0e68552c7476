"""Built-in transports; importing this package registers ws/wss and http/https URLs."""

from janus_fast.transport import JanusTransport
from janus_fast.transports.http import JanusTransportHTTP
from janus_fast.transports.websocket import JanusTransportWebsocket


def _is_ws(url: str) -> bool:
    return url.startswith(("ws://", "wss://"))


def _is_http(url: str) -> bool:
    return url.startswith(("http://", "https://"))


JanusTransport.register_transport(_is_ws, JanusTransportWebsocket)
JanusTransport.register_transport(_is_http, JanusTransportHTTP)

__all__ = ["JanusTransportHTTP", "JanusTransportWebsocket"]
