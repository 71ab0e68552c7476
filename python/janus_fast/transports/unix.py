"""Unix-socket transport (``unix://``, ``unix+seqpacket://``, ``unix+dgram://``): Janus's pfunix.

Rule: one Janus message is one packet (``SOCK_SEQPACKET``) or one datagram (``SOCK_DGRAM``), both
ways: nothing is coalesced, nothing split. A request is encoded by the Rust ``JanusCore`` with its
ids in the body (pfunix has no URL paths) and written at once or, while the socket cannot take
more, kept in a bounded queue (``queue_size``) that is drained when it is writable. Every packet
read goes to the core; one dispatch pass follows each batch of reads. A request longer than
pfunix reads (``MAX_REQUEST_SIZE``; Janus drops a longer one without an answer) is refused before
it is sent, with ``InvalidMessageError``. In ``SOCK_DGRAM`` mode the client binds a socket of its
own, because Janus answers to the sender's path: in a private folder (or ``client_path``),
connected to Janus's socket so that only Janus can send to it, and removed on ``disconnect()``
(or when the transport is collected). A lost connection (end of file, a refused send, no pong
within ``ping_timeout``) is recovered by the same ``Reconnector`` as WebSocket's
(``transports/_recovery.py``): backoff, bounded outage queue, claim or re-create; this module
moves packets and reports the connection going down. An open connection outlives its socket's
path (it is bound to Janus's socket, not to the name); a missing path (Janus stopped or
restarting) fails a connection attempt with ``TransportError``, which recovery retries until
Janus binds the path again or ``max_retries`` runs out.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import logging
import os
import shutil
import socket
import stat
import tempfile
import weakref
from typing import Any
from urllib.parse import unquote, urlsplit

from janus_fast._compat import timeout
from janus_fast._core import JanusCore
from janus_fast.errors import (
    ConnectionClosedError,
    InvalidMessageError,
    InvalidOptionError,
    InvalidURLError,
    QueueFullError,
    TransportError,
)
from janus_fast.redact import redact_url
from janus_fast.transports._packet import PacketTransport
from janus_fast.transports._recovery import Reconnector

logger = logging.getLogger("janus_fast.transport.unix")

#: URL schemes and the socket type each stands for. ``unix://`` is Janus's default type.
SCHEMES: dict[str, int] = {
    "unix": socket.SOCK_SEQPACKET,
    "unix+seqpacket": socket.SOCK_SEQPACKET,
    "unix+dgram": socket.SOCK_DGRAM,
}
#: Largest request pfunix accepts: Janus 1.1.2 reads each packet into an 8192-byte buffer and
#: NUL-terminates it (a longer packet is truncated and dropped, or overflows by one byte).
MAX_REQUEST_SIZE = 8191
#: The read buffer (capped by ``max_message_size``): Janus cannot send a datagram larger than
#: its socket's send buffer (``net.core.wmem_default``, 208 KiB by default).
_READ_BUFFER_SIZE = 256 * 1024
#: Packets read per wake-up before the loop serves others (the socket stays readable).
_READS_PER_WAKE = 64
#: ``sun_path`` holds 108 bytes with its NUL.
_MAX_PATH = 107
_TYPE_NAMES: dict[int, str] = {
    socket.SOCK_SEQPACKET: "SOCK_SEQPACKET",
    socket.SOCK_DGRAM: "SOCK_DGRAM",
}


def parse_unix_url(url: str) -> tuple[int, str]:
    """Parse and check a Unix-socket URL.

    Args:
        url: ``unix:///path``, ``unix+seqpacket:///path`` or ``unix+dgram:///path``.

    Returns:
        ``(socket type, path)``: ``socket.SOCK_SEQPACKET`` or ``socket.SOCK_DGRAM``, and the
        socket's path.

    Raises:
        InvalidURLError: Not a Unix-socket URL: bad syntax or scheme, a host, a query or fragment,
            or an empty path; the message shows the URL only redacted.
    """
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        raise InvalidURLError(f"malformed URL {shown!r}") from None
    kind = SCHEMES.get(parts.scheme)
    if kind is None:
        raise InvalidURLError(f"URL {shown!r} must use one of {', '.join(SCHEMES)}")
    if parts.netloc not in ("", "localhost"):
        raise InvalidURLError(
            f"URL {shown!r} names a host; a Unix socket URL is unix:///path/to/socket"
        )
    if parts.query or parts.fragment:
        raise InvalidURLError(f"URL {shown!r}: a Unix socket URL has no query or fragment")
    path = unquote(parts.path)
    _check_path(path, f"URL {shown!r}", InvalidURLError)
    return kind, path


def _check_path(path: str, what: str, error: type[Exception]) -> None:
    if not path or "\0" in path:
        raise error(f"{what} has no socket path")
    if len(os.fsencode(path)) > _MAX_PATH:
        raise error(f"{what}: the socket path is longer than {_MAX_PATH} bytes")


def _remove_client_files(path: str | None, folder: str | None) -> None:
    """Remove the client's bound socket (and the private folder made for it)."""
    if path is not None:
        with contextlib.suppress(OSError):
            os.unlink(path)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


