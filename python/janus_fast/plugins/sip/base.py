"""The SIP handle's shared part: errors, events and the account/call state.

Rule: this module knows the SIP plugin's event shapes (``{"sip": "event", "call_id", "result":
{"event": …}}``) and keeps the state the roles read: ``username``/``registered`` (from
``registered``/``unregistered``/``registration_failed``) and ``call_id``/``in_call`` (from the
call events). Handlers get the ``result`` with the event's ``call_id`` and jsep added. It sends
no request. Janus's answer to our offer (``accepted``, ``progress``, ``updated``) is applied to
the PeerConnection when it arrives; a new call's offer is left to ``accept``, and a re-INVITE's
offer (``updatingcall``) in a call whose PeerConnection we made is applied and answered by the
call role.
"""

from __future__ import annotations

import asyncio
import enum
from typing import Any

from janus_fast.plugins._base import JsonDict, PluginClient, plugin_data
from janus_fast.plugins._errors import TypedPluginError


class SipError(TypedPluginError):
    """A SIP plugin error (``error_code``/``error_message``), or a SIP failure made one.

    The client turns ``registration_failed`` into one (the SIP status code and reason).
    """

    plugin_name = "janus.plugin.sip"
    label = "SIP"


class SipEventType(enum.Enum):
    """SIP events for ``on_event`` (the value is Janus's ``result.event``)."""

    REGISTERING = "registering"
    REGISTERED = "registered"
    REGISTRATION_FAILED = "registration_failed"
    UNREGISTERING = "unregistering"
    UNREGISTERED = "unregistered"
    CALLING = "calling"
    RINGING = "ringing"
    PROCEEDING = "proceeding"
    PROGRESS = "progress"
    ACCEPTING = "accepting"
    ACCEPTED = "accepted"
    INCOMINGCALL = "incomingcall"
    UPDATINGCALL = "updatingcall"
    UPDATING = "updating"
    UPDATED = "updated"
    MISSED_CALL = "missed_call"
    DECLINING = "declining"
    HOLDING = "holding"
    RESUMING = "resuming"
    HANGINGUP = "hangingup"
    HANGUP = "hangup"
    TRANSFERRING = "transferring"
    TRANSFER = "transfer"
    MESSAGE = "message"
    MESSAGESENT = "messagesent"
    MESSAGEDELIVERY = "messagedelivery"
    INFO = "info"
    INFOSENT = "infosent"
    DTMFSENT = "dtmfsent"
    SUBSCRIBING = "subscribing"
    SUBSCRIBE_SUCCEEDED = "subscribe_succeeded"
    SUBSCRIBE_FAILED = "subscribe_failed"
    UNSUBSCRIBING = "unsubscribing"
    NOTIFY = "notify"
    RECORDINGUPDATED = "recordingupdated"
    RESET = "reset"
    #: An async plugin error (``error_code``, ``error``).
    ERROR = "error"
    OTHER = "other"


_EVENTS: dict[str, SipEventType] = {
    member.value: member
    for member in SipEventType
    if member not in (SipEventType.ERROR, SipEventType.OTHER)
}
#: Events after which there is no call on this handle.
_CALL_OVER = {"hangup", "missed_call"}
_CALL_ON = {"calling", "incomingcall"}


def event_payload(response: JsonDict) -> JsonDict:
    """Extract the ``result`` of a SIP event, with its ``call_id`` and jsep.

    Args:
        response: The SIP event.

    Returns:
        A copy of the event's ``result`` (empty when missing), with the event's ``call_id`` and its
        jsep (under ``"jsep"``) added when present.
    """
    data = plugin_data(response) or {}
    result = data.get("result")
    payload = dict(result) if isinstance(result, dict) else {}
    call_id = data.get("call_id")
    if isinstance(call_id, str):
        payload.setdefault("call_id", call_id)
    jsep = response.get("jsep")
    if isinstance(jsep, dict):
        payload["jsep"] = jsep
    return payload


class SipHandle(PluginClient):
    """A ``janus.plugin.sip`` handle: typed errors and events, the account and call state.

    Args:
        **kwargs: Passed to ``JanusPlugin``: ``pc_config``, an aiortc ``RTCConfiguration`` for
            the PeerConnections this handle makes.
    """

    name = "janus.plugin.sip"
    error_class = SipError
    data_key = "sip"
    event_types = SipEventType

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._username: str | None = None
        self._registered = False
        self._call_id: str | None = None
        self._in_call = False
        self._registration: asyncio.Future[JsonDict] | None = None

    @property
    def username(self) -> str | None:
        """The SIP URI given to ``register`` (kept while registered or registering)."""
        return self._username

    @property
    def registered(self) -> bool:
        """Whether the last ``register`` was confirmed (``registered`` event)."""
        return self._registered

    @property
    def call_id(self) -> str | None:
        """The Call-ID of the current (or last) call."""
        return self._call_id

    @property
    def in_call(self) -> bool:
        """Whether a call is being set up or in progress (incoming or outgoing)."""
        return self._in_call

    @property
    def webrtcup_event(self) -> Any:
        """An ``asyncio.Event`` set when Janus reports ``webrtcup``."""
        return self._webrtcup_event

    def _reset_state(self) -> None:
        self._username = None
        self._registered = False
        self._call_id = None
        self._in_call = False
        registration, self._registration = self._registration, None
        if registration is not None and not registration.done():
            registration.cancel()

    def _accept_jsep(self, jsep: JsonDict) -> bool:
        # Janus's answers to our offers arrive in events and are applied. Its offers: a new call's
        # (``incomingcall``) waits for accept(); in a call whose PeerConnection we made, it is a
        # re-INVITE (``updatingcall``), applied here and answered by ``_on_remote_offer``.
        kind = jsep.get("type")
        return kind == "answer" or (kind == "offer" and self._in_call and self._pc is not None)

    async def _on_hangup(self, response: JsonDict) -> None:
        self._in_call = False
        await self._close_pc()

    def _classify_event(
        self, response: JsonDict, data: JsonDict
    ) -> tuple[enum.Enum | None, JsonDict]:
        result = data.get("result")
        if not isinstance(result, dict):
            return SipEventType.OTHER, data
        payload = event_payload(response)
        event = result.get("event")
        if not isinstance(event, str) or event not in _EVENTS:
            return SipEventType.OTHER, payload
        self._track(event, payload)
        return _EVENTS[event], payload

    def _track(self, event: str, payload: JsonDict) -> None:
        """Update the account and call state for one event."""
        registration = self._registration
        if event == "registered":
            self._registered = True
            if registration is not None and not registration.done():
                registration.set_result(payload)
        elif event == "registration_failed":
            self._registered = False
            if registration is not None and not registration.done():
                code = payload.get("code")
                reason = payload.get("reason")
                registration.set_exception(
                    SipError(
                        code if isinstance(code, int) else 0,
                        f"registration failed: {reason if isinstance(reason, str) else '?'}",
                    )
                )
        elif event == "unregistered":
            self._registered = False
        # Only a new call (ours or an incoming one) starts one: a late event of an ended call
        # (e.g. the 200 OK of a re-INVITE, "accepted") must not revive it.
        call_id = payload.get("call_id")
        if event in _CALL_ON:
            self._in_call = True
            if isinstance(call_id, str):
                self._call_id = call_id
        elif event in _CALL_OVER:
            self._in_call = False
