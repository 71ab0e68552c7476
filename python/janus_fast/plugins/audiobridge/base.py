"""The AudioBridge handle's shared part: errors, events and the participant state.

Rule: this module knows the AudioBridge's reply and event shapes and the state the roles read
(``room_id``, ``participant_id``, ``display_name``, ``muted``); it sends no request. Events that
end this handle's participation (``left``, its own ``kicked``/``kicked_all``, ``destroyed`` of
its room) reset that state (Janus 1.1.2's ``kick_all`` removes participants through their
PeerConnection's hangup, so one without a PeerConnection may stay listed). Room and participant
ids are ``RoomId``/``ParticipantId`` (``int | str`` with ``string_ids``), kept as given or as
sent.
"""

from __future__ import annotations

import enum
from typing import Any

from janus_fast.plugins._base import JsonDict, ParticipantId, PluginClient, RoomId, id_or_none
from janus_fast.plugins._errors import TypedPluginError


class AudioBridgeError(TypedPluginError):
    """An AudioBridge error: ``error_code`` and ``error_message`` (also a ``PluginError``)."""

    plugin_name = "janus.plugin.audiobridge"
    label = "AudioBridge"


class AudioBridgeEventType(enum.Enum):
    """AudioBridge events for ``on_event``.

    Handlers get the ``plugindata.data`` dict, with the jsep (when the event carries one)
    under ``"jsep"``.
    """

    #: Our own join (with ``id``) or another participant's (``participants`` only).
    JOINED = "joined"
    ROOM_CHANGED = "roomchanged"
    #: We left the room (reply to ``leave``).
    LEFT = "left"
    DESTROYED = "destroyed"
    TALKING = "talking"
    STOPPED_TALKING = "stopped-talking"
    ANNOUNCEMENT_STARTED = "announcement-started"
    ANNOUNCEMENT_STOPPED = "announcement-stopped"
    HANGINGUP = "hangingup"
    #: Participants changed (display, muted …): ``participants``.
    PARTICIPANTS = "participants"
    #: Another participant left: ``leaving`` is its id.
    LEAVING = "leaving"
    KICKED = "kicked"
    KICKED_ALL = "kicked_all"
    #: ``mute_room``/``unmute_room``: the room's ``muted``.
    ROOM_MUTED = "room_muted"
    #: ``configure`` done (``result: "ok"``).
    CONFIGURED = "configured"
    #: An async plugin error (``error_code``, ``error``).
    ERROR = "error"
    #: Any other shape.
    OTHER = "other"


_TOP_LEVEL: dict[str, AudioBridgeEventType] = {
    member.value: member
    for member in (
        AudioBridgeEventType.JOINED,
        AudioBridgeEventType.ROOM_CHANGED,
        AudioBridgeEventType.LEFT,
        AudioBridgeEventType.DESTROYED,
        AudioBridgeEventType.TALKING,
        AudioBridgeEventType.STOPPED_TALKING,
        AudioBridgeEventType.ANNOUNCEMENT_STARTED,
        AudioBridgeEventType.ANNOUNCEMENT_STOPPED,
        AudioBridgeEventType.HANGINGUP,
    )
}
#: ``"audiobridge": "event"`` payload keys, in order of precedence.
_EVENT_KEYS: tuple[tuple[str, AudioBridgeEventType], ...] = (
    ("leaving", AudioBridgeEventType.LEAVING),
    ("kicked", AudioBridgeEventType.KICKED),
    ("kicked_all", AudioBridgeEventType.KICKED_ALL),
    ("participants", AudioBridgeEventType.PARTICIPANTS),
    ("result", AudioBridgeEventType.CONFIGURED),
    ("muted", AudioBridgeEventType.ROOM_MUTED),
)


def classify_event(data: JsonDict) -> AudioBridgeEventType:
    """Classify one (non-error) AudioBridge ``plugindata.data``.

    Args:
        data: The ``plugindata.data``.

    Returns:
        Its event type; ``OTHER`` when unknown.
    """
    kind = data.get("audiobridge")
    if isinstance(kind, str) and kind in _TOP_LEVEL:
        return _TOP_LEVEL[kind]
    if kind == "event":
        for key, event_type in _EVENT_KEYS:
            if key in data:
                return event_type
    return AudioBridgeEventType.OTHER


class AudioBridgeHandle(PluginClient):
    """A ``janus.plugin.audiobridge`` handle: typed errors and events, the participant state.

    Args:
        **kwargs: Passed to ``JanusPlugin``: ``pc_config``, an aiortc ``RTCConfiguration`` for
            the PeerConnections this handle makes.
    """

    name = "janus.plugin.audiobridge"
    error_class = AudioBridgeError
    data_key = "audiobridge"
    event_types = AudioBridgeEventType

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._room_id: RoomId | None = None
        self._participant_id: ParticipantId | None = None
        self._display_name: str | None = None
        self._muted = False

    @property
    def room_id(self) -> RoomId | None:
        """The room this handle is in (None when it is in none)."""
        return self._room_id

    @property
    def participant_id(self) -> ParticipantId | None:
        """Our participant id in ``room_id``, as Janus sent it."""
        return self._participant_id

    @property
    def display_name(self) -> str | None:
        """Our display name in the room (None when not joined or not given)."""
        return self._display_name

    @property
    def muted(self) -> bool:
        """Whether we asked to be muted (``join``/``configure``/``change_room``)."""
        return self._muted

    @property
    def webrtcup_event(self) -> Any:
        """An ``asyncio.Event`` set when Janus reports ``webrtcup``."""
        return self._webrtcup_event

    def _reset_state(self) -> None:
        self._room_id = None
        self._participant_id = None
        self._display_name = None
        self._muted = False

    def _in_room(self, room_id: RoomId, display: str | None, data: JsonDict) -> None:
        self._room_id = room_id
        self._participant_id = id_or_none(data.get("id"))
        self._display_name = display

    def _accept_jsep(self, jsep: JsonDict) -> bool:
        # Janus's answers come with the replies of join/configure, applied by those methods.
        return False

    def _ends_participation(self, event_type: AudioBridgeEventType, data: JsonDict) -> bool:
        if event_type is AudioBridgeEventType.LEFT:
            return True
        if event_type is AudioBridgeEventType.DESTROYED:
            return self._room_id is not None and data.get("room") == self._room_id
        if event_type in (AudioBridgeEventType.KICKED, AudioBridgeEventType.KICKED_ALL):
            own = self._participant_id
            return own is not None and data.get(event_type.value) == own
        return False

    def _classify_event(
        self, response: JsonDict, data: JsonDict
    ) -> tuple[enum.Enum | None, JsonDict]:
        event_type = classify_event(data)
        if self._ends_participation(event_type, data):
            self._reset_state()
        jsep = response.get("jsep")
        if isinstance(jsep, dict):
            data = {**data, "jsep": jsep}
        return event_type, data
