"""``JanusPlugin``: one plugin handle — attach, requests, trickle, hangup, detach, events.

Rule: a handle costs a few slots until it is used (no peer connection, task or queue before it is
needed), so thousands fit in a session. Events for the handle are delivered in order to
``on_receive`` (janus-client's API), to ``on()`` callbacks and to ``events()`` iterators.
Requests: janus-client's ``send()`` returns a ``MessageTransaction``; the native ``request()``
waits for the completion by Janus's rules and raises ``PluginError`` for plugin-level errors.
Janus's trickled candidates are applied to the PeerConnection once it has a remote description;
earlier ones are kept (bounded) until ``on_receive_jsep`` applies them.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from janus_fast._core import Expect, Message
from janus_fast.errors import InvalidStateError, JanusFastError, PluginError, missing_janus_field
from janus_fast.events import EventSource, JsonDict
from janus_fast.logfields import log_fields
from janus_fast.message_transaction import MessageTransaction
from janus_fast.transport import DEFAULT_TIMEOUT

if TYPE_CHECKING:
    from janus_fast.session import JanusSession

logger = logging.getLogger("janus_fast.plugin")

#: Candidates Janus may trickle to a handle before its remote description exists (Janus sends
#: them ahead of its answer or offer); beyond it the oldest kept one is dropped (a real
#: negotiation sends a few dozen at most).
MAX_EARLY_CANDIDATES = 256


class JanusPlugin(EventSource):
    """Base of plugin handles (janus-client's ``JanusPlugin``, same methods).

    Subclass it with ``name = "janus.plugin.…"`` and override ``on_receive`` (janus-client's
    API), or use ``request()``, ``on()`` and ``events()``. Until it is used, a handle holds no
    PeerConnection, task or queue.

    Args:
        pc_config: an aiortc ``RTCConfiguration`` for the PeerConnection made on first use of
            ``pc`` (``None``: aiortc's default, which includes a public STUN server).
        **kwargs: accepted and ignored (janus-client compatibility).

    """

    name: ClassVar[str] = "janus.plugin.base.dummy"

    def __init__(self, pc_config: Any = None, **kwargs: Any) -> None:
        self._init_event_source()
        self._id: int | None = None
        self._session: JanusSession | None = None
        self._pc_config = pc_config
        self._pc: Any = None
        #: Candidates Janus trickled before the remote description was applied (None: none).
        self._early_candidates: list[JsonDict] | None = None
        #: Early candidates dropped because ``MAX_EARLY_CANDIDATES`` were already kept.
        self.candidates_dropped = 0

    # -- identity --------------------------------------------------------------------------------
    @property
    def id(self) -> int | None:
        """The Janus handle id (None when not attached)."""
        return self._id

    handle_id = id

    def _log_fields(self) -> dict[str, object]:
        """Build the structured log fields of this handle's records.

        Returns:
            ``log_fields`` with the handle id, its session's id and the redacted server URL
            (None where not attached).
        """
        session = self._session
        if session is None:
            return log_fields(handle_id=self._id)
        return log_fields(
            session_id=session.id, handle_id=self._id, server=session.transport.base_url
        )

    def rebind(self, new_id: int) -> None:
        """Take the id Janus gave this handle when it was re-attached after a reconnection.

        The session's ``plugin_handles`` follows (the transport re-registers the route).

        Args:
            new_id: The handle's new id.
        """
        old_id, self._id = self._id, new_id
        session = self._session
        if session is not None:
            if old_id is not None and session.plugin_handles.get(old_id) is self:
                del session.plugin_handles[old_id]
            session.plugin_handles[new_id] = self

    @property
    def session(self) -> JanusSession | None:
        """The session this handle is attached in (None when not attached)."""
        return self._session

    @property
    def pc_config(self) -> Any:
        """The aiortc ``RTCConfiguration`` for new PeerConnections (None: aiortc's default)."""
        return self._pc_config

    @property
    def pending_candidates(self) -> int:
        """Candidates Janus trickled that wait for the remote description (``on_receive_jsep``).

        At most ``MAX_EARLY_CANDIDATES`` are kept; the oldest beyond are dropped and counted
        in ``candidates_dropped``.
        """
        return len(self._early_candidates) if self._early_candidates is not None else 0

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} handle={self._id}>"

    def _require_attached(self) -> JanusSession:
        if self._session is None or self._id is None:
            raise InvalidStateError("Plugin not attached to session")  # janus-client's text
        return self._session

    # -- lifecycle -------------------------------------------------------------------------------
    async def attach(
        self,
        session: JanusSession,
        *,
        opaque_id: str | None = None,
        loop_index: int | None = None,
        token: str | None = None,
    ) -> None:
        """Attach to ``session`` (Janus ``attach``; the session is created if needed).

        Args:
            session: the session to attach in.
            opaque_id: Janus's ``opaque_id`` for the handle (find it again with the Admin API
                or ``JanusPool.reconcile``).
            loop_index: the Janus event loop to run the handle on (with ``event_loops``).
            token: a token for this handle (Janus token auth).

        Raises:
            InvalidStateError: this object is already attached.
            PluginAttachFail: Janus answered ``error``; also the typed class of the code
                (``PluginNotFoundError``, ``UnauthorizedPluginError`` …).
            RequestTimeoutError: no answer within the ``timeout`` option.

        """
        if self._id is not None:
            raise InvalidStateError(f"{self!r} is already attached")
        self._id = await session.attach_plugin(
            self, opaque_id=opaque_id, loop_index=loop_index, token=token
        )
        self._session = session
        self.event_queue_size = session.event_queue_size  # the session's bound, per handle

    async def destroy(self) -> None:
        """Send Janus ``detach``; the object can then be attached again.

        Does nothing when not attached. Janus and transport errors are logged, not raised; the
        handle is released and its PeerConnection closed either way. ``detach`` is the same method.
        """
        if self._session is None or self._id is None:
            return
        session, handle_id = self._session, self._id
        try:
            if session.created and session.transport.connected:
                await session.request({"janus": "detach"}, Expect.SUCCESS, handle_id)
        except JanusFastError as exc:
            logger.info("detach of handle %s: %r", handle_id, exc, extra=self._log_fields())
        finally:
            session.detach_plugin(self)
            self._released()
            pc, self._pc = self._pc, None
            if pc is not None:  # janus-client leaked it (B11)
                await pc.close()

    detach = destroy

    def adopt(self, session: JanusSession, handle_id: int) -> None:
        """Bind this plugin object to an existing handle of a session.

        The session is a created or adopted one; the handle is e.g. one ``JanusPool.reconcile``
        found by its opaque_id. Its events come here from now on. No request is sent; a handle that
        no longer exists makes the next request fail with ``HandleNotFoundError``.

        Args:
            session: The handle's session.
            handle_id: The existing handle's id.

        Raises:
            InvalidStateError: This object is already attached, or the session is neither created
                nor adopted.
        """
        if self._id is not None:
            raise InvalidStateError(f"{self!r} is already attached")
        session.bind_plugin(self, handle_id)
        self._id = handle_id
        self._session = session
        self.event_queue_size = session.event_queue_size

    def released(self) -> None:
        """Release this handle: the session destroyed or lost it (the seam sessions call)."""
        self._released()

    def _released(self) -> None:
        """The handle is gone (detached, or its session destroyed/lost)."""
        self._id = None
        self._session = None
        self._early_candidates = None
        self._close_events()

    # -- requests --------------------------------------------------------------------------------
    def send(self, message: JsonDict) -> Coroutine[Any, Any, MessageTransaction]:
        """Send a request on this handle: janus-client's API (await it).

        A plain function returning the session's ``send`` coroutine (no coroutine layer more); the
        errors below are raised when it is awaited, as from a coroutine.

        Args:
            message: The Janus request, with a ``janus`` key (``{"janus": "message", "body": …}``);
                not modified. A ``handle_id`` in it is ignored with a warning.

        Returns:
            A coroutine giving a ``MessageTransaction`` that receives every message with the
            request's transaction; call ``done()`` on it (or use ``async with``) when finished.

        Raises:
            InvalidStateError: Not attached (janus-client's ``Plugin not attached to session``).
            InvalidMessageError: ``message`` has no ``janus`` key.
        """
        session = self._session
        if session is None or self._id is None or "janus" not in message or "handle_id" in message:
            return self._send_checked(message)
        return session.send(message, self._id)

    async def _send_checked(self, message: JsonDict) -> MessageTransaction:
        session = self._require_attached()
        if "janus" not in message:
            raise missing_janus_field()
        if "handle_id" in message:
            logger.warning(
                "ignoring caller-set handle_id; the plugin sets it", extra=self._log_fields()
            )
            message = {k: v for k, v in message.items() if k != "handle_id"}
        return await session.send(message, handle_id=self._id)

    async def request(
        self,
        body: JsonDict,
        jsep: JsonDict | None = None,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        idempotent: bool = False,
    ) -> JsonDict:
        """Send a plugin ``message`` and return the completing reply as a dict.

        Completes on the synchronous ``success`` or on the asynchronous ``event`` (the ack in
        between is absorbed).

        Args:
            body: the plugin request (``{"request": "list"}`` …), sent as the message's
                ``body``; not modified.
            jsep: an offer or answer to send with it.
            timeout: seconds to wait; default: the ``timeout`` option; ``None``: no deadline.
            idempotent: let the WebSocket transport send it again after a reconnection.

        Returns:
            The whole Janus reply (``plugindata.data`` holds the plugin's answer; ``jsep`` the
            plugin's offer or answer, if any).

        Raises:
            PluginError: the reply carries ``plugindata.data.error_code``.
            JanusError: Janus answered ``error`` (e.g. ``HandleNotFoundError``).
            InvalidStateError: not attached, or the handle was detached meanwhile.
            RequestTimeoutError: no completing reply before the deadline.
            SessionLostError: the session was lost meanwhile.

        """
        reply = await self._plugin_request(body, jsep, timeout, idempotent)
        self._raise_plugin_error(reply)
        result: JsonDict = reply.json()
        return result

    async def request_raw(
        self,
        body: JsonDict,
        jsep: JsonDict | None = None,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        idempotent: bool = False,
    ) -> Message:
        """Send a plugin ``message`` like ``request()``, returning the core's lazy message.

        No dict is built unless asked (``.json()``).

        Args:
            body: The plugin request, sent as the message's ``body``; not modified.
            jsep: An offer or answer to send with it.
            timeout: Seconds to wait; the ``timeout`` option by default; None: no deadline.
            idempotent: Let the WebSocket transport send it again after a reconnection.

        Returns:
            The completing reply, the core's lazy ``Message``.

        Raises:
            PluginError: The reply carries ``plugindata.data.error_code``.
            JanusError: Janus answered ``error`` (e.g. ``HandleNotFoundError``).
            InvalidStateError: Not attached, or the handle was detached meanwhile.
            RequestTimeoutError: No completing reply before the deadline.
            SessionLostError: The session was lost meanwhile.
        """
        reply = await self._plugin_request(body, jsep, timeout, idempotent)
        self._raise_plugin_error(reply)
        return reply

    def _plugin_request(
        self, body: JsonDict, jsep: JsonDict | None, timeout: float | None, idempotent: bool
    ) -> Coroutine[Any, Any, Message]:
        """Make the session request of a plugin ``message``, not awaited.

        A plain function, so ``request()`` and ``request_raw()`` share it without a coroutine layer
        more per call.

        Args:
            body: The plugin request.
            jsep: An offer or answer to send with it.
            timeout: Seconds to wait (None: no deadline).
            idempotent: It may be sent again after a reconnection.

        Returns:
            The coroutine of the session's ``request``.
        """
        return self._require_attached().request(
            _plugin_message(body, jsep),
            Expect.PLUGIN_MESSAGE,
            self._id,
            timeout,
            idempotent=idempotent,
        )

    def _raise_plugin_error(self, reply: Message) -> None:
        if reply.plugin_error_code is not None:
            raise PluginError(
                reply.plugin or self.name, reply.plugin_error_code, reply.plugin_error or ""
            )

    async def trickle(
        self,
        sdpMLineIndex: int | None = None,
        candidate: str | None = None,
        *,
        sdpMid: str | None = None,
        candidates: Sequence[JsonDict] | None = None,
        completed: bool = False,
    ) -> None:
        """Janus ``trickle``: one candidate, an array (``candidates=``) or ``completed=True``.

        janus-client's form ``trickle(sdpMLineIndex, candidate)`` is kept; ``candidate=None``
        there means end-of-candidates, as before.

        Args:
            sdpMLineIndex: the candidate's m-line index.
            candidate: the candidate line (``None``: end of candidates).
            sdpMid: the candidate's media id.
            candidates: several candidates at once (``[{"candidate", "sdpMid",
                "sdpMLineIndex"}, …]``); wins over ``candidate``.
            completed: send end-of-candidates.

        Raises:
            InvalidStateError: not attached.
            JanusError: Janus refused the candidate.
            RequestTimeoutError: no ack within the ``timeout`` option.

        """
        session = self._require_attached()
        body: JsonDict = {"janus": "trickle"}
        if candidates is not None:
            body["candidates"] = list(candidates)
        elif completed or candidate is None:
            body["candidate"] = {"completed": True}
        else:
            entry: JsonDict = {"candidate": candidate}
            if sdpMLineIndex is not None:
                entry["sdpMLineIndex"] = sdpMLineIndex
            if sdpMid is not None:
                entry["sdpMid"] = sdpMid
            body["candidate"] = entry
        await session.request(body, Expect.ACK, self._id)

    async def hangup(self) -> None:
        """Janus core ``hangup``: close the PeerConnection, keep the handle.

        Raises:
            InvalidStateError: not attached.
            JanusError: Janus refused it.
            RequestTimeoutError: no answer within the ``timeout`` option.

        """
        session = self._require_attached()
        await session.request({"janus": "hangup"}, Expect.SUCCESS, self._id)

    # -- events ----------------------------------------------------------------------------------
    #: Only a ``trickle`` needs ``_on_message``: the runner calls ``on_receive`` for the rest.
    _receive_hooks = frozenset(("trickle",))

    def _on_message(self, message: JsonDict) -> Coroutine[Any, Any, None]:
        """Make the coroutine that delivers one event.

        It is ``on_receive`` itself (stepped by the event runner without a coroutine layer more),
        after the candidate for a ``trickle``.

        Args:
            message: The event.

        Returns:
            The coroutine.
        """
        if message.get("janus") == "trickle":
            return self._trickle_then_receive(message)
        return self.on_receive(message)

    async def _trickle_then_receive(self, message: JsonDict) -> None:
        try:
            await self._on_trickle(message)
        except Exception:
            logger.exception(
                "%r: applying a trickled candidate failed", self, extra=self._log_fields()
            )
        await self.on_receive(message)

    async def _on_trickle(self, message: JsonDict) -> None:
        """Apply a server candidate (``full_trickle``), or keep it until ``on_receive_jsep``.

        Janus trickles ahead of the answer or offer that sets the remote description: such
        candidates are kept (at most ``MAX_EARLY_CANDIDATES``, the oldest dropped beyond it,
        counted in ``candidates_dropped``, one warning per handle).

        Args:
            message: Janus's ``trickle`` message.
        """
        from janus_fast.media import add_remote_candidates, trickle_entries

        entries = trickle_entries(message)
        pc = self._pc
        if pc is not None and pc.remoteDescription is not None:
            await add_remote_candidates(pc, entries)
            return
        kept = self._early_candidates
        if kept is None:
            kept = self._early_candidates = []
        kept.extend(entries)
        excess = len(kept) - MAX_EARLY_CANDIDATES
        if excess > 0:
            del kept[:excess]
            if not self.candidates_dropped:
                logger.warning(
                    "%r: %d candidates trickled before the remote description are kept "
                    "already; dropping the oldest (counted in candidates_dropped)",
                    self,
                    MAX_EARLY_CANDIDATES,
                    extra=self._log_fields(),
                )
            self.candidates_dropped += excess

    _after_types = frozenset(("detached",))

    def _after_message(self, message: JsonDict) -> None:
        """Janus detached the handle on its own (admin ``detach_handle``, plugin teardown)."""
        if message.get("janus") == "detached" and self._session is not None:
            self._session.detach_plugin(self)
            self._released()

    async def on_receive(self, response: JsonDict) -> None:
        """Handle one event for this handle; called with every event, in order.

        Does nothing here: override in subclasses (janus-client's API).

        Args:
            response: The event from Janus.
        """

    # -- janus-client's PeerConnection helpers (aiortc, the optional media extra) ----------------
    # Lazy: no PeerConnection exists (and aiortc is not imported) until ``pc`` is first used, so
    # an idle handle costs one empty slot. The typed plugin clients (janus_fast.plugins) extend
    # these with recorders, players and trickle.
    @property
    def pc(self) -> Any:
        """The aiortc ``RTCPeerConnection`` (created on first access; needs ``[media]``)."""
        if self._pc is None:
            self._pc = self._new_pc()
        return self._pc

    def _new_pc(self) -> Any:
        from janus_fast.media import new_peer_connection

        return new_peer_connection(self._pc_config)

    async def reset_connection(self) -> None:
        """Close the PeerConnection (if any) and create a new one."""
        pc, self._pc = self._pc, None
        if pc is not None:
            await pc.close()  # idempotent; waits for a shutdown aiortc started by itself
        self._pc = self._new_pc()

    async def create_jsep(self, pc: Any, trickle: bool = False) -> JsonDict:
        """Build the jsep of ``pc``'s local description, as janus-client made it.

        Args:
            pc: The PeerConnection, after ``setLocalDescription``.
            trickle: The jsep's ``trickle`` flag (the SDP carries all candidates either way).

        Returns:
            ``{sdp, trickle, type}``.
        """
        from janus_fast.media import local_jsep

        return local_jsep(pc, trickle)

    async def on_receive_jsep(self, jsep: JsonDict) -> None:
        """Apply a remote JSEP (Janus's offer or answer) to the PeerConnection.

        The candidates Janus trickled before it arrived are applied after it, in arrival order.

        Args:
            jsep: Janus's offer or answer.

        Raises:
            RuntimeError: The PeerConnection is closed (janus-client's error).
        """
        from janus_fast.media import add_remote_candidates, session_description

        pc = self.pc
        if pc.signalingState == "closed":
            raise RuntimeError("Received JSEP when PeerConnection is closed")
        await pc.setRemoteDescription(session_description(jsep))
        pending, self._early_candidates = self._early_candidates, None
        if pending:
            await add_remote_candidates(pc, pending)


def _plugin_message(body: JsonDict, jsep: JsonDict | None) -> JsonDict:
    """The Janus ``message`` request carrying a plugin ``body`` (and ``jsep``)."""
    message: JsonDict = {"janus": "message", "body": body}
    if jsep is not None:
        message["jsep"] = jsep
    return message
