"""``JanusNoSipPlugin``: the NoSIP plugin (an RTP bridge whose signalling is the application's).

Rule: the four requests (``generate``, ``process``, ``hangup``, ``recording``) are methods that
work without aiortc: ``generate`` takes a WebRTC jsep and returns the barebone (plain RTP) SDP,
``process`` takes a barebone SDP and returns Janus's WebRTC jsep under ``"jsep"``. The media
helpers ``make_offer``/``accept_offer``/``accept_answer`` drive an aiortc PeerConnection
(imported on call, ``[media]``) through those same requests; ``accept_offer`` sends only the
player's tracks of the kinds the offer has. Every reply is the event's ``result`` dict; errors
raise ``NoSipError``.
"""

from __future__ import annotations

import enum
from typing import Any

from janus_fast.media import import_aiortc
from janus_fast.plugin import JanusPlugin
from janus_fast.plugins._base import JsonDict, PluginClient, compact, plugin_data
from janus_fast.plugins._errors import TypedPluginError
from janus_fast.timeouts import OPTION_TIMEOUT, Timeout


class NoSipError(TypedPluginError):
    """A NoSIP error: ``error_code`` and ``error_message`` (also a ``PluginError``)."""

    plugin_name = "janus.plugin.nosip"
    label = "NoSIP"


class NoSipEventType(enum.Enum):
    """NoSIP events for ``on_event``.

    Handlers get the event's ``result``, with its jsep (if any) under ``"jsep"``.
    """

    GENERATED = "generated"
    PROCESSED = "processed"
    HANGINGUP = "hangingup"
    RECORDING_UPDATED = "recordingupdated"
    #: An async plugin error (``error_code``, ``error``).
    ERROR = "error"
    OTHER = "other"


_EVENTS: dict[str, NoSipEventType] = {
    member.value: member
    for member in NoSipEventType
    if member not in (NoSipEventType.ERROR, NoSipEventType.OTHER)
}


def _result(reply: JsonDict) -> JsonDict:
    data = plugin_data(reply) or {}
    result = data.get("result")
    payload = dict(result) if isinstance(result, dict) else {}
    jsep = reply.get("jsep")
    if isinstance(jsep, dict):
        payload["jsep"] = jsep
    return payload


