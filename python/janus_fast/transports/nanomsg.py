"""Nanomsg transport (``nanomsg+ipc://``, ``nanomsg+tcp://``): Janus's ``janus.transport.nanomsg``.

Rule: Janus binds one NN_PAIR socket per API (its default ``mode = "bind"``); the client dials it
with an NNG ``Pair0`` socket (NNG speaks nanomsg's SP wire protocol) from the optional extra
``janus-fast[nanomsg]`` (pynng), imported when the transport is made. One Janus message is one
nanomsg message, both ways. Requests are encoded by the Rust ``JanusCore`` with their ids in the
body and handed to the socket without blocking; NNG's send buffer (``queue_size``, at most 8192
messages) is the bounded queue, and a full one raises ``QueueFullError``. A request longer than
Janus reads (``MAX_REQUEST_SIZE``) is refused before it is sent with ``InvalidMessageError``.
Reading needs no thread: the event loop watches NNG's receive descriptor (``recv_fd``, readable
while a message waits) and takes what is there without blocking, one dispatch pass per batch.
pynng's own threads (pipe notices) reach the event loop only through ``call_soon_threadsafe``. A
connection counts as open once Janus answered a ``ping`` on it (NN_PAIR takes one client: Janus
drops a second one at once, which is reported as such). A lost connection (Janus closed it, no
pong within ``ping_timeout``) is recovered by the shared ``Reconnector``
(``transports/_recovery.py``): backoff, bounded outage queue, claim or re-create.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from janus_fast._compat import timeout
from janus_fast._core import Expect, JanusCore, Message
from janus_fast.errors import (
    ConnectionClosedError,
    InvalidMessageError,
    InvalidOptionError,
    InvalidURLError,
    QueueFullError,
    TransportError,
)
from janus_fast.logfields import log_fields
from janus_fast.redact import redact_url
from janus_fast.transports._broker import import_broker_library
from janus_fast.transports._packet import PacketTransport
from janus_fast.transports._recovery import Reconnector

logger = logging.getLogger("janus_fast.transport.nanomsg")

#: URL schemes: ``nanomsg+ipc:///path`` (Janus ``address = "ipc:///path"``) and
#: ``nanomsg+tcp://host:port`` (``address = "tcp://host:port"``).
SCHEMES = ("nanomsg+ipc", "nanomsg+tcp")
#: Largest request Janus 1.1.2's Nanomsg transport takes: it reads each message into an
#: 8192-byte buffer and NUL-terminates it (a longer one is cut, or overflows the buffer).
MAX_REQUEST_SIZE = 8191
#: NNG's largest send buffer (messages).
_MAX_SEND_BUFFER = 8192
#: Messages read per wake-up before a dispatch pass (the descriptor stays readable).
_READS_PER_WAKE = 64
#: How often NNG redials while a connection is being opened (milliseconds).
_REDIAL_MIN_MS = 50
_REDIAL_MAX_MS = 500
#: ``sun_path`` holds 108 bytes with its NUL.
_MAX_IPC_PATH = 107


def _pynng() -> Any:
    return import_broker_library("pynng", "pynng", "the Nanomsg transport", "nanomsg")


def parse_nanomsg_url(url: str) -> str:
    """Return the nanomsg address of a Nanomsg transport URL.

    Args:
        url: ``nanomsg+ipc:///path/to/socket`` or ``nanomsg+tcp://host:port``.

    Returns:
        The address Janus's ``address``/``admin_address`` setting names (``ipc:///path``,
        ``tcp://host:port``).

    Raises:
        InvalidURLError: not such a URL (another scheme, a host on an IPC URL, no port on a TCP
            one, a path, query, fragment or credentials where none belongs).
    """
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidURLError(f"malformed URL {shown!r}: bad syntax or port") from None
    if parts.scheme not in SCHEMES:
        raise InvalidURLError(f"URL {shown!r} must use one of {', '.join(SCHEMES)}")
    if parts.query or parts.fragment:
        raise InvalidURLError(f"URL {shown!r}: a nanomsg URL has no query or fragment")
    if parts.scheme == "nanomsg+ipc":
        if parts.netloc not in ("", "localhost"):
            raise InvalidURLError(
                f"URL {shown!r} names a host; an IPC URL is nanomsg+ipc:///path/to/socket"
            )
        path = unquote(parts.path)
        if not path or "\0" in path:
            raise InvalidURLError(f"URL {shown!r} has no socket path")
        if len(path.encode()) > _MAX_IPC_PATH:
            raise InvalidURLError(
                f"URL {shown!r}: the socket path is longer than {_MAX_IPC_PATH} bytes"
            )
        return f"ipc://{path}"
    if parts.username or parts.password:
        raise InvalidURLError("credentials in the URL are not supported; use api_secret/token")
    if not parts.hostname or port is None:
        raise InvalidURLError(f"URL {shown!r} needs a host and a port: nanomsg+tcp://host:port")
    if parts.path not in ("", "/"):
        raise InvalidURLError(f"URL {shown!r}: a nanomsg TCP URL has no path")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"tcp://{host}:{port}"


class _Link:
    """One NNG socket and what the transport knows of it (identity says which is current)."""

    __slots__ = ("down", "fd", "sock", "up")

    def __init__(self, sock: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.sock = sock
        #: Set when the first pipe to Janus is up / when a pipe to Janus went away.
        self.up: asyncio.Future[None] = loop.create_future()
        self.down: asyncio.Future[None] = loop.create_future()
        #: NNG's receive descriptor while the loop watches it.
        self.fd: int | None = None


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a finished future's exception as retrieved (its error is reported otherwise).

    Args:
        future: A done future.
    """
    if not future.cancelled():
        future.exception()


