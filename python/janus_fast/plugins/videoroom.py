"""``JanusVideoRoomPlugin``: janus-client's VideoRoom client plus the requests it lacked.

Rule: every VideoRoom request of Janus 1.1 that makes sense for a client is a method; the
signalling works without aiortc. Methods that negotiate media themselves (``publish`` with a
player, ``subscribe_to_publisher``, ``start`` without a jsep) import aiortc on call; each also
accepts a ready-made ``jsep`` so signalling-only users can bring their own WebRTC stack. Room and
participant/feed ids are ``int | str`` (``string_ids``), kept as given or as Janus sent them.
"""

from __future__ import annotations

import enum
import logging
from typing import Any

from janus_fast.media import import_aiortc
from janus_fast.plugins._requests import (
    JsonDict,
    ParticipantId,
    PluginClient,
    RoomId,
    TypedPluginError,
    compact,
    id_or_none,
    plugin_data,
)
from janus_fast.timeouts import OPTION_TIMEOUT, Timeout

logger = logging.getLogger("janus_fast.plugins.videoroom")


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
    """The event type of one (non-error) VideoRoom ``plugindata.data``."""
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


def _data(reply: JsonDict) -> JsonDict:
    data = plugin_data(reply) or {}
    jsep = reply.get("jsep")
    if isinstance(jsep, dict):
        data = {**data, "jsep": jsep}
    return data


