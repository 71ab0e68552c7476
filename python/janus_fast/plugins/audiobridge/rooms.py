"""AudioBridge room administration: usable on any attached handle, without joining a room.

Rule: these requests act on rooms, their participants, forwarders and file playbacks by id
(``RoomId``/``ParticipantId``: ``int | str``), never on this handle's own participation, so they
change none of its state. Each returns the plugin's data (or the list in it) and raises
``AudioBridgeError`` on any error. Optional fields left as None are not sent; extra kwargs are
sent as given (settings newer Janus versions accept).
"""

from __future__ import annotations

from typing import Any

from janus_fast.plugins._base import JsonDict, ParticipantId, RoomId, compact, dict_list, reply_data
from janus_fast.plugins.audiobridge.base import AudioBridgeHandle
from janus_fast.timeouts import OPTION_TIMEOUT, Timeout


class AudioBridgeAdministration(AudioBridgeHandle):
    """Rooms (create, edit, destroy, list …), moderation, recording, forwarders, playback."""

    async def _admin(self, body: JsonDict, timeout: Timeout, **extra: Any) -> JsonDict:
        body = compact(body)
        body.update(extra)
        return reply_data(await self._send_request(body, timeout=timeout))

    # -- rooms ------------------------------------------------------------------------------------
    async def create_room(
        self,
        room_id: RoomId | None = None,
        description: str | None = None,
        secret: str | None = None,
        pin: str | None = None,
        is_private: bool | None = None,
        allowed: list[str] | None = None,
        sampling_rate: int | None = None,
        spatial_audio: bool | None = None,
        audiolevel_ext: bool | None = None,
        audiolevel_event: bool | None = None,
        record: bool | None = None,
        record_file: str | None = None,
        record_dir: str | None = None,
        permanent: bool = False,
        *,
        admin_key: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
        **kwargs: Any,
    ) -> RoomId:
        """Send ``create``: make a room.

        Options left at None are not sent.

        Args:
            room_id: The id to give the room; Janus picks one when None.
            description: The room's description.
            secret: The secret needed to edit or destroy it.
            pin: The PIN participants need to join.
            is_private: Leave it out of ``list``.
            allowed: Tokens allowed to join (an allowed list).
            sampling_rate: The mix's sampling rate (8000, 12000, 16000, 24000 or 48000).
            spatial_audio: Mix in stereo, with a position per participant.
            audiolevel_ext: Negotiate the audio-level RTP extension.
            audiolevel_event: Send talking/stopped-talking events.
            record: Record the mix.
            record_file: The recording's file name.
            record_dir: The directory recordings go to.
            permanent: Also save it in the plugin's configuration file.
            admin_key: The plugin's ``admin_key``, when creating needs one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            **kwargs: Other settings (``audio_active_packets``, ``default_prebuffering``,
                ``mjrs``, ``allow_rtp_participants``, ``groups`` …), sent as they are.

        Returns:
            The room id as Janus sent it (also a generated one).

        Raises:
            AudioBridgeError: Janus refused the request, or its reply had no room id.
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {
            "request": "create",
            "room": room_id,
            "description": description,
            "secret": secret,
            "pin": pin,
            "is_private": is_private,
            "allowed": allowed,
            "sampling_rate": sampling_rate,
            "spatial_audio": spatial_audio,
            "audiolevel_ext": audiolevel_ext,
            "audiolevel_event": audiolevel_event,
            "record": record,
            "record_file": record_file,
            "record_dir": record_dir,
            "permanent": permanent,
            "admin_key": admin_key,
        }
        return self._id_from(await self._admin(body, timeout, **kwargs), "room")

    async def edit_room(
        self,
        room_id: RoomId,
        secret: str | None = None,
        *,
        new_description: str | None = None,
        new_secret: str | None = None,
        new_pin: str | None = None,
        new_is_private: bool | None = None,
        new_record_dir: str | None = None,
        new_mjrs_dir: str | None = None,
        permanent: bool = False,
        timeout: Timeout = OPTION_TIMEOUT,
        **kwargs: Any,
    ) -> JsonDict:
        """Send ``edit``: change a room's description, secret, PIN, privacy or folders.

        Options left at None are not sent.

        Args:
            room_id: The room.
            secret: The room's current secret, if it has one.
            new_description: The new description.
            new_secret: The new secret.
            new_pin: The new PIN (``""`` removes it).
            new_is_private: The new privacy flag.
            new_record_dir: The new folder of the mix recordings.
            new_mjrs_dir: The new folder of the per-participant ``.mjr`` recordings.
            permanent: Also save the change in the plugin's configuration file.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            **kwargs: Other fields, sent as given.

        Returns:
            The reply data.

        Raises:
            AudioBridgeError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {
            "request": "edit",
            "room": room_id,
            "secret": secret,
            "new_description": new_description,
            "new_secret": new_secret,
            "new_pin": new_pin,
            "new_is_private": new_is_private,
            "new_record_dir": new_record_dir,
            "new_mjrs_dir": new_mjrs_dir,
            "permanent": permanent,
        }
        return await self._admin(body, timeout, **kwargs)

    async def destroy_room(
        self,
        room_id: RoomId,
        secret: str | None = None,
        permanent: bool = False,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``destroy``: remove a room; the participants get a ``DESTROYED`` event.

        Args:
            room_id: The room.
            secret: The room's secret, if it has one.
            permanent: Also remove it from the plugin's configuration file.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            AudioBridgeError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {"request": "destroy", "room": room_id, "secret": secret, "permanent": permanent}
        return await self._admin(body, timeout)

    async def exists(self, room_id: RoomId, timeout: Timeout = OPTION_TIMEOUT) -> bool:
        """Send ``exists``: check whether a room exists.

        Args:
            room_id: The room.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            True when it does.

        Raises:
            AudioBridgeError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        data = await self._admin({"request": "exists", "room": room_id}, timeout)
        return data.get("exists") is True

    async def list_rooms(
        self, admin_key: str | None = None, timeout: Timeout = OPTION_TIMEOUT
    ) -> list[JsonDict]:
        """Send ``list``: the public rooms (private ones too with the ``admin_key``).

        Args:
            admin_key: The plugin's ``admin_key``, to list the private rooms too.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            One dict per room; empty when the reply has no list.

        Raises:
            AudioBridgeError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        data = await self._admin({"request": "list", "admin_key": admin_key}, timeout)
        rooms = data.get("list")
        return dict_list(rooms)

    async def list_participants(
        self, room_id: RoomId, timeout: Timeout = OPTION_TIMEOUT
    ) -> list[JsonDict]:
        """Send ``listparticipants``: the participants of a room.

        Args:
            room_id: The room.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            ``[{id, display, setup, muted, talking?, …}]``; empty when the reply has no list.

        Raises:
            AudioBridgeError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        data = await self._admin({"request": "listparticipants", "room": room_id}, timeout)
        participants = data.get("participants")
        return dict_list(participants)

    async def allowed(
        self,
        room_id: RoomId,
        action: str,
        allowed: list[str] | None = None,
        secret: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``allowed``: manage the tokens a room accepts at ``join``.

        Args:
            room_id: The room.
            action: ``enable``, ``disable`` (the check), ``add`` or ``remove`` (tokens).
            allowed: The tokens to add or remove.
            secret: The room's secret, if it has one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            AudioBridgeError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {
            "request": "allowed",
            "room": room_id,
            "action": action,
            "allowed": allowed,
            "secret": secret,
        }
        return await self._admin(body, timeout)

    # -- moderation -------------------------------------------------------------------------------
    async def mute_participant(
        self,
        room_id: RoomId,
        participant_id: ParticipantId,
        secret: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``mute``: mute one participant; the room sees a ``PARTICIPANTS`` event.

        Args:
            room_id: The room.
            participant_id: The participant to mute.
            secret: The room's secret, if it has one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            AudioBridgeError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {"request": "mute", "room": room_id, "id": participant_id, "secret": secret}
        return await self._admin(body, timeout)

    async def unmute_participant(
        self,
        room_id: RoomId,
        participant_id: ParticipantId,
        secret: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``unmute``: unmute one participant.

        Args:
            room_id: The room.
            participant_id: The participant to unmute.
            secret: The room's secret, if it has one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            AudioBridgeError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {"request": "unmute", "room": room_id, "id": participant_id, "secret": secret}
        return await self._admin(body, timeout)

    async def mute_room(
        self, room_id: RoomId, secret: str | None = None, timeout: Timeout = OPTION_TIMEOUT
    ) -> JsonDict:
        """Send ``mute_room``: mute every participant but the admins (joined with the secret).

        Args:
            room_id: The room.
            secret: The room's secret, if it has one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            AudioBridgeError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        return await self._admin(
            {"request": "mute_room", "room": room_id, "secret": secret}, timeout
        )

    async def unmute_room(
        self, room_id: RoomId, secret: str | None = None, timeout: Timeout = OPTION_TIMEOUT
    ) -> JsonDict:
        """Send ``unmute_room``: unmute the room.

        Args:
            room_id: The room.
            secret: The room's secret, if it has one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            AudioBridgeError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {"request": "unmute_room", "room": room_id, "secret": secret}
        return await self._admin(body, timeout)

    async def kick_participant(
        self,
        room_id: RoomId,
        participant_id: ParticipantId,
        secret: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``kick``: remove a participant from the room.

        Everyone in the room gets a ``KICKED`` event; Janus closes the kicked PeerConnection.

        Args:
            room_id: The room.
            participant_id: The participant to kick.
            secret: The room's secret, if it has one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            AudioBridgeError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {"request": "kick", "room": room_id, "id": participant_id, "secret": secret}
        return await self._admin(body, timeout)

    async def kick_all(
        self, room_id: RoomId, secret: str | None = None, timeout: Timeout = OPTION_TIMEOUT
    ) -> JsonDict:
        """Send ``kick_all``: remove every participant; each gets a ``KICKED_ALL`` event.

        Args:
            room_id: The room.
            secret: The room's secret, if it has one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            AudioBridgeError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        return await self._admin(
            {"request": "kick_all", "room": room_id, "secret": secret}, timeout
        )

    # -- recording --------------------------------------------------------------------------------
    async def enable_recording(
        self,
        room_id: RoomId,
        record: bool,
        secret: str | None = None,
        *,
        record_file: str | None = None,
        record_dir: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``enable_recording``: start or stop recording the room's mix to a ``.wav``.

        Args:
            room_id: The room.
            record: Start (True) or stop (False).
            secret: The room's secret, if it has one.
            record_file: The recording's file name.
            record_dir: The folder the recording goes to.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            AudioBridgeError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {
            "request": "enable_recording",
            "room": room_id,
            "record": record,
            "secret": secret,
            "record_file": record_file,
            "record_dir": record_dir,
        }
        return await self._admin(body, timeout)

    async def enable_mjrs(
        self,
        room_id: RoomId,
        mjrs: bool,
        secret: str | None = None,
        *,
        mjrs_dir: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``enable_mjrs``: start or stop recording each participant to its own ``.mjr``.

        Args:
            room_id: The room.
            mjrs: Start (True) or stop (False).
            secret: The room's secret, if it has one.
            mjrs_dir: The folder the recordings go to.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            AudioBridgeError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {
            "request": "enable_mjrs",
            "room": room_id,
            "mjrs": mjrs,
            "secret": secret,
            "mjrs_dir": mjrs_dir,
        }
        return await self._admin(body, timeout)

    # -- RTP forwarders ---------------------------------------------------------------------------
    async def rtp_forward(
        self,
        room_id: RoomId,
        host: str,
        port: int,
        secret: str | None = None,
        *,
        group: str | None = None,
        ssrc: int | None = None,
        codec: str | None = None,
        ptype: int | None = None,
        host_family: str | None = None,
        always_on: bool | None = None,
        admin_key: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
        **kwargs: Any,
    ) -> JsonDict:
        """Send ``rtp_forward``: send the room's mix (or a group's) as RTP to ``host:port``.

        Options left at None are not sent.

        Args:
            room_id: The room.
            host: Where the RTP goes.
            port: The UDP port it goes to.
            secret: The room's secret, if it has one.
            group: Forward this group's mix only.
            ssrc: The SSRC of the forwarded stream.
            codec: The codec of the forwarded stream (``opus``, ``pcma``, ``pcmu``).
            ptype: The RTP payload type.
            host_family: ``ipv4`` or ``ipv6``, to resolve ``host`` with.
            always_on: Forward silence too while the room is empty.
            admin_key: The plugin's ``admin_key``, when forwarding needs one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            **kwargs: Other options (``srtp_suite``, ``srtp_crypto`` …), sent as they are.

        Returns:
            The reply data, with the forwarder's ``stream_id``.

        Raises:
            AudioBridgeError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {
            "request": "rtp_forward",
            "room": room_id,
            "host": host,
            "port": port,
            "secret": secret,
            "group": group,
            "ssrc": ssrc,
            "codec": codec,
            "ptype": ptype,
            "host_family": host_family,
            "always_on": always_on,
            "admin_key": admin_key,
        }
        return await self._admin(body, timeout, **kwargs)

    async def stop_rtp_forward(
        self,
        room_id: RoomId,
        stream_id: int,
        secret: str | None = None,
        *,
        admin_key: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``stop_rtp_forward``: stop one RTP forwarder of the room.

        Args:
            room_id: The room.
            stream_id: The forwarder's ``stream_id`` (from ``rtp_forward``).
            secret: The room's secret, if it has one.
            admin_key: The plugin's ``admin_key``, when the request needs one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            AudioBridgeError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {
            "request": "stop_rtp_forward",
            "room": room_id,
            "stream_id": stream_id,
            "secret": secret,
            "admin_key": admin_key,
        }
        return await self._admin(body, timeout)

    async def list_forwarders(
        self, room_id: RoomId, secret: str | None = None, timeout: Timeout = OPTION_TIMEOUT
    ) -> list[JsonDict]:
        """Send ``listforwarders``: the room's RTP forwarders.

        Args:
            room_id: The room.
            secret: The room's secret, if it has one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            ``[{stream_id, ip, port, codec, ptype, always_on, …}]``; empty when the reply has no
            list.

        Raises:
            AudioBridgeError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {"request": "listforwarders", "room": room_id, "secret": secret}
        forwarders = (await self._admin(body, timeout)).get("rtp_forwarders")
        return dict_list(forwarders)

    # -- announcements (Opus files played into the mix) -------------------------------------------
    async def play_file(
        self,
        room_id: RoomId,
        filename: str,
        secret: str | None = None,
        *,
        file_id: str | None = None,
        loop: bool | None = None,
        group: str | None = None,
        admin_key: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> str:
        """Send ``play_file``: play an ``.opus`` file into the room's mix.

        The room gets ``ANNOUNCEMENT_STARTED`` and, at the end, ``ANNOUNCEMENT_STOPPED``.

        Args:
            room_id: The room.
            filename: The ``.opus`` file, a path Janus can read.
            secret: The room's secret, if it has one.
            file_id: The id to give the announcement; Janus picks one when None.
            loop: Play the file in a loop (until ``stop_file``).
            group: Play it into this group only.
            admin_key: The plugin's ``admin_key``, when playing needs one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The announcement's ``file_id``.

        Raises:
            AudioBridgeError: Janus refused the request, or its reply had no ``file_id``.
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {
            "request": "play_file",
            "room": room_id,
            "filename": filename,
            "secret": secret,
            "file_id": file_id,
            "loop": loop,
            "group": group,
            "admin_key": admin_key,
        }
        played = (await self._admin(body, timeout)).get("file_id")
        if not isinstance(played, str):
            raise self.error_class(0, "no 'file_id' in the play_file reply")
        return played

    async def is_playing(
        self,
        room_id: RoomId,
        file_id: str,
        secret: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> bool:
        """Send ``is_playing``: whether an announcement still plays.

        Args:
            room_id: The room.
            file_id: The announcement's ``file_id``.
            secret: The room's secret, if it has one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            True while it plays.

        Raises:
            AudioBridgeError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {"request": "is_playing", "room": room_id, "file_id": file_id, "secret": secret}
        return (await self._admin(body, timeout)).get("playing") is True

    async def stop_file(
        self,
        room_id: RoomId,
        file_id: str,
        secret: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``stop_file``: stop an announcement.

        Args:
            room_id: The room.
            file_id: The announcement's ``file_id``.
            secret: The room's secret, if it has one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            AudioBridgeError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {"request": "stop_file", "room": room_id, "file_id": file_id, "secret": secret}
        return await self._admin(body, timeout)
