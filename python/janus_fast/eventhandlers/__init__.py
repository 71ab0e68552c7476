"""Janus event handlers as one typed async stream.

Rule: receivers (``HttpEventReceiver`` for ``sampleevh``, ``WebSocketEventReceiver`` for
``wsevh``, ``MqttEventReceiver`` for ``mqttevh``, ``AmqpEventReceiver`` for ``rabbitmqevh``,
``GelfEventReceiver`` for ``gelfevh``, ``NanomsgEventReceiver`` for ``nanomsgevh``) only decode
what Janus sends and ``publish`` it into an ``EventStream``; the stream owns the bound, the
de-duplication and the counters; ``events`` owns the types. HTTP, WebSocket and GELF need nothing
beyond the core install (orjson); MQTT, AMQP and Nanomsg import their client library (extras
``janus-fast[mqtt]``, ``janus-fast[amqp]``, ``janus-fast[nanomsg]``) only when started.
"""

from __future__ import annotations

from janus_fast.eventhandlers.amqp import AmqpEventReceiver
from janus_fast.eventhandlers.events import (
    CoreEvent,
    CoreSubtype,
    EventType,
    ExternalEvent,
    HandleEvent,
    InvalidEventError,
    JanusEvent,
    JsepEvent,
    MediaEvent,
    MediaSubtype,
    PluginEvent,
    SessionEvent,
    TransportEvent,
    UnknownEvent,
    WebRTCEvent,
    WebRTCSubtype,
    decode_payload,
    parse_event,
)
from janus_fast.eventhandlers.gelf import GelfEventReceiver
from janus_fast.eventhandlers.http import HttpEventReceiver
from janus_fast.eventhandlers.mqtt import MqttEventReceiver
from janus_fast.eventhandlers.nanomsg import NanomsgEventReceiver
from janus_fast.eventhandlers.stream import EventStream
from janus_fast.eventhandlers.websocket import WebSocketEventReceiver

__all__ = [
    "AmqpEventReceiver",
    "CoreEvent",
    "CoreSubtype",
    "EventStream",
    "EventType",
    "ExternalEvent",
    "GelfEventReceiver",
    "HandleEvent",
    "HttpEventReceiver",
    "InvalidEventError",
    "JanusEvent",
    "JsepEvent",
    "MediaEvent",
    "MediaSubtype",
    "MqttEventReceiver",
    "NanomsgEventReceiver",
    "PluginEvent",
    "SessionEvent",
    "TransportEvent",
    "UnknownEvent",
    "WebRTCEvent",
    "WebRTCSubtype",
    "WebSocketEventReceiver",
    "decode_payload",
    "parse_event",
]
