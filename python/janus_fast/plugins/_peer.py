"""The PeerConnection lifecycle of a typed plugin handle: create, negotiate, trickle, close.

Rule: the PeerConnection is created on first use only (aiortc is imported then, never at import
time) and at most one is live per handle. Before a new negotiation ``_fresh_pc`` closes ours and
waits (bounded) until Janus's teardown of the old one was delivered, so a late ``hangup`` never
closes the new one. Candidates go both ways: Janus's are kept until a remote description exists
(at most ``MAX_EARLY_CANDIDATES`` per handle: beyond it the oldest is dropped, counted in
``candidates_dropped``, with one warning per handle), then applied in arrival order; ours are
sent as one ``trickle`` array when asked. An answer sends only the player's tracks of the kinds
the offer has (``_send_offered_kinds``: aiortc cannot answer with a kind the offer lacks); the
others are stopped with the PeerConnection all the same. Closing stops the recorder, the
PeerConnection and the player's tracks, in that order, once even when called concurrently.
``destroy()`` during a negotiation stops it at its next step: no new PeerConnection is made for
it, a waiting call gets ``InvalidStateError`` and the event path logs nothing above DEBUG.
Plugin-specific behaviour enters only through the hooks ``_accept_jsep``, ``_on_remote_offer``
and ``_on_hangup``; this module knows no plugin request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from janus_fast._compat import timeout as deadline
from janus_fast.errors import InvalidStateError, JanusFastError
from janus_fast.events import JsonDict
from janus_fast.media import add_remote_candidates, local_candidates, local_jsep, trickle_entries
from janus_fast.plugin import MAX_EARLY_CANDIDATES, JanusPlugin

logger = logging.getLogger("janus_fast.plugins")

__all__ = ["MAX_EARLY_CANDIDATES", "PEER_EVENT_TYPES", "PeerHandle"]


#: The core event types ``PeerHandle._on_peer_event`` acts on (besides any message carrying a
#: ``jsep``): a message of another type and without a jsep needs no call to it.
PEER_EVENT_TYPES = frozenset(("webrtcup", "hangup", "media"))


class PeerHandle(JanusPlugin):
    """A plugin handle with an aiortc PeerConnection, its recorder and player, and trickle.

    Args:
        **kwargs: Passed to ``JanusPlugin``: ``pc_config``, an aiortc ``RTCConfiguration`` for
            the PeerConnections this handle makes.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._webrtcup_event = asyncio.Event()
        self._recorder: Any = None
        self._player: Any = None
        self._closing: set[asyncio.Task[None]] = set()
        #: Candidates Janus trickled before its remote description was applied (None: none).
        self._trickled: list[JsonDict] | None = None
        #: Early candidates dropped because ``MAX_EARLY_CANDIDATES`` were already kept.
        self.candidates_dropped = 0
        #: Janus has a PeerConnection for this handle whose ``hangup`` was not delivered yet.
        self._peer_live = False
        self._hungup: asyncio.Event | None = None
        self._close_lock: asyncio.Lock | None = None
        #: The handle id ``destroy()`` ran on (0: it was not attached), until a new negotiation.
        self._destroyed_handle: int | None = None

    # -- Janus's media events ---------------------------------------------------------------------
    async def _on_peer_event(self, response: JsonDict) -> None:
        """Handle the PeerConnection's part of one event.

        Its jsep is applied (when ``_accept_jsep``), ``webrtcup``/``media`` start the
        recorder, ``hangup`` goes to ``_on_hangup``.

        Args:
            response: The message from Janus.
        """
        jsep = response.get("jsep")
        if isinstance(jsep, dict) and self._pc is not None and self._accept_jsep(jsep):
            try:
                await self.on_receive_jsep(jsep)
                if jsep.get("type") == "offer":
                    await self._on_remote_offer(jsep)
            except Exception as exc:
                if not self._torn_down:
                    logger.exception(
                        "%r: applying the remote JSEP failed", self, extra=self._log_fields()
                    )
                else:  # destroy() during the renegotiation: expected, nothing to report
                    logger.debug(
                        "%r: renegotiation stopped by destroy(): %r",
                        self,
                        exc,
                        extra=self._log_fields(),
                    )
        kind = response.get("janus")
        if kind == "webrtcup":
            self._webrtcup_event.set()
            await self._start_recorder()  # a subscriber never gets "media" (it only sends)
        elif kind == "hangup":
            await self._on_hangup(response)
        elif kind == "media" and response.get("receiving"):
            await self._start_recorder()

    async def _on_remote_offer(self, jsep: JsonDict) -> None:
        """Plugin-specific: answer an unsolicited offer applied by ``_on_peer_event``."""

    def _accept_jsep(self, jsep: JsonDict) -> bool:
        """Whether an incoming event's jsep is applied to the existing PeerConnection."""
        return True

    async def _on_hangup(self, response: JsonDict) -> None:
        await self._close_pc()

    # -- the PeerConnection (aiortc, imported on first use) ---------------------------------------
    # ``pc``, ``create_jsep`` and the lazy creation come from JanusPlugin; here: the recorder fed by
    # remote tracks, the player's tracks stopped with the PeerConnection, and trickle both ways.
    def _new_pc(self) -> Any:
        pc = super()._new_pc()

        @pc.on("track")  # type: ignore[untyped-decorator]
        def on_track(track: Any) -> None:
            recorder = self._recorder
            if recorder is not None:
                recorder.addTrack(track)
                if pc.connectionState == "connected":  # added by a renegotiation: record now
                    self._spawn(self._start_recorder())

        return pc

    async def _start_recorder(self) -> None:
        """Start recording the remote tracks added so far (idempotent per track)."""
        if self._recorder is not None:
            try:
                await self._recorder.start()
            except Exception:
                logger.exception("%r: starting the recorder failed", self, extra=self._log_fields())

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def reset_connection(self) -> None:
        """Close the PeerConnection (if any), its recorder and player, and create a new one."""
        await self._close_pc()
        self._destroyed_handle = None  # a new negotiation, on purpose
        self._pc = self._new_pc()

    def _negotiation_pc(self) -> Any:
        """The PeerConnection a negotiation step continues on (made on first use).

        Returns:
            Our PeerConnection.

        Raises:
            InvalidStateError: ``destroy()`` closed it while the negotiation was under way (and
                the handle was not attached again): the step must not make a new one, and a
                caller waiting on the negotiation gets this error.
        """
        if self._pc is None and self._torn_down:
            raise InvalidStateError(f"{self!r} was destroyed during the negotiation")
        return self.pc

    @property
    def _torn_down(self) -> bool:
        """Whether ``destroy()`` ran on this handle and it was not attached again since."""
        destroyed = self._destroyed_handle
        return destroyed is not None and self._id in (None, destroyed)

    @property
    def peer_connection(self) -> Any:
        """The live aiortc PeerConnection, or None (none made yet, or closed).

        Unlike ``pc``, reading it never creates one: it tells whether media is open.
        """
        return self._pc

    @property
    def recorder(self) -> Any:
        """The media recorder given to the last negotiation, or None (none, or closed)."""
        return self._recorder

    @property
    def webrtcup_event(self) -> asyncio.Event:
        """Set when Janus reports ``webrtcup`` for this handle's PeerConnection."""
        return self._webrtcup_event

    @property
    def pending_candidates(self) -> int:
        """Candidates Janus trickled that wait for the remote description.

        At most ``MAX_EARLY_CANDIDATES`` are kept; the oldest beyond are dropped and counted
        in ``candidates_dropped``.
        """
        return len(self._trickled) if self._trickled is not None else 0

    async def on_receive_jsep(self, jsep: JsonDict) -> None:
        """Apply a remote JSEP, then the candidates Janus trickled before it arrived.

        Args:
            jsep: Janus's offer or answer.

        Raises:
            InvalidStateError: ``destroy()`` closed the PeerConnection meanwhile (see
                ``_negotiation_pc``).
        """
        pc = self._negotiation_pc()
        await super().on_receive_jsep(jsep)
        self._peer_live = True
        pending, self._trickled = self._trickled, None
        if pending:
            await add_remote_candidates(pc, pending)

    #: The event types ``_on_message`` adds work for (the rest go straight to ``on_receive``).
    _receive_hooks = frozenset(("trickle", "hangup"))

    async def _on_message(self, message: JsonDict) -> None:
        kind = message.get("janus")
        await super()._on_message(message)  # applies trickle through self._on_trickle
        if kind == "hangup":
            self._peer_live = False
            if self._hungup is not None:
                self._hungup.set()

    async def _fresh_pc(
        self, timeout: float = 2.0, *, send_hangup: bool = True, incoming: bool = False
    ) -> None:
        """Prepare for a new PeerConnection on this handle: close ours, wait for Janus's.

        Makes sure Janus dropped its previous one *and* its teardown events (``hangup``,
        EchoTest's ``done``) were delivered, so none of them can close the new one.

        Args:
            timeout: Seconds to wait for Janus's ``hangup``; past them, a log line and on.
            send_hangup: Send the core hangup; False: only wait (Janus is tearing the old
                one down already, and a new offer from Janus may be pending).
            incoming: Janus's offer is already here; keep the candidates it trickled.
        """
        await self._close_pc()
        if self._peer_live and self._id is not None:
            self._hungup = hungup = asyncio.Event()
            try:
                if send_hangup:  # the core hangup; a no-op if Janus already hung up
                    await JanusPlugin.hangup(self)
                async with deadline(timeout):
                    await hungup.wait()
            except (asyncio.TimeoutError, JanusFastError) as exc:
                logger.info(
                    "%r: no hangup from Janus for the old PeerConnection: %r",
                    self,
                    exc,
                    extra=self._log_fields(),
                )
            finally:
                self._hungup = None
                self._peer_live = False
        if not incoming:
            self._trickled = None
        await self.reset_connection()

    async def _on_trickle(self, message: JsonDict) -> None:
        """Apply a candidate from Janus (``full_trickle``), or keep it for later.

        It is kept until the remote description is set (Janus may trickle before its offer
        reaches us).

        Args:
            message: Janus's ``trickle`` message.
        """
        entries = trickle_entries(message)
        pc = self._pc
        if pc is None or pc.remoteDescription is None:
            kept = self._trickled
            if kept is None:
                kept = self._trickled = []
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
            return
        await add_remote_candidates(pc, entries)

    def _jsep(self, pc: Any, trickle: bool) -> JsonDict:
        """Build the jsep a plugin method sends from the local description.

        Args:
            pc: The PeerConnection.
            trickle: Leave the candidates out of the SDP; ``_send_local_candidates`` sends
                them after it (real trickle, which janus-client lacked).

        Returns:
            The jsep (``type``, ``sdp``, and its ``trickle`` flag).
        """
        return local_jsep(pc, trickle, candidates=not trickle)

    async def _send_local_candidates(self) -> None:
        """Send our candidates (left out of a ``trickle=True`` jsep), then end-of-candidates.

        The candidates go as one ``trickle`` array.
        """
        pc = self._pc
        if pc is None:
            return
        entries = local_candidates(pc)
        if entries:
            await self.trickle(candidates=entries)
        await self.trickle(completed=True)

    async def _close_pc(self) -> None:
        """Stop the recorder, close the PeerConnection, stop the player's tracks.

        A concurrent call (a ``hangup`` event during ``hangup()``) waits until the first one
        is done.
        """
        if self._close_lock is None:
            self._close_lock = asyncio.Lock()
        async with self._close_lock:
            await self._close_media()

    async def _close_media(self) -> None:
        pc, self._pc = self._pc, None
        recorder, self._recorder = self._recorder, None
        player, self._player = self._player, None
        if recorder is not None:
            try:
                await recorder.stop()
            except Exception:
                logger.warning(
                    "%r: stopping the recorder failed",
                    self,
                    exc_info=True,
                    extra=self._log_fields(),
                )
        if pc is not None:
            # Also when already "closed": aiortc closes itself once Janus ends DTLS, and close()
            # then waits for that shutdown (sockets included) to finish.
            await pc.close()
        for kind in ("audio", "video"):  # ends the player's decoding thread
            track = getattr(player, kind, None) if player is not None else None
            if track is not None and getattr(track, "readyState", "ended") != "ended":
                track.stop()

    def _setup_media_tracks(self, player: Any, recorder: Any) -> None:
        """Add the player's tracks to the PeerConnection; remote tracks go to ``recorder``."""
        pc = self.pc
        if player is not None:
            if getattr(player, "audio", None) is not None:
                pc.addTrack(player.audio)
            if getattr(player, "video", None) is not None:
                pc.addTrack(player.video)
        self._player = player
        self._recorder = recorder

    def _send_offered_kinds(self, pc: Any, player: Any) -> None:
        """Send ``player``'s tracks of the kinds the applied offer has, on its transceivers.

        A track of a kind the offer lacks is not sent (aiortc cannot answer with a transceiver
        the offer did not name); it is stopped with the PeerConnection all the same.

        Args:
            pc: Our PeerConnection, the offer applied.
            player: An aiortc ``MediaPlayer`` (or anything with ``audio``/``video`` tracks), or
                None.
        """
        self._player = player
        offered = {transceiver.kind for transceiver in pc.getTransceivers() if transceiver.mid}
        for kind in ("audio", "video"):
            track = getattr(player, kind, None) if player is not None else None
            if track is not None and kind in offered:
                pc.addTrack(track)

    # -- lifecycle --------------------------------------------------------------------------------
    async def destroy(self) -> None:
        """Close the PeerConnection and recorder, then detach (the object can be reattached)."""
        # A negotiation under way stops at its next step (``_negotiation_pc``), quietly.
        self._destroyed_handle = self._id if self._id is not None else 0
        try:
            await self._close_pc()
        finally:
            self._webrtcup_event.clear()
            self._trickled = None
            self._peer_live = False
            self._reset_state()
            await super().destroy()

    detach = destroy

    def _reset_state(self) -> None:
        """Plugin-specific: forget room/call state (called by ``destroy`` before detaching)."""

    def _released(self) -> None:
        super()._released()
        if self._pc is not None or self._recorder is not None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return
            self._spawn(self._close_pc())
