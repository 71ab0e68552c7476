"""VideoRoom publishing: join a room as a publisher, publish, configure, unpublish.

Rule: a handle joins as publisher before it publishes (``VideoRoomError(-1)`` otherwise) and
then stays a publisher until ``leave``. ``publish`` with a player makes the offer with aiortc
(imported on call, ``[media]``); with ``jsep=`` it sends the given offer and returns Janus's
answer, so signalling-only users can bring their own WebRTC stack.
"""

from __future__ import annotations

from typing import Any

from janus_fast.media import import_aiortc
from janus_fast.plugins._base import JsonDict, ParticipantId, RoomId, compact, reply_data
from janus_fast.plugins.videoroom.base import (
    ParticipantType,
    VideoRoomError,
    VideoRoomHandle,
)
from janus_fast.timeouts import OPTION_TIMEOUT, Timeout


class VideoRoomPublisher(VideoRoomHandle):
    """The publisher role: ``join_as_publisher``, ``join_and_configure``, ``publish`` and more."""

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
        """Send ``join`` as publisher; emits ``JOINED``.

        Args:
            room_id: The room to join.
            publisher_id: The id to take; Janus picks one when None.
            display: Our display name.
            token: A token, for rooms with an allowed list.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            pin: The room's PIN, if it has one.

        Returns:
            The reply data (``id``, ``private_id``, ``publishers`` …).

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
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
        data = reply_data(await self._send_request(body, timeout=timeout))
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
        """Send ``joinandconfigure`` (new): join as publisher and configure in one request.

        With a jsep it also publishes.

        Args:
            room_id: The room to join.
            publisher_id: The id to take; Janus picks one when None.
            display: Our display name.
            token: A token, for rooms with an allowed list.
            pin: The room's PIN, if it has one.
            jsep: An offer, to publish at once.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            **configure: ``configure`` fields (bitrate, record, descriptions …), sent as given.

        Returns:
            The reply data; Janus's answer under ``jsep`` when an offer was sent.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
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
        data = reply_data(await self._send_request(body, jsep, timeout=timeout))
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
        """Send ``publish``: start publishing media in the joined room.

        With ``player`` the offer is made here (needs ``[media]``) and the answer applied;
        with ``jsep=offer`` the offer is sent as is and the answer is returned under
        ``data["jsep"]``.

        Args:
            player: An aiortc ``MediaPlayer`` (or anything with ``audio``/``video`` tracks).
            audiocodec: The audio codec to use (one the room allows).
            videocodec: The video codec to use (one the room allows).
            bitrate: Our bitrate cap (REMB), in bit/s.
            record: Record what we publish.
            filename: Base path of the recording.
            descriptions: Per-stream descriptions (``[{mid, description}]``).
            trickle: Send our ICE candidates in a ``trickle`` after the offer.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            jsep: A ready-made offer to send instead of making one.

        Returns:
            The reply data (Janus's answer under ``"jsep"``).

        Raises:
            VideoRoomError: Not joined as publisher, or Janus refused the request.
            ValueError: Neither ``player`` nor ``jsep`` was given.
            RequestTimeoutError: No reply within ``timeout``.
        """
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
        return reply_data(reply)

    async def unpublish(self, timeout: Timeout = OPTION_TIMEOUT) -> None:
        """Send ``unpublish``: stop publishing (we stay in the room).

        Args:
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
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
        """Send ``configure`` (publisher or subscriber).

        Empty or default options are not sent.

        Args:
            bitrate: Our bitrate cap (REMB), in bit/s.
            keyframe: Ask publishers for a keyframe.
            record: Start or stop recording.
            filename: Base path of the recording.
            display: Our new display name.
            streams: Per-stream settings (``[{mid, send, …}]``).
            descriptions: Per-stream descriptions (``[{mid, description}]``).
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            jsep: New: an offer, for a renegotiation.
            **kwargs: New: other fields (e.g. subscriber ``substream``/``temporal``,
                ``restart``), sent as given.

        Returns:
            The reply data.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
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
        data = reply_data(await self._send_request(body, jsep, timeout=timeout))
        if display:
            self._display_name = display
        return data
