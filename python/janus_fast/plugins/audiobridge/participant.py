"""AudioBridge participation: join a room, configure, change room, leave, hang up.

Rule: ``join`` with a ``player`` and/or ``recorder`` negotiates an audio PeerConnection with
aiortc (imported on call, ``[media]``) in the join itself and applies Janus's answer before
returning (with ``generate_offer``: answers Janus's offer in a ``configure``, as ``configure``
does for an offer Janus makes on a PeerConnection of ours); with ``jsep=`` it sends the given
offer and returns Janus's answer under ``data["jsep"]``; with neither it only joins (media can
follow with ``configure(jsep=…)``).
The room state (``room_id``, ``participant_id`` …) follows Janus's replies: ``joined``,
``roomchanged``, ``left``.
"""

from __future__ import annotations

from typing import Any

from janus_fast.media import import_aiortc
from janus_fast.plugin import JanusPlugin
from janus_fast.plugins._base import JsonDict, ParticipantId, RoomId, compact, reply_data
from janus_fast.plugins.audiobridge.base import AudioBridgeError, AudioBridgeHandle
from janus_fast.timeouts import OPTION_TIMEOUT, Timeout


class AudioBridgeParticipant(AudioBridgeHandle):
    """The participant role: ``join``, ``configure``, ``change_room``, ``leave``, ``hangup``."""

    async def _audio_pc(self, player: Any, recorder: Any, *, receive_only: bool) -> Any:
        """Make a fresh PeerConnection sending ``player``'s audio.

        Without ``player``'s audio: receive-only when ``receive_only`` (we offer); else no
        transceiver (Janus's offer makes its own receive-only one).

        Returns:
            The PeerConnection.
        """
        import_aiortc("AudioBridge.join")
        await self._fresh_pc()
        self._setup_media_tracks(None, recorder)
        pc = self.pc
        audio = getattr(player, "audio", None) if player is not None else None
        if audio is not None:
            pc.addTrack(audio)
        elif receive_only:
            pc.addTransceiver("audio", direction="recvonly")
        self._player = player
        return pc

    async def _audio_offer(self, player: Any, recorder: Any, trickle: bool) -> JsonDict:
        """A fresh PeerConnection with ``player``'s audio (or receive-only) and its offer."""
        pc = await self._audio_pc(player, recorder, receive_only=True)
        await pc.setLocalDescription(await pc.createOffer())
        return self._jsep(pc, trickle)

    async def _answer_offer(self, data: JsonDict, trickle: bool, timeout: Timeout) -> None:
        """Answer Janus's offer on our PeerConnection with a ``configure`` carrying the answer.

        The offer came with ``generate_offer``, or with a renegotiation Janus offered.

        Raises:
            AudioBridgeError: ``data`` has no offer, or Janus refused the ``configure``.
        """
        offer = data.get("jsep")
        if not isinstance(offer, dict) or offer.get("type") != "offer":
            raise AudioBridgeError(0, "no offer from the AudioBridge (generate_offer)")
        await self.on_receive_jsep(offer)
        pc = self._negotiation_pc()
        await pc.setLocalDescription(await pc.createAnswer())
        await self._send_request({"request": "configure"}, self._jsep(pc, trickle), timeout=timeout)
        if trickle:
            await self._send_local_candidates()

    async def join(
        self,
        room_id: RoomId,
        participant_id: ParticipantId | None = None,
        display: str | None = None,
        *,
        player: Any = None,
        recorder: Any = None,
        trickle: bool = False,
        jsep: JsonDict | None = None,
        pin: str | None = None,
        token: str | None = None,
        muted: bool | None = None,
        codec: str | None = None,
        bitrate: int | None = None,
        quality: int | None = None,
        expected_loss: int | None = None,
        volume: int | None = None,
        spatial_position: int | None = None,
        secret: str | None = None,
        group: str | None = None,
        record: bool | None = None,
        filename: str | None = None,
        generate_offer: bool | None = None,
        rtp: JsonDict | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
        **kwargs: Any,
    ) -> JsonDict:
        """Send ``join``: enter a room; emits ``JOINED``.

        With ``player`` or ``recorder`` (and no ``jsep``) the offer is made here (needs
        ``[media]``) and Janus's answer applied; with ``generate_offer=True`` too, Janus offers
        and the answer is made here and sent in a ``configure``. Options left at None are not
        sent.

        Args:
            room_id: The room to join.
            participant_id: The id to take; Janus picks one when None.
            display: Our display name.
            player: An object with an ``audio`` track (aiortc ``MediaPlayer`` or any such);
                its audio is sent.
            recorder: A ``MediaRecorder`` (or anything with ``addTrack``/``start``/``stop``)
                that gets the room's mix.
            trickle: Send our ICE candidates in a ``trickle`` after the offer.
            jsep: A ready-made offer to send with the join.
            pin: The room's PIN, if it has one.
            token: A token, for rooms with an allowed list.
            muted: Join muted.
            codec: The codec to use (``opus``, ``pcma``, ``pcmu``).
            bitrate: Opus encoder bitrate, in bit/s.
            quality: Opus encoder complexity, 1 to 10.
            expected_loss: Expected packet loss percentage (Opus FEC).
            volume: Our volume, as a percentage (100 is unchanged).
            spatial_position: Our position in a spatial-audio room, 0 (left) to 100 (right).
            secret: The room's secret, if joining needs it.
            group: The group to join in a room with groups.
            record: Record our audio.
            filename: Base path of our recording.
            generate_offer: Janus makes the offer instead of us. With ``player`` or
                ``recorder``, our PeerConnection answers it in a ``configure`` before
                returning; with neither, the offer is returned under ``data["jsep"]`` (answer
                it with ``configure(jsep=answer)``). With ``rtp``: a plain-RTP offer.
            rtp: Join with plain RTP instead of WebRTC (the reply's ``rtp`` says where to
                send).
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            **kwargs: Other options (``prebuffer``, ``audio_level_average`` …), sent as they
                are.

        Returns:
            The reply data (``id``, ``participants`` …; Janus's answer under ``"jsep"``).

        Raises:
            AudioBridgeError: Janus refused the request, or sent no answer to our offer (no
                offer, with ``generate_offer``).
            RequestTimeoutError: No reply within ``timeout``.
        """
        offer = jsep
        made_here = jsep is None and (player is not None or recorder is not None)
        janus_offers = made_here and bool(generate_offer) and rtp is None
        if janus_offers:  # Janus makes the offer: our PeerConnection answers it
            await self._audio_pc(player, recorder, receive_only=False)
        elif made_here:
            offer = await self._audio_offer(player, recorder, trickle)
        body = compact(
            {
                "request": "join",
                "room": room_id,
                "id": participant_id,
                "display": display,
                "pin": pin,
                "token": token,
                "muted": muted,
                "codec": codec,
                "bitrate": bitrate,
                "quality": quality,
                "expected_loss": expected_loss,
                "volume": volume,
                "spatial_position": spatial_position,
                "secret": secret,
                "group": group,
                "record": record,
                "filename": filename,
                "generate_offer": generate_offer,
                "rtp": rtp,
            }
        )
        body.update(kwargs)
        reply = await self._send_request(body, offer, timeout=timeout)
        data = reply_data(reply)
        self._in_room(room_id, display, data)
        self._muted = bool(muted)
        if janus_offers:
            await self._answer_offer(data, trickle, timeout)
        elif made_here:
            await self._apply_answer(data, trickle)
        return data

    async def _apply_answer(self, data: JsonDict, trickle: bool) -> None:
        answer = data.get("jsep")
        if not isinstance(answer, dict):
            raise AudioBridgeError(0, "no answer from the AudioBridge to our offer")
        await self.on_receive_jsep(answer)
        if trickle:
            await self._send_local_candidates()

    async def configure(
        self,
        muted: bool | None = None,
        display: str | None = None,
        bitrate: int | None = None,
        quality: int | None = None,
        expected_loss: int | None = None,
        volume: int | None = None,
        spatial_position: int | None = None,
        record: bool | None = None,
        filename: str | None = None,
        group: str | None = None,
        *,
        jsep: JsonDict | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
        **kwargs: Any,
    ) -> JsonDict:
        """Send ``configure``: change our participation (mute, display, volume …).

        Emits ``CONFIGURED``. With ``jsep=offer`` (a first negotiation after a plain
        ``join``, or a renegotiation) Janus's answer is returned under ``data["jsep"]``.
        When Janus offers instead (``update=True`` on a PeerConnection it offered, see
        ``generate_offer``) and the PeerConnection is ours, its offer is answered here in a
        second ``configure``. Options left at None are not sent.

        Args:
            muted: Mute or unmute ourselves.
            display: Our new display name.
            bitrate: Opus encoder bitrate, in bit/s.
            quality: Opus encoder complexity, 1 to 10.
            expected_loss: Expected packet loss percentage (Opus FEC).
            volume: Our volume, as a percentage (100 is unchanged).
            spatial_position: Our position in a spatial-audio room, 0 (left) to 100 (right).
            record: Record our audio.
            filename: Base path of our recording.
            group: Move to this group.
            jsep: An offer to send with the request.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            **kwargs: Other options, sent as they are.

        Returns:
            The reply data.

        Raises:
            AudioBridgeError: We are in no room, or Janus refused the request.
            RequestTimeoutError: No reply within ``timeout``.
        """
        if self._room_id is None:
            raise AudioBridgeError(0, "Must join a room before configuring")
        body = compact(
            {
                "request": "configure",
                "muted": muted,
                "display": display,
                "bitrate": bitrate,
                "quality": quality,
                "expected_loss": expected_loss,
                "volume": volume,
                "spatial_position": spatial_position,
                "record": record,
                "filename": filename,
                "group": group,
            }
        )
        body.update(kwargs)
        data = reply_data(await self._send_request(body, jsep, timeout=timeout))
        if muted is not None:
            self._muted = muted
        if display is not None:
            self._display_name = display
        offer = data.get("jsep")
        ours = jsep is None and self._pc is not None
        if ours and isinstance(offer, dict) and offer.get("type") == "offer":
            await self._answer_offer(data, False, timeout)  # ``update=True``: Janus re-offered
        return data

    async def change_room(
        self,
        room_id: RoomId,
        participant_id: ParticipantId | None = None,
        display: str | None = None,
        *,
        pin: str | None = None,
        token: str | None = None,
        muted: bool | None = None,
        group: str | None = None,
        bitrate: int | None = None,
        quality: int | None = None,
        expected_loss: int | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
        **kwargs: Any,
    ) -> JsonDict:
        """Send ``changeroom``: move to another room, keeping the PeerConnection.

        Emits ``ROOM_CHANGED``. Options left at None are not sent.

        Args:
            room_id: The room to move to.
            participant_id: The id to take there; Janus picks one when None.
            display: Our display name there.
            pin: That room's PIN, if it has one.
            token: A token, for rooms with an allowed list.
            muted: Join muted.
            group: The group to join in a room with groups.
            bitrate: Opus encoder bitrate, in bit/s.
            quality: Opus encoder complexity, 1 to 10.
            expected_loss: Expected packet loss percentage (Opus FEC).
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            **kwargs: Other options, sent as they are.

        Returns:
            The reply data (new ``id``, ``participants``).

        Raises:
            AudioBridgeError: We are in no room, or Janus refused the request.
            RequestTimeoutError: No reply within ``timeout``.
        """
        if self._room_id is None:
            raise AudioBridgeError(0, "Must join a room before changing room")
        body = compact(
            {
                "request": "changeroom",
                "room": room_id,
                "id": participant_id,
                "display": display,
                "pin": pin,
                "token": token,
                "muted": muted,
                "group": group,
                "bitrate": bitrate,
                "quality": quality,
                "expected_loss": expected_loss,
            }
        )
        body.update(kwargs)
        data = reply_data(await self._send_request(body, timeout=timeout))
        self._in_room(room_id, display if display is not None else self._display_name, data)
        if muted is not None:
            self._muted = muted
        return data

    async def leave(self, timeout: Timeout = OPTION_TIMEOUT) -> JsonDict:
        """Send ``leave``: leave the room; emits ``LEFT`` and resets the room state.

        The PeerConnection stays; ``join`` + ``configure`` reuse it.

        Args:
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            AudioBridgeError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        data = reply_data(await self._send_request({"request": "leave"}, timeout=timeout))
        self._reset_state()
        return data

    async def hangup(self, timeout: Timeout = OPTION_TIMEOUT) -> JsonDict:  # type: ignore[override]
        """Send the AudioBridge ``hangup`` request and close our PeerConnection.

        Janus closes its PeerConnection; we stay in the room. The core hangup is
        ``core_hangup()``.

        Args:
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            AudioBridgeError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        data = reply_data(await self._send_request({"request": "hangup"}, timeout=timeout))
        await self._close_pc()
        return data

    async def core_hangup(self) -> None:
        """Send the Janus core ``hangup``: drop the PeerConnection, keep the handle."""
        await JanusPlugin.hangup(self)

    async def reset_decoder(self, timeout: Timeout = OPTION_TIMEOUT) -> JsonDict:
        """Send ``resetdecoder``: Janus recreates our Opus decoder.

        Args:
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            AudioBridgeError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        return reply_data(await self._send_request({"request": "resetdecoder"}, timeout=timeout))
