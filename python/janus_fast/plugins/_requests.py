"""What every typed plugin client shares: typed errors, ``on_event`` handlers, requests, the PC.

Rule: a plugin request either returns the completing reply or raises the plugin's own error class
(``VideoRoomError`` …), which is also a ``PluginError`` — and, for a Janus core error, also the
typed ``JanusError`` of its code — so janus-client's and janus_fast's ``except`` clauses both work.
Events never raise into the delivery path: shapes are read with ``.get``, unknown shapes become the
enum's ``OTHER`` event and plugin errors its ``ERROR`` event. The PeerConnection is created on first
use only (aiortc is imported then, never at import time). Every ``timeout`` defaults to
``OPTION_TIMEOUT``: the session's ``timeout`` option, read when the method runs. Room, participant,
feed and user ids are ``RoomId`` (``int``, or ``str`` when the plugin runs with
``string_ids = true``): passed to Janus and returned as they are, never cast.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, ClassVar

from janus_fast import timeouts
from janus_fast._compat import timeout as deadline
from janus_fast.errors import (
    JanusError,
    JanusFastError,
    PluginError,
    RequestTimeoutError,
    combined_class,
    janus_error_class,
)
from janus_fast.media import add_remote_candidates, local_candidates, local_jsep, trickle_entries
from janus_fast.plugin import JanusPlugin
from janus_fast.timeouts import OPTION_TIMEOUT, Timeout

logger = logging.getLogger("janus_fast.plugins")

JsonDict = dict[str, Any]
EventHandler = Callable[[JsonDict], Any]
#: A room, participant/publisher/feed or user id: an ``int``, or a ``str`` when the plugin runs
#: with ``string_ids = true`` (Janus refuses the other kind with a plugin error).
RoomId = int | str
ParticipantId = RoomId


def id_or_none(value: object) -> RoomId | None:
    """``value`` when it is an id (an int that is not a bool, or a str, as Janus sent it)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    return value


class TypedPluginError(PluginError):
    """Base of ``VideoRoomError``/``VideoCallError``/``TextRoomError``: janus-client's
    ``(error_code, error_message)`` constructor, and a ``PluginError`` of janus_fast."""

    plugin_name: ClassVar[str] = ""
    label: ClassVar[str] = "Plugin"

    def __init__(self, error_code: int, error_message: str) -> None:
        # Not PluginError.__init__: the cooperative chain differs in the combined core classes.
        self.plugin = self.plugin_name
        self.error_code = error_code
        self.error = error_message
        self.error_message = error_message
        Exception.__init__(self, f"{self.label} error {error_code}: {error_message}")


def core_error(cls: type[TypedPluginError], code: int, reason: str) -> TypedPluginError:
    """A Janus core error on a plugin request: both ``cls`` (as janus-client raised) and the
    typed ``JanusError`` of ``code`` (``SessionNotFoundError`` …), from the errors factory."""
    error = combined_class(cls, janus_error_class(code))(code, reason)
    error.code = code  # type: ignore[attr-defined]
    error.reason = reason  # type: ignore[attr-defined]
    return error


def plugin_data(message: JsonDict) -> JsonDict | None:
    """``plugindata.data`` of a message, or None when the shape is not the expected one."""
    plugindata = message.get("plugindata")
    if not isinstance(plugindata, dict):
        return None
    data = plugindata.get("data")
    return data if isinstance(data, dict) else None


def error_in(data: JsonDict | None, key: str) -> tuple[int, str] | None:
    """(code, reason) when ``data`` is a plugin error (with or without ``error_code``)."""
    if data is None:
        return None
    if "error_code" in data or "error" in data or data.get(key) == "error":
        code = data.get("error_code")
        reason = data.get("error")
        return (
            code if isinstance(code, int) else 0,
            reason if isinstance(reason, str) else "unknown error",
        )
    return None


def compact(body: JsonDict) -> JsonDict:
    """``body`` without the None values (optional request fields)."""
    return {key: value for key, value in body.items() if value is not None}


