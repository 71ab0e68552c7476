"""janus_fast: a fast, dependable asyncio client for the Janus WebRTC gateway.

A drop-in for ``janus_client`` 0.9.0: every public name it exports (and the ones its users import
from its submodules) is importable from here. Rule: this module only re-exports; importing it has
no side effects (no logging configuration, no event-loop policy, no aiortc/PyAV import).
"""

from janus_fast._core import Expect, Message, __version__
from janus_fast.errors import (
    AuthError,
    ConnectionClosedError,
    HandleNotFoundError,
    InvalidStateError,
    InvalidURLError,
    JanusError,
    JanusFastError,
    PluginAttachFail,
    PluginError,
    PluginNotFoundError,
    ProtocolError,
    QueueFullError,
    RequestTimeoutError,
    SessionLostError,
    SessionNotFoundError,
    TransportError,
    UnauthorizedError,
    UnauthorizedPluginError,
    janus_error,
)
from janus_fast.events import (
    DetachedEvent,
    EventType,
    HangupEvent,
    IceFailedEvent,
    JanusEvent,
    MediaEvent,
    OtherEvent,
    PluginEvent,
    SessionTimeoutEvent,
    SlowLinkEvent,
    TrickleEvent,
    WebRTCUpEvent,
    parse_event,
)
from janus_fast.message_transaction import MessageTransaction, is_subset
from janus_fast.options import TransportOptions
from janus_fast.plugin import JanusPlugin
from janus_fast.session import JanusSession
from janus_fast.transport import JanusTransport
from janus_fast.transports import JanusTransportHTTP, JanusTransportWebsocket

__all__ = [
    "AuthError",
    "ConnectionClosedError",
    "DetachedEvent",
    "EventType",
    "Expect",
    "HandleNotFoundError",
    "HangupEvent",
    "IceFailedEvent",
    "InvalidStateError",
    "InvalidURLError",
    "JanusError",
    "JanusEvent",
    "JanusFastError",
    "JanusPlugin",
    "JanusSession",
    "JanusTransport",
    "JanusTransportHTTP",
    "JanusTransportWebsocket",
    "MediaEvent",
    "Message",
    "MessageTransaction",
    "OtherEvent",
    "PluginAttachFail",
    "PluginError",
    "PluginEvent",
    "PluginNotFoundError",
    "ProtocolError",
    "QueueFullError",
    "RequestTimeoutError",
    "SessionLostError",
    "SessionNotFoundError",
    "SessionTimeoutEvent",
    "SlowLinkEvent",
    "TransportError",
    "TransportOptions",
    "TrickleEvent",
    "UnauthorizedError",
    "UnauthorizedPluginError",
    "WebRTCUpEvent",
    "__version__",
    "is_subset",
    "janus_error",
    "parse_event",
]
