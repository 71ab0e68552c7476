"""Typed Janus event-handler events: one dataclass per event type, parsed from Janus's JSON.

Rule: parsing never raises on a well-formed JSON object: what this module does not know (a new
type, a missing field) still yields an event (``UnknownEvent``, ``None`` fields) with the raw dict
kept. Only a payload that is not a JSON object (or array of objects) raises ``InvalidEventError``.
Secrets Janus puts in events (a handle's ``token``) and bulky fields (SDPs, the raw dict) are left
out of reprs.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

import orjson

from janus_fast.errors import ProtocolError


class InvalidEventError(ProtocolError, ValueError):
    """A payload that is not a Janus event (not JSON, or not an object / array of objects)."""


class EventType(enum.IntFlag):
    """Janus's event-type bitmask (``JANUS_EVENT_TYPE_*`` in ``src/events/eventhandler.h``)."""

    SESSION = 1
    HANDLE = 2
    EXTERNAL = 4
    JSEP = 8
    WEBRTC = 16
    MEDIA = 32
    PLUGIN = 64
    TRANSPORT = 128
    CORE = 256


class CoreSubtype(enum.IntEnum):
    """Subtypes of core events (type 256)."""

    STARTUP = 1
    SHUTDOWN = 2


class WebRTCSubtype(enum.IntEnum):
    """Subtypes of WebRTC events (type 16)."""

    ICE = 1
    LOCAL_CANDIDATE = 2
    REMOTE_CANDIDATE = 3
    SELECTED_PAIR = 4
    DTLS = 5
    STATE = 6


class MediaSubtype(enum.IntEnum):
    """Subtypes of media events (type 32)."""

    STATE = 1
    SLOW_LINK = 2
    STATS = 3


@dataclasses.dataclass(frozen=True)
class JanusEvent:
    """Fields every event has; the base of every typed event-handler event.

    Attributes:
        type: the event type (an ``EventType`` value).
        subtype: the subtype (``CoreSubtype``, ``WebRTCSubtype``, ``MediaSubtype``), if any.
        emitter: the name of the Janus instance that sent it (its ``server_name``).
        timestamp: Janus's real-time clock in microseconds.
        session_id: the session it concerns, if any.
        handle_id: the handle it concerns, if any.
        opaque_id: the handle's opaque id, if any.
        server: the tag of the receiver that got it (``emitter`` when no tag was given).
        raw: the event as Janus sent it (one object of a grouped array).
    """

    type: int
    subtype: int | None
    emitter: str | None
    timestamp: int | None
    session_id: int | None
    handle_id: int | None
    opaque_id: str | None
    server: str | None
    #: The event as Janus sent it (one object of a grouped array).
    raw: Mapping[str, Any] = dataclasses.field(repr=False, compare=False)

    @property
    def body(self) -> Mapping[str, Any]:
        """The ``event`` object of the raw event (empty when absent)."""
        body = self.raw.get("event")
        return body if isinstance(body, Mapping) else {}


@dataclasses.dataclass(frozen=True)
class SessionEvent(JanusEvent):
    """Type 1: a session was created, destroyed or timed out.

    Attributes:
        name: ``created``, ``destroyed`` or ``timeout``.
        transport: on ``created``, which transport and connection created the session.
    """

    name: str | None
    transport: Mapping[str, Any] | None


@dataclasses.dataclass(frozen=True)
class HandleEvent(JanusEvent):
    """Type 2: ``name`` is ``attached`` or ``detached``; ``plugin`` the plugin package."""

    name: str | None
    plugin: str | None
    #: The token the handle was attached with (token auth): never shown in reprs.
    token: str | None = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True)
class JsepEvent(JanusEvent):
    """Type 8: an offer/answer ``owner`` ``local`` (Janus sent it) or ``remote`` (it got it)."""

    owner: str | None
    jsep_type: str | None
    sdp: str | None = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True)
class WebRTCEvent(JanusEvent):
    """Type 16: a WebRTC state change, by ``subtype`` (``WebRTCSubtype``).

    ICE state (``ice``), local/remote candidate, selected pair, DTLS state (``dtls``),
    PeerConnection state (``connection``: ``webrtcup``, ``hangup``). The whole object is in
    ``data``.
    """

    ice: str | None
    dtls: str | None
    connection: str | None
    stream_id: int | None
    component_id: int | None
    data: Mapping[str, Any] = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True)
class MediaEvent(JanusEvent):
    """Type 32: a media report, by ``subtype`` (``MediaSubtype``).

    Media state (``receiving``), slow link, stats (``data`` holds the counters; a list when
    ``combine_media_stats`` is on).
    """

    media: str | None
    mid: str | None
    receiving: bool | None
    data: Any = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True)
class PluginEvent(JanusEvent):
    """Type 64: ``data`` is whatever the plugin notified (per-plugin format)."""

    plugin: str | None
    data: Any


