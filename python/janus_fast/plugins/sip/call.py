"""SIP calls: call, accept, decline, hangup, hold/unhold, update, info, DTMF, transfer, recording.

Rule: ``call``/``accept`` negotiate media with aiortc (imported on call, ``[media]``) from a
``player``/``recorder`` (``accept`` sends only its tracks of the kinds the offer has), or send a
ready-made ``jsep=``/``answer=`` (signalling only). Janus's answer to our offer arrives with
``accepted`` (or ``progress``) and is applied then; the ``call`` reply is ``calling``. A
re-INVITE's offer (``updatingcall``) in a call whose PeerConnection we made is answered here
with an ``update``. ``hangup`` (the plugin request) closes our PeerConnection; a ``hangup``
event from the far end closes it too.
"""

from __future__ import annotations

from typing import Any

from janus_fast.media import import_aiortc
from janus_fast.plugin import JanusPlugin
from janus_fast.plugins._base import JsonDict
from janus_fast.plugins.sip.account import SipAccount
from janus_fast.plugins.sip.base import SipError
from janus_fast.timeouts import OPTION_TIMEOUT, Timeout


class SipCall(SipAccount):
    """The call part of a SIP handle (on a registered, guest or helper account)."""

    async def _on_remote_offer(self, jsep: JsonDict) -> None:
        """Answer a re-INVITE's offer (``updatingcall``) already applied to our PeerConnection.

        The answer goes back in an ``update`` request, as Janus asks when it does not accept
        re-INVITEs itself (``autoaccept_reinvites=False``).

        Args:
            jsep: Janus's offer (already the remote description).
        """
        pc = self._pc
        if pc is None:
            return
        await pc.setLocalDescription(await pc.createAnswer())
        await self._sip_request({"request": "update"}, OPTION_TIMEOUT, self._jsep(pc, False))

    async def _media_offer(self, player: Any, recorder: Any, what: str) -> JsonDict:
        import_aiortc(what)
        await self._fresh_pc()
        self._setup_media_tracks(player, recorder)
        pc = self.pc
        if getattr(player, "audio", None) is None:
            pc.addTransceiver("audio", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        return self._jsep(pc, False)

    async def call(
        self,
        uri: str,
        player: Any = None,
        recorder: Any = None,
        *,
        jsep: JsonDict | None = None,
        headers: dict[str, str] | None = None,
        call_id: str | None = None,
        srtp: str | None = None,
        srtp_profile: str | None = None,
        autoaccept_reinvites: bool | None = None,
        refer_id: int | None = None,
        secret: str | None = None,
        ha1_secret: str | None = None,
        authuser: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``call``: an INVITE to ``uri``.

        The offer is made here from ``player`` (needs ``[media]``), or sent as given with
        ``jsep=``. ``ACCEPTED`` follows (its answer applied to our PeerConnection), or
        ``HANGUP`` with the SIP code. Options left at None are not sent.

        Args:
            uri: The SIP URI to call.
            player: An aiortc ``MediaPlayer`` (or anything with ``audio``/``video`` tracks)
                whose tracks are sent; without one, audio is receive-only.
            recorder: An aiortc ``MediaRecorder`` the remote tracks go to.
            jsep: A ready-made offer to send instead of making one.
            headers: Extra SIP headers for the INVITE.
            call_id: The Call-ID to use.
            srtp: ``sdes_optional`` or ``sdes_mandatory``: SDES-SRTP towards the SIP peer.
            srtp_profile: The SRTP profile to offer (with ``srtp``).
            autoaccept_reinvites: Let Janus accept re-INVITEs without asking us.
            refer_id: The transfer this call completes (from a ``TRANSFER`` event).
            secret: A SIP password, should the INVITE need authentication.
            ha1_secret: The same password as an HA1 hash.
            authuser: The user name to authenticate with.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The ``calling`` result, with the ``call_id``.

        Raises:
            SipError: Already in a call, or Janus refused the request.
            RequestTimeoutError: No reply within ``timeout``.
        """
        if self._in_call:
            raise SipError(0, "Already in a call")
        offer = jsep if jsep is not None else await self._media_offer(player, recorder, "SIP.call")
        body = {
            "request": "call",
            "uri": uri,
            "headers": headers,
            "call_id": call_id,
            "srtp": srtp,
            "srtp_profile": srtp_profile,
            "autoaccept_reinvites": autoaccept_reinvites,
            "refer_id": refer_id,
            "secret": secret,
            "ha1_secret": ha1_secret,
            "authuser": authuser,
        }
        result = await self._sip_request(body, timeout, offer)
        self._in_call = True
        if isinstance(result.get("call_id"), str):
            self._call_id = result["call_id"]
        return result

    async def accept(
        self,
        jsep: JsonDict | None = None,
        player: Any = None,
        recorder: Any = None,
        *,
        answer: JsonDict | None = None,
        srtp: str | None = None,
        headers: dict[str, str] | None = None,
        autoaccept_reinvites: bool | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``accept``: take the incoming call.

        The offer ``jsep`` is answered here (needs ``[media]``), or a ready-made ``answer=``
        is sent. Options left at None are not sent.

        Args:
            jsep: The incoming call's offer (the ``INCOMINGCALL`` event's ``"jsep"``).
            player: An aiortc ``MediaPlayer`` (or anything with ``audio``/``video`` tracks)
                whose tracks of the kinds the offer has are sent (the others are stopped when
                the call ends).
            recorder: An aiortc ``MediaRecorder`` the remote tracks go to.
            answer: A ready-made answer to send instead of making one.
            srtp: ``sdes_optional`` or ``sdes_mandatory``: SDES-SRTP towards the SIP peer.
            headers: Extra SIP headers for the 200 OK.
            autoaccept_reinvites: Let Janus accept re-INVITEs without asking us.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The ``accepting`` result.

        Raises:
            ValueError: Neither ``jsep`` nor ``answer`` was given.
            SipError: No incoming call, or Janus refused the request.
            RequestTimeoutError: No reply within ``timeout``.
        """
        if not self._in_call:
            raise SipError(0, "No incoming call to accept")
        if answer is None:
            import_aiortc("SIP.accept")
            if jsep is None:
                raise ValueError("accept() needs the incoming offer (jsep) or an answer=")
            await self._fresh_pc(send_hangup=False, incoming=True)
            self._setup_media_tracks(None, recorder)
            await self.on_receive_jsep(jsep)
            pc = self.pc
            self._send_offered_kinds(pc, player)  # an audio-only offer: no video sent
            await pc.setLocalDescription(await pc.createAnswer())
            answer = self._jsep(pc, False)
        body = {
            "request": "accept",
            "srtp": srtp,
            "headers": headers,
            "autoaccept_reinvites": autoaccept_reinvites,
        }
        return await self._sip_request(body, timeout, answer)

    async def decline(
        self,
        code: int | None = None,
        *,
        headers: dict[str, str] | None = None,
        refer_id: int | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``decline``: refuse the incoming call, or a transfer.

        Args:
            code: The SIP status code; Janus sends 486 when None.
            headers: Extra SIP headers.
            refer_id: The transfer to decline (from a ``TRANSFER`` event) instead of the call.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The event's result.

        Raises:
            SipError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {"request": "decline", "code": code, "headers": headers, "refer_id": refer_id}
        result = await self._sip_request(body, timeout)
        if refer_id is None:
            self._in_call = False
        return result

    async def hangup(  # type: ignore[override]
        self, headers: dict[str, str] | None = None, timeout: Timeout = OPTION_TIMEOUT
    ) -> JsonDict:
        """Send the SIP ``hangup`` request (a BYE, or a CANCEL while ringing).

        Closes our PeerConnection. The core hangup is ``core_hangup()``.

        Args:
            headers: Extra SIP headers.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The event's result.

        Raises:
            SipError: No call is known (Janus 1.1.2 never answers a hangup outside a call),
                or Janus refused the request.
            RequestTimeoutError: No reply within ``timeout``.
        """
        if not self._in_call:
            raise SipError(0, "No call to hang up")
        result = await self._sip_request({"request": "hangup", "headers": headers}, timeout)
        self._in_call = False
        await self._close_pc()
        return result

    async def core_hangup(self) -> None:
        """Send the Janus core ``hangup``: drop the PeerConnection, keep the handle."""
        await JanusPlugin.hangup(self)

    async def hold(
        self, direction: str | None = None, timeout: Timeout = OPTION_TIMEOUT
    ) -> JsonDict:
        """Send ``hold``: put the call on hold (a re-INVITE).

        Janus 1.1.2 does not answer a hold/unhold sent outside a call or while a re-INVITE is
        pending (the request then times out), and reports no event when the re-INVITE
        completes.

        Args:
            direction: ``sendonly``, ``recvonly`` or ``inactive``; Janus's default when None.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The event's result.

        Raises:
            SipError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        return await self._sip_request({"request": "hold", "direction": direction}, timeout)

    async def unhold(self, timeout: Timeout = OPTION_TIMEOUT) -> JsonDict:
        """Send ``unhold``: resume a call on hold (a re-INVITE).

        Args:
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The event's result.

        Raises:
            SipError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        return await self._sip_request({"request": "unhold"}, timeout)

    async def update(
        self, *, jsep: JsonDict | None = None, timeout: Timeout = OPTION_TIMEOUT
    ) -> JsonDict:
        """Send ``update``: renegotiate the call (a re-INVITE) with a new offer.

        Janus 1.1.2 reports the 200 OK as ``ACCEPTED``; its answer is applied then.

        Args:
            jsep: The new offer; when None, one is made here from our PeerConnection.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The event's result.

        Raises:
            SipError: No ``jsep`` and no PeerConnection, or Janus refused the request.
            RequestTimeoutError: No reply within ``timeout``.
        """
        offer = jsep
        if offer is None:
            pc = self._pc
            if pc is None:
                raise SipError(0, "update() needs a jsep= or a PeerConnection")
            await pc.setLocalDescription(await pc.createOffer())
            offer = self._jsep(pc, False)
        return await self._sip_request({"request": "update"}, timeout, offer)

    async def info(
        self,
        content_type: str,
        content: str,
        *,
        headers: dict[str, str] | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``info``: a SIP INFO in the call.

        Args:
            content_type: The body's content type (Janus's ``type``).
            content: The body.
            headers: Extra SIP headers.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The event's result.

        Raises:
            SipError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {"request": "info", "type": content_type, "content": content, "headers": headers}
        return await self._sip_request(body, timeout)

    async def dtmf_info(
        self,
        digit: str,
        duration: int | None = None,
        *,
        headers: dict[str, str] | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``dtmf_info``: a DTMF digit as a SIP INFO (``application/dtmf-relay``).

        Args:
            digit: The digit (``0``-``9``, ``*``, ``#``, ``A``-``D``).
            duration: The tone's duration, in ms; Janus's default when None.
            headers: Extra SIP headers.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The event's result.

        Raises:
            SipError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {"request": "dtmf_info", "digit": digit, "duration": duration, "headers": headers}
        return await self._sip_request(body, timeout)

    async def transfer(
        self, uri: str, replace: str | None = None, timeout: Timeout = OPTION_TIMEOUT
    ) -> JsonDict:
        """Send ``transfer``: a REFER sending the peer to ``uri``.

        The peer gets a ``TRANSFER`` event.

        Args:
            uri: Where to transfer the peer.
            replace: The Call-ID of the call to replace (an attended transfer).
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The event's result.

        Raises:
            SipError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {"request": "transfer", "uri": uri, "replace": replace}
        return await self._sip_request(body, timeout)

    async def recording(
        self,
        action: str,
        audio: bool | None = None,
        video: bool | None = None,
        peer_audio: bool | None = None,
        peer_video: bool | None = None,
        filename: str | None = None,
        *,
        send_peer_pli: bool | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``recording``: start or stop recording our and/or the peer's media.

        The media goes to ``.mjr`` files. Options left at None are not sent.

        Args:
            action: ``start`` or ``stop``.
            audio: Record (or stop recording) our audio.
            video: Record (or stop recording) our video.
            peer_audio: Record (or stop recording) the peer's audio.
            peer_video: Record (or stop recording) the peer's video.
            filename: Base path Janus can write; the ``.mjr`` files are named from it.
            send_peer_pli: Ask the peer for a keyframe when the video recording starts.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The event's result.

        Raises:
            SipError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {
            "request": "recording",
            "action": action,
            "audio": audio,
            "video": video,
            "peer_audio": peer_audio,
            "peer_video": peer_video,
            "filename": filename,
            "send_peer_pli": send_peer_pli,
        }
        return await self._sip_request(body, timeout)
