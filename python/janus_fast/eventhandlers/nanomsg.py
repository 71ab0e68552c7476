"""``NanomsgEventReceiver``: receives what Janus's Nanomsg event handler (``nanomsgevh``) publishes.

Rule: nanomsgevh is an NN_PUB socket that, by default, connects to its ``address``; the receiver is
an NNG ``Sub0`` socket (subscribed to everything) that listens there, or dials it when Janus binds
(``mode = "bind"``, ``dial=True``). Each message is one event or a grouped array of them. One
supervised task reads; pynng's threads reach the loop only through ``call_soon_threadsafe``.
Every buffer is bounded: NNG's receive buffer (``recv_buffer`` messages; a subscriber that falls
behind loses what no longer fits, as NN_SUB does: counted in ``unread``, from NNG's per-connection
counts against the messages read), a message over ``max_message_size`` drops its connection
(nanomsgevh reconnects), the ``EventStream``'s own bound after that. Needs the optional extra
``janus-fast[nanomsg]`` (pynng), imported only when the receiver starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import math
import os
import shutil
import tempfile
import types
from typing import Any, TypeVar

from janus_fast.errors import InvalidOptionError, InvalidStateError, TransportError
from janus_fast.eventhandlers._nngstats import pipe_messages
from janus_fast.eventhandlers.events import InvalidEventError, decode_payload
from janus_fast.eventhandlers.stream import EventStream
from janus_fast.logfields import log_fields

logger = logging.getLogger("janus_fast.eventhandlers")

_N = TypeVar("_N", bound="NanomsgEventReceiver")
#: NNG's largest receive buffer (messages).
_MAX_RECV_BUFFER = 8192
#: Messages taken per wake-up, after the awaited one, before the loop serves others.
_READS_PER_WAKE = 64
#: How long ``close()`` waits for the reader task to see its socket closed.
_CLOSE_LIMIT = 5.0
#: Closed connections whose counts are kept apart (their last messages may still be read);
#: older ones are folded into one total.
_CLOSED_KEPT = 64


def _pynng() -> Any:
    try:
        return importlib.import_module("pynng")
    except ImportError as exc:
        raise ImportError(
            "NanomsgEventReceiver needs pynng: pip install 'janus-fast[nanomsg]'"
        ) from exc


class NanomsgEventReceiver:
    """A subscriber for ``janus.eventhandler.nanomsgevh`` (its ``address`` is ``receiver.address``).

    Args:
        stream: the ``EventStream`` to publish into (default: a new one, ``receiver.stream``).
        address: a nanomsg address, ``ipc:///path`` or ``tcp://host:port`` (port 0: any free
            port, read ``address`` after ``start()``). Default: an IPC socket in a private
            folder made at ``start()`` and removed at ``close()``.
        dial: dial ``address`` (nanomsgevh with ``mode = "bind"``) instead of listening there
            (nanomsgevh's default ``mode = "connect"``).
        server: the Janus instance's name, carried by every event (de-duplication key).
        max_message_size: bytes; a longer message drops its connection.
        recv_buffer: messages NNG keeps for the reader (1..8192).

    Raises:
        InvalidOptionError: a bad option value.
    """

    def __init__(
        self,
        stream: EventStream | None = None,
        *,
        address: str | None = None,
        dial: bool = False,
        server: str | None = None,
        max_message_size: int = 1024 * 1024,
        recv_buffer: int = 1024,
    ) -> None:
        """Check the options; nothing is opened before ``start()``."""
        if address is not None and not address.startswith(("ipc://", "tcp://")):
            raise InvalidOptionError(
                f"address must be a nanomsg ipc:// or tcp:// address, not {address!r}"
            )
        if dial and address is None:
            raise InvalidOptionError("dial=True needs the address nanomsgevh binds")
        if not (isinstance(max_message_size, int) and max_message_size > 0):
            raise InvalidOptionError("max_message_size must be an integer > 0")
        if not (isinstance(recv_buffer, int) and 0 < recv_buffer <= _MAX_RECV_BUFFER):
            raise InvalidOptionError(f"recv_buffer must be an integer in 1..{_MAX_RECV_BUFFER}")
        self.stream = stream if stream is not None else EventStream()
        self.address = address
        self.dial = dial
        self.server = server
        self.max_message_size = max_message_size
        self.recv_buffer = recv_buffer
        self._counters = {"messages": 0, "invalid": 0, "connections": 0, "disconnections": 0}
        self._sock: Any = None
        self._task: asyncio.Task[None] | None = None
        self._folder: str | None = None
        self._pipes = 0
        self._connected = asyncio.Event()
        #: messages read per connection (NNG pipe id); NNG's count of each closed connection
        self._reads: dict[int, int] = {}
        self._closed_rx: dict[int, int] = {}
        self._unread_folded = 0

    def __repr__(self) -> str:
        """Show the address and mode (a nanomsg address carries no credentials)."""
        return (
            f"NanomsgEventReceiver(address={self.address!r}, dial={self.dial}, "
            f"server={self.server!r})"
        )

    def stats(self) -> dict[str, int]:
        """Return the counters.

        Returns:
            ``messages`` (nanomsg messages read), ``invalid`` (not Janus events),
            ``connections`` and ``disconnections`` (of nanomsgevh), ``connected`` (now),
            ``unread``: messages NNG took from nanomsgevh's connections that were not read,
            i.e. still in its buffer or dropped because it was full (``recv_buffer``); once the
            reader has caught up, the loss. 0 where NNG's statistics cannot be read.
        """
        received = dict(self._closed_rx)
        if self._sock is not None:
            received.update(pipe_messages(_pynng(), self._sock))
        unread = self._unread_folded + sum(
            max(0, count - self._reads.get(pipe, 0)) for pipe, count in received.items()
        )
        return dict(self._counters, connected=self._pipes, unread=unread)

    @property
    def connected(self) -> bool:
        """Whether a nanomsgevh is connected now."""
        return self._pipes > 0

    async def wait_connected(self, timeout: float) -> None:
        """Wait until a nanomsgevh is connected (NN_PUB drops what it sends before that).

        Args:
            timeout: seconds.

        Raises:
            asyncio.TimeoutError: none connected within ``timeout``.
            InvalidOptionError: ``timeout`` is not finite and >= 0.
        """
        if not (isinstance(timeout, int | float) and math.isfinite(timeout) and timeout >= 0):
            raise InvalidOptionError(f"timeout must be finite and >= 0, not {timeout!r}")
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def start(self: _N) -> _N:
        """Listen at (or dial) ``address`` and start reading.

        Returns:
            The receiver itself.

        Raises:
            InvalidStateError: already started.
            TransportError: the address cannot be listened at (in use, bad path …).
            ImportError: pynng is missing.
        """
        if self._sock is not None:
            raise InvalidStateError("receiver already started")
        pynng = _pynng()
        loop = asyncio.get_running_loop()
        if self.address is None:
            self._folder = tempfile.mkdtemp(prefix="janus-fast-evh-")
            os.chmod(self._folder, 0o711)  # Janus may run as another user: it must reach it
            self.address = f"ipc://{os.path.join(self._folder, 'events.ipc')}"
        sock = pynng.Sub0(
            topics=b"", recv_buffer_size=self.recv_buffer, recv_max_size=self.max_message_size
        )
        sock.add_post_pipe_connect_cb(lambda pipe: _notify(loop, self._on_pipe, sock, 1))
        sock.add_post_pipe_remove_cb(lambda pipe: self._pipe_closed(loop, sock, pipe))
        try:
            if self.dial:
                sock.dial(self.address, block=False)
            else:
                listener = sock.listen(self.address)
                if self.address.startswith("tcp://") and self.address.endswith(":0"):
                    self.address = str(listener.url)  # NNG's view names the port it chose
                elif self.address.startswith("ipc://"):
                    # nanomsgevh (maybe another user) must be able to connect
                    os.chmod(self.address[len("ipc://") :], 0o666)
        except (pynng.NNGException, OSError) as exc:
            sock.close()
            self._remove_folder()
            raise TransportError(f"cannot listen at {self.address!r}: {exc}") from exc
        self._sock = sock
        self._task = loop.create_task(self._read(sock))
        return self

    async def close(self, *, close_stream: bool = False) -> None:
        """Stop receiving (bounded in time); remove the private IPC folder, if any.

        Args:
            close_stream: also close ``stream`` (its iteration ends once drained).
        """
        sock, self._sock = self._sock, None
        task, self._task = self._task, None
        if sock is not None:
            self._closed_rx.update(pipe_messages(_pynng(), sock))  # kept for stats()
            sock.close()  # the reader's pending receive ends with ``Closed``
        if task is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), _CLOSE_LIMIT)
            if not task.done():
                task.cancel()
        self._pipes = 0
        self._connected.clear()
        self._remove_folder()
        if close_stream:
            self.stream.close()

    async def __aenter__(self: _N) -> _N:
        """Start; see ``start()``."""
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        """Close; see ``close()``."""
        await self.close()

    def _remove_folder(self) -> None:
        folder, self._folder = self._folder, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
            self.address = None

    def _pipe_closed(self, loop: asyncio.AbstractEventLoop, sock: Any, pipe: Any) -> None:
        """A connection ended (on one of pynng's threads): keep NNG's count, tell the loop."""
        count = pipe_messages(_pynng(), sock).get(pipe.id)  # gone once the callback returns
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is left to tell
            loop.call_soon_threadsafe(self._keep_closed_count, sock, pipe.id, count)
        _notify(loop, self._on_pipe, sock, -1)

    def _keep_closed_count(self, sock: Any, pipe_id: int, count: int | None) -> None:
        if sock is not self._sock:
            return
        if count is None:  # NNG's statistics unreadable: nothing to count against
            self._reads.pop(pipe_id, None)
            return
        self._closed_rx[pipe_id] = count
        while len(self._closed_rx) > _CLOSED_KEPT:  # the oldest: its messages are read by now
            old = next(iter(self._closed_rx))
            self._unread_folded += max(0, self._closed_rx.pop(old) - self._reads.pop(old, 0))

    def _on_pipe(self, sock: Any, change: int) -> None:
        if sock is not self._sock:
            return
        self._pipes = max(0, self._pipes + change)
        self._counters["connections" if change > 0 else "disconnections"] += 1
        if self._pipes:
            self._connected.set()
        else:
            self._connected.clear()

    async def _read(self, sock: Any) -> None:
        pynng = _pynng()
        try:
            while True:
                self._take(await sock.arecv_msg())
                for _ in range(_READS_PER_WAKE):
                    try:
                        message = sock.recv_msg(block=False)
                    except pynng.TryAgain:
                        break
                    self._take(message)
        except pynng.Closed:
            return
        except Exception:  # never a silently dead receiver: say so (the address only)
            logger.exception(
                "nanomsg event receiver at %s stopped", self.address, extra=log_fields()
            )

    def _take(self, message: Any) -> None:
        """Count one NNG message against its connection, then deliver it."""
        pipe = message.pipe
        if pipe is not None:
            self._reads[pipe.id] = self._reads.get(pipe.id, 0) + 1
        self._deliver(message.bytes)

    def _deliver(self, payload: bytes) -> None:
        """One nanomsg message: one event or a grouped array of them."""
        self._counters["messages"] += 1
        try:
            events = decode_payload(payload)
        except InvalidEventError as exc:
            self._counters["invalid"] += 1
            self.stream.count_invalid()
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("nanomsg event message refused: %s", exc, extra=log_fields())
            return
        self.stream.publish(events, self.server)


def _notify(loop: asyncio.AbstractEventLoop, handler: Any, sock: Any, change: int) -> None:
    """A pipe callback, on one of pynng's threads: run ``handler`` on the loop."""
    with contextlib.suppress(RuntimeError):  # a closed loop: nobody is left to tell
        loop.call_soon_threadsafe(handler, sock, change)