class JanusVideoRoomPlugin(PluginClient):
    """Janus VideoRoom client (janus-client's names, signatures and defaults)."""

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
        return self._room_id

    @property
    def publisher_id(self) -> ParticipantId | None:
        return self._publisher_id

    @property
    def private_id(self) -> int | None:
        return self._private_id

    @property
    def display_name(self) -> str | None:
        return self._display_name

    @property
    def participant_type(self) -> ParticipantType | None:
        return self._participant_type

    @property
    def is_publishing(self) -> bool:
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

    # -- room management --------------------------------------------------------------------------
    async def create_room(
        self,
        room_id: RoomId | None = None,
        description: str | None = None,
        secret: str | None = None,
        pin: str | None = None,
        is_private: bool = False,
        publishers: int = 3,
        bitrate: int | None = None,
        fir_freq: int = 0,
        audiocodec: str | None = None,
        videocodec: str | None = None,
        record: bool = False,
        rec_dir: str | None = None,
        permanent: bool = False,
        admin_key: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
        **kwargs: Any,
    ) -> RoomId:
        """``create``; returns the room id (as Janus sent it: a ``str`` with ``string_ids``,
        also a generated one). Extra kwargs are room settings, sent as given."""
        body = compact(
            {
                "request": "create",
                "room": room_id,
                "description": description or None,
                "secret": secret or None,
                "pin": pin or None,
                "is_private": is_private,
                "publishers": publishers,
                "bitrate": bitrate or None,
                "fir_freq": fir_freq,
                "audiocodec": audiocodec or None,
                "videocodec": videocodec or None,
                "record": record,
                "rec_dir": rec_dir or None,
                "permanent": permanent,
                "admin_key": admin_key or None,
            }
        )
        body.update(kwargs)
        reply = await self._send_request(body, timeout=timeout)
        return self._id_from(_data(reply), "room")

    async def destroy_room(
        self,
        room_id: RoomId,
        secret: str | None = None,
        permanent: bool = False,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> None:
        """``destroy``."""
        body = compact(
            {"request": "destroy", "room": room_id, "permanent": permanent, "secret": secret}
        )
        await self._send_request(body, timeout=timeout)

    async def edit_room(
        self,
        room_id: RoomId,
        secret: str | None = None,
        *,
        new_description: str | None = None,
        new_secret: str | None = None,
        new_pin: str | None = None,
        new_is_private: bool | None = None,
        new_require_pvtid: bool | None = None,
        new_bitrate: int | None = None,
        new_fir_freq: int | None = None,
        new_publishers: int | None = None,
        new_lock_record: bool | None = None,
        new_rec_dir: str | None = None,
        permanent: bool = False,
        timeout: Timeout = OPTION_TIMEOUT,
        **kwargs: Any,
    ) -> JsonDict:
        """``edit`` (new): change room settings; extra kwargs are sent as given."""
        body = compact(
            {
                "request": "edit",
                "room": room_id,
                "secret": secret,
                "new_description": new_description,
                "new_secret": new_secret,
                "new_pin": new_pin,
                "new_is_private": new_is_private,
                "new_require_pvtid": new_require_pvtid,
                "new_bitrate": new_bitrate,
                "new_fir_freq": new_fir_freq,
                "new_publishers": new_publishers,
                "new_lock_record": new_lock_record,
                "new_rec_dir": new_rec_dir,
                "permanent": permanent,
            }
        )
        body.update(kwargs)
        return _data(await self._send_request(body, timeout=timeout))

    async def list_rooms(
        self, admin_key: str | None = None, timeout: Timeout = OPTION_TIMEOUT
    ) -> list[JsonDict]:
        """``list``: the rooms (private ones too with the ``admin_key``)."""
        body = compact({"request": "list", "admin_key": admin_key or None})
        rooms = _data(await self._send_request(body, timeout=timeout)).get("list")
        return rooms if isinstance(rooms, list) else []

    async def list_participants(
        self, room_id: RoomId, timeout: Timeout = OPTION_TIMEOUT
    ) -> list[JsonDict]:
        """``listparticipants``."""
        body = {"request": "listparticipants", "room": room_id}
        participants = _data(await self._send_request(body, timeout=timeout)).get("participants")
        return participants if isinstance(participants, list) else []

    async def exists(self, room_id: RoomId, timeout: Timeout = OPTION_TIMEOUT) -> bool:
        """``exists``."""
        reply = await self._send_request({"request": "exists", "room": room_id}, timeout=timeout)
        return bool(_data(reply).get("exists", False))

    async def allowed(
        self,
        room_id: RoomId,
        action: str,
        allowed: list[str] | None = None,
        secret: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """``allowed`` (new): ``action`` is enable, disable, add or remove (join tokens)."""
        body = compact(
            {
                "request": "allowed",
                "room": room_id,
                "action": action,
                "allowed": allowed,
                "secret": secret,
            }
        )
        return _data(await self._send_request(body, timeout=timeout))

    async def kick_participant(
        self,
        room_id: RoomId,
        participant_id: ParticipantId,
        secret: str,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> None:
        """``kick``."""
        body = {"request": "kick", "room": room_id, "id": participant_id, "secret": secret}
        await self._send_request(body, timeout=timeout)

    async def moderate_participant(
        self,
        room_id: RoomId,
        participant_id: ParticipantId,
        mid: str,
        mute: bool,
        secret: str,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> None:
        """``moderate``: mute or unmute one stream (``mid``) of a publisher."""
        body = {
            "request": "moderate",
            "room": room_id,
            "id": participant_id,
            "mid": mid,
            "mute": mute,
            "secret": secret,
        }
        await self._send_request(body, timeout=timeout)

    async def enable_recording(
        self,
        room_id: RoomId,
        record: bool,
        secret: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """``enable_recording`` (new): start/stop recording every publisher of the room."""
        body = compact(
            {"request": "enable_recording", "room": room_id, "record": record, "secret": secret}
        )
        return _data(await self._send_request(body, timeout=timeout))

    # -- RTP forwarding and remote publishers (new) ------------------------------------------------
    async def rtp_forward(
        self,
        room_id: RoomId,
        publisher_id: ParticipantId,
        host: str,
        streams: list[JsonDict],
        secret: str | None = None,
        *,
        host_family: str | None = None,
        admin_key: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
        **kwargs: Any,
    ) -> JsonDict:
        """``rtp_forward`` (new): forward a publisher's streams (``[{mid, port, …}]``) to
        ``host``. Returns the data, whose ``forwarders`` carry the ``stream_id``s."""
        body = compact(
            {
                "request": "rtp_forward",
                "room": room_id,
                "publisher_id": publisher_id,
                "host": host,
                "host_family": host_family,
                "streams": streams,
                "secret": secret,
                "admin_key": admin_key,
            }
        )
        body.update(kwargs)
        return _data(await self._send_request(body, timeout=timeout))

    async def stop_rtp_forward(
        self,
        room_id: RoomId,
        publisher_id: ParticipantId,
        stream_id: int,
        secret: str | None = None,
        *,
        admin_key: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """``stop_rtp_forward`` (new)."""
        body = compact(
            {
                "request": "stop_rtp_forward",
                "room": room_id,
                "publisher_id": publisher_id,
                "stream_id": stream_id,
                "secret": secret,
                "admin_key": admin_key,
            }
        )
        return _data(await self._send_request(body, timeout=timeout))

    async def list_forwarders(
        self, room_id: RoomId, secret: str | None = None, timeout: Timeout = OPTION_TIMEOUT
    ) -> list[JsonDict]:
        """``listforwarders`` (new): the publishers with their forwarders."""
        body = compact({"request": "listforwarders", "room": room_id, "secret": secret})
        publishers = _data(await self._send_request(body, timeout=timeout)).get("publishers")
        return publishers if isinstance(publishers, list) else []

    async def add_remote_publisher(
        self,
        room_id: RoomId,
        streams: list[JsonDict],
        iface: str,
        *,
        publisher_id: ParticipantId | None = None,
        display: str | None = None,
        port: int | None = None,
        secret: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
        **kwargs: Any,
    ) -> JsonDict:
        """``add_remote_publisher`` (new): a publisher fed by plain RTP on ``iface``
        (e.g. from another Janus); returns the data with the ``id``, ``ip`` and ``port``."""
        body = compact(
            {
                "request": "add_remote_publisher",
                "room": room_id,
                "id": publisher_id,
                "display": display,
                "iface": iface,
                "port": port,
                "streams": streams,
                "secret": secret,
            }
        )
        body.update(kwargs)
        return _data(await self._send_request(body, timeout=timeout))

    async def remove_remote_publisher(
        self,
        room_id: RoomId,
        publisher_id: ParticipantId,
        secret: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> None:
        """``remove_remote_publisher`` (new)."""
        body = compact(
            {
                "request": "remove_remote_publisher",
                "room": room_id,
                "id": publisher_id,
                "secret": secret,
            }
        )
        await self._send_request(body, timeout=timeout)

    # -- publisher --------------------------------------------------------------------------------
    def _joined_as_publisher(self, room_id: RoomId, display: str | None, data: JsonDict) -> None:
        self._participant_type = ParticipantType.PUBLISHER
        self._room_id = room_id
        publisher_id, private_id = data.get("id"), data.get("private_id")
        self._publisher_id = id_or_none(publisher_id)
        self._private_id = private_id if isinstance(private_id, int) else None
        self._display_name = display

    async def join_as_publisher(
        self,
        room_id: RoomId,
        publisher_id: ParticipantId | None = None,
        display: str | None = None,
        token: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
        *,
        pin: str | None = None,
    ) -> JsonDict:
        """``join`` as publisher; emits ``JOINED``; returns the data (``id``, ``publishers``)."""
        body = compact(
            {
                "request": "join",
                "ptype": "publisher",
                "room": room_id,
                "id": publisher_id,
                "display": display or None,
                "token": token or None,
                "pin": pin,
            }
        )
        data = _data(await self._send_request(body, timeout=timeout))
        self._joined_as_publisher(room_id, display, data)
        return data

    async def join_and_configure(
        self,
        room_id: RoomId,
        publisher_id: ParticipantId | None = None,
        display: str | None = None,
        token: str | None = None,
        *,
        pin: str | None = None,
        jsep: JsonDict | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
        **configure: Any,
    ) -> JsonDict:
        """``joinandconfigure`` (new): join as publisher and configure (with a jsep: publish) in
        one request. ``configure`` kwargs (bitrate, record, descriptions …) are sent as given.
        The returned data carries Janus's answer under ``jsep`` when one was sent."""
        body = compact(
            {
                "request": "joinandconfigure",
                "ptype": "publisher",
                "room": room_id,
                "id": publisher_id,
                "display": display,
                "token": token,
                "pin": pin,
            }
        )
        body.update(configure)
        data = _data(await self._send_request(body, jsep, timeout=timeout))
        self._joined_as_publisher(room_id, display, data)
        if jsep is not None:
            self._is_publishing = True
        return data

    async def publish(
        self,
        player: Any = None,
        audiocodec: str | None = None,
        videocodec: str | None = None,
        bitrate: int | None = None,
        record: bool = False,
        filename: str | None = None,
        descriptions: list[JsonDict] | None = None,
        trickle: bool = False,
        timeout: Timeout = OPTION_TIMEOUT,
        *,
        jsep: JsonDict | None = None,
    ) -> JsonDict:
        """``publish``. With ``player`` (an aiortc ``MediaPlayer``) the offer is made here (needs
        ``[media]``) and the answer applied; with ``jsep=offer`` the offer is sent as is and the
        answer is returned under ``data["jsep"]``."""
        if self._participant_type != ParticipantType.PUBLISHER:
            raise VideoRoomError(-1, "Must join as publisher before publishing")
        offer = jsep
        if offer is None:
            import_aiortc("VideoRoom.publish")
            if player is None:
                raise ValueError("publish() needs a player (or a ready-made jsep=)")
            await self._fresh_pc()
            self._setup_media_tracks(player, None)
            pc = self.pc
            await pc.setLocalDescription(await pc.createOffer())
            offer = self._jsep(pc, trickle)
        body = compact(
            {
                "request": "publish",
                "record": record,
                "audiocodec": audiocodec or None,
                "videocodec": videocodec or None,
                "bitrate": bitrate or None,
                "filename": filename or None,
                "descriptions": descriptions or None,
            }
        )
        reply = await self._send_request(body, offer, timeout=timeout)
        answer = reply.get("jsep")
        if jsep is None and isinstance(answer, dict):
            await self.on_receive_jsep(answer)
        if jsep is None and trickle:
            await self._send_local_candidates()
        self._is_publishing = True
        return _data(reply)

    async def unpublish(self, timeout: Timeout = OPTION_TIMEOUT) -> None:
        """``unpublish``."""
        await self._send_request({"request": "unpublish"}, timeout=timeout)
        self._is_publishing = False

    async def configure(
        self,
        bitrate: int | None = None,
        keyframe: bool = False,
        record: bool | None = None,
        filename: str | None = None,
        display: str | None = None,
        streams: list[JsonDict] | None = None,
        descriptions: list[JsonDict] | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
        *,
        jsep: JsonDict | None = None,
        **kwargs: Any,
    ) -> JsonDict:
        """``configure`` (publisher or subscriber). New: ``jsep=`` (renegotiation) and extra
        kwargs (e.g. subscriber ``substream``/``temporal``, ``restart``), sent as given."""
        body = compact(
            {
                "request": "configure",
                "bitrate": bitrate,
                "keyframe": keyframe or None,
                "record": record,
                "filename": filename or None,
                "display": display or None,
                "streams": streams or None,
                "descriptions": descriptions or None,
            }
        )
        body.update(kwargs)
        data = _data(await self._send_request(body, jsep, timeout=timeout))
        if display:
            self._display_name = display
        return data

    async def configure_subscriber(
        self,
        streams: list[JsonDict] | None = None,
        *,
        substream: int | None = None,
        temporal: int | None = None,
        spatial_layer: int | None = None,
        temporal_layer: int | None = None,
        fallback: int | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
        **kwargs: Any,
    ) -> JsonDict:
        """``configure`` for a subscriber (new): per-stream ``streams=[{mid, substream, …}]``
        or the legacy top-level simulcast/SVC layer fields."""
        body = compact(
            {
                "request": "configure",
                "streams": streams,
                "substream": substream,
                "temporal": temporal,
                "spatial_layer": spatial_layer,
                "temporal_layer": temporal_layer,
                "fallback": fallback,
            }
        )
        body.update(kwargs)
        return _data(await self._send_request(body, timeout=timeout))

    # -- subscriber -------------------------------------------------------------------------------
    async def join_as_subscriber(
        self,
        room_id: RoomId,
        streams: list[JsonDict],
        private_id: int | None = None,
        use_msid: bool = False,
        autoupdate: bool = True,
        timeout: Timeout = OPTION_TIMEOUT,
        **kwargs: Any,
    ) -> JsonDict:
        """``join`` as subscriber (new, signalling only): returns the data with Janus's offer
        under ``jsep``; answer it with ``start(jsep=answer)``."""
        if self._participant_type == ParticipantType.PUBLISHER:
            raise VideoRoomError(
                -1, f"Can only be either publisher or subscriber. Now {self._participant_type}"
            )
        body = compact(
            {
                "request": "join",
                "ptype": "subscriber",
                "room": room_id,
                "streams": streams,
                "use_msid": use_msid,
                "autoupdate": autoupdate,
                "private_id": private_id,
            }
        )
        body.update(kwargs)
        data = _data(await self._send_request(body, timeout=timeout))
        self._participant_type = ParticipantType.SUBSCRIBER
        self._room_id = room_id
        return data

    async def subscribe_to_publisher(
        self,
        room_id: RoomId,
        streams: list[JsonDict],
        recorder: Any = None,
        private_id: int | None = None,
        use_msid: bool = False,
        autoupdate: bool = True,
        trickle: bool = False,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """``join`` as subscriber, then answer Janus's offer with ``start`` (needs ``[media]``).
        Remote tracks go to ``recorder`` (an aiortc ``MediaRecorder``) when given."""
        import_aiortc("VideoRoom.subscribe_to_publisher")
        if self._participant_type == ParticipantType.PUBLISHER:
            raise VideoRoomError(
                -1, f"Can only be either publisher or subscriber. Now {self._participant_type}"
            )
        await self._fresh_pc()  # before the join: Janus may trickle right after its offer
        data = await self.join_as_subscriber(
            room_id, streams, private_id, use_msid, autoupdate, timeout
        )
        self._setup_media_tracks(None, recorder)
        offer = data.get("jsep")
        if isinstance(offer, dict):
            await self._answer(offer, trickle, timeout)
        return data

    async def _answer(self, offer: JsonDict, trickle: bool, timeout: Timeout) -> None:
        await self.on_receive_jsep(offer)
        pc = self.pc
        await pc.setLocalDescription(await pc.createAnswer())
        await self.start(trickle=trickle, timeout=timeout)

    async def start(
        self,
        trickle: bool = False,
        timeout: Timeout = OPTION_TIMEOUT,
        *,
        jsep: JsonDict | None = None,
    ) -> JsonDict:
        """``start``: send the answer (from the PeerConnection, or ``jsep=`` as given)."""
        answer = jsep
        if answer is None:
            import_aiortc("VideoRoom.start")
            answer = self._jsep(self.pc, trickle)
        data = _data(await self._send_request({"request": "start"}, answer, timeout=timeout))
        if jsep is None and trickle:
            await self._send_local_candidates()
        return data

    async def resume(self, timeout: Timeout = OPTION_TIMEOUT) -> JsonDict:
        """``start`` without a jsep (new): resume a paused subscription."""
        return _data(await self._send_request({"request": "start"}, timeout=timeout))

    async def pause(self, timeout: Timeout = OPTION_TIMEOUT) -> None:
        """``pause``."""
        await self._send_request({"request": "pause"}, timeout=timeout)

    async def _on_remote_offer(self, jsep: JsonDict) -> None:
        # A subscriber's unsolicited offer (``updated`` after an autoupdate): answer it.
        if self._participant_type == ParticipantType.SUBSCRIBER and self._pc is not None:
            pc = self._pc
            await pc.setLocalDescription(await pc.createAnswer())
            await self.start()

    async def _renegotiate(self, data: JsonDict, timeout: Timeout) -> None:
        offer = data.get("jsep")
        if isinstance(offer, dict) and self._pc is not None:
            await self._answer(offer, False, timeout)

    async def subscribe(
        self, streams: list[JsonDict], timeout: Timeout = OPTION_TIMEOUT
    ) -> JsonDict:
        """``subscribe`` to more streams; renegotiates when a PeerConnection exists, else the
        new offer is returned under ``data["jsep"]``."""
        body = {"request": "subscribe", "streams": streams}
        data = _data(await self._send_request(body, timeout=timeout))
        await self._renegotiate(data, timeout)
        return data

    async def unsubscribe(
        self, streams: list[JsonDict], timeout: Timeout = OPTION_TIMEOUT
    ) -> JsonDict:
        """``unsubscribe`` from streams (renegotiation as for ``subscribe``)."""
        body = {"request": "unsubscribe", "streams": streams}
        data = _data(await self._send_request(body, timeout=timeout))
        await self._renegotiate(data, timeout)
        return data

    async def update(
        self,
        subscribe: list[JsonDict] | None = None,
        unsubscribe: list[JsonDict] | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """``update`` (new): subscribe and unsubscribe in one renegotiation."""
        body = compact({"request": "update", "subscribe": subscribe, "unsubscribe": unsubscribe})
        data = _data(await self._send_request(body, timeout=timeout))
        await self._renegotiate(data, timeout)
        return data

    async def switch_publisher(
        self, streams: list[JsonDict], timeout: Timeout = OPTION_TIMEOUT
    ) -> None:
        """``switch``: change the source of subscribed streams without renegotiating."""
        await self._send_request({"request": "switch", "streams": streams}, timeout=timeout)

    # -- common -----------------------------------------------------------------------------------
    async def leave(self, timeout: Timeout = OPTION_TIMEOUT) -> None:
        """``leave``; resets the room state."""
        await self._send_request({"request": "leave"}, timeout=timeout)
        self._reset_state()
