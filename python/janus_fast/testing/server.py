"""Run a real Janus on loopback for tests: start from a generated folder, prove it, stop by pid.

Rule: a ``JanusServer`` owns exactly one Janus process. It is started from a private config folder,
identified by a unique ``server_name`` and by the listening sockets its pid holds, and stopped by
that pid (SIGTERM, then SIGKILL) — never by name. Processes are also killed when the Python process
exits (``atexit``) or dies (``PR_SET_PDEATHSIG``), so none is left behind.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import weakref
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from janus_fast.testing._ports import pick_free_ports, port_is_free, ports_owned_by
from janus_fast.testing._process import die_with_parent, log_tail, terminate
from janus_fast.testing.config import (
    JanusConfig,
    Ports,
    UnixSocketType,
    unix_socket_paths,
    write_config_folder,
)
from janus_fast.testing.install import JanusInstallError, binary_version, modules_dir_for

if TYPE_CHECKING:
    from typing_extensions import Self

INSTALL_HINT = (
    "install it with `apt-get install -y janus` (Debian/Ubuntu; the project's `make setup` "
    "does this), or point JANUS_BINARY at a janus executable"
)
_BINARY_CANDIDATES = ("/usr/bin/janus", "/usr/local/bin/janus", "/opt/janus/bin/janus")
_STARTUP_TIMEOUT = 15.0
_STOP_TIMEOUT = 5.0
_live_servers: weakref.WeakSet[JanusServer] = weakref.WeakSet()


_SOCKET_TYPES: dict[str, int] = {
    "SOCK_SEQPACKET": socket.SOCK_SEQPACKET,
    "SOCK_DGRAM": socket.SOCK_DGRAM,
}


def _unix_url(kind: UnixSocketType, path: Path) -> str:
    scheme = "unix+dgram" if kind == "SOCK_DGRAM" else "unix+seqpacket"
    return f"{scheme}://{urllib.parse.quote(str(path))}"


class JanusNotInstalledError(RuntimeError):
    """The janus binary could not be found."""


class JanusStartError(RuntimeError):
    """Janus did not come up (it exited, or its listeners were not its own)."""


class JanusVersionError(JanusStartError):
    """The running Janus is not the version meant to run (the instance is stopped)."""

    def __init__(self, message: str, *, running: str | None, expected: str | None) -> None:
        super().__init__(message)
        #: The ``version_string`` the server reported in ``info`` (None if unreadable).
        self.running = running
        #: What it should have been: ``JanusConfig.expect_version`` or the binary's ``--version``.
        self.expected = expected


def find_janus_binary(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Locate janus: the argument, then ``$JANUS_BINARY``, then ``PATH``, then defaults."""
    for candidate in (explicit, os.environ.get("JANUS_BINARY")):
        if candidate:
            path = Path(candidate)
            if path.is_file() and os.access(path, os.X_OK):
                return path
            raise JanusNotInstalledError(
                f"janus binary {str(path)!r} is not an executable file; {INSTALL_HINT}"
            )
    found = shutil.which("janus")
    if found:
        return Path(found)
    for default in _BINARY_CANDIDATES:
        if os.access(default, os.X_OK):
            return Path(default)
    raise JanusNotInstalledError(f"the janus binary was not found; {INSTALL_HINT}")


@atexit.register
def _stop_all_at_exit() -> None:
    for server in list(_live_servers):
        server.stop()


