"""The typed plugin client base: typed requests, ``on_event`` handlers and event dispatch.

Rule: a plugin request either returns the completing reply or raises the plugin's own error class
(``VideoRoomError`` …, built by ``plugins._errors``). Events never raise into the delivery path:
shapes are read with ``.get``, unknown shapes become the enum's ``OTHER`` event, plugin errors its
``ERROR`` event, and a raising handler is logged. Every ``timeout`` defaults to
``OPTION_TIMEOUT``: the session's ``timeout`` option, read when the method runs. Room,
participant, feed, mountpoint, recording and user ids are ``RoomId`` (``int``, or ``str`` when
the plugin runs with ``string_ids = true``): passed to Janus and returned as they are, never
cast. The PeerConnection's part of each event is ``plugins._peer``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar

from janus_fast import timeouts
from janus_fast._compat import timeout as deadline
from janus_fast.errors import JanusError, PluginError, RequestTimeoutError
from janus_fast.plugins._errors import TypedPluginError, error_in, typed_error
from janus_fast.plugins._peer import PEER_EVENT_TYPES, PeerHandle
from janus_fast.timeouts import OPTION_TIMEOUT, Timeout

logger = logging.getLogger("janus_fast.plugins")

JsonDict = dict[str, Any]
EventHandler = Callable[[JsonDict], Any]
#: A room, participant/publisher/feed, mountpoint, recording or user id: an ``int``, or a ``str``
#: when the plugin runs with ``string_ids = true`` (Janus refuses the other kind with a plugin
#: error).
RoomId = int | str
ParticipantId = RoomId


def id_or_none(value: object) -> RoomId | None:
    """Return ``value`` when it is an id, as Janus sent it.

    Args:
        value: Anything from a reply or event.

    Returns:
        ``value`` when it is an int that is not a bool, or a str; else None.
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    return value


def dict_list(value: object) -> list[JsonDict]:
    """Return the objects of a list from a reply (Janus's ``list``, ``participants`` …).

    Args:
        value: Anything from a reply.

    Returns:
        The entries of ``value`` that are JSON objects, in order (anything else in the list
        names no room, participant or recording); empty when ``value`` is not a list.
    """
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def plugin_data(message: JsonDict) -> JsonDict | None:
    """Extract ``plugindata.data`` from a message.

    Args:
        message: A reply or event from Janus.

    Returns:
        The dict, or None when the shape is not the expected one.
    """
    plugindata = message.get("plugindata")
    if not isinstance(plugindata, dict):
        return None
    data = plugindata.get("data")
    return data if isinstance(data, dict) else None


def reply_data(reply: JsonDict) -> JsonDict:
    """Extract ``plugindata.data`` from a reply, with the reply's jsep.

    Args:
        reply: A plugin reply.

    Returns:
        The data (empty when missing), with the reply's ``jsep`` (if any) under ``"jsep"``.
    """
    data = plugin_data(reply) or {}
    jsep = reply.get("jsep")
    if isinstance(jsep, dict):
        data = {**data, "jsep": jsep}
    return data


def compact(body: JsonDict) -> JsonDict:
    """Drop the None values of a request body (its optional fields left out).

    Args:
        body: The request body.

    Returns:
        A new dict without the None values.
    """
    return {key: value for key, value in body.items() if value is not None}