class PluginClient(JanusPlugin):
    """Base of the typed plugin clients (janus-client's plugin behaviour, without its bugs)."""

    error_class: ClassVar[type[TypedPluginError]] = TypedPluginError
    #: The ``plugindata.data`` key naming the plugin (``videoroom``, ``textroom`` …).
    data_key: ClassVar[str] = ""
    event_types: ClassVar[type[enum.Enum] | None] = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._event_handlers: dict[enum.Enum, list[EventHandler]] = {}
        self._webrtcup_event = asyncio.Event()
        self._recorder: Any = None
        self._player: Any = None
        self._closing: set[asyncio.Task[None]] = set()
        #: Candidates Janus trickled before its remote description was applied (None: none).
        self._trickled: list[JsonDict] | None = None
        #: Janus has a PeerConnection for this handle whose ``hangup`` was not delivered yet.
        self._peer_live = False
        self._hungup: asyncio.Event | None = None
        self._close_lock: asyncio.Lock | None = None

    # -- janus-client's on_event ----------------------------------------------------------------
    def on_event(self, event_type: Any, handler: EventHandler) -> None:
        """Call ``handler(data)`` (sync or async) for each event of ``event_type``."""
        self._event_handlers.setdefault(self._event_type(event_type), []).append(handler)

    def off_event(self, event_type: Any, handler: EventHandler) -> None:
        """Remove a handler added with ``on_event``."""
        handlers = self._event_handlers.get(self._event_type(event_type), [])
        if handler in handlers:
            handlers.remove(handler)

    def _event_type(self, event_type: Any) -> enum.Enum:
        enum_cls = self.event_types
        if enum_cls is None:
            raise TypeError(f"{type(self).__name__} has no typed events")
        member: enum.Enum = enum_cls(event_type)
        return member

    async def _trigger_event(self, event_type: enum.Enum, data: JsonDict) -> None:
        for handler in list(self._event_handlers.get(event_type, ())):
            try:
                result = handler(data)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("%r: %s handler %r raised", self, event_type, handler)

    async def _trigger_named(self, name: str, data: JsonDict) -> None:
        enum_cls = self.event_types
        if enum_cls is not None and name in enum_cls.__members__:
            await self._trigger_event(enum_cls[name], data)

    # -- requests ---------------------------------------------------------------------------------
    async def _send_request(
        self,
        body: JsonDict,
        jsep: JsonDict | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
        *,
        emit: bool = True,
    ) -> JsonDict:
        """A plugin request; returns the reply, raises ``error_class`` on any Janus error.

        A reply of type ``event`` also fires the matching ``on_event`` handlers, as janus-client
        did for the VideoRoom (e.g. ``JOINED`` for ``join_as_publisher``).
        """
        try:
            reply = await self.request(body, jsep, timeout=self._timeout(timeout))
        except TypedPluginError:
            raise
        except PluginError as exc:
            raise self.error_class(exc.error_code, exc.error) from None
        except JanusError as exc:
            raise core_error(self.error_class, exc.code, exc.reason) from None
        data = plugin_data(reply)
        failure = error_in(data, self.data_key)
        if failure is not None:
            raise self.error_class(*failure)
        if data is None:
            raise self.error_class(0, f"unexpected reply shape from {self.name}")
        if emit and reply.get("janus") == "event":
            await self._handle_event(reply, solicited=True)
        return reply

    def _timeout(self, timeout: Timeout) -> float | None:
        """``timeout`` in seconds: the session's ``timeout`` option for ``OPTION_TIMEOUT``."""
        if timeout is OPTION_TIMEOUT:
            return timeouts.resolve(timeout, self._require_attached().transport.options.timeout)
        return timeout

    @contextlib.asynccontextmanager
    async def _within(self, timeout: Timeout, what: str) -> AsyncIterator[None]:
        """A method's own wait (not a Janus request), bounded by ``timeout`` as requests are:
        its expiry raises ``RequestTimeoutError`` (``what`` in its detail), as theirs does."""
        seconds = self._timeout(timeout)
        try:
            async with deadline(seconds):
                yield
        except asyncio.TimeoutError:
            raise RequestTimeoutError(f"{what}: nothing within {seconds} s") from None

    def _id_from(self, data: JsonDict, key: str) -> RoomId:
        """The id Janus returned under ``key`` (int or str, as sent); raises ``error_class``."""
        value = id_or_none(data.get(key))
        if value is None:
            raise self.error_class(0, f"no {key!r} id in the reply from {self.name}")
        return value

    # -- events -----------------------------------------------------------------------------------
    async def on_receive(self, response: JsonDict) -> None:
        """janus-client's handling of the handle's events, safe against any message shape."""
        jsep = response.get("jsep")
        if isinstance(jsep, dict) and self._pc is not None and self._accept_jsep(jsep):
            try:
                await self.on_receive_jsep(jsep)
                if jsep.get("type") == "offer":
                    await self._on_remote_offer(jsep)
            except Exception:
                logger.exception("%r: applying the remote JSEP failed", self)
        kind = response.get("janus")
        if kind == "webrtcup":
            self._webrtcup_event.set()
            await self._start_recorder()  # a subscriber never gets "media" (it only sends)
        elif kind == "hangup":
            await self._on_hangup(response)
        elif kind == "media":
            if response.get("receiving"):
                await self._start_recorder()
        elif kind == "event":
            await self._handle_event(response)

    async def _handle_event(self, response: JsonDict, *, solicited: bool = False) -> None:
        """Fire the enum event for one plugin ``event``. ``solicited``: the reply of one of our
        requests (its errors were raised to the caller; ``OTHER`` is not fired for it)."""
        data = plugin_data(response)
        if data is None:
            if not solicited:
                await self._trigger_named("OTHER", {"message": response})
            return
        if error_in(data, self.data_key) is not None:
            if not solicited:
                await self._trigger_named("ERROR", data)
            return
        event_type, payload = self._classify_event(response, data)
        if event_type is None or (solicited and event_type.name == "OTHER"):
            return
        await self._trigger_event(event_type, payload)

    def _classify_event(
        self, response: JsonDict, data: JsonDict
    ) -> tuple[enum.Enum | None, JsonDict]:
        """Plugin-specific: the enum event (and its payload) of one non-error plugin event;
        may update the plugin's state."""
        enum_cls = self.event_types
        if enum_cls is None or "OTHER" not in enum_cls.__members__:
            return None, data
        return enum_cls["OTHER"], data

    async def _on_remote_offer(self, jsep: JsonDict) -> None:
        """Plugin-specific: answer an unsolicited offer applied by ``on_receive``."""

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
                logger.exception("%r: starting the recorder failed", self)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def reset_connection(self) -> None:
        """Close the PeerConnection (if any), its recorder and player, and create a new one."""
        await self._close_pc()
        self._pc = self._new_pc()

    async def on_receive_jsep(self, jsep: JsonDict) -> None:
        """Apply a remote JSEP, then the candidates Janus trickled before it arrived."""
        await super().on_receive_jsep(jsep)
        self._peer_live = True
        pending, self._trickled = self._trickled, None
        if pending:
            await add_remote_candidates(self.pc, pending)

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
        """Before negotiating a new PeerConnection on this handle: close ours and make sure
        Janus dropped its previous one *and* its teardown events (``hangup``, EchoTest's
        ``done``) were delivered, so none of them can close the new one. Bounded by ``timeout``.

        ``send_hangup=False``: only wait (Janus is tearing the old one down already, and a new
        offer from Janus may be pending). ``incoming``: Janus's offer is already here; keep the
        candidates it trickled.
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
                logger.info("%r: no hangup from Janus for the old PeerConnection: %r", self, exc)
            finally:
                self._hungup = None
                self._peer_live = False
        if not incoming:
            self._trickled = None
        await self.reset_connection()

    async def _on_trickle(self, message: JsonDict) -> None:
        """A candidate from Janus (``full_trickle``): applied now when the remote description is
        set, else kept until it is (Janus may trickle before its offer reaches us)."""
        entries = trickle_entries(message)
        pc = self._pc
        if pc is None or pc.remoteDescription is None:
            if self._trickled is None:
                self._trickled = []
            self._trickled.extend(entries)
            return
        await add_remote_candidates(pc, entries)

    def _jsep(self, pc: Any, trickle: bool) -> JsonDict:
        """The jsep a plugin method sends: with ``trickle`` its SDP has no candidates, which
        ``_send_local_candidates`` sends after it (real trickle, which janus-client lacked)."""
        return local_jsep(pc, trickle, candidates=not trickle)

    async def _send_local_candidates(self) -> None:
        """Outgoing trickle: our candidates (left out of a ``trickle=True`` jsep) as one
        ``trickle`` array, then end-of-candidates."""
        pc = self._pc
        if pc is None:
            return
        entries = local_candidates(pc)
        if entries:
            await self.trickle(candidates=entries)
        await self.trickle(completed=True)

    async def _close_pc(self) -> None:
        """Stop the recorder, close the PeerConnection, stop the player's tracks. A concurrent
        call (a ``hangup`` event during ``hangup()``) waits until the first one is done."""
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
                logger.warning("%r: stopping the recorder failed", self, exc_info=True)
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

    # -- lifecycle --------------------------------------------------------------------------------
    async def destroy(self) -> None:
        """Close the PeerConnection and recorder, then detach (the object can be reattached)."""
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
        """Plugin-specific: forget room/call state."""

    def _released(self) -> None:
        super()._released()
        if self._pc is not None or self._recorder is not None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return
            self._spawn(self._close_pc())
