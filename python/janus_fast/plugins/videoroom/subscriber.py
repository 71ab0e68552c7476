"""VideoRoom subscribing: join as a subscriber, answer Janus's offers, change the subscription.

Rule: a publisher handle never subscribes (``VideoRoomError(-1)``); a subscriber's streams are
``[{"feed": ParticipantId, "mid": …}]`` as Janus takes them. Janus makes the offers: with a
PeerConnection (``subscribe_to_publisher``, aiortc imported on call) they are answered here, also
the unsolicited ones after an autoupdate; without one the offer is returned under ``"jsep"`` and
``start(jsep=answer)`` sends the caller's answer.
"""

from __future__ import annotations

from typing import Any

from janus_fast.media import import_aiortc
from janus_fast.plugins._base import JsonDict, RoomId, compact, reply_data
from janus_fast.plugins.videoroom.base import ParticipantType, VideoRoomHandle
from janus_fast.timeouts import OPTION_TIMEOUT, Timeout


class VideoRoomSubscriber(VideoRoomHandle):
    """The subscriber role: ``join_as_subscriber``, ``start``, ``subscribe``, ``switch``."""

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
        """Send ``configure`` for a subscriber (new): pick simulcast/SVC layers.

        Per stream with ``streams``, or with the legacy top-level fields. Options left at
        None are not sent.

        Args:
            streams: Per-stream settings (``[{mid, substream, …}]``).
            substream: Legacy: the simulcast substream wanted.
            temporal: Legacy: the simulcast temporal layer wanted.
            spatial_layer: Legacy: the SVC spatial layer wanted.
            temporal_layer: Legacy: the SVC temporal layer wanted.
            fallback: Legacy: the simulcast fallback delay, in microseconds.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            **kwargs: Other fields, sent as given.

        Returns:
            The reply data.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
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
        return reply_data(await self._send_request(body, timeout=timeout))

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
        """Send ``join`` as subscriber (new, signalling only).

        Answer Janus's offer with ``start(jsep=answer)``.

        Args:
            room_id: The room.
            streams: The streams wanted (``[{feed, mid?}]``).
            private_id: Our publisher handle's ``private_id``, to tie both together.
            use_msid: Name the tracks after the publishers (msid).
            autoupdate: Let Janus renegotiate when a subscribed publisher goes away.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            **kwargs: Other fields, sent as given.

        Returns:
            The reply data, with Janus's offer under ``jsep``.

        Raises:
            VideoRoomError: This handle joined as publisher, or Janus refused the request.
            RequestTimeoutError: No reply within ``timeout``.
        """
        self._refuse_publisher()
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
        data = reply_data(await self._send_request(body, timeout=timeout))
        self._joined_as_subscriber(room_id)
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
        """Subscribe with media: ``join`` as subscriber, then answer with ``start``.

        Needs the ``[media]`` extra.

        Args:
            room_id: The room.
            streams: The streams wanted (``[{feed, mid?}]``).
            recorder: An aiortc ``MediaRecorder`` the remote tracks go to.
            private_id: Our publisher handle's ``private_id``, to tie both together.
            use_msid: Name the tracks after the publishers (msid).
            autoupdate: Let Janus renegotiate when a subscribed publisher goes away.
            trickle: Send our ICE candidates in a ``trickle`` after the answer.
            timeout: Seconds to wait for each reply; the session's ``timeout`` option by
                default.

        Returns:
            The ``join`` reply data.

        Raises:
            VideoRoomError: This handle joined as publisher, or Janus refused a request.
            RequestTimeoutError: No reply within ``timeout``.
        """
        import_aiortc("VideoRoom.subscribe_to_publisher")
        self._refuse_publisher()
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
        pc = self._negotiation_pc()
        await pc.setLocalDescription(await pc.createAnswer())
        await self.start(trickle=trickle, timeout=timeout)

    async def start(
        self,
        trickle: bool = False,
        timeout: Timeout = OPTION_TIMEOUT,
        *,
        jsep: JsonDict | None = None,
    ) -> JsonDict:
        """Send ``start`` with our answer: the media starts flowing.

        The answer comes from our PeerConnection (needs ``[media]``), or is ``jsep=`` as given.

        Args:
            trickle: Send our ICE candidates in a ``trickle`` after the answer.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            jsep: A ready-made answer to send instead of our PeerConnection's.

        Returns:
            The reply data.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
            InvalidStateError: ``destroy()`` ran during the negotiation.
        """
        answer = jsep
        if answer is None:
            import_aiortc("VideoRoom.start")
            answer = self._jsep(self._negotiation_pc(), trickle)
        data = reply_data(await self._send_request({"request": "start"}, answer, timeout=timeout))
        if jsep is None and trickle:
            await self._send_local_candidates()
        return data

    async def resume(self, timeout: Timeout = OPTION_TIMEOUT) -> JsonDict:
        """Send ``start`` without a jsep (new): resume a paused subscription.

        Args:
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        return reply_data(await self._send_request({"request": "start"}, timeout=timeout))

    async def pause(self, timeout: Timeout = OPTION_TIMEOUT) -> None:
        """Send ``pause``: Janus stops relaying media until ``resume``.

        Args:
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        await self._send_request({"request": "pause"}, timeout=timeout)

    async def _on_remote_offer(self, jsep: JsonDict) -> None:
        # A subscriber's unsolicited offer (``updated`` after an autoupdate): answer it.
        if self._participant_type == ParticipantType.SUBSCRIBER and self._pc is not None:
            pc = self._pc
            await pc.setLocalDescription(await pc.createAnswer())
            await self.start()

    async def _renegotiate(self, data: JsonDict, timeout: Timeout) -> None:
        offer = data.get("jsep")
        if isinstance(offer, dict) and (self._pc is not None or self._torn_down):
            await self._answer(offer, False, timeout)  # destroyed meanwhile: InvalidStateError

    async def subscribe(
        self, streams: list[JsonDict], timeout: Timeout = OPTION_TIMEOUT
    ) -> JsonDict:
        """Send ``subscribe``: add streams to the subscription.

        Renegotiates when a PeerConnection exists; else the new offer is returned under
        ``data["jsep"]``.

        Args:
            streams: The streams to add (``[{feed, mid?}]``).
            timeout: Seconds to wait for each reply; the session's ``timeout`` option by
                default.

        Returns:
            The reply data.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
            InvalidStateError: ``destroy()`` ran during the renegotiation.
        """
        body = {"request": "subscribe", "streams": streams}
        data = reply_data(await self._send_request(body, timeout=timeout))
        await self._renegotiate(data, timeout)
        return data

    async def unsubscribe(
        self, streams: list[JsonDict], timeout: Timeout = OPTION_TIMEOUT
    ) -> JsonDict:
        """Send ``unsubscribe``: drop streams from the subscription.

        Renegotiates as ``subscribe`` does.

        Args:
            streams: The streams to drop (``[{feed?, mid?, sub_mid?}]``).
            timeout: Seconds to wait for each reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
            InvalidStateError: ``destroy()`` ran during the renegotiation.
        """
        body = {"request": "unsubscribe", "streams": streams}
        data = reply_data(await self._send_request(body, timeout=timeout))
        await self._renegotiate(data, timeout)
        return data

    async def update(
        self,
        subscribe: list[JsonDict] | None = None,
        unsubscribe: list[JsonDict] | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``update`` (new): subscribe and unsubscribe in one renegotiation.

        Args:
            subscribe: The streams to add (``[{feed, mid?}]``).
            unsubscribe: The streams to drop (``[{feed?, mid?, sub_mid?}]``).
            timeout: Seconds to wait for each reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
            InvalidStateError: ``destroy()`` ran during the renegotiation.
        """
        body = compact({"request": "update", "subscribe": subscribe, "unsubscribe": unsubscribe})
        data = reply_data(await self._send_request(body, timeout=timeout))
        await self._renegotiate(data, timeout)
        return data

    async def switch_publisher(
        self, streams: list[JsonDict], timeout: Timeout = OPTION_TIMEOUT
    ) -> None:
        """Send ``switch``: change the source of subscribed streams without renegotiating.

        Args:
            streams: ``[{feed, mid, sub_mid}]``: which publisher stream feeds which of ours.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        await self._send_request({"request": "switch", "streams": streams}, timeout=timeout)