class PluginClient(PeerHandle):
    """Base of the typed plugin clients (janus-client's plugin behaviour, without its bugs).

    Args:
        **kwargs: Passed to ``JanusPlugin``: ``pc_config``, an aiortc ``RTCConfiguration`` for
            the PeerConnections this handle makes.
    """

    error_class: ClassVar[type[TypedPluginError]] = TypedPluginError
    #: The ``plugindata.data`` key naming the plugin (``videoroom``, ``textroom`` …).
    data_key: ClassVar[str] = ""
    event_types: ClassVar[type[enum.Enum] | None] = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._event_handlers: dict[enum.Enum, list[EventHandler]] = {}

    # -- janus-client's on_event ----------------------------------------------------------------
    def on_event(self, event_type: Any, handler: EventHandler) -> None:
        """Call ``handler(data)`` (sync or async) for each event of ``event_type``.

        A handler that raises is logged; it never breaks the delivery of events.

        Args:
            event_type: A member (or value) of the plugin's event enum.
            handler: Called with the event's payload; may return an awaitable.

        Raises:
            TypeError: This plugin has no typed events.
            ValueError: ``event_type`` is not one of the plugin's events.
        """
        self._event_handlers.setdefault(self._event_type(event_type), []).append(handler)

    def off_event(self, event_type: Any, handler: EventHandler) -> None:
        """Remove a handler added with ``on_event`` (nothing when it is not there).

        Args:
            event_type: A member (or value) of the plugin's event enum.
            handler: The handler to remove.

        Raises:
            TypeError: This plugin has no typed events.
            ValueError: ``event_type`` is not one of the plugin's events.
        """
        handlers = self._event_handlers.get(self._event_type(event_type), [])
        if handler in handlers:
            handlers.remove(handler)

    def _event_type(self, event_type: Any) -> enum.Enum:
        enum_cls = self.event_types
        if enum_cls is None:
            raise TypeError(f"{type(self).__name__} has no typed events")
        member: enum.Enum = enum_cls(event_type)
        return member

    async def _trigger_event(self, event_type: enum.Enum, data: JsonDict) -> None:
        handlers = self._event_handlers.get(event_type)
        if handlers:
            await self._run_handlers(event_type, handlers, data)

    async def _run_handlers(
        self, event_type: enum.Enum, handlers: list[EventHandler], data: JsonDict
    ) -> None:
        """Call each of ``handlers`` (a copy: one may remove itself) with ``data``, in order."""
        for handler in list(handlers):
            try:
                result = handler(data)
                if result is not None and inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception(
                    "%r: %s handler %r raised", self, event_type, handler, extra=self._log_fields()
                )

    def _named(self, name: str) -> enum.Enum | None:
        """The plugin's ``name`` event (``OTHER``, ``ERROR``); None when it has none."""
        enum_cls = self.event_types
        if enum_cls is not None and name in enum_cls.__members__:
            member: enum.Enum = enum_cls[name]
            return member
        return None

    # -- requests ---------------------------------------------------------------------------------
    async def _send_request(
        self,
        body: JsonDict,
        jsep: JsonDict | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
        *,
        emit: bool = True,
    ) -> JsonDict:
        """Send a plugin request and wait for its completing reply.

        A reply of type ``event`` also fires the matching ``on_event`` handlers, as janus-client
        did for the VideoRoom (e.g. ``JOINED`` for ``join_as_publisher``).

        Args:
            body: The request body.
            jsep: A jsep to send with it.
            timeout: Seconds to wait; the session's ``timeout`` option by default.
            emit: Fire the ``on_event`` handlers for an ``event`` reply.

        Returns:
            The reply as Janus sent it.

        Raises:
            TypedPluginError: The plugin's ``error_class``, on any Janus or plugin error or an
                unexpected reply shape.
        """  # noqa: DOC501 (the raised `typed_error(...)` is an `error_class`)
        try:
            reply = await self.request(body, jsep, timeout=self._timeout(timeout))
        except TypedPluginError:
            raise
        except (PluginError, JanusError) as exc:
            raise typed_error(self.error_class, exc) from None
        data = plugin_data(reply)
        failure = error_in(data, self.data_key)
        if failure is not None:
            raise self.error_class(*failure)
        if data is None:
            raise self.error_class(0, f"unexpected reply shape from {self.name}")
        if emit and reply.get("janus") == "event":
            await self._handle_event(reply, solicited=True)
        return reply

    def _timeout(self, timeout: Timeout) -> float | None:
        """``timeout`` in seconds: the session's ``timeout`` option for ``OPTION_TIMEOUT``."""
        if timeout is OPTION_TIMEOUT:
            return timeouts.resolve(timeout, self._require_attached().transport.options.timeout)
        return timeout

    @contextlib.asynccontextmanager
    async def _within(self, timeout: Timeout, what: str) -> AsyncIterator[None]:
        """Bound a method's own wait (not a Janus request) by ``timeout``, as requests are.

        Args:
            timeout: Seconds to wait; the session's ``timeout`` option for ``OPTION_TIMEOUT``.
            what: What is awaited, for the error's detail.

        Yields:
            Nothing; the body of the ``async with`` runs under the deadline.

        Raises:
            RequestTimeoutError: The deadline passed, as a request's expiry does.
        """
        seconds = self._timeout(timeout)
        try:
            async with deadline(seconds):
                yield
        except asyncio.TimeoutError:
            raise RequestTimeoutError(f"{what}: nothing within {seconds} s") from None

    def _id_from(self, data: JsonDict, key: str) -> RoomId:
        """The id Janus returned under ``key`` (int or str, as sent); raises ``error_class``."""
        value = id_or_none(data.get(key))
        if value is None:
            raise self.error_class(0, f"no {key!r} id in the reply from {self.name}")
        return value

    # -- events -----------------------------------------------------------------------------------
    async def on_receive(self, response: JsonDict) -> None:
        """Handle one of the handle's messages, as janus-client did, safe against any shape.

        The PeerConnection's part comes first (jsep, webrtcup, hangup, media), then plugin
        events.

        Args:
            response: The message from Janus.
        """
        kind = response.get("janus")
        if kind in PEER_EVENT_TYPES or "jsep" in response:
            await self._on_peer_event(response)
        if kind == "event":
            # Classified without a coroutine; one is awaited only when handlers listen.
            fire = self._event_to_fire(response, solicited=False)
            if fire is not None:
                await self._run_handlers(*fire)

    async def _handle_event(self, response: JsonDict, *, solicited: bool = False) -> None:
        """Fire the enum event for one plugin ``event``.

        Args:
            response: The ``event`` message.
            solicited: It is the reply of one of our requests (its errors were raised to the
                caller; ``OTHER`` is not fired for it).
        """
        fire = self._event_to_fire(response, solicited=solicited)
        if fire is not None:
            await self._run_handlers(*fire)

    def _event_to_fire(
        self, response: JsonDict, *, solicited: bool
    ) -> tuple[enum.Enum, list[EventHandler], JsonDict] | None:
        """Classify one plugin ``event``: the enum event, its handlers and payload, if any listen.

        Classifying may update the handle's state (``_classify_event``), listened to or not.

        Returns:
            None when there is nothing to fire: no handler for its type, an error or unknown
            shape in our own request's reply (``solicited``), or a plugin without such an event.
        """
        data = plugin_data(response)
        event_type: enum.Enum | None
        if data is None or error_in(data, self.data_key) is not None:
            if solicited:
                return None
            event_type = self._named("OTHER" if data is None else "ERROR")
            payload = {"message": response} if data is None else data
        else:
            event_type, payload = self._classify_event(response, data)
            if solicited and event_type is not None and event_type.name == "OTHER":
                return None
        if event_type is None:
            return None
        handlers = self._event_handlers.get(event_type)
        return (event_type, handlers, payload) if handlers else None

    def _classify_event(
        self, response: JsonDict, data: JsonDict
    ) -> tuple[enum.Enum | None, JsonDict]:
        """Classify one non-error plugin event (plugin-specific; may update the state).

        Args:
            response: The ``event`` message.
            data: Its ``plugindata.data``.

        Returns:
            The enum event (None: fire nothing) and the payload for its handlers; here the
            ``OTHER`` event with ``data``.
        """
        enum_cls = self.event_types
        if enum_cls is None or "OTHER" not in enum_cls.__members__:
            return None, data
        return enum_cls["OTHER"], data