@dataclasses.dataclass(frozen=True)
class TransportEvent(JanusEvent):
    """Type 128: ``transport`` package, ``transport_id`` (Janus's hash of the instance)."""

    transport: str | None
    transport_id: str | None
    data: Any


@dataclasses.dataclass(frozen=True)
class CoreEvent(JanusEvent):
    """Type 256 (no session): ``status`` is ``started`` or ``shutdown``; ``data`` the object."""

    status: str | None
    data: Mapping[str, Any] = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True)
class ExternalEvent(JanusEvent):
    """Type 4: sent through the Admin API's ``custom_event`` (``schema`` and ``data``)."""

    schema: str | None
    data: Any


@dataclasses.dataclass(frozen=True)
class UnknownEvent(JanusEvent):
    """A type this module does not know (a newer Janus): the raw dict is all there is."""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _map(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):  # older Janus versions sent strings
        return bool(value == "true")
    return None


def parse_event(raw: Mapping[str, Any], server: str | None = None) -> JanusEvent:
    """Build the typed event of one Janus event object.

    Args:
        raw: one event object (an element of a grouped array).
        server: the receiver's tag; None: the event's ``emitter``.

    Returns:
        The event (``UnknownEvent`` for a type this module does not know); missing fields are
        None.

    Raises:
        InvalidEventError: ``raw`` is not a mapping.
    """
    if not isinstance(raw, Mapping):
        raise InvalidEventError(f"a Janus event is a JSON object, not {type(raw).__name__}")
    kind = _int(raw.get("type")) or 0
    body = raw.get("event")
    fields: dict[str, Any] = {
        "type": kind,
        "subtype": _int(raw.get("subtype")),
        "emitter": _str(raw.get("emitter")),
        "timestamp": _int(raw.get("timestamp")),
        "session_id": _int(raw.get("session_id")),
        "handle_id": _int(raw.get("handle_id")),
        "opaque_id": _str(raw.get("opaque_id")),
        "server": server if server is not None else _str(raw.get("emitter")),
        "raw": raw,
    }
    obj: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
    if kind == EventType.SESSION:
        return SessionEvent(
            **fields, name=_str(obj.get("name")), transport=_map(obj.get("transport"))
        )
    if kind == EventType.HANDLE:
        if fields["opaque_id"] is None:  # before Janus 0.9 it was only in the body
            fields["opaque_id"] = _str(obj.get("opaque_id"))
        return HandleEvent(
            **fields,
            name=_str(obj.get("name")),
            plugin=_str(obj.get("plugin")),
            token=_str(obj.get("token")),
        )
    if kind == EventType.JSEP:
        jsep = _map(obj.get("jsep")) or {}
        return JsepEvent(
            **fields,
            owner=_str(obj.get("owner")),
            jsep_type=_str(jsep.get("type")),
            sdp=_str(jsep.get("sdp")),
        )
    if kind == EventType.WEBRTC:
        return WebRTCEvent(
            **fields,
            ice=_str(obj.get("ice")),
            dtls=_str(obj.get("dtls")),
            connection=_str(obj.get("connection")),
            stream_id=_int(obj.get("stream_id")),
            component_id=_int(obj.get("component_id")),
            data=obj,
        )
    if kind == EventType.MEDIA:
        return MediaEvent(
            **fields,
            media=_str(obj.get("media")),
            mid=_str(obj.get("mid")),
            receiving=_bool(obj.get("receiving")),
            data=body,
        )
    if kind == EventType.PLUGIN:
        return PluginEvent(**fields, plugin=_str(obj.get("plugin")), data=obj.get("data"))
    if kind == EventType.TRANSPORT:
        return TransportEvent(
            **fields,
            transport=_str(obj.get("transport")),
            transport_id=_str(obj.get("id")),
            data=obj.get("data"),
        )
    if kind == EventType.CORE:
        return CoreEvent(**fields, status=_str(obj.get("status")), data=obj)
    if kind == EventType.EXTERNAL:
        return ExternalEvent(**fields, schema=_str(obj.get("schema")), data=obj.get("data"))
    return UnknownEvent(**fields)


def decode_payload(payload: bytes | str) -> list[dict[str, Any]]:
    """Decode a POST body or WebSocket message into its event objects.

    Args:
        payload: one object, or an array of them when Janus groups events.

    Returns:
        The event objects, in order.

    Raises:
        InvalidEventError: the payload is not JSON, or not an object or array of objects.
    """
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise InvalidEventError(f"event payload is not JSON ({exc})") from None
    items = value if isinstance(value, list) else [value]
    for item in items:
        if not isinstance(item, dict):
            raise InvalidEventError(
                f"event payload holds a {type(item).__name__}, not a JSON object"
            )
    return items
