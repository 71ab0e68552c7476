"""``JanusNoSipPlugin``: the NoSIP plugin (an RTP bridge whose signalling is the application's).

Rule: the four requests (``generate``, ``process``, ``hangup``, ``recording``) are methods that
work without aiortc: ``generate`` takes a WebRTC jsep and returns the barebone (plain RTP) SDP,
``process`` takes a barebone SDP and returns Janus's WebRTC jsep under ``"jsep"``. The media
helpers ``make_offer``/``accept_offer``/``accept_answer`` drive an aiortc PeerConnection
(imported on call, ``[media]``) through those same requests. Every reply is the event's
``result`` dict; errors raise ``NoSipError``.
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
    """NoSIP events for ``on_event`` (handlers get the event's ``result``; its jsep, if any,
    under ``"jsep"``).
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
        """``generate``: the barebone SDP for a WebRTC ``jsep`` (our offer or answer). Returns
        the result (``type``, ``sdp``, ``update`` on a renegotiation). ``srtp``:
        ``sdes_optional`` or ``sdes_mandatory`` (SDES-SRTP towards the legacy peer).
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
        """``process`` the legacy peer's barebone ``sdp`` (``sdp_type``: ``offer`` or ``answer``);
        the result carries Janus's WebRTC jsep under ``"jsep"`` (an answer for an answer,
        an offer for an offer).
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
        """The NoSIP ``hangup`` request (Janus closes the PeerConnection and the RTP session);
        ours is closed too. The core hangup is ``core_hangup()``.
        """
        result = _result(await self._send_request({"request": "hangup"}, timeout=timeout))
        await self._close_pc()
        return result

    async def core_hangup(self) -> None:
        """The Janus core ``hangup`` (drop the PeerConnection, keep the handle)."""
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
        """``recording`` ``action`` ``start``/``stop``: our and/or the peer's audio/video to
        ``.mjr`` files named from ``filename`` (a base path Janus can write).
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
        """Caller side: a PeerConnection with ``player``'s tracks (audio receive-only without
        one; remote tracks to ``recorder``), its offer through ``generate``. Returns the
        barebone offer (``{"type": "offer", "sdp": …}``) for the legacy peer; its answer goes
        to ``accept_answer``.
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
        """Caller side: ``process`` the legacy peer's barebone answer and apply Janus's WebRTC
        answer to our PeerConnection; media then flows. Returns the result.
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
        """Callee side: ``process`` the legacy peer's barebone offer, answer Janus's WebRTC
        offer from a PeerConnection with ``player``'s tracks, and ``generate`` the barebone
        answer. Returns it (``{"type": "answer", "sdp": …}``) for the legacy peer.
        """
        import_aiortc("NoSIP.accept_offer")
        result = await self.process("offer", sdp, info=info, timeout=timeout)
        await self._fresh_pc()
        self._setup_media_tracks(player, recorder)
        await self._apply(result)
        pc = self.pc
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
