"""The Record&Play client ``JanusRecordPlayPlugin``: all 9 requests of Janus 1.1.2.

The plugin is ``janus.plugin.recordplay``.

Rule: ``list``, ``update`` and ``configure`` are plain signalling. Recording: we make the offer —
``record`` with a player makes it here with aiortc (imported on call, ``[media]``) and applies
Janus's answer; with ``jsep=offer`` it sends the given offer and returns the answer under
``"jsep"``. Playing: Janus makes the offer — ``play`` (signalling only) returns it under
``"jsep"`` and ``start(jsep=answer)`` sends the caller's answer; ``play_media`` answers it here,
remote tracks going to the given recorder. A recording is listed only once it is complete (its
PeerConnection closed). Every event (``status`` values, the final ``done``) becomes a
``RecordPlayEventType`` event; recording ids are ``RoomId`` as everywhere (Janus 1.1.2 itself
takes only integers and refuses a string with a plugin error).
"""

from __future__ import annotations

import enum
from typing import Any

from janus_fast.media import import_aiortc
from janus_fast.plugins._base import (
    JsonDict,
    PluginClient,
    RoomId,
    compact,
    dict_list,
    id_or_none,
    reply_data,
)
from janus_fast.plugins._errors import TypedPluginError
from janus_fast.timeouts import OPTION_TIMEOUT, Timeout

#: A recording id (Janus 1.1.2's Record&Play takes integers only).
RecordingId = RoomId


class RecordPlayError(TypedPluginError):
    """A Record&Play error: ``error_code`` and ``error_message`` (also a ``PluginError``)."""

    plugin_name = "janus.plugin.recordplay"
    label = "RecordPlay"


class RecordPlayEventType(enum.Enum):
    """Record&Play events for ``on_event``.

    Handlers get the event's ``result`` dict, with a jsep under ``"jsep"`` when one came with
    it.
    """

    #: ``record`` accepted: the recording's ``id`` (Janus's answer is attached).
    RECORDING = "recording"
    #: ``play`` accepted: Janus's offer is attached.
    PREPARING = "preparing"
    #: A renegotiation of a playout (``play`` with ``restart``): a new offer is attached.
    RESTARTING = "restarting"
    PLAYING = "playing"
    PAUSED = "paused"
    RESUMED = "resumed"
    STOPPED = "stopped"
    SLOW_LINK = "slow_link"
    #: The recording or playout session is over (its PeerConnection is gone).
    DONE = "done"
    #: An async plugin error (handlers get ``{"recordplay", "error_code", "error"}``).
    ERROR = "error"
    #: Any other event shape (handlers get the ``result``, or the whole data).
    OTHER = "other"


_STATUSES: dict[str, RecordPlayEventType] = {
    member.value: member
    for member in RecordPlayEventType
    if member
    not in (RecordPlayEventType.DONE, RecordPlayEventType.ERROR, RecordPlayEventType.OTHER)
}


def classify_event(data: JsonDict) -> tuple[RecordPlayEventType, JsonDict]:
    """Classify one (non-error) Record&Play ``plugindata.data``.

    Args:
        data: The ``plugindata.data``.

    Returns:
        Its event type (``OTHER`` when unknown) and the payload for its handlers.
    """
    result = data.get("result")
    if data.get("recordplay") != "event":
        return RecordPlayEventType.OTHER, data
    if result == "done":
        return RecordPlayEventType.DONE, data
    if not isinstance(result, dict):
        return RecordPlayEventType.OTHER, data
    status = result.get("status")
    if isinstance(status, str) and status in _STATUSES:
        return _STATUSES[status], result
    return RecordPlayEventType.OTHER, result