class JanusNoSipPlugin(PluginClient):
    """Janus NoSIP client: barebone SDP in and out, media bridged by Janus."""

    name = "janus.plugin.nosip"
    error_class = NoSipError
    data_key = "nosip"
    event_types = NoSipEventType

    def _accept_jsep(self, jsep: JsonDict) -> bool:
        # Janus's jseps come with the replies of process, applied by the methods.
        return False

    def _classify_event(
        self, response: JsonDict, data: JsonDict
    ) -> tuple[enum.Enum | None, JsonDict]:
        result = data.get("result")
        if not isinstance(result, dict):
            return NoSipEventType.OTHER, data
        payload = _result(response)
        event = result.get("event")
        if isinstance(event, str) and event in _EVENTS:
            return _EVENTS[event], payload
        return NoSipEventType.OTHER, payload

    # -- requests ---------------------------------------------------------------------------------
    async def generate(
        self,
        jsep: JsonDict,
        *,
        info: str | None = None,
        srtp: str | None = None,
        srtp_profile: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``generate``: turn a WebRTC jsep into the barebone (plain RTP) SDP.

        Args:
            jsep: Our WebRTC offer or answer.
            info: Opaque context text the application may add (optional).
            srtp: ``sdes_optional`` or ``sdes_mandatory``: SDES-SRTP towards the legacy peer.
            srtp_profile: The SRTP profile to offer (with ``srtp``).
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The event's ``result``: ``type``, ``sdp``, and ``update`` on a renegotiation.

        Raises:
            NoSipError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = compact(
            {"request": "generate", "info": info, "srtp": srtp, "srtp_profile": srtp_profile}
        )
        return _result(await self._send_request(body, jsep, timeout=timeout))

    async def process(
        self,
        sdp_type: str,
        sdp: str,
        *,
        info: str | None = None,
        srtp: str | None = None,
        srtp_profile: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``process``: turn the legacy peer's barebone SDP into Janus's WebRTC jsep.

        Args:
            sdp_type: ``offer`` or ``answer``.
            sdp: The legacy peer's barebone SDP.
            info: Opaque context text the application may add (optional).
            srtp: ``sdes_optional`` or ``sdes_mandatory``: SDES-SRTP towards the legacy peer.
            srtp_profile: The SRTP profile to offer (with ``srtp``).
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The event's ``result``, with Janus's WebRTC jsep under ``"jsep"`` (an answer for
            an answer, an offer for an offer).

        Raises:
            NoSipError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = compact(
            {
                "request": "process",
                "type": sdp_type,
                "sdp": sdp,
                "info": info,
                "srtp": srtp,
                "srtp_profile": srtp_profile,
            }
        )
        return _result(await self._send_request(body, timeout=timeout))

    async def hangup(self, timeout: Timeout = OPTION_TIMEOUT) -> JsonDict:  # type: ignore[override]
        """Send the NoSIP ``hangup`` request and close our PeerConnection.

        Janus closes its PeerConnection and the RTP session. The core hangup is
        ``core_hangup()``.

        Args:
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The event's ``result``.

        Raises:
            NoSipError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        result = _result(await self._send_request({"request": "hangup"}, timeout=timeout))
        await self._close_pc()
        return result

    async def core_hangup(self) -> None:
        """Send the Janus core ``hangup``: drop the PeerConnection, keep the handle."""
        await JanusPlugin.hangup(self)

    async def recording(
        self,
        action: str,
        audio: bool | None = None,
        video: bool | None = None,
        peer_audio: bool | None = None,
        peer_video: bool | None = None,
        filename: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``recording``: start or stop recording our and/or the peer's media.

        Options left at None are not sent.

        Args:
            action: ``start`` or ``stop``.
            audio: Record (or stop recording) our audio.
            video: Record (or stop recording) our video.
            peer_audio: Record (or stop recording) the peer's audio.
            peer_video: Record (or stop recording) the peer's video.
            filename: Base path Janus can write; the ``.mjr`` files are named from it.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The event's ``result``.

        Raises:
            NoSipError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = compact(
            {
                "request": "recording",
                "action": action,
                "audio": audio,
                "video": video,
                "peer_audio": peer_audio,
                "peer_video": peer_video,
                "filename": filename,
            }
        )
        return _result(await self._send_request(body, timeout=timeout))

    # -- media helpers (aiortc) -------------------------------------------------------------------
    async def _new_media(self, player: Any, recorder: Any, what: str) -> Any:
        import_aiortc(what)
        await self._fresh_pc()
        self._setup_media_tracks(player, recorder)
        pc = self.pc
        if getattr(player, "audio", None) is None:
            pc.addTransceiver("audio", direction="recvonly")
        return pc

    async def make_offer(
        self,
        player: Any = None,
        recorder: Any = None,
        *,
        info: str | None = None,
        srtp: str | None = None,
        srtp_profile: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Caller side: make a PeerConnection and turn its offer into a barebone offer.

        Needs the ``[media]`` extra. The legacy peer's answer goes to ``accept_answer``.

        Args:
            player: An aiortc ``MediaPlayer`` (or anything with ``audio``/``video`` tracks)
                whose tracks are sent; without one, audio is receive-only.
            recorder: An aiortc ``MediaRecorder`` the remote tracks go to.
            info: Opaque context text the application may add (optional).
            srtp: ``sdes_optional`` or ``sdes_mandatory``: SDES-SRTP towards the legacy peer.
            srtp_profile: The SRTP profile to offer (with ``srtp``).
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The barebone offer ``{"type": "offer", "sdp": …}`` for the legacy peer.

        Raises:
            NoSipError: Janus refused ``generate`` (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        pc = await self._new_media(player, recorder, "NoSIP.make_offer")
        await pc.setLocalDescription(await pc.createOffer())
        result = await self.generate(
            self._jsep(pc, False), info=info, srtp=srtp, srtp_profile=srtp_profile, timeout=timeout
        )
        return {"type": result.get("type"), "sdp": result.get("sdp")}

    async def accept_answer(
        self, sdp: str, *, info: str | None = None, timeout: Timeout = OPTION_TIMEOUT
    ) -> JsonDict:
        """Caller side: apply the legacy peer's barebone answer; media then flows.

        The answer goes through ``process``; Janus's WebRTC answer is applied to our
        PeerConnection.

        Args:
            sdp: The legacy peer's barebone answer.
            info: Opaque context text the application may add (optional).
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The ``process`` result (Janus's WebRTC answer under ``"jsep"``).

        Raises:
            NoSipError: ``make_offer()`` was not called first, or Janus refused ``process``.
            RequestTimeoutError: No reply within ``timeout``.
        """
        if self._pc is None:
            raise NoSipError(0, "accept_answer() needs make_offer() first")
        result = await self.process("answer", sdp, info=info, timeout=timeout)
        await self._apply(result)
        return result

    async def accept_offer(
        self,
        sdp: str,
        player: Any = None,
        recorder: Any = None,
        *,
        info: str | None = None,
        srtp: str | None = None,
        srtp_profile: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Callee side: answer the legacy peer's barebone offer with a barebone answer.

        Needs the ``[media]`` extra. The offer goes through ``process``; Janus's WebRTC offer
        is answered by a fresh PeerConnection with ``player``'s tracks, and that answer goes
        through ``generate``.

        Args:
            sdp: The legacy peer's barebone offer.
            player: An aiortc ``MediaPlayer`` (or anything with ``audio``/``video`` tracks)
                whose tracks of the kinds the offer has are sent (the others are stopped when
                the call ends).
            recorder: An aiortc ``MediaRecorder`` the remote tracks go to.
            info: Opaque context text the application may add (optional).
            srtp: ``sdes_optional`` or ``sdes_mandatory``: SDES-SRTP towards the legacy peer.
            srtp_profile: The SRTP profile to offer (with ``srtp``).
            timeout: Seconds to wait for each reply; the session's ``timeout`` option by
                default.

        Returns:
            The barebone answer ``{"type": "answer", "sdp": …}`` for the legacy peer.

        Raises:
            NoSipError: Janus refused ``process`` or ``generate`` (or a core error on them).
            RequestTimeoutError: No reply within ``timeout``.
        """
        import_aiortc("NoSIP.accept_offer")
        result = await self.process("offer", sdp, info=info, timeout=timeout)
        await self._fresh_pc()
        self._setup_media_tracks(None, recorder)
        await self._apply(result)
        pc = self.pc
        self._send_offered_kinds(pc, player)  # an audio-only offer: no video sent
        await pc.setLocalDescription(await pc.createAnswer())
        generated = await self.generate(
            self._jsep(pc, False), srtp=srtp, srtp_profile=srtp_profile, timeout=timeout
        )
        return {"type": generated.get("type"), "sdp": generated.get("sdp")}

    async def _apply(self, result: JsonDict) -> None:
        jsep = result.get("jsep")
        if not isinstance(jsep, dict):
            raise NoSipError(0, "no jsep in the NoSIP processed event")
        await self.on_receive_jsep(jsep)