def _set(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class JanusTransportNanomsg(PacketTransport):
    """Janus's Nanomsg transport (an NN_PAIR socket Janus binds; one client at a time).

    Args:
        base_url: ``nanomsg+ipc:///path`` or ``nanomsg+tcp://host:port``: the Janus API's
            ``address`` (or, for ``JanusAdminMonitorClient``, the ``admin_address``).
        api_secret: Janus's ``api_secret`` (never logged).
        token: a Janus auth token (never logged).
        **kwargs: transport options (``TransportOptions``); ``ssl``/``ca_file`` are refused.

    Raises:
        InvalidURLError: not a nanomsg URL.
        InvalidOptionError: TLS options (the Nanomsg transport has no TLS).
        ImportError: pynng is missing (``pip install 'janus-fast[nanomsg]'``).
    """

    _core: JanusCore

    def __init__(
        self,
        base_url: str = "",
        api_secret: str | None = None,
        token: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Check the URL and options; nothing is opened before ``connect()``."""
        self._address = parse_nanomsg_url(base_url)
        self._pynng = _pynng()
        self._link: _Link | None = None
        self._rejected = 0
        super().__init__(base_url, api_secret, token, **kwargs)
        #: Shown in reprs, logs and errors (the URL carries no credentials: they are refused).
        self._base_url = f"{urlsplit(base_url).scheme}{self._address[self._address.index(':') :]}"
        if self.options.ssl not in (None, False) or self.options.ca_file:
            raise InvalidOptionError("ssl/ca_file were given for a nanomsg URL (no TLS there)")
        self._recovery = Reconnector(
            self._recovery_link(self._open_socket, self._close_socket, self._send_now),
            self.options,
            self._base_url,
        )

    # -- identity --------------------------------------------------------------------------------
    @property
    def address(self) -> str:
        """The nanomsg address dialled (``ipc:///path`` or ``tcp://host:port``)."""
        return self._address

    @property
    def reconnecting(self) -> bool:
        """True while the connection is down and being re-established."""
        return self._recovery.active

    def _transport_stats(self) -> dict[str, int]:
        return {"open_connections": int(self._link is not None), "rejected": self._rejected}

    # -- connection ------------------------------------------------------------------------------
    async def _connect(self) -> None:
        self._recovery.clear()
        await self._open_socket()

    async def _open_socket(self) -> None:
        """Dial Janus and prove the connection with a ``ping``, within ``connect_timeout``.

        Raises:
            TransportError: no pipe to Janus within ``connect_timeout``, no pong, or Janus
                dropped the connection at once (its NN_PAIR socket serves another client).
        """
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._close_socket()
        pynng = self._pynng
        options = self.options
        try:
            sock = pynng.Pair0(
                send_buffer_size=min(options.queue_size, _MAX_SEND_BUFFER),
                recv_max_size=options.max_message_size,
                reconnect_time_min=_REDIAL_MIN_MS,
                reconnect_time_max=_REDIAL_MAX_MS,
            )
        except pynng.NNGException as exc:
            raise TransportError(f"cannot make a nanomsg socket: {exc}") from exc
        link = _Link(sock, loop)
        sock.add_post_pipe_connect_cb(functools.partial(_notify, loop, self._on_pipe_up, link))
        sock.add_post_pipe_remove_cb(functools.partial(_notify, loop, self._on_pipe_down, link))
        try:
            link.fd = sock.recv_fd
            loop.add_reader(link.fd, self._on_readable, link)
            sock.dial(self._address, block=False)
            async with timeout(options.connect_timeout):
                await link.up
                await self._probe(link, loop.time() + options.connect_timeout)
        except asyncio.TimeoutError:
            self._close_link(link)
            raise TransportError(
                f"no answer from Janus at {self._base_url} within {options.connect_timeout} s"
            ) from None
        except pynng.NNGException as exc:
            self._close_link(link)
            raise TransportError(f"cannot dial {self._base_url}: {exc}") from exc
        except BaseException:
            self._close_link(link)
            raise
        self._link = link
        self._start_pinger(link)

    async def _probe(self, link: _Link, deadline: float) -> None:
        """Send a ``ping`` on the new link and wait for its pong (or the link dropping)."""
        waiter: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        transaction, data = self._core.encode(
            orjson.dumps({"janus": "ping"}), waiter, Expect.PONG, None, None, deadline
        )
        try:
            link.sock.send(data, block=False)
            self._arm_timer(deadline)
            await asyncio.wait((waiter, link.down), return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.forget_transaction(transaction)
            # Failed by the core's timer, now or after a cancellation: retrieved here.
            waiter.add_done_callback(_retrieve)
        if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
            return
        if link.down.done():
            self._rejected += 1
            raise TransportError(
                f"Janus at {self._base_url} closed the connection at once: its NN_PAIR socket "
                "serves one client at a time (is another one connected?)"
            )
        error = waiter.exception() if waiter.done() and not waiter.cancelled() else None
        raise TransportError(f"Janus at {self._base_url} did not answer a ping: {error}")

    async def _disconnect(self) -> None:
        self._recovery.stop(ConnectionClosedError(None, "transport disconnected"))
        self._close_socket()

    def _close_socket(self) -> None:
        """Drop the current link, if any, with its pinger (NNG discards what it still holds)."""
        self._stop_pinger()
        link, self._link = self._link, None
        if link is not None:
            self._close_link(link)

    def _close_link(self, link: _Link) -> None:
        _set(link.down)
        fd, link.fd = link.fd, None
        loop = self._loop
        if fd is not None and loop is not None and not loop.is_closed():
            loop.remove_reader(fd)  # before NNG closes the descriptor
        link.sock.close()
        if link.up.done() is False:
            link.up.cancel()

    # -- pynng's threads -------------------------------------------------------------------------
    def _on_pipe_up(self, link: _Link) -> None:
        _set(link.up)

    def _on_pipe_down(self, link: _Link) -> None:
        _set(link.down)
        if link is self._link:
            self._link_lost(link, "Janus closed the nanomsg connection")

    # -- reading ---------------------------------------------------------------------------------
    def _on_readable(self, link: _Link) -> None:
        """Take what NNG holds for ``link`` (a bounded batch), then one dispatch pass."""
        if link.fd is None:
            return
        pynng = self._pynng
        sock = link.sock
        core = self._core
        got = False
        lost: str | None = None
        for _ in range(_READS_PER_WAKE):
            try:
                data = sock.recv(block=False)
            except pynng.TryAgain:
                break
            except pynng.NNGException as exc:
                lost = f"reading the nanomsg socket failed: {exc}"
                break
            except RuntimeError:  # pynng cannot unpack an empty message (NULL body): taken
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug(
                        "an empty nanomsg message from %s ignored",
                        self._base_url,
                        extra=log_fields(server=self._base_url),
                    )
                continue
            core.receive_message(data)
            got = True
        if got:
            self._dispatch()
        if lost is not None:
            self._link_lost(link, lost)

    # -- writing ---------------------------------------------------------------------------------
    def _write(self, data: bytes) -> None:
        """Hand one message to the socket without blocking.

        Raises:
            InvalidMessageError: longer than Janus reads (``MAX_REQUEST_SIZE``).
            QueueFullError: NNG's send buffer (``queue_size``, at most 8192) is full.
            ConnectionClosedError: the socket is gone (the loss is reported first).
        """
        if len(data) > MAX_REQUEST_SIZE:
            raise InvalidMessageError(
                f"a request of {len(data)} bytes is longer than Janus's Nanomsg transport reads "
                f"({MAX_REQUEST_SIZE} bytes at most): send it over WebSocket or HTTP"
            )
        link = self._link
        if link is None:
            raise ConnectionClosedError(None, "the nanomsg socket is closed")
        pynng = self._pynng
        try:
            link.sock.send(data, block=False)
        except pynng.TryAgain:
            size = min(self.options.queue_size, _MAX_SEND_BUFFER)
            raise QueueFullError(
                f"{size} requests already wait in the nanomsg socket's send buffer (queue_size)"
            ) from None
        except pynng.NNGException as exc:
            reason = f"sending on the nanomsg socket failed: {exc}"
            self._link_lost(link, reason)
            raise ConnectionClosedError(None, reason) from None

    def _link_lost(self, link: _Link, reason: str) -> None:
        """Drop the failed link ``link``; recovery takes over while the user wants it.

        If recovery is already at work, what it sent on that link fails now.
        """
        if link is not self._link:
            return
        self._close_socket()
        if not self.connected:
            return
        error = ConnectionClosedError(None, reason)
        if self._recovery.active:
            self._fail_pending(error)
        else:
            assert self._loop is not None
            self._recovery.start(error, self._loop)

    # -- liveness (PacketTransport pings) --------------------------------------------------------
    _log = logger

    def _live_link(self) -> _Link | None:
        return self._link

    def _lose_link(self, link: Any, reason: str) -> None:
        self._link_lost(link, reason)


def _notify(
    loop: asyncio.AbstractEventLoop, handler: Callable[[_Link], None], link: _Link, pipe: Any
) -> None:
    """A pipe callback, on one of pynng's threads: run ``handler(link)`` on the loop."""
    with contextlib.suppress(RuntimeError):  # a closed loop: nobody is left to tell
        loop.call_soon_threadsafe(handler, link)
