"""The VideoRoom handle's shared part: errors, events, roles and the participant state.

Rule: this module knows the VideoRoom's reply and event shapes and the state every role reads
(``room_id``, ``publisher_id``, ``participant_type`` …); it sends no request of its own except
``leave``, common to publishers and subscribers. Room and participant/feed ids are
``RoomId``/``ParticipantId`` (``int | str`` for ``string_ids``), kept as given or as sent.
"""

from __future__ import annotations

import enum
from typing import Any

from janus_fast.plugins._base import (
    JsonDict,
    ParticipantId,
    PluginClient,
    RoomId,
    id_or_none,
)
from janus_fast.plugins._base import reply_data as reply_data  # kept importable from here
from janus_fast.plugins._errors import TypedPluginError
from janus_fast.timeouts import OPTION_TIMEOUT, Timeout


class VideoRoomError(TypedPluginError):
    """A VideoRoom error: ``error_code`` and ``error_message`` (also a ``PluginError``)."""

    plugin_name = "janus.plugin.videoroom"
    label = "VideoRoom"


class VideoRoomEventType(enum.Enum):
    """VideoRoom events for ``on_event`` (janus-client's members first, then new ones)."""

    JOINED = "joined"
    PUBLISHERS = "publishers"
    UNPUBLISHED = "unpublished"
    LEAVING = "leaving"
    DESTROYED = "destroyed"
    CONFIGURED = "configured"
    ATTACHED = "attached"
    UPDATED = "updated"
    STARTED = "started"
    SWITCHED = "switched"
    TALKING = "talking"
    STOPPED_TALKING = "stopped-talking"
    ERROR = "error"
    # New in janus_fast (janus-client dropped these silently):
    JOINING = "joining"
    KICKED = "kicked"
    PAUSED = "paused"
    LEFT = "left"
    DISPLAY = "display"
    MODERATION = "moderation"
    SLOW_LINK = "slow_link"
    #: A subscription update was queued behind a renegotiation still in progress.
    UPDATING = "updating"
    #: Any other event shape (the data is passed as is).
    OTHER = "other"


class ParticipantType(enum.Enum):
    """The role of a VideoRoom handle."""

    PUBLISHER = "publisher"
    SUBSCRIBER = "subscriber"


#: ``"videoroom": "event"`` payload keys, in janus-client's order of precedence.
_EVENT_KEYS: tuple[tuple[str, VideoRoomEventType], ...] = (
    ("publishers", VideoRoomEventType.PUBLISHERS),
    ("unpublished", VideoRoomEventType.UNPUBLISHED),
    ("leaving", VideoRoomEventType.LEAVING),
    ("configured", VideoRoomEventType.CONFIGURED),
    ("started", VideoRoomEventType.STARTED),
    ("switched", VideoRoomEventType.SWITCHED),
    ("joining", VideoRoomEventType.JOINING),
    ("kicked", VideoRoomEventType.KICKED),
    ("paused", VideoRoomEventType.PAUSED),
    ("left", VideoRoomEventType.LEFT),
    ("moderation", VideoRoomEventType.MODERATION),
)
_TOP_LEVEL: dict[str, VideoRoomEventType] = {
    "joined": VideoRoomEventType.JOINED,
    "attached": VideoRoomEventType.ATTACHED,
    "updated": VideoRoomEventType.UPDATED,
    "updating": VideoRoomEventType.UPDATING,
    "destroyed": VideoRoomEventType.DESTROYED,
    "talking": VideoRoomEventType.TALKING,
    "stopped-talking": VideoRoomEventType.STOPPED_TALKING,
    "slow_link": VideoRoomEventType.SLOW_LINK,
}