class JanusTransportUnix(PacketTransport):
    """Janus's Unix-socket transport (pfunix), ``SOCK_SEQPACKET`` or ``SOCK_DGRAM``.

    Args:
        base_url: ``unix:///path`` or ``unix+seqpacket:///path`` (Janus ``type =
            "SOCK_SEQPACKET"``, its default) or ``unix+dgram:///path`` (``"SOCK_DGRAM"``).
        api_secret: Janus's ``api_secret`` (never logged).
        token: a Janus auth token (never logged).
        client_path: ``SOCK_DGRAM`` only: where to bind the client's own socket (default: a
            fresh private folder); removed on ``disconnect()``.
        **kwargs: transport options (``TransportOptions``); ``ssl``/``ca_file`` are refused.

    """

    _core: JanusCore

    def __init__(
        self,
        base_url: str = "",
        api_secret: str | None = None,
        token: str | None = None,
        *,
        client_path: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self._kind, self._path = parse_unix_url(base_url)
        self._client_option = os.fspath(client_path) if client_path is not None else None
        if self._client_option is not None:
            if self._kind != socket.SOCK_DGRAM:
                raise InvalidOptionError("client_path is for unix+dgram:// URLs only")
            _check_path(self._client_option, "client_path", InvalidOptionError)
        self._sock: socket.socket | None = None
        #: The client's bound socket path now, and the private folder made for it (DGRAM).
        self._client_path: str | None = None
        self._client_folder: str | None = None
        self._cleanup: weakref.finalize[Any, Any] | None = None
        #: Packets the socket could not take yet (bounded by ``queue_size``).
        self._writes: collections.deque[bytes] = collections.deque()
        self._writer_armed = False
        self._oversized = 0
        super().__init__(base_url, api_secret, token, **kwargs)
        #: Shown in reprs, logs and errors: the scheme and the path (a Unix socket URL has no
        #: host, user info or query; ``redact_url`` would print ``unix:/path``).
        self._base_url = f"{urlsplit(base_url).scheme}://{self._path}"
        if self.options.ssl not in (None, False) or self.options.ca_file:
            raise InvalidOptionError("ssl/ca_file were given for a Unix socket URL (no TLS there)")
        self._view = memoryview(bytearray(min(self.options.max_message_size, _READ_BUFFER_SIZE)))
        #: Reconnection, the outage queue and session recovery (``transports/_recovery.py``).
        self._recovery = Reconnector(
            self._recovery_link(self._open_socket, self._close_socket, self._send_now),
            self.options,
            self._base_url,
        )

    # -- identity --------------------------------------------------------------------------------
    @property
    def socket_type(self) -> str:
        """``"SOCK_SEQPACKET"`` or ``"SOCK_DGRAM"`` (Janus's ``type``/``admin_type``)."""
        return _TYPE_NAMES[self._kind]

    @property
    def path(self) -> str:
        """Janus's socket path."""
        return self._path

    @property
    def client_path(self) -> str | None:
        """``SOCK_DGRAM``: the path of the client's bound socket now (None when closed)."""
        return self._client_path

    @property
    def reconnecting(self) -> bool:
        """True while the connection is down and being re-established."""
        return self._recovery.active

    def _transport_stats(self) -> dict[str, int]:
        return {
            "open_connections": int(self._sock is not None),
            "queued_writes": len(self._writes),
            "oversized": self._oversized,
        }

    # -- connection ------------------------------------------------------------------------------
    async def _connect(self) -> None:
        self._recovery.clear()
        try:
            await self._open_socket()
        except BaseException:
            self._release_client()
            raise

    async def _open_socket(self) -> None:
        """Open a new socket connected to Janus's, within ``connect_timeout``.

        In DGRAM mode it is bound to the client's path first.

        Raises:
            TransportError: The connection failed or timed out.
        """
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._close_socket()
        sock = socket.socket(socket.AF_UNIX, self._kind)
        sock.setblocking(False)
        try:
            if self._kind == socket.SOCK_DGRAM:
                self._bind_client(sock)
            async with timeout(self.options.connect_timeout):
                await loop.sock_connect(sock, self._path)
            if self._client_path is not None:
                # Janus (maybe another user) must be able to send to it; connected to Janus's
                # socket, it takes datagrams from nobody else.
                os.chmod(self._client_path, 0o666)
        except asyncio.TimeoutError:
            sock.close()
            self._unlink_client()
            raise TransportError(
                f"connecting to {self._base_url} timed out after {self.options.connect_timeout} s"
            ) from None
        except OSError as exc:
            sock.close()
            self._unlink_client()
            raise TransportError(f"cannot connect to {self._base_url}: {self._why(exc)}") from exc
        except BaseException:
            sock.close()
            self._unlink_client()
            raise
        self._sock = sock
        loop.add_reader(sock.fileno(), self._on_readable, sock)
        self._start_pinger(sock)

    def _why(self, exc: OSError) -> str:
        if exc.errno == errno.EPROTOTYPE:
            other = "unix+dgram" if self._kind == socket.SOCK_SEQPACKET else "unix+seqpacket"
            return (
                f"the socket is not {self.socket_type} (Janus's pfunix type setting); "
                f"use a {other}:// URL"
            )
        if exc.errno == errno.ENOENT:
            return (
                "no socket at that path (Janus is not running, is restarting, or its pfunix "
                "path setting differs)"
            )
        if exc.errno == errno.ECONNREFUSED:
            return "nobody serves the socket at that path (Janus stopped without removing it)"
        return exc.strerror or str(exc)

    def _bind_client(self, sock: socket.socket) -> None:
        """Bind the client's own socket (DGRAM): Janus answers to the sender's path."""
        path = self._client_path
        if path is None:
            if self._client_option is not None:
                path = self._client_option
                _claim_path(path)
            else:
                folder = tempfile.mkdtemp(prefix="janus-fast-")
                os.chmod(folder, 0o711)  # Janus may run as another user: it needs to reach it
                self._client_folder = folder
                path = os.path.join(folder, "client.sock")
                _check_path(path, "the client socket", TransportError)
            self._client_path = path
            self._cleanup = weakref.finalize(self, _remove_client_files, path, self._client_folder)
        else:
            _remove_client_files(path, None)  # this transport's previous socket
        sock.bind(path)

    def _unlink_client(self) -> None:
        """Remove the bound socket file of a socket that did not connect (kept: the folder)."""
        _remove_client_files(self._client_path, None)

    def _release_client(self) -> None:
        """Remove the client's socket file and private folder (disconnected, or given up)."""
        cleanup, self._cleanup = self._cleanup, None
        if cleanup is not None:
            cleanup()
        self._client_path = self._client_folder = None

    async def _disconnect(self) -> None:
        self._recovery.stop(ConnectionClosedError(None, "transport disconnected"))
        self._close_socket()
        self._release_client()

    def _close_socket(self) -> None:
        """Drop the current socket, if any, with its queued packets and its pinger."""
        self._stop_pinger()
        sock, self._sock = self._sock, None
        self._writes.clear()
        if sock is None:
            return
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.remove_reader(sock.fileno())
            if self._writer_armed:
                loop.remove_writer(sock.fileno())
        self._writer_armed = False
        sock.close()

    # -- socket callbacks ------------------------------------------------------------------------
    def _on_readable(self, sock: socket.socket) -> None:
        if sock is not self._sock:
            return
        view, core = self._view, self._core
        size = len(view)
        lost: str | None = None
        got = False
        for _ in range(_READS_PER_WAKE):
            try:
                count = sock.recv_into(view, 0, socket.MSG_TRUNC)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                lost = f"reading the Unix socket failed: {exc.strerror or exc}"
                break
            if count == 0:
                if self._kind == socket.SOCK_SEQPACKET:
                    lost = "Janus closed the Unix socket"
                    break
                continue  # an empty datagram: nothing to read
            if count > size:
                self._on_oversized(count, size)
                continue
            core.receive_message(view[:count].tobytes())
            got = True
        if got:
            self._dispatch()
        if lost is not None:
            self._socket_lost(sock, lost)

    def _on_oversized(self, count: int, size: int) -> None:
        """Count, log and drop a packet the kernel cut (longer than the read buffer).

        Its request, if any, fails at its deadline.

        Args:
            count: The packet's full length.
            size: The read buffer's size.
        """
        self._oversized += 1
        self.stats_malformed += 1
        self._log_malformed(
            f"a {count}-byte message, longer than the read buffer ({size} bytes; "
            "max_message_size), was dropped"
        )

    def _on_writable(self, sock: socket.socket) -> None:
        if sock is not self._sock:
            return
        writes = self._writes
        while writes:
            try:
                sock.send(writes[0])
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._socket_lost(sock, f"writing to the Unix socket failed: {exc.strerror or exc}")
                return
            writes.popleft()
        assert self._loop is not None
        self._loop.remove_writer(sock.fileno())
        self._writer_armed = False

    def _write(self, data: bytes) -> None:
        """Send one packet now, or queue it (bounded) until the socket can take it.

        Raises:
            InvalidMessageError: longer than pfunix reads (``MAX_REQUEST_SIZE``).
            QueueFullError: ``queue_size`` packets already wait for the socket.
            ConnectionClosedError: the socket is gone (the loss is reported first).

        """
        if len(data) > MAX_REQUEST_SIZE:
            raise InvalidMessageError(
                f"a request of {len(data)} bytes is longer than Janus's Unix-socket transport "
                f"reads ({MAX_REQUEST_SIZE} bytes at most; Janus would drop it without an "
                "answer): send it over WebSocket or HTTP"
            )
        sock = self._sock
        if sock is None:
            raise ConnectionClosedError(None, "the Unix socket is closed")
        if not self._writes:
            try:
                sock.send(data)
                return
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as exc:
                reason = f"sending on the Unix socket failed: {exc.strerror or exc}"
                self._socket_lost(sock, reason)
                raise ConnectionClosedError(None, reason) from None
        if len(self._writes) >= self.options.queue_size:
            raise QueueFullError(
                f"{len(self._writes)} requests already wait for the Unix socket "
                f"(queue_size={self.options.queue_size})"
            )
        self._writes.append(data)
        if not self._writer_armed:
            assert self._loop is not None
            self._loop.add_writer(sock.fileno(), self._on_writable, sock)
            self._writer_armed = True

    def _socket_lost(self, sock: socket.socket, reason: str) -> None:
        """Drop a failed socket; recovery takes over while the user wants the connection.

        If recovery is already at work, what it sent on that socket fails now.

        Args:
            sock: The socket that failed (ignored when no longer the current one).
            reason: Why, for the error.
        """
        if sock is not self._sock:
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

    # -- recovery's view of the transport ---------------------------------------------------------
    def _mark_down(self) -> None:
        """Recovery gave up: the transport is plainly disconnected, its client socket gone."""
        self.connected = False
        self._release_client()

    # -- liveness (PacketTransport pings) --------------------------------------------------------
    _log = logger

    def _live_link(self) -> socket.socket | None:
        return self._sock

    def _lose_link(self, link: Any, reason: str) -> None:
        self._socket_lost(link, reason)


def _claim_path(path: str) -> None:
    """Make ``path`` free for the client's socket.

    A socket nobody serves (left by a process that died) is removed.

    Args:
        path: The client socket's path.

    Raises:
        TransportError: Something other than a dead socket is there (a file, a live socket),
            or the path cannot be checked.
    """
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise TransportError(f"client_path {path!r}: {exc.strerror or exc}") from exc
    if not stat.S_ISSOCK(mode):
        raise TransportError(f"client_path {path!r} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect(path)
    except OSError as exc:
        if exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
            os.unlink(path)  # nobody serves it
            return
        # EPERM: a live socket connected to someone else (another client of Janus)
    finally:
        probe.close()
    raise TransportError(f"client_path {path!r} is in use by another socket")