class JanusServer:
    """One local Janus instance. Use ``with JanusServer() as janus:`` or ``async with``.

    Args:
        config: the instance's settings (default: ``JanusConfig()``).
        binary: the janus executable (default: ``$JANUS_BINARY``, then ``PATH``).
        folder: the config folder (default: a new temporary folder, removed on stop).
        keep_folder: keep the folder after stopping.
        detached: the instance outlives this Python process (implies ``keep_folder``).

    Raises:
        JanusNotInstalledError: no Janus binary, or no modules folder next to it.
    """

    def __init__(
        self,
        config: JanusConfig | None = None,
        *,
        binary: str | os.PathLike[str] | None = None,
        folder: str | os.PathLike[str] | None = None,
        keep_folder: bool = False,
        detached: bool = False,
    ) -> None:
        self.config = config or JanusConfig()
        self.binary = find_janus_binary(binary)
        try:
            #: Where plugins/, transports/, events/ and loggers/ are loaded from.
            self.modules_dir = (
                Path(self.config.modules_dir)
                if self.config.modules_dir
                else modules_dir_for(self.binary)
            )
        except JanusInstallError as exc:
            raise JanusNotInstalledError(str(exc)) from exc
        #: The ``version_string`` of the running server (set when it has started).
        self.version: str | None = None
        self._binary_version: str | None = None
        self.server_name = f"janus-fast-{uuid.uuid4().hex[:12]}"
        self._own_folder = folder is None
        self.folder = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="janus-fast-"))
        self.keep_folder = keep_folder or detached
        #: A detached instance outlives this Python process (``make janus-up``).
        self.detached = detached
        self.ports: Ports | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None
        self._log_start = 0

    # -- public facts --------------------------------------------------------------------------
    @property
    def pid(self) -> int:
        """The Janus process id (``RuntimeError`` when it is not running)."""
        if self._process is None:
            raise RuntimeError("Janus is not running")
        return self._process.pid

    @property
    def running(self) -> bool:
        """Whether the Janus process is alive."""
        return self._process is not None and self._process.poll() is None

    def _require_ports(self) -> Ports:
        if self.ports is None:
            raise RuntimeError("Janus has not been started")
        return self.ports

    @property
    def http_url(self) -> str:
        """The Janus API over HTTP (``RuntimeError`` before ``start``)."""
        return f"http://127.0.0.1:{self._require_ports().http}/janus"

    @property
    def ws_url(self) -> str:
        """The Janus API over WebSocket (``RuntimeError`` before ``start``)."""
        return f"ws://127.0.0.1:{self._require_ports().ws}"

    @property
    def admin_http_url(self) -> str:
        """The Admin API over HTTP (``RuntimeError`` before ``start``)."""
        return f"http://127.0.0.1:{self._require_ports().admin_http}/admin"

    @property
    def admin_ws_url(self) -> str:
        """The Admin API over WebSocket (``RuntimeError`` before ``start``)."""
        return f"ws://127.0.0.1:{self._require_ports().admin_ws}"

    @property
    def https_url(self) -> str:
        """The Janus API over HTTPS (``JanusConfig.tls``; else ``RuntimeError``)."""
        port = self._require_ports().https
        if port is None:
            raise RuntimeError("this instance has no TLS listener (JanusConfig.tls)")
        return f"https://localhost:{port}/janus"

    @property
    def wss_url(self) -> str:
        """The Janus API over secure WebSocket (``JanusConfig.tls``; else ``RuntimeError``)."""
        port = self._require_ports().wss
        if port is None:
            raise RuntimeError("this instance has no TLS listener (JanusConfig.tls)")
        return f"wss://localhost:{port}"

    @property
    def unix_url(self) -> str:
        """The Janus API over pfunix (``JanusConfig.unix_socket``; else ``RuntimeError``).

        ``unix+seqpacket://`` or ``unix+dgram://`` and the socket's path.
        """
        kind = self._require_unix().unix_socket
        assert kind is not None
        return _unix_url(kind, unix_socket_paths(self.folder)[0])

    @property
    def unix_admin_url(self) -> str:
        """The Admin API over pfunix (for ``JanusAdminMonitorClient``)."""
        config = self._require_unix()
        kind = config.unix_admin_socket or config.unix_socket
        assert kind is not None
        return _unix_url(kind, unix_socket_paths(self.folder)[1])

    def _require_unix(self) -> JanusConfig:
        if self.config.unix_socket is None:
            raise RuntimeError(
                "this instance has no Unix-socket transport (JanusConfig.unix_socket)"
            )
        return self.config

    @property
    def admin_secret(self) -> str:
        """The instance's ``admin_secret``."""
        return self.config.admin_secret

    @property
    def api_secret(self) -> str | None:
        """The instance's ``api_secret`` (None: none required)."""
        return self.config.api_secret

    @property
    def log_path(self) -> Path:
        """Janus's log file."""
        return self.folder / "janus.log"

    def log_tail(self, lines: int = 40) -> str:
        """Return the last ``lines`` lines of Janus's log."""
        return log_tail(self.log_path, lines)

    def __repr__(self) -> str:
        state = f"pid={self._process.pid}" if self.running and self._process else "stopped"
        return f"<JanusServer {self.server_name} {state} version={self.version} ports={self.ports}>"

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Self:
        """Start Janus and wait until all its listeners answer; retried on a port race.

        Nothing happens if it is already running. With ``JanusConfig.nanomsg_api`` set, a start
        whose Nanomsg transport lost Janus 1.1.2's start-up race (its thread ended: nothing would
        ever answer on the socket) is retried too.

        Returns:
            The server itself.

        Raises:
            JanusVersionError: the server's ``info`` version is not the binary's ``--version``
                or not ``JanusConfig.expect_version`` (nothing is left running).
            JanusStartError: Janus did not start after 3 attempts (8 with the Nanomsg or
                Unix-socket transport on).
        """
        if self.running:
            return self
        self._read_binary_version()
        last_error: Exception | None = None
        attempts = self._start_attempts()
        for _attempt in range(attempts):
            if self.ports is None or not all(port_is_free(p) for p in self.ports.all()):
                self.ports = self._fresh_ports()
            self._spawn()
            try:
                for _ in self._wait_ready_steps():
                    time.sleep(0.02)
            except JanusStartError as exc:
                last_error = exc
                self._terminate()
                continue
            if not self._nanomsg_serves():
                last_error = JanusStartError("its Nanomsg transport's thread ended at start")
                self._terminate()
                continue
            self._after_ready()
            return self
        raise JanusStartError(f"Janus did not start after {attempts} attempts: {last_error}")

    async def astart(self) -> Self:
        """Start as ``start()`` does, for event loops: the readiness polling yields to the loop.

        Returns:
            The server itself.

        Raises:
            JanusVersionError: as ``start()``.
            JanusStartError: Janus did not start after 3 attempts (8 with the Nanomsg or
                Unix-socket transport on).
        """
        if self.running:
            return self
        await asyncio.get_running_loop().run_in_executor(None, self._read_binary_version)
        last_error: Exception | None = None
        attempts = self._start_attempts()
        for _attempt in range(attempts):
            if self.ports is None or not all(port_is_free(p) for p in self.ports.all()):
                self.ports = self._fresh_ports()
            self._spawn()
            try:
                for _ in self._wait_ready_steps():
                    await asyncio.sleep(0.02)
            except JanusStartError as exc:
                last_error = exc
                self._terminate()
                continue
            if not await asyncio.get_running_loop().run_in_executor(None, self._nanomsg_serves):
                last_error = JanusStartError("its Nanomsg transport's thread ended at start")
                self._terminate()
                continue
            self._after_ready()
            return self
        raise JanusStartError(f"Janus did not start after {attempts} attempts: {last_error}")

    def stop(self) -> None:
        """Stop the process by pid and wait until its ports are free again."""
        self._terminate()
        if self.ports is not None:
            deadline = time.monotonic() + _STOP_TIMEOUT
            while time.monotonic() < deadline and not all(
                port_is_free(p) for p in self.ports.all()
            ):
                time.sleep(0.02)
        if self._own_folder and not self.keep_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def restart(self) -> Self:
        """Stop, then start again on the same ports (sessions are lost, as with a real restart)."""
        self._terminate()
        return self.start()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the Janus pid (fault injection); ``stop()`` still cleans up."""
        if self._process is not None and self._process.poll() is None:
            os.kill(self._process.pid, sig)
            if sig in (signal.SIGKILL, signal.SIGTERM):
                self._process.wait(timeout=_STOP_TIMEOUT)

    # -- context managers ----------------------------------------------------------------------
    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await self.astart()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- helpers for tests -----------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """Return the server's ``info`` (``GET /janus/info`` over HTTP, stdlib only)."""
        with urllib.request.urlopen(f"{self.http_url}/info", timeout=5) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result

    def admin_request(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST one Admin API request (``admin_secret`` and a transaction added)."""
        payload = {"transaction": uuid.uuid4().hex, "admin_secret": self.admin_secret, **body}
        request = urllib.request.Request(
            self.admin_http_url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result

    # -- internals -------------------------------------------------------------------------------
    def _fresh_ports(self) -> Ports:
        tls = self.config.tls is not None
        numbers = pick_free_ports(6 if tls else 4)
        return Ports(
            http=numbers[0],
            ws=numbers[1],
            admin_http=numbers[2],
            admin_ws=numbers[3],
            https=numbers[4] if tls else None,
            wss=numbers[5] if tls else None,
        )

    def _spawn(self) -> None:
        ports = self._require_ports()
        main_config = write_config_folder(
            self.config, self.folder, ports, self.server_name, self.modules_dir
        )
        if self._log_file is not None:  # the log of a process that was kill()ed
            self._log_file.close()
        self._log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed in _terminate
        self._log_start = self._log_file.tell()  # where this run's log begins
        self._process = subprocess.Popen(
            [str(self.binary), "-F", str(self.folder), "-C", str(main_config), "-o"],
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            cwd=self.folder,
            start_new_session=True,
            preexec_fn=None if self.detached else die_with_parent,
        )
        if not self.detached:
            _live_servers.add(self)

    def _wait_ready_steps(self) -> Iterator[None]:
        """Yield between readiness checks; raise JanusStartError on exit or timeout."""
        ports = self._require_ports().all()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while True:
            process = self._process
            if process is None or process.poll() is not None:
                code = None if process is None else process.returncode
                raise JanusStartError(
                    f"janus exited with {code} during startup:\n{self.log_tail()}"
                )
            owned = ports_owned_by(process.pid, ports)
            if all(owned.values()) and self._answers_as_itself() and self._unix_sockets_ready():
                return
            if self.config.unix_socket is not None and self._pfunix_thread_ended():
                raise JanusStartError(
                    "Janus's Unix Sockets thread ended as it started (pfunix's start-up race); "
                    "its sockets are gone"
                )
            if time.monotonic() > deadline:
                missing = [port for port, ok in owned.items() if not ok]
                raise JanusStartError(
                    f"janus pid {process.pid} did not listen on ports {missing} within "
                    f"{_STARTUP_TIMEOUT} s:\n{self.log_tail()}"
                )
            yield None

    def _answers_as_itself(self) -> bool:
        try:
            return self.info().get("server-name") == self.server_name
        except (OSError, ValueError, urllib.error.URLError):
            return False

    def _pfunix_thread_ended(self) -> bool:
        """Whether this run's log says pfunix's thread ended.

        Janus 1.1.2 starts that thread before it marks the transport initialized; a thread that
        looks first ends at once and unlinks the sockets, so they never become ready: better to
        restart now than to wait for the start-up timeout.

        Returns:
            True when ``Unix Sockets thread ended`` is in the log since this process started.
        """
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_start)
                return b"Unix Sockets thread ended" in log.read()
        except OSError:
            return False

    def _unix_sockets_ready(self) -> bool:
        """Pfunix's sockets take a connection (its thread may start after the HTTP listener)."""
        config = self.config
        if config.unix_socket is None:
            return True
        kinds = (config.unix_socket, config.unix_admin_socket or config.unix_socket)
        for kind, path in zip(kinds, unix_socket_paths(self.folder), strict=True):
            probe = socket.socket(socket.AF_UNIX, _SOCKET_TYPES[kind])
            try:
                probe.connect(str(path))
            except OSError:
                return False
            finally:
                probe.close()
        return True

    def _read_binary_version(self) -> None:
        if self._binary_version is None:
            try:
                self._binary_version = binary_version(self.binary)
            except JanusInstallError as exc:
                raise JanusVersionError(
                    str(exc), running=None, expected=self.config.expect_version
                ) from exc

    def _check_version(self) -> None:
        """Check the server is what the binary says it is, and what the config expects."""
        running = self.info().get("version_string")
        self.version = running if isinstance(running, str) else None
        checks = (
            (self._binary_version, f"{self.binary} --version"),
            (self.config.expect_version, "JanusConfig.expect_version"),
        )
        for expected, source in checks:
            if expected is not None and running != expected:
                self.stop()
                raise JanusVersionError(
                    f"Janus reports version {running!r} in info, but {source} says "
                    f"{expected!r} (binary {self.binary}, modules {self.modules_dir})",
                    running=self.version,
                    expected=expected,
                )

    def _start_attempts(self) -> int:
        # Janus 1.1.2's Nanomsg transport loses a start-up race about one start in ten
        # (testing/nanomsg.py), and its Unix-socket transport one of its own (its thread ends
        # as it starts, seen three times in a row once): allow more starts when either is on.
        racy = self.config.nanomsg_api is not None or self.config.unix_socket is not None
        return 8 if racy else 3

    def _nanomsg_serves(self) -> bool:
        if self.config.nanomsg_api is None:
            return True
        from janus_fast.testing.nanomsg import nanomsg_thread_alive  # imports this module

        return nanomsg_thread_alive(self)

    def _after_ready(self) -> None:
        self._check_version()
        for token in self.config.stored_tokens:
            reply = self.admin_request({"janus": "add_token", "token": token})
            if reply.get("janus") != "success":
                self.stop()
                raise JanusStartError(f"could not add a stored token: {reply.get('error')}")

    def _terminate(self) -> None:
        process, self._process = self._process, None
        terminate(process, _STOP_TIMEOUT)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        _live_servers.discard(self)