class JanusRecordPlayPlugin(PluginClient):
    """Janus Record&Play client: record a WebRTC stream, list the recordings, play them back.

    Args:
        **kwargs: Passed to ``JanusPlugin``: ``pc_config``, an aiortc ``RTCConfiguration`` for
            the PeerConnections this handle makes.
    """

    name = "janus.plugin.recordplay"
    error_class = RecordPlayError
    data_key = "recordplay"
    event_types = RecordPlayEventType

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._recording_id: RecordingId | None = None

    @property
    def recording_id(self) -> RecordingId | None:
        """The recording this handle records or plays (None when idle)."""
        return self._recording_id

    @property
    def webrtcup_event(self) -> Any:
        """An ``asyncio.Event`` set when Janus reports ``webrtcup``."""
        return self._webrtcup_event

    def _reset_state(self) -> None:
        self._recording_id = None

    def _classify_event(
        self, response: JsonDict, data: JsonDict
    ) -> tuple[enum.Enum | None, JsonDict]:
        event_type, payload = classify_event(data)
        jsep = response.get("jsep")
        if isinstance(jsep, dict) and payload is not data:
            payload = {**payload, "jsep": jsep}
        recording = id_or_none(payload.get("id"))
        if event_type in (RecordPlayEventType.RECORDING, RecordPlayEventType.PREPARING):
            if recording is not None:
                self._recording_id = recording
        elif event_type in (RecordPlayEventType.STOPPED, RecordPlayEventType.DONE):
            self._recording_id = None
        return event_type, payload

    async def _request(
        self, body: JsonDict, timeout: Timeout, jsep: JsonDict | None = None
    ) -> JsonDict:
        return reply_data(await self._send_request(compact(body), jsep, timeout=timeout))

    # -- synchronous requests ---------------------------------------------------------------------
    async def list_recordings(self, timeout: Timeout = OPTION_TIMEOUT) -> list[JsonDict]:
        """Send ``list``: the complete recordings.

        Args:
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            One dict per recording (``id``, ``name``, ``date``, ``audio``/``video``/``data``
            flags, codecs); empty when the reply has no list.

        Raises:
            RecordPlayError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        recordings = (await self._request({"request": "list"}, timeout)).get("list")
        return dict_list(recordings)

    async def update(self, timeout: Timeout = OPTION_TIMEOUT) -> JsonDict:
        """Send ``update``: rescan the recordings folder (for recordings added by hand).

        Args:
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            RecordPlayError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        return await self._request({"request": "update"}, timeout)

    async def configure(
        self,
        video_bitrate_max: int | None = None,
        video_keyframe_interval: int | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``configure`` for this handle's recording.

        Options left at None are not sent.

        Args:
            video_bitrate_max: The video bitrate cap (REMB), in bit/s.
            video_keyframe_interval: The keyframe request interval, in ms.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data, whose ``settings`` echo both values.

        Raises:
            RecordPlayError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {
            "request": "configure",
            "video-bitrate-max": video_bitrate_max,
            "video-keyframe-interval": video_keyframe_interval,
        }
        return await self._request(body, timeout)

    # -- recording --------------------------------------------------------------------------------
    async def record(
        self,
        name: str,
        player: Any = None,
        recording_id: RecordingId | None = None,
        filename: str | None = None,
        *,
        audiocodec: str | None = None,
        videocodec: str | None = None,
        videoprofile: str | None = None,
        opusred: bool | None = None,
        textdata: bool | None = None,
        trickle: bool = False,
        jsep: JsonDict | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
        **kwargs: Any,
    ) -> JsonDict:
        """Send ``record``: start a new recording.

        With ``player`` the offer is made here (needs ``[media]``) and Janus's answer applied;
        with ``jsep=offer`` the offer is sent as is and the answer returned under
        ``data["jsep"]``. Options left at None are not sent.

        Args:
            name: The recording's name.
            player: An aiortc ``MediaPlayer``, or anything with ``audio``/``video`` tracks.
            recording_id: The id to give the recording; Janus picks one when None.
            filename: Base path of the recording's files.
            audiocodec: The audio codec to negotiate.
            videocodec: The video codec to negotiate.
            videoprofile: The video codec profile (H.264, VP9).
            opusred: Negotiate RED for Opus.
            textdata: Record data channel messages as text (``False``: binary).
            trickle: Send our ICE candidates in a ``trickle`` after the offer.
            jsep: A ready-made offer to send instead of making one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            **kwargs: Other ``record`` options, sent as they are.

        Returns:
            The reply data: ``result.id`` is the recording's id (also ``recording_id``).

        Raises:
            ValueError: Neither ``player`` nor ``jsep`` was given.
            RecordPlayError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        offer = jsep
        if offer is None:
            import_aiortc("RecordPlay.record")
            if player is None:
                raise ValueError("record() needs a player (or a ready-made jsep=)")
            await self._fresh_pc()
            self._webrtcup_event.clear()
            self._setup_media_tracks(player, None)
            pc = self.pc
            await pc.setLocalDescription(await pc.createOffer())
            offer = self._jsep(pc, trickle)
        body = {
            "request": "record",
            "name": name,
            "id": recording_id,
            "filename": filename,
            "audiocodec": audiocodec,
            "videocodec": videocodec,
            "videoprofile": videoprofile,
            "opusred": opusred,
            "textdata": textdata,
            **kwargs,
        }
        data = await self._request(body, timeout, offer)
        answer = data.get("jsep")
        if jsep is None and isinstance(answer, dict):
            await self.on_receive_jsep(answer)
        if jsep is None and trickle:
            await self._send_local_candidates()
        return data

    async def pause(self, timeout: Timeout = OPTION_TIMEOUT) -> JsonDict:
        """Send ``pause``: nothing of the recording in progress is written until ``resume``.

        Args:
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            RecordPlayError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        return await self._request({"request": "pause"}, timeout)

    async def resume(self, timeout: Timeout = OPTION_TIMEOUT) -> JsonDict:
        """Send ``resume``: continue a paused recording.

        Args:
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            RecordPlayError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        return await self._request({"request": "resume"}, timeout)

    # -- playout ----------------------------------------------------------------------------------
    async def play(
        self,
        recording_id: RecordingId,
        restart: bool | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``play`` (signalling only); answer Janus's offer with ``start(jsep=answer)``.

        Args:
            recording_id: The recording to play.
            restart: Restart a playout in progress (a new offer).
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data, with Janus's offer under ``"jsep"``.

        Raises:
            RecordPlayError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {"request": "play", "id": recording_id, "restart": restart}
        data = await self._request(body, timeout)
        self._recording_id = recording_id
        return data

    async def play_media(
        self,
        recording_id: RecordingId,
        recorder: Any = None,
        trickle: bool = False,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Play a recording into a local recorder: ``play``, then answer with ``start``.

        Needs the ``[media]`` extra.

        Args:
            recording_id: The recording to play.
            recorder: Where the recording's tracks go: an aiortc ``MediaRecorder`` or anything
                with ``addTrack``, ``start`` and ``stop``.
            trickle: Send our ICE candidates in a ``trickle`` after the answer.
            timeout: Seconds to wait for each reply; the session's ``timeout`` option by
                default.

        Returns:
            The ``play`` reply data.

        Raises:
            RecordPlayError: Janus refused a request, or its ``play`` reply had no offer.
            RequestTimeoutError: No reply within ``timeout``.
        """
        import_aiortc("RecordPlay.play_media")
        await self._fresh_pc()  # before the play: Janus may trickle right after its offer
        self._webrtcup_event.clear()
        data = await self.play(recording_id, timeout=timeout)
        self._setup_media_tracks(None, recorder)
        offer = data.get("jsep")
        if not isinstance(offer, dict):
            await self._close_pc()
            raise RecordPlayError(0, "no JSEP offer in the play reply")
        await self.on_receive_jsep(offer)
        pc = self.pc
        await pc.setLocalDescription(await pc.createAnswer())
        await self.start(trickle=trickle, timeout=timeout)
        return data

    async def start(
        self,
        trickle: bool = False,
        timeout: Timeout = OPTION_TIMEOUT,
        *,
        jsep: JsonDict | None = None,
    ) -> JsonDict:
        """Send ``start`` with our answer: the playout starts.

        The answer comes from our PeerConnection (needs ``[media]``), or is ``jsep=`` as given.

        Args:
            trickle: Send our ICE candidates in a ``trickle`` after the answer.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            jsep: A ready-made answer to send instead of our PeerConnection's.

        Returns:
            The reply data.

        Raises:
            RecordPlayError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        answer = jsep
        if answer is None:
            import_aiortc("RecordPlay.start")
            answer = self._jsep(self.pc, trickle)
        data = await self._request({"request": "start"}, timeout, answer)
        if jsep is None and trickle:
            await self._send_local_candidates()
        return data

    async def stop(self, timeout: Timeout = OPTION_TIMEOUT) -> JsonDict:
        """Send ``stop`` (recording or playing) and close our PeerConnection.

        Janus closes its PeerConnection; a recording is complete, and listed, from then on.

        Args:
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            RecordPlayError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        data = await self._request({"request": "stop"}, timeout)
        self._recording_id = None
        await self._close_pc()
        return data
