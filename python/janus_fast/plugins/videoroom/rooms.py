"""VideoRoom room administration: usable on any attached handle, without joining a room.

Rule: these requests act on rooms, their participants and their forwarders by id (``RoomId``,
``ParticipantId``: ``int | str``), never on this handle's own participation, so they change none
of its state; a handle that only administers rooms never joins. Each returns the plugin's data
(or the list in it) and raises ``VideoRoomError`` on any error.
"""

from __future__ import annotations

from typing import Any

from janus_fast.plugins._base import JsonDict, ParticipantId, RoomId, compact, dict_list, reply_data
from janus_fast.plugins.videoroom.base import VideoRoomHandle
from janus_fast.timeouts import OPTION_TIMEOUT, Timeout


class VideoRoomAdministration(VideoRoomHandle):
    """Room administration: create, edit, list, moderate, record, forward, remote publishers."""

    # -- rooms ------------------------------------------------------------------------------------
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
        """Send ``create``: make a room.

        Empty or default options are not sent.

        Args:
            room_id: The id to give the room; Janus picks one when None.
            description: The room's description.
            secret: The secret needed to edit or destroy it.
            pin: The PIN participants need to join.
            is_private: Leave it out of ``list``.
            publishers: How many publishers may publish at once.
            bitrate: The publishers' bitrate cap (REMB), in bit/s.
            fir_freq: Send publishers a keyframe request every this many seconds (0: never).
            audiocodec: Allowed audio codecs, comma-separated (``opus,pcmu`` …).
            videocodec: Allowed video codecs, comma-separated (``vp8,h264`` …).
            record: Record every publisher.
            rec_dir: The directory recordings go to.
            permanent: Also save it in the plugin's configuration file.
            admin_key: The plugin's ``admin_key``, when creating needs one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            **kwargs: Other room settings, sent as given.

        Returns:
            The room id as Janus sent it (a ``str`` with ``string_ids``, also a generated
            one).

        Raises:
            VideoRoomError: Janus refused the request, or its reply had no room id.
            RequestTimeoutError: No reply within ``timeout``.
        """
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
        return self._id_from(reply_data(reply), "room")

    async def destroy_room(
        self,
        room_id: RoomId,
        secret: str | None = None,
        permanent: bool = False,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> None:
        """Send ``destroy``: remove a room.

        Args:
            room_id: The room.
            secret: The room's secret, if it has one.
            permanent: Also remove it from the plugin's configuration file.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
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
        """Send ``edit`` (new): change a room's settings.

        Options left at None are not sent.

        Args:
            room_id: The room.
            secret: The room's current secret, if it has one.
            new_description: The new description.
            new_secret: The new secret.
            new_pin: The new PIN.
            new_is_private: The new privacy flag.
            new_require_pvtid: Require subscribers to give a publisher's ``private_id``.
            new_bitrate: The new publishers' bitrate cap (REMB), in bit/s.
            new_fir_freq: Send publishers a keyframe request every this many seconds.
            new_publishers: How many publishers may publish at once.
            new_lock_record: Require the secret to start or stop recording.
            new_rec_dir: The new folder of the recordings.
            permanent: Also save the change in the plugin's configuration file.
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
        return reply_data(await self._send_request(body, timeout=timeout))

    async def list_rooms(
        self, admin_key: str | None = None, timeout: Timeout = OPTION_TIMEOUT
    ) -> list[JsonDict]:
        """Send ``list``: the rooms (private ones too with the ``admin_key``).

        Args:
            admin_key: The plugin's ``admin_key``, to list the private rooms too.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            One dict per room; empty when the reply has no list.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = compact({"request": "list", "admin_key": admin_key or None})
        rooms = reply_data(await self._send_request(body, timeout=timeout)).get("list")
        return dict_list(rooms)

    async def list_participants(
        self, room_id: RoomId, timeout: Timeout = OPTION_TIMEOUT
    ) -> list[JsonDict]:
        """Send ``listparticipants``: the participants of a room.

        Args:
            room_id: The room.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            One dict per participant (``id``, ``display``, ``publisher`` …); empty when the reply
            has no list.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {"request": "listparticipants", "room": room_id}
        participants = reply_data(await self._send_request(body, timeout=timeout)).get(
            "participants"
        )
        return dict_list(participants)

    async def exists(self, room_id: RoomId, timeout: Timeout = OPTION_TIMEOUT) -> bool:
        """Send ``exists``: check whether a room exists.

        Args:
            room_id: The room.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            True when it does.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        reply = await self._send_request({"request": "exists", "room": room_id}, timeout=timeout)
        return bool(reply_data(reply).get("exists", False))

    async def allowed(
        self,
        room_id: RoomId,
        action: str,
        allowed: list[str] | None = None,
        secret: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``allowed`` (new): manage the tokens a room accepts at ``join``.

        Args:
            room_id: The room.
            action: ``enable``, ``disable`` (the check), ``add`` or ``remove`` (tokens).
            allowed: The tokens to add or remove.
            secret: The room's secret, if it has one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = compact(
            {
                "request": "allowed",
                "room": room_id,
                "action": action,
                "allowed": allowed,
                "secret": secret,
            }
        )
        return reply_data(await self._send_request(body, timeout=timeout))

    async def kick_participant(
        self,
        room_id: RoomId,
        participant_id: ParticipantId,
        secret: str,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> None:
        """Send ``kick``: remove a participant from the room.

        Args:
            room_id: The room.
            participant_id: The participant to kick.
            secret: The room's secret.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
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
        """Send ``moderate``: mute or unmute one stream of a publisher.

        Args:
            room_id: The room.
            participant_id: The publisher.
            mid: The stream to mute or unmute.
            mute: Mute (True) or unmute (False).
            secret: The room's secret.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
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
        """Send ``enable_recording`` (new): start or stop recording every publisher.

        Args:
            room_id: The room.
            record: Start (True) or stop (False).
            secret: The room's secret, if it has one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = compact(
            {"request": "enable_recording", "room": room_id, "record": record, "secret": secret}
        )
        return reply_data(await self._send_request(body, timeout=timeout))

    # -- RTP forwarding (new) ---------------------------------------------------------------------
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
        """Send ``rtp_forward`` (new): forward a publisher's streams as RTP to ``host``.

        Args:
            room_id: The room.
            publisher_id: The publisher whose streams are forwarded.
            host: Where the RTP goes.
            streams: The streams and their ports (``[{mid, port, …}]``).
            secret: The room's secret, if it has one.
            host_family: ``ipv4`` or ``ipv6``, to resolve ``host`` with.
            admin_key: The plugin's ``admin_key``, when forwarding needs one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            **kwargs: Other options (``srtp_suite``, ``srtp_crypto`` …), sent as given.

        Returns:
            The reply data, whose ``forwarders`` carry the ``stream_id`` of each.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
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
        return reply_data(await self._send_request(body, timeout=timeout))

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
        """Send ``stop_rtp_forward`` (new): stop one RTP forwarder.

        Args:
            room_id: The room.
            publisher_id: The publisher forwarded.
            stream_id: The forwarder's ``stream_id`` (from ``rtp_forward``).
            secret: The room's secret, if it has one.
            admin_key: The plugin's ``admin_key``, when the request needs one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
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
        return reply_data(await self._send_request(body, timeout=timeout))

    async def list_forwarders(
        self, room_id: RoomId, secret: str | None = None, timeout: Timeout = OPTION_TIMEOUT
    ) -> list[JsonDict]:
        """Send ``listforwarders`` (new): the publishers with their RTP forwarders.

        Args:
            room_id: The room.
            secret: The room's secret, if it has one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            One dict per publisher, with its ``forwarders``; empty when the reply has no list.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = compact({"request": "listforwarders", "room": room_id, "secret": secret})
        publishers = reply_data(await self._send_request(body, timeout=timeout)).get("publishers")
        return dict_list(publishers)

    # -- remote publishers: cascading between VideoRoom instances (new) ----------------------------
    # The target instance adds a remote publisher (it gets an address to receive plain RTP on);
    # the source instance then sends a local publisher's streams there with publish_remotely.
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
        """Send ``add_remote_publisher`` (new): a publisher fed by plain RTP.

        The RTP comes, e.g., from another Janus's ``publish_remotely``.

        Args:
            room_id: The room.
            streams: The streams the remote publisher sends (``[{type, mid, codec, …}]``).
            iface: The local interface (IP) Janus receives the RTP on.
            publisher_id: The id to give the publisher; Janus picks one when None.
            display: Its display name.
            port: The port to receive on; Janus picks one when None.
            secret: The room's secret, if it has one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            **kwargs: Other options (``metadata``, ``srtp_suite``, ``srtp_crypto`` …), sent as
                given.

        Returns:
            The reply data, with the publisher's ``id``, ``ip`` and ``port``.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
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
        return reply_data(await self._send_request(body, timeout=timeout))

    async def remove_remote_publisher(
        self,
        room_id: RoomId,
        publisher_id: ParticipantId,
        secret: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> None:
        """Send ``remove_remote_publisher`` (new): remove a remote publisher.

        Args:
            room_id: The room.
            publisher_id: The remote publisher.
            secret: The room's secret, if it has one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = compact(
            {
                "request": "remove_remote_publisher",
                "room": room_id,
                "id": publisher_id,
                "secret": secret,
            }
        )
        await self._send_request(body, timeout=timeout)

    async def update_remote_publisher(
        self,
        room_id: RoomId,
        publisher_id: ParticipantId,
        streams: list[JsonDict],
        *,
        display: str | None = None,
        secret: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
        **kwargs: Any,
    ) -> JsonDict:
        """Send ``update_remote_publisher`` (new): change a remote publisher's streams or name.

        Args:
            room_id: The room.
            publisher_id: The remote publisher.
            streams: The new or changed streams only (as for ``add_remote_publisher``).
            display: Its new display name.
            secret: The room's secret, if it has one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            **kwargs: Other options (``metadata``, ``srtp_suite``, ``srtp_crypto``), sent as
                given.

        Returns:
            The reply data.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = compact(
            {
                "request": "update_remote_publisher",
                "room": room_id,
                "id": publisher_id,
                "display": display,
                "streams": streams,
                "secret": secret,
            }
        )
        body.update(kwargs)
        return reply_data(await self._send_request(body, timeout=timeout))

    async def publish_remotely(
        self,
        room_id: RoomId,
        publisher_id: ParticipantId,
        remote_id: str,
        host: str,
        port: int,
        *,
        rtcp_port: int | None = None,
        host_family: str | None = None,
        secret: str | None = None,
        admin_key: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
        **kwargs: Any,
    ) -> JsonDict:
        """Send ``publish_remotely`` (new): send a local publisher's streams to another Janus.

        The other instance created a remote publisher at ``host:port`` (its
        ``add_remote_publisher`` reply's ``ip`` and ``port``).

        Args:
            room_id: The room.
            publisher_id: The local publisher.
            remote_id: Names this remotization here (for ``unpublish_remotely``).
            host: The other instance's address.
            port: Its RTP port.
            rtcp_port: Its RTCP port, for feedback.
            host_family: ``ipv4`` or ``ipv6``, to resolve ``host`` with.
            secret: The room's secret, if it has one.
            admin_key: The plugin's ``admin_key``, when needed.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            **kwargs: Other options (``srtp_suite``, ``srtp_crypto``), sent as given.

        Returns:
            The reply data.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = compact(
            {
                "request": "publish_remotely",
                "room": room_id,
                "publisher_id": publisher_id,
                "remote_id": remote_id,
                "host": host,
                "host_family": host_family,
                "port": port,
                "rtcp_port": rtcp_port,
                "secret": secret,
                "admin_key": admin_key,
            }
        )
        body.update(kwargs)
        return reply_data(await self._send_request(body, timeout=timeout))

    async def unpublish_remotely(
        self,
        room_id: RoomId,
        publisher_id: ParticipantId,
        remote_id: str,
        secret: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``unpublish_remotely`` (new): stop a remotization of a publisher.

        Args:
            room_id: The room.
            publisher_id: The local publisher.
            remote_id: The remotization (from ``publish_remotely``).
            secret: The room's secret, if it has one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = compact(
            {
                "request": "unpublish_remotely",
                "room": room_id,
                "publisher_id": publisher_id,
                "remote_id": remote_id,
                "secret": secret,
            }
        )
        return reply_data(await self._send_request(body, timeout=timeout))

    async def list_remotes(
        self,
        room_id: RoomId,
        publisher_id: ParticipantId,
        secret: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> list[JsonDict]:
        """Send ``listremotes`` (new): a local publisher's remotizations.

        Args:
            room_id: The room.
            publisher_id: The local publisher.
            secret: The room's secret, if it has one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            ``[{"remote_id", "host", "port", "rtcp_port"?}]``; empty when the reply has no
            list.

        Raises:
            VideoRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = compact(
            {
                "request": "listremotes",
                "room": room_id,
                "publisher_id": publisher_id,
                "secret": secret,
            }
        )
        remotes = reply_data(await self._send_request(body, timeout=timeout)).get("list")
        return dict_list(remotes)