def classify_event(data: JsonDict) -> VideoRoomEventType:
    """Classify one (non-error) VideoRoom ``plugindata.data``.

    Args:
        data: The ``plugindata.data``.

    Returns:
        Its event type; ``OTHER`` when unknown.
    """
    kind = data.get("videoroom")
    if isinstance(kind, str) and kind in _TOP_LEVEL:
        return _TOP_LEVEL[kind]
    if kind == "event":
        for key, event_type in _EVENT_KEYS:
            if key in data:
                return event_type
        if "display" in data and "id" in data:
            return VideoRoomEventType.DISPLAY
    return VideoRoomEventType.OTHER


class VideoRoomHandle(PluginClient):
    """A ``janus.plugin.videoroom`` handle: typed errors and events, the participant state.

    Args:
        **kwargs: Passed to ``JanusPlugin``: ``pc_config``, an aiortc ``RTCConfiguration`` for
            the PeerConnections this handle makes.
    """

    name = "janus.plugin.videoroom"
    error_class = VideoRoomError
    data_key = "videoroom"
    event_types = VideoRoomEventType

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._participant_type: ParticipantType | None = None
        self._room_id: RoomId | None = None
        self._publisher_id: ParticipantId | None = None
        self._private_id: int | None = None
        self._display_name: str | None = None
        self._is_publishing = False

    # -- properties (janus-client) ----------------------------------------------------------------
    @property
    def room_id(self) -> RoomId | None:
        """The room this handle joined (None when not in a room)."""
        return self._room_id

    @property
    def publisher_id(self) -> ParticipantId | None:
        """Our publisher id in the room, as Janus sent it (None when not joined as one)."""
        return self._publisher_id

    @property
    def private_id(self) -> int | None:
        """Our ``private_id`` from the ``joined`` event (None when not joined)."""
        return self._private_id

    @property
    def display_name(self) -> str | None:
        """Our display name in the room (None when not joined or not given)."""
        return self._display_name

    @property
    def participant_type(self) -> ParticipantType | None:
        """Publisher or subscriber, once joined (None before)."""
        return self._participant_type

    @property
    def is_publishing(self) -> bool:
        """Whether this handle publishes media (after ``publish``, until ``unpublish``)."""
        return self._is_publishing

    @property
    def webrtcup_event(self) -> Any:
        """An ``asyncio.Event`` set when Janus reports ``webrtcup``."""
        return self._webrtcup_event

    def _reset_state(self) -> None:
        self._participant_type = None
        self._room_id = None
        self._publisher_id = None
        self._private_id = None
        self._display_name = None
        self._is_publishing = False

    def _classify_event(
        self, response: JsonDict, data: JsonDict
    ) -> tuple[enum.Enum | None, JsonDict]:
        event_type = classify_event(data)
        if event_type is VideoRoomEventType.UNPUBLISHED and data.get("unpublished") == "ok":
            self._is_publishing = False
        return event_type, data

    def _joined_as_publisher(self, room_id: RoomId, display: str | None, data: JsonDict) -> None:
        self._participant_type = ParticipantType.PUBLISHER
        self._room_id = room_id
        publisher_id, private_id = data.get("id"), data.get("private_id")
        self._publisher_id = id_or_none(publisher_id)
        self._private_id = private_id if isinstance(private_id, int) else None
        self._display_name = display

    def _joined_as_subscriber(self, room_id: RoomId) -> None:
        self._participant_type = ParticipantType.SUBSCRIBER
        self._room_id = room_id

    def _refuse_publisher(self) -> None:
        """A publisher handle cannot also subscribe (janus-client's check, kept)."""
        if self._participant_type == ParticipantType.PUBLISHER:
            raise VideoRoomError(
                -1, f"Can only be either publisher or subscriber. Now {self._participant_type}"
            )

    # -- common -----------------------------------------------------------------------------------
    async def leave(self, timeout: Timeout = OPTION_TIMEOUT) -> None:
        """Send ``leave``: leave the room; resets the room state.

        Args:
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        await self._send_request({"request": "leave"}, timeout=timeout)
        self._reset_state()
