"""Receive batching for the WebSocket transport: SO_RCVLOWAT tuned to what is still coming.

Rule: the kernel is asked to report the socket readable only once a watermark of bytes is buffered,
the larger of two estimates of what is coming soon. (1) The replies still owed: while many requests
are in flight, ``core.receive_low_watermark()`` is below the bytes the server owes (3/8 to 3/4 of a
lower bound of the replies still owed, counted by the Rust core), so the wait ends as soon as the
server answers. (2) A dense event stream: the connection's core estimates it (``read_watermark``: a
read that brought event bytes less than 1 ms after the previous read that brought some means the
server is pushing events, a room's fan-in; the estimate is then 3/4 of what that rate brings in half
a millisecond, 1–16 KiB in power-of-two steps, and 1 as soon as a read brings no event bytes or
comes later than that, or the guard fires). Either way one wake-up reads many messages instead of
one or two, which saves the system calls and loop iterations that dominate a busy client's CPU. A
guard timer drops the watermark back to 1 byte when a whole interval passes with no read while some
bytes sit in the socket below the watermark (the rest of the batch is not coming yet: the server was
descheduled, a reply it is slow to send or never sends, a request that expired, the end of an event
burst); if that happens again before any batch completes, batching stays off for a back-off that
doubles per repeat. So no received byte waits in the kernel for more than about two guard intervals.
When nothing at all arrives for ``QUIET_CHECKS`` intervals (replies that take long or never come),
batching also goes off for such a back-off: the guard then stops ticking instead of firing every
millisecond, and whatever arrives next wakes the reader at once. Nothing owed and no dense stream,
no guard. Linux only (``SO_RCVLOWAT`` with epoll); elsewhere, or when the socket refuses the option,
it does nothing.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import socket
import sys
import termios
import time
from typing import TYPE_CHECKING

from janus_fast.logfields import log_fields

if TYPE_CHECKING:
    from janus_fast._core import WebSocketConnection

logger = logging.getLogger("janus_fast.transport.websocket")

_SO_RCVLOWAT: int | None = getattr(socket, "SO_RCVLOWAT", None) if sys.platform == "linux" else None
#: How long bytes may wait below a raised watermark, with no read, before the guard drops it (s).
GUARD_INTERVAL = 0.001
#: After the guard fired twice in a row, batching stays off this long (s), doubling per further
#: consecutive firing up to ``GUARD_BACKOFF_MAX``. (A single firing is usually the server being
#: descheduled for a moment; it costs one early read and no back-off.)
GUARD_BACKOFF = 0.002
GUARD_BACKOFF_MAX = 0.1
#: Guard intervals in a row with no read and nothing received before a raised watermark is
#: dropped as pointless (the replies owed are slow): the guard stops until batching resumes.
QUIET_CHECKS = 8


class ReceiveBatcher:
    """Owns one socket's SO_RCVLOWAT: ``after_read()`` and ``tune()`` after every read/flush."""

    __slots__ = (
        "_applied",
        "_core",
        "_guard",
        "_loop",
        "_off_until",
        "_quiet",
        "_quiet_streak",
        "_reads",
        "_reads_at_check",
        "_socket",
        "_streak",
        "guard_checks",
        "guard_trips",
        "quiet_drops",
        "raised",
    )

    def __init__(
        self, core: WebSocketConnection, loop: asyncio.AbstractEventLoop, raw_socket: socket.socket
    ) -> None:
        self._core = core
        self._loop = loop
        self._socket: socket.socket | None = raw_socket
        #: The watermark the socket has now (1 is the kernel's default: no batching).
        self._applied = 1
        self._reads = 0
        self._reads_at_check = 0
        self._guard: asyncio.TimerHandle | None = None
        self._off_until = 0.0
        #: Consecutive guard firings (no read in between that the watermark itself allowed).
        self._streak = 0
        #: Guard intervals in a row with nothing received, and quiet drops since the last batch.
        self._quiet = 0
        self._quiet_streak = 0
        #: Times the watermark was raised above 1, and times the guard had to drop it.
        self.raised = 0
        self.guard_trips = 0
        #: Guard timer ticks, and times a quiet spell (nothing arriving) turned batching off.
        self.guard_checks = 0
        self.quiet_drops = 0

    @classmethod
    def attach(
        cls,
        core: WebSocketConnection,
        loop: asyncio.AbstractEventLoop,
        transport: asyncio.BaseTransport,
    ) -> ReceiveBatcher | None:
        """Make a batcher for a transport's socket.

        Args:
            core: The Rust core tables that count the replies still owed.
            loop: The event loop (for the guard timer).
            transport: The asyncio transport whose socket is tuned.

        Returns:
            The batcher, or None where the platform (or the socket) cannot batch.
        """
        if _SO_RCVLOWAT is None:
            return None
        raw = transport.get_extra_info("socket")
        try:
            # A private socket object on a duplicate of the descriptor: the same kernel socket,
            # without the event loop's wrapper (uvloop's costs an extra system call per use).
            own = socket.socket(fileno=os.dup(raw.fileno()))
        except (AttributeError, OSError, ValueError):
            return None
        return cls(core, loop, own)

    @property
    def reads(self) -> int:
        """Socket reads processed (``after_read`` calls)."""
        return self._reads

    @property
    def event_streams(self) -> int:
        """Times a dense event stream raised the estimate (from none), on this connection."""
        return self._core.event_streams

    @property
    def watermark(self) -> int:
        """The receive low-watermark the socket has now (bytes)."""
        return self._applied

    def after_read(self) -> None:
        """Note a processed read, then apply the watermark it leaves (at most one system call)."""
        self._reads += 1
        # The monotonic clock, not loop.time(): uvloop's ticks in whole milliseconds.
        self._set(self._core.read_watermark(time.monotonic()))

    def tune(self) -> None:
        """Apply the watermark after a flush or a guard tick, if it changed (one system call)."""
        self._set(self._core.receive_watermark())

    def _set(self, want: int) -> None:
        """Apply ``want`` unless batching is backed off, and only if it changed."""
        if want > 1 and self._off_until and self._loop.time() < self._off_until:
            want = 1
        if want != self._applied:
            self._apply(want)

    def close(self) -> None:
        """Stop the guard and close the duplicate descriptor: the socket is going away."""
        if self._guard is not None:
            self._guard.cancel()
            self._guard = None
        own, self._socket = self._socket, None
        if own is not None:
            own.close()

    def _apply(self, value: int) -> None:
        raw = self._socket
        if raw is None:
            return
        assert _SO_RCVLOWAT is not None
        try:
            raw.setsockopt(socket.SOL_SOCKET, _SO_RCVLOWAT, value)
        except OSError as exc:  # a socket that cannot: batch never again on it
            logger.debug("SO_RCVLOWAT refused (%s): receive batching off", exc, extra=log_fields())
            self.close()
            return
        self._applied = value
        if value > 1:
            self.raised += 1
            if self._guard is None:
                self._reads_at_check = self._reads
                self._guard = self._loop.call_later(GUARD_INTERVAL, self._check)

    def _back_off(self, repeat: int) -> None:
        """No batching for ``GUARD_BACKOFF`` doubled ``repeat`` times (capped)."""
        backoff = min(GUARD_BACKOFF * 2**repeat, GUARD_BACKOFF_MAX)
        self._off_until = self._loop.time() + backoff

    def _buffered(self) -> int:
        """Bytes received and not yet read on the socket (FIONREAD); 0 if unknown."""
        if self._socket is None:
            return 0
        try:
            answer = fcntl.ioctl(self._socket.fileno(), termios.FIONREAD, b"\0\0\0\0")
        except OSError:
            return 0
        return int.from_bytes(answer, sys.byteorder, signed=True)

    def _check(self) -> None:
        """Guard tick: a raised watermark with no read for a whole interval is dropped."""
        self._guard = None
        self.guard_checks += 1
        if self._applied <= 1 or self._socket is None:
            return
        # What is owed may have changed with no read or flush since (requests expired or were
        # cancelled): follow it first.
        self.tune()
        if self._applied <= 1 or self._guard is not None:
            return  # batching ended, or _apply() armed a fresh guard for the new value
        if self._reads == self._reads_at_check:
            buffered = self._buffered()
            if 0 < buffered < self._applied:
                # Bytes have arrived but not enough to wake the reader, for a whole interval:
                # what would complete the batch is not coming soon. (Enough buffered is read in
                # this loop iteration: no reason to stop.)
                self.guard_trips += 1
                self._core.end_event_stream()  # the stream, if it was one, paused
                self._streak += 1
                if self._streak > 1:
                    self._back_off(self._streak - 2)
                self._apply(1)
                return
            if buffered == 0:
                # Nothing delayed yet, but nothing coming either: after a few such intervals
                # stop ticking (batching off for a back-off; the next byte wakes the reader).
                self._quiet += 1
                if self._quiet >= QUIET_CHECKS:
                    self.quiet_drops += 1
                    self._core.end_event_stream()
                    self._back_off(self._quiet_streak)
                    self._quiet_streak += 1
                    self._quiet = 0
                    self._apply(1)
                    return
        else:
            self._streak = 0
            self._quiet = 0
            self._quiet_streak = 0
        self._reads_at_check = self._reads
        self._guard = self._loop.call_later(GUARD_INTERVAL, self._check)
