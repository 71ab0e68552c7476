"""``JanusVideoCallPlugin``: janus-client's VideoCall client (all six requests), fixed.

Rule: every VideoCall event — including async errors, which janus-client turned into a
``KeyError`` that killed its reader — becomes a ``VideoCallEventType`` event. ``call``/``accept``
negotiate media with aiortc (imported on call) unless given a ready-made ``jsep``/``answer``;
``accept`` sends only the player's tracks of the kinds the offer has. Answers are applied on
arrival; the peer's renegotiation offer (``update``) in a call whose PeerConnection is negotiated
is applied and answered here with a ``set``, before the ``UPDATE`` handlers run.
"""

from __future__ import annotations

import enum
import logging
from typing import Any

from janus_fast.media import import_aiortc
from janus_fast.plugin import JanusPlugin
from janus_fast.plugins._base import JsonDict, PluginClient, compact, plugin_data
from janus_fast.plugins._errors import TypedPluginError
from janus_fast.timeouts import OPTION_TIMEOUT, Timeout

logger = logging.getLogger("janus_fast.plugins.videocall")


class VideoCallError(TypedPluginError):
    """A VideoCall error: ``error_code`` and ``error_message`` (also a ``PluginError``)."""

    plugin_name = "janus.plugin.videocall"
    label = "VideoCall"


class VideoCallEventType(enum.Enum):
    """VideoCall events for ``on_event`` (handlers get the event's ``result`` dict)."""

    REGISTERED = "registered"
    CALLING = "calling"
    INCOMINGCALL = "incomingcall"
    ACCEPTED = "accepted"
    UPDATE = "update"
    HANGUP = "hangup"
    SET = "set"
    # New in janus_fast:
    #: An async plugin error (handlers get ``{"videocall", "error_code", "error"}``).
    ERROR = "error"
    SIMULCAST = "simulcast"
    #: Any other event shape (handlers get the ``result``, or the whole data).
    OTHER = "other"


#: ``result.event`` values with an event type (``error`` is never a result event).
_EVENTS: dict[str, VideoCallEventType] = {
    member.value: member
    for member in VideoCallEventType
    if member not in (VideoCallEventType.ERROR, VideoCallEventType.OTHER)
}


def _result(reply: JsonDict) -> JsonDict:
    data = plugin_data(reply) or {}
    result = data.get("result")
    return result if isinstance(result, dict) else {}


