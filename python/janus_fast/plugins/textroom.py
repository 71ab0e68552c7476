"""The TextRoom client ``JanusTextRoomPlugin``, janus-client's names plus a few requests.

janus-client's TextRoom client plus ``exists``/``edit``/``allowed``/``restart``.

Rule: room management travels over the Janus API and needs no media. ``setup`` (aiortc, imported
on call) opens the DataChannel; once it is open, ``leave_room``/``send_message``/
``send_announcement``/``kick_participant`` use it as janus-client did, and without it they fall
back to the Janus API (which Janus 1.1 accepts), so a signalling-only client can still take part.
DataChannel messages of any shape become ``TextRoomEventType`` events, never a ``KeyError``.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import uuid
from typing import Any

import orjson

from janus_fast.media import import_aiortc
from janus_fast.plugins._base import JsonDict, PluginClient, RoomId, compact, dict_list, plugin_data
from janus_fast.plugins._errors import TypedPluginError, error_in
from janus_fast.timeouts import OPTION_TIMEOUT, Timeout

logger = logging.getLogger("janus_fast.plugins.textroom")


class TextRoomError(TypedPluginError):
    """A TextRoom error: ``error_code`` and ``error_message`` (also a ``PluginError``)."""

    plugin_name = "janus.plugin.textroom"
    label = "TextRoom"


class TextRoomEventType(enum.Enum):
    """TextRoom events for ``on_event`` (handlers get the DataChannel message dict)."""

    JOIN = "join"
    LEAVE = "leave"
    KICKED = "kicked"
    DESTROYED = "destroyed"
    MESSAGE = "message"
    ANNOUNCEMENT = "announcement"
    ERROR = "error"
    #: New in janus_fast: any other message or event shape.
    OTHER = "other"


def _data(reply: JsonDict) -> JsonDict:
    return plugin_data(reply) or {}


class JanusTextRoomPlugin(PluginClient):
    """Janus TextRoom client (janus-client's names, signatures and defaults).

    Args:
        **kwargs: Passed to ``JanusPlugin``: ``pc_config``, an aiortc ``RTCConfiguration`` for
            the PeerConnections this handle makes.
    """

    name = "janus.plugin.textroom"
    error_class = TextRoomError
    data_key = "textroom"
    event_types = TextRoomEventType

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._data_channel: Any = None
        self._data_channel_created_event = asyncio.Event()
        self._dc_pending: dict[str, asyncio.Future[JsonDict]] = {}
        self._setup_done = False

    @property
    def data_channel(self) -> Any:
        """The aiortc ``RTCDataChannel`` once Janus opened it (None before ``setup``)."""
        return self._data_channel

    @property
    def webrtcup_event(self) -> asyncio.Event:
        """An ``asyncio.Event`` set when Janus reports ``webrtcup`` (cleared by ``setup``)."""
        return self._webrtcup_event

    def _channel_open(self) -> bool:
        channel = self._data_channel
        return channel is not None and getattr(channel, "readyState", None) == "open"

    # -- errors (janus-client's public helpers) ----------------------------------------------------
    def check_error_in_response(self, response: JsonDict) -> None:
        """Raise ``TextRoomError`` when a message is a core or plugin error.

        Any message shape is safe here (never a ``KeyError``).

        Args:
            response: The message from Janus.

        Raises:
            TextRoomError: ``response`` is a Janus core error or a TextRoom error.
        """
        if response.get("janus") == "error":
            error = response.get("error")
            error = error if isinstance(error, dict) else {}
            code, reason = error.get("code"), error.get("reason")
            raise TextRoomError(
                code if isinstance(code, int) else 0,
                reason if isinstance(reason, str) else "Unknown error",
            )
        failure = error_in(plugin_data(response), self.data_key)
        if failure is not None:
            raise TextRoomError(*failure)

    async def send_wrapper(
        self, message: JsonDict, matcher: JsonDict | None = None, timeout: Timeout = OPTION_TIMEOUT
    ) -> JsonDict:
        """Send a plugin request over the Janus API and wait for its reply.

        Args:
            message: The request body, sent as is.
            matcher: Accepted for janus-client compatibility and ignored; completion follows
                Janus's rules.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply as Janus sent it.

        Raises:
            TextRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        return await self._send_request(message, timeout=timeout)

    # -- events ------------------------------------------------------------------------------------
    def _classify_event(
        self, response: JsonDict, data: JsonDict
    ) -> tuple[enum.Enum | None, JsonDict]:
        # Janus API events of the TextRoom are setup/ack/restart results: not room events.
        if data.get("textroom") == "event" and data.get("result") == "ok":
            return None, data
        return TextRoomEventType.OTHER, data

    async def receive_datachannel_message(self, raw: bytes | str) -> None:
        """Handle one message read from the room's DataChannel.

        ``setup()`` wires the aiortc channel's ``message`` event here; a caller that runs the
        DataChannel itself (another WebRTC stack) feeds each message it reads. A reply to a
        ``datachannel_request`` completes it; anything else becomes a ``TextRoomEventType``
        event (``OTHER`` for a kind it does not know or JSON that is not an object). A message
        that is not JSON is logged and dropped.

        Args:
            raw: The message as the DataChannel delivered it (text or binary).
        """
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            logger.warning(
                "%r: dropped a DataChannel message that is not JSON", self, extra=self._log_fields()
            )
            return
        if not isinstance(message, dict):
            await self._trigger_event(TextRoomEventType.OTHER, {"message": message})
            return
        transaction = message.get("transaction")
        if isinstance(transaction, str):
            waiter = self._dc_pending.pop(transaction, None)
            if waiter is not None:
                if not waiter.done():
                    waiter.set_result(message)
                return
        kind = message.get("textroom")
        if kind == "success":
            return
        try:
            event_type = TextRoomEventType(kind)
        except ValueError:
            event_type = TextRoomEventType.OTHER
        await self._trigger_event(event_type, message)

    def _attach_channel(self, channel: Any) -> None:
        self._data_channel = channel
        self._data_channel_created_event.set()

        @channel.on("message")  # type: ignore[untyped-decorator]
        async def on_message(raw: Any) -> None:
            try:
                await self.receive_datachannel_message(raw)
            except Exception:
                logger.exception(
                    "%r: handling a DataChannel message failed", self, extra=self._log_fields()
                )

    async def _close_pc(self) -> None:
        self._data_channel = None
        self._data_channel_created_event.clear()
        self._setup_done = False
        pending, self._dc_pending = self._dc_pending, {}
        for waiter in pending.values():
            if not waiter.done():
                waiter.set_exception(TextRoomError(0, "DataChannel closed"))
        await super()._close_pc()

    # -- the PeerConnection and DataChannel (needs [media]) ----------------------------------------
    async def setup(self, timeout: Timeout = OPTION_TIMEOUT) -> None:
        """Open the DataChannel: ``setup``, answer with ``ack``, wait for ``webrtcup``.

        Negotiates the PeerConnection whose DataChannel carries the room traffic. Needs the
        ``[media]`` extra.

        Args:
            timeout: Seconds to wait for each reply and for ``webrtcup``; the session's
                ``timeout`` option by default.

        Raises:
            TextRoomError: Janus refused a request, or its ``setup`` reply had no offer.
            RequestTimeoutError: No reply, or no ``webrtcup``, within ``timeout``.
        """
        import_aiortc("TextRoom.setup")
        # A fresh PeerConnection before the request: candidates Janus trickles for its offer
        # (full_trickle) are kept for it.
        await self._fresh_pc()
        self._webrtcup_event.clear()
        self.pc.on("datachannel", self._attach_channel)
        reply = await self._send_request({"request": "setup"}, timeout=timeout)
        offer = reply.get("jsep")
        if not isinstance(offer, dict):
            await self._close_pc()
            raise TextRoomError(0, "No JSEP offer received from setup")
        await self._answer(offer, timeout)
        self._setup_done = True
        async with self._within(timeout, "TextRoom setup: no webrtcup"):
            await self._webrtcup_event.wait()

    async def _answer(self, offer: JsonDict, timeout: Timeout) -> None:
        await self.on_receive_jsep(offer)
        pc = self.pc
        await pc.setLocalDescription(await pc.createAnswer())
        await self._send_request({"request": "ack"}, self._jsep(pc, False), timeout=timeout)

    async def restart(self, timeout: Timeout = OPTION_TIMEOUT) -> JsonDict:
        """Send ``restart`` (new): ICE restart of the DataChannel's PeerConnection.

        Janus sends a new offer, answered here. Without ``setup`` Janus answers error 416.

        Args:
            timeout: Seconds to wait for each reply; the session's ``timeout`` option by
                default.

        Returns:
            The reply's ``plugindata.data``.

        Raises:
            TextRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        reply = await self._send_request({"request": "restart"}, timeout=timeout)
        offer = reply.get("jsep")
        if isinstance(offer, dict) and self._pc is not None:
            await self._answer(offer, timeout)
        return _data(reply)

    async def datachannel_request(
        self, body: JsonDict, timeout: Timeout = OPTION_TIMEOUT
    ) -> JsonDict:
        """Send one TextRoom request over the DataChannel and wait for its reply.

        The DataChannel twin of ``send_wrapper``: ``body`` is sent as is with a new
        ``transaction``, the reply with that transaction completes it.

        Args:
            body: the request (``{"textroom": ..., ...}``).
            timeout: seconds to wait for the reply (default: the session's ``timeout`` option).

        Returns:
            The reply as Janus sent it.

        Raises:
            TextRoomError: no DataChannel (``setup()`` first), or Janus answered ``error``.
            RequestTimeoutError: no reply within ``timeout`` (e.g. a request sent with
                ``"ack": false``, which Janus never answers).
        """
        channel = self._data_channel
        if channel is None:
            raise TextRoomError(0, "DataChannel not established")
        transaction = uuid.uuid4().hex
        waiter: asyncio.Future[JsonDict] = asyncio.get_running_loop().create_future()
        self._dc_pending[transaction] = waiter
        try:
            channel.send(orjson.dumps({**body, "transaction": transaction}).decode())
            async with self._within(
                timeout, f"TextRoom {body.get('textroom')}: no DataChannel reply"
            ):
                response = await waiter
        finally:
            self._dc_pending.pop(transaction, None)
        if response.get("textroom") == "error":
            code, reason = response.get("error_code"), response.get("error")
            raise TextRoomError(
                code if isinstance(code, int) else 0, reason if isinstance(reason, str) else ""
            )
        return response

    async def _room_request(
        self, body: JsonDict, timeout: Timeout, api_request: str | None = None
    ) -> JsonDict:
        """Send a room request over the DataChannel when open, else over the Janus API.

        Args:
            body: The request (``{"textroom": ..., ...}``).
            timeout: Seconds to wait for the reply.
            api_request: The native Janus API request; without one Janus processes the
                ``textroom`` verb behind ``list``.

        Returns:
            The reply data.
        """
        if self._channel_open():
            return await self.datachannel_request(body, timeout)
        api_body = dict(body)
        if api_request is not None:
            del api_body["textroom"]
            api_body["request"] = api_request
        else:
            api_body["request"] = "list"
        return _data(await self._send_request(api_body, timeout=timeout))

    # -- room management (Janus API) ---------------------------------------------------------------
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
            TextRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = compact({"request": "list", "admin_key": admin_key or None})
        rooms = _data(await self._send_request(body, timeout=timeout)).get("list")
        return dict_list(rooms)

    async def list_participants(
        self, room: RoomId, timeout: Timeout = OPTION_TIMEOUT
    ) -> list[JsonDict]:
        """Send ``listparticipants``: the participants of a room.

        Args:
            room: The room.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            ``[{username, display?}]``; empty when the reply has no list.

        Raises:
            TextRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {"request": "listparticipants", "room": room}
        participants = _data(await self._send_request(body, timeout=timeout)).get("participants")
        return dict_list(participants)

    async def create_room(
        self,
        room: RoomId | None = None,
        description: str | None = None,
        secret: str | None = None,
        pin: str | None = None,
        is_private: bool = True,
        history: int = 0,
        post: str | None = None,
        admin_key: str | None = None,
        permanent: bool = False,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> RoomId:
        """Send ``create``: make a room.

        Empty or default options are not sent.

        Args:
            room: The id to give the room; Janus picks one when None.
            description: The room's description.
            secret: The secret needed to edit or destroy it.
            pin: The PIN participants need to join.
            is_private: Leave it out of ``list``.
            history: How many messages to keep for participants who join later.
            post: An HTTP backend URL Janus posts every message to.
            admin_key: The plugin's ``admin_key``, when creating needs one.
            permanent: Also save it in the plugin's configuration file.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The room id as Janus sent it (a ``str`` with ``string_ids``, also a generated
            one).

        Raises:
            TextRoomError: Janus refused the request, or its reply had no room id.
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = compact(
            {
                "request": "create",
                "is_private": is_private,
                "room": room,
                "description": description or None,
                "secret": secret or None,
                "pin": pin or None,
                "history": history if history > 0 else None,
                "post": post or None,
                "admin_key": admin_key or None,
                "permanent": permanent or None,
            }
        )
        reply = await self._send_request(body, timeout=timeout)
        return self._id_from(_data(reply), "room")

    async def destroy_room(
        self,
        room: RoomId,
        secret: str | None = None,
        permanent: bool = False,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> None:
        """Send ``destroy``: remove a room.

        Args:
            room: The room.
            secret: The room's secret, if it has one.
            permanent: Also remove it from the plugin's configuration file.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Raises:
            TextRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = compact(
            {
                "request": "destroy",
                "room": room,
                "secret": secret or None,
                "permanent": permanent or None,
            }
        )
        await self._send_request(body, timeout=timeout)

    async def exists(self, room: RoomId, timeout: Timeout = OPTION_TIMEOUT) -> bool:
        """Send ``exists`` (new): check whether a room exists.

        Args:
            room: The room.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            True when it does.

        Raises:
            TextRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        reply = await self._send_request({"request": "exists", "room": room}, timeout=timeout)
        return bool(_data(reply).get("exists", False))

    async def edit_room(
        self,
        room: RoomId,
        secret: str | None = None,
        *,
        new_description: str | None = None,
        new_secret: str | None = None,
        new_pin: str | None = None,
        new_is_private: bool | None = None,
        new_history: int | None = None,
        new_post: str | None = None,
        permanent: bool = False,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``edit`` (new): change a room's settings.

        Options left at None are not sent.

        Args:
            room: The room.
            secret: The room's current secret, if it has one.
            new_description: The new description.
            new_secret: The new secret.
            new_pin: The new PIN.
            new_is_private: The new privacy flag.
            new_history: How many messages to keep for participants who join later.
            new_post: The new HTTP backend URL Janus posts every message to.
            permanent: Also save the change in the plugin's configuration file.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            TextRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = compact(
            {
                "request": "edit",
                "room": room,
                "secret": secret,
                "new_description": new_description,
                "new_secret": new_secret,
                "new_pin": new_pin,
                "new_is_private": new_is_private,
                "new_history": new_history,
                "new_post": new_post,
                "permanent": permanent,
            }
        )
        return _data(await self._send_request(body, timeout=timeout))

    async def allowed(
        self,
        room: RoomId,
        action: str,
        allowed: list[str] | None = None,
        secret: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``allowed`` (new): manage the tokens a room accepts at ``join``.

        Args:
            room: The room.
            action: ``enable``, ``disable`` (the check), ``add`` or ``remove`` (tokens).
            allowed: The tokens to add or remove.
            secret: The room's secret, if it has one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            TextRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = compact(
            {
                "request": "allowed",
                "room": room,
                "action": action,
                "allowed": allowed,
                "secret": secret,
            }
        )
        return _data(await self._send_request(body, timeout=timeout))

    # -- participation -----------------------------------------------------------------------------
    async def join_room(
        self,
        room: RoomId,
        username: str,
        display: str | None = None,
        pin: str | None = None,
        token: str | None = None,
        history: bool = True,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> list[JsonDict]:
        """Send ``join`` over the Janus API, as janus-client did.

        After ``setup`` it also waits for Janus to open the DataChannel (messages arrive
        there).

        Args:
            room: The room to join.
            username: Our unique name in the room.
            display: Our display name.
            pin: The room's PIN, if it has one.
            token: A token, for rooms that check an allowed list.
            history: Receive the room's kept messages.
            timeout: Seconds to wait for the reply (and the DataChannel); the session's
                ``timeout`` option by default.

        Returns:
            The other participants, as Janus listed them.

        Raises:
            TextRoomError: Janus refused the join, or its reply had no participants.
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = compact(
            {
                "request": "list",  # Janus 1.1 processes the "textroom" verb behind this one
                "textroom": "join",
                "room": room,
                "username": username,
                "display": display or None,
                "pin": pin or None,
                "token": token or None,
                "history": history,
            }
        )
        participants = _data(await self._send_request(body, timeout=timeout)).get("participants")
        if not isinstance(participants, list):
            raise TextRoomError(0, "Janus did not process the join (no participants in reply)")
        if self._setup_done:
            async with self._within(timeout, "TextRoom join: no DataChannel"):
                await self._data_channel_created_event.wait()
        return participants

    async def leave_room(self, room: RoomId, timeout: Timeout = OPTION_TIMEOUT) -> None:
        """Send ``leave``: leave the room (over the DataChannel when open).

        Args:
            room: The room.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Raises:
            TextRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        await self._room_request({"textroom": "leave", "room": room}, timeout)

    async def send_message(
        self,
        room: RoomId,
        text: str,
        to: str | None = None,
        tos: list[str] | None = None,
        ack: bool = True,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> None:
        """Send ``message`` to the room, or privately to one or several users.

        Goes over the DataChannel when open, else over the Janus API.

        Args:
            room: The room.
            text: The message.
            to: The one user to send it to privately.
            tos: The users to send it to privately.
            ack: Wait for Janus's acknowledgement. False is fire-and-forget on the DataChannel; over
                the Janus API (no DataChannel) Janus always acknowledges.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Raises:
            TextRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = compact(
            {
                "textroom": "message",
                "room": room,
                "text": text,
                "to": to or None,
                "tos": tos or None,
            }
        )
        if not ack and self._channel_open():
            body["ack"] = False
            body["transaction"] = uuid.uuid4().hex
            self._data_channel.send(orjson.dumps(body).decode())
            return
        await self._room_request(body, timeout)

    async def send_announcement(
        self, room: RoomId, text: str, secret: str, timeout: Timeout = OPTION_TIMEOUT
    ) -> None:
        """Send ``announcement``: a message from the room itself.

        Args:
            room: The room.
            text: The announcement.
            secret: The room's secret (required).
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Raises:
            TextRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {"textroom": "announcement", "room": room, "text": text, "secret": secret}
        await self._room_request(body, timeout, api_request="announcement")

    async def kick_participant(
        self, room: RoomId, username: str, secret: str, timeout: Timeout = OPTION_TIMEOUT
    ) -> None:
        """Send ``kick``: remove a participant from the room.

        Args:
            room: The room.
            username: The participant to kick.
            secret: The room's secret (required).
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Raises:
            TextRoomError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {"textroom": "kick", "room": room, "username": username, "secret": secret}
        await self._room_request(body, timeout, api_request="kick")