class JanusVideoCallPlugin(PluginClient):
    """Janus VideoCall client (janus-client's names, signatures and defaults).

    Args:
        **kwargs: Passed to ``JanusPlugin``: ``pc_config``, an aiortc ``RTCConfiguration`` for
            the PeerConnections this handle makes.
    """

    name = "janus.plugin.videocall"
    error_class = VideoCallError
    data_key = "videocall"
    event_types = VideoCallEventType

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._username: str | None = None
        self._in_call = False

    @property
    def username(self) -> str | None:
        """The registered username."""
        return self._username

    @property
    def in_call(self) -> bool:
        """Whether a call is in progress (incoming or accepted)."""
        return self._in_call

    def _reset_state(self) -> None:
        self._username = None
        self._in_call = False

    def _accept_jsep(self, jsep: JsonDict) -> bool:
        # Answers (to our call, or to our renegotiation) are applied on arrival. Offers: an
        # incoming call's waits for accept(); in a call whose PeerConnection is negotiated
        # already, it is the peer's renegotiation (``update``), applied here and answered by
        # ``_on_remote_offer``.
        kind = jsep.get("type")
        if kind == "answer":
            return True
        pc = self._pc
        return (
            kind == "offer"
            and self._in_call
            and pc is not None
            and pc.remoteDescription is not None
        )

    async def _on_remote_offer(self, jsep: JsonDict) -> None:
        """Answer the peer's renegotiation offer (``update``), applied to our PeerConnection.

        The answer goes back in a ``set`` request (Janus forwards it to the peer in its own
        ``update`` event). Our candidates are in the answer's SDP.

        Args:
            jsep: The peer's offer (already the remote description).
        """
        pc = self._negotiation_pc()
        await pc.setLocalDescription(await pc.createAnswer())
        await self._send_request({"request": "set"}, self._jsep(pc, False))

    async def _on_hangup(self, response: JsonDict) -> None:
        self._in_call = False
        await self._close_pc()

    def _classify_event(
        self, response: JsonDict, data: JsonDict
    ) -> tuple[enum.Enum | None, JsonDict]:
        result = data.get("result")
        if not isinstance(result, dict):
            return VideoCallEventType.OTHER, data
        event = result.get("event")
        payload = dict(result)
        jsep = response.get("jsep")
        if event in ("incomingcall", "update") and isinstance(jsep, dict):
            payload["jsep"] = jsep
        if event in ("incomingcall", "accepted"):
            self._in_call = True
        elif event == "hangup":
            self._in_call = False
        if isinstance(event, str) and event in _EVENTS:
            return _EVENTS[event], payload
        return VideoCallEventType.OTHER, payload

    # -- requests ---------------------------------------------------------------------------------
    async def list_users(self, timeout: Timeout = OPTION_TIMEOUT) -> list[str]:
        """Send ``list``: the registered usernames.

        Args:
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The usernames; empty when the reply has no list.

        Raises:
            VideoCallError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        users = _result(await self._send_request({"request": "list"}, timeout=timeout)).get("list")
        return [str(user) for user in users] if isinstance(users, list) else []

    async def register(self, username: str, timeout: Timeout = OPTION_TIMEOUT) -> bool:
        """Send ``register``: take a username; emits ``REGISTERED``.

        Args:
            username: The username to take.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            True when Janus confirmed it.

        Raises:
            VideoCallError: This handle is already registered.
            VideoCallError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        if self._username:
            raise VideoCallError(0, f"Already registered as '{self._username}'")
        reply = await self._send_request(
            {"request": "register", "username": username}, timeout=timeout
        )
        if _result(reply).get("event") == "registered":
            self._username = username
            return True
        return False

    async def call(
        self,
        username: str,
        player: Any = None,
        recorder: Any = None,
        trickle: bool = False,
        timeout: Timeout = OPTION_TIMEOUT,
        *,
        jsep: JsonDict | None = None,
    ) -> bool:
        """Send ``call``: call a registered user.

        The offer is made here from ``player`` (needs ``[media]``), or sent as given with
        ``jsep=``.

        Args:
            username: The user to call.
            player: An aiortc ``MediaPlayer`` (or anything with ``audio``/``video`` tracks)
                whose tracks are sent.
            recorder: An aiortc ``MediaRecorder`` the remote tracks go to.
            trickle: Send our ICE candidates in a ``trickle`` after the offer.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            jsep: A ready-made offer to send instead of making one.

        Returns:
            True when Janus answered ``calling``.

        Raises:
            VideoCallError: No username registered, already in a call, or Janus refused the
                request.
            RequestTimeoutError: No reply within ``timeout``.
        """
        if not self._username:
            raise VideoCallError(0, "Must register a username first")
        if self._in_call:
            raise VideoCallError(0, "Already in a call")
        offer = jsep
        if offer is None:
            import_aiortc("VideoCall.call")
            await self._fresh_pc()
            self._setup_media_tracks(player, recorder)
            pc = self.pc
            await pc.setLocalDescription(await pc.createOffer())
            offer = self._jsep(pc, trickle)
        reply = await self._send_request(
            {"request": "call", "username": username}, offer, timeout=timeout
        )
        if jsep is None and trickle:
            await self._send_local_candidates()
        return _result(reply).get("event") == "calling"

    async def accept(
        self,
        jsep: JsonDict | None = None,
        player: Any = None,
        recorder: Any = None,
        trickle: bool = False,
        timeout: Timeout = OPTION_TIMEOUT,
        *,
        answer: JsonDict | None = None,
    ) -> bool:
        """Send ``accept``: take the incoming call.

        The offer ``jsep`` is answered here (needs ``[media]``), or a ready-made ``answer=`` is
        sent.

        Args:
            jsep: The incoming call's offer.
            player: An aiortc ``MediaPlayer`` (or anything with ``audio``/``video`` tracks)
                whose tracks are sent.
            recorder: An aiortc ``MediaRecorder`` the remote tracks go to.
            trickle: Send our ICE candidates in a ``trickle`` after the answer.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            answer: A ready-made answer to send instead of making one.

        Returns:
            True when Janus answered ``accepted``.

        Raises:
            ValueError: Neither ``jsep`` nor ``answer`` was given.
            VideoCallError: No username registered, no incoming call, or Janus refused the
                request.
            RequestTimeoutError: No reply within ``timeout``.
        """
        if not self._username:
            raise VideoCallError(0, "Must register a username first")
        if not self._in_call:
            raise VideoCallError(0, "No incoming call to accept")
        if answer is None:
            import_aiortc("VideoCall.accept")
            if jsep is None:
                raise ValueError("accept() needs the incoming offer (jsep) or an answer=")
            made_here = True
            # The previous call's hangup must not reach the new PeerConnection.
            await self._fresh_pc(send_hangup=False, incoming=True)
            self._setup_media_tracks(None, recorder)
            pc = self.pc
            await self.on_receive_jsep(jsep)  # also applies candidates Janus trickled already
            self._send_offered_kinds(pc, player)
            await pc.setLocalDescription(await pc.createAnswer())
            answer = self._jsep(pc, trickle)
        else:
            made_here = False
        reply = await self._send_request({"request": "accept"}, answer, timeout=timeout)
        if made_here and trickle:
            await self._send_local_candidates()
        return _result(reply).get("event") == "accepted"

    async def set_media(
        self,
        audio: bool | None = None,
        video: bool | None = None,
        bitrate: int | None = None,
        record: bool | None = None,
        filename: str | None = None,
        substream: int | None = None,
        temporal: int | None = None,
        fallback: int | None = None,
        jsep: JsonDict | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> bool:
        """Send ``set``: change the media settings of the call.

        A ``jsep`` makes it a renegotiation. Options left at None are not sent.

        Args:
            audio: Send our audio to the peer or not.
            video: Send our video to the peer or not.
            bitrate: Cap on the video bitrate (REMB), in bit/s.
            record: Start or stop recording the call.
            filename: Base path of the recordings.
            substream: Simulcast substream to receive.
            temporal: Simulcast temporal layer to receive.
            fallback: Simulcast fallback delay, in microseconds.
            jsep: An offer, for a renegotiation.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            True when Janus answered ``set``.

        Raises:
            VideoCallError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = compact(
            {
                "request": "set",
                "audio": audio,
                "video": video,
                "bitrate": bitrate,
                "record": record,
                "filename": filename,
                "substream": substream,
                "temporal": temporal,
                "fallback": fallback,
            }
        )
        reply = await self._send_request(body, jsep, timeout=timeout)
        return _result(reply).get("event") == "set"

    async def hangup(self, timeout: Timeout = OPTION_TIMEOUT) -> bool:  # type: ignore[override]
        """Send the VideoCall ``hangup`` request and close the PeerConnection and recorder.

        The core hangup is ``JanusPlugin.hangup(plugin)``.

        Args:
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            True when Janus answered with a ``hangup`` event.

        Raises:
            VideoCallError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        reply = await self._send_request({"request": "hangup"}, timeout=timeout)
        self._in_call = False
        await self._close_pc()
        return _result(reply).get("event") == "hangup"

    async def core_hangup(self) -> None:
        """Send the Janus core ``hangup``: drop the PeerConnection, keep the handle."""
        await JanusPlugin.hangup(self)
