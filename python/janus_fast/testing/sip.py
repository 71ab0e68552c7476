"""A real SIP registrar/proxy for tests: Kamailio on a loopback UDP port, from a generated config.

Rule: like ``JanusServer``, nothing here is a mock and nothing is read from ``/etc``: the config
is written into a private folder (registrar + location lookup + record-routing proxy, nothing
else), the process listens on 127.0.0.1 only, is started by this module and stopped by its pid
(SIGTERM, then SIGKILL), and dies with its parent. Ready means it answered a SIP ``OPTIONS``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from janus_fast.testing._process import die_with_parent, log_tail, terminate

_STARTUP_TIMEOUT = 10.0
_STOP_TIMEOUT = 5.0
_MODULES = (
    "tm",
    "sl",
    "rr",
    "pv",
    "maxfwd",
    "usrloc",
    "registrar",
    "textops",
    "siputils",
    "sanity",
)


class SipServerError(RuntimeError):
    """Kamailio is missing, did not start, or did not answer in time."""


def pick_free_udp_port() -> int:
    """Pick a free UDP port on 127.0.0.1 (released before returning)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pick_free_sip_port(attempts: int = 50) -> int:
    """Find a port P of 127.0.0.1 with UDP P, TCP P and TCP P+1 free, all released again.

    baresip listens on all three: UDP, TCP and TLS.

    Args:
        attempts: candidate ports tried at most.

    Returns:
        The port P.

    Raises:
        SipServerError: no candidate was free.
    """
    for _ in range(attempts):
        port = pick_free_udp_port()
        sockets: list[socket.socket] = []
        try:
            for offset in (0, 1):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.bind(("127.0.0.1", port + offset))
            return port
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise SipServerError("no free SIP port pair on 127.0.0.1")


def kamailio_config(port: int, modules_dir: str) -> str:
    """Return a minimal kamailio.cfg.

    REGISTER is saved in memory, requests to a registered user are relayed to its contact
    (record-routed), in-dialog requests follow their route.

    Args:
        port: the UDP port Kamailio listens on (127.0.0.1).
        modules_dir: Kamailio's modules folder.

    Returns:
        The config text.
    """
    loads = "\n".join(f'loadmodule "{name}.so"' for name in _MODULES)
    return f"""#!KAMAILIO
debug=2
log_stderror=yes
children=2
tcp_children=1
disable_tcp=yes
auto_aliases=no
listen=udp:127.0.0.1:{port}
alias="127.0.0.1:{port}"
mpath="{modules_dir}"
{loads}
modparam("usrloc", "db_mode", 0)
modparam("registrar", "max_expires", 3600)

request_route {{
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if (!sanity_check()) {{
        exit;
    }}
    if (is_method("OPTIONS") && uri == myself && $rU == $null) {{
        sl_send_reply("200", "OK");
        exit;
    }}
    if (has_totag()) {{
        if (loose_route()) {{
            t_relay();
            exit;
        }}
        if (is_method("ACK")) {{
            if (t_check_trans()) {{
                t_relay();
            }}
            exit;
        }}
        sl_send_reply("404", "Not Here");
        exit;
    }}
    if (is_method("CANCEL")) {{
        if (t_check_trans()) {{
            t_relay();
        }}
        exit;
    }}
    if (is_method("REGISTER")) {{
        if (!save("location")) {{
            sl_reply_error();
        }}
        exit;
    }}
    if (uri == myself) {{
        if (!lookup("location")) {{
            sl_send_reply("404", "Not Found");
            exit;
        }}
    }}
    if (is_method("INVITE|SUBSCRIBE|REFER")) {{
        record_route();
    }}
    if (!t_relay()) {{
        sl_reply_error();
    }}
}}
"""


def find_kamailio() -> tuple[str, str]:
    """Find the ``kamailio`` binary and its modules folder; ``SipServerError`` if missing."""
    binary = os.environ.get("KAMAILIO_BINARY") or shutil.which("kamailio")
    if not binary or not os.access(binary, os.X_OK):
        raise SipServerError(
            f"kamailio is not installed or not executable ({binary or 'not on PATH'}; "
            "Debian: apt-get install kamailio)"
        )
    candidates = [
        *sorted(Path("/usr/lib").glob("*/kamailio/modules")),
        Path("/usr/lib/kamailio/modules"),
        Path("/usr/local/lib64/kamailio/modules"),
    ]
    for candidate in candidates:
        if (candidate / "registrar.so").exists():
            return binary, str(candidate)
    raise SipServerError("kamailio's modules folder (registrar.so) was not found")


def sip_options(address: tuple[str, int], request_uri: str, wait: float = 0.2) -> bytes:
    """Send one SIP ``OPTIONS`` for ``request_uri`` to ``address`` over UDP.

    Args:
        address: the SIP server's ``(host, port)``.
        request_uri: the request URI (``sip:user@host:port``).
        wait: seconds to wait for the reply.

    Returns:
        The first line of the reply; ``b""`` when none came within ``wait`` seconds.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(wait)
        local = sock.getsockname()[1]
        tag, branch = secrets.token_hex(4), "z9hG4bK" + secrets.token_hex(6)
        request = (
            f"OPTIONS {request_uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch={branch};rport\r\n"
            "Max-Forwards: 5\r\n"
            f"From: <sip:probe@127.0.0.1:{local}>;tag={tag}\r\n"
            f"To: <{request_uri}>\r\n"
            f"Call-ID: {secrets.token_hex(8)}@127.0.0.1\r\n"
            "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )
        deadline = time.monotonic() + wait
        try:
            sock.sendto(request.encode(), address)
            while True:  # skip provisional replies (100 Trying from a proxy)
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                reply = sock.recv(4096)
                if not reply.startswith(b"SIP/2.0 1"):
                    return reply.split(b"\r\n", 1)[0]
        except OSError:  # timeout, or refused while starting
            return b""


class Kamailio:
    """One local Kamailio (``with Kamailio() as sip:``): ``sip.port``, ``sip.uri(user)``.

    Args:
        folder: its config folder (default: a new temporary folder, removed on ``stop``).
    """

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        self._own_folder = folder is None
        self.folder = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="kamailio-"))
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        """Kamailio's process id (``RuntimeError`` when it is not running)."""
        if self._process is None:
            raise RuntimeError("kamailio is not running")
        return self._process.pid

    @property
    def address(self) -> str:
        """``127.0.0.1:port``: the host part of SIP URIs and the proxy to register at."""
        if self.port is None:
            raise RuntimeError("kamailio has not been started")
        return f"127.0.0.1:{self.port}"

    @property
    def proxy(self) -> str:
        """The proxy URI for a SIP client (``sip:127.0.0.1:port``)."""
        return f"sip:{self.address}"

    def uri(self, user: str) -> str:
        """Return the SIP URI of ``user`` in this registrar's domain."""
        return f"sip:{user}@{self.address}"

    @property
    def log_path(self) -> Path:
        """Kamailio's log file."""
        return self.folder / "kamailio.log"

    def log_tail(self, lines: int = 40) -> str:
        """Return the last ``lines`` lines of Kamailio's log."""
        return log_tail(self.log_path, lines)

    def start(self) -> Kamailio:
        """Start Kamailio on a free UDP port and wait until it answers ``OPTIONS``.

        Returns:
            The registrar itself.

        Raises:
            SipServerError: Kamailio is not installed, exited, or did not answer in time.
        """
        binary, modules = find_kamailio()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = pick_free_udp_port()
        config = self.folder / "kamailio.cfg"
        config.write_text(kamailio_config(self.port, modules))
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._log = log
        command = [binary, "-f", str(config), "-DD", "-E", "-m", "16", "-M", "4"]
        command += ["-Y", str(self.folder), "-P", str(self.folder / "kamailio.pid")]
        command += ["-w", str(self.folder)]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.folder,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while True:
            process = self._process
            if process is None or process.poll() is not None:
                code = None if process is None else process.returncode
                raise SipServerError(f"kamailio exited with {code}:\n{self.log_tail()}")
            if self._answers_options():
                return
            if time.monotonic() > deadline:
                raise SipServerError(f"kamailio did not answer OPTIONS:\n{self.log_tail()}")

    def _answers_options(self) -> bool:
        return sip_options(("127.0.0.1", self.port or 0), self.proxy).startswith(b"SIP/2.0 200")

    def reaches(self, user: str) -> bool:
        """Tell whether ``user`` is registered here and its client is up.

        Args:
            user: the SIP user name.

        Returns:
            Whether an ``OPTIONS`` to ``user`` was relayed to its client and answered with 200.
        """
        reply = sip_options(("127.0.0.1", self.port or 0), self.uri(user))
        return reply.startswith(b"SIP/2.0 200")

    def stop(self) -> None:
        """Stop Kamailio: SIGTERM (SIGKILL after 5 s) to our pid; the workers exit with it."""
        process, self._process = self._process, None
        terminate(process, _STOP_TIMEOUT)
        log, self._log = self._log, None
        if log is not None:
            log.close()
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Kamailio:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def find_baresip() -> tuple[str, str]:
    """Find the ``baresip`` binary (``$BARESIP_BINARY``, then ``PATH``) and its modules folder.

    Returns:
        ``(binary, modules_dir)``.

    Raises:
        SipServerError: baresip or its modules folder is missing.
    """
    binary = os.environ.get("BARESIP_BINARY") or shutil.which("baresip")
    if not binary or not os.access(binary, os.X_OK):
        raise SipServerError(
            f"baresip is not installed or not executable ({binary or 'not on PATH'}; "
            "Debian: apt-get install baresip)"
        )
    for candidate in (Path("/usr/lib/baresip/modules"), Path("/usr/local/lib/baresip/modules")):
        if (candidate / "ausine.so").exists():
            return binary, str(candidate)
    raise SipServerError("baresip's modules folder (ausine.so) was not found")


class Baresip:
    """A real SIP user agent (baresip) registered at a ``Kamailio`` as ``user``.

    It answers every call at once and sends a sine of ``tone_hz`` (its ``ausine`` source),
    media on 127.0.0.1. ``with Baresip(kamailio, "carol") as carol:``; ``carol.uri`` is its
    address. Its log (``log_text()``, complete once stopped) tells what it received.

    Args:
        registrar: the ``Kamailio`` to register at.
        user: the SIP user name.
        tone_hz: the frequency of the tone it sends.
        folder: its config folder (default: a new temporary folder, removed on ``close``).
    """

    def __init__(
        self,
        registrar: Kamailio,
        user: str,
        *,
        tone_hz: int = 880,
        folder: str | os.PathLike[str] | None = None,
    ) -> None:
        self.registrar = registrar
        self.user = user
        self.tone_hz = tone_hz
        self._own_folder = folder is None
        self.folder = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="baresip-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def uri(self) -> str:
        """Its SIP URI at the registrar."""
        return self.registrar.uri(self.user)

    @property
    def pid(self) -> int:
        """The baresip process id (``RuntimeError`` when it is not running)."""
        if self._process is None:
            raise RuntimeError("baresip is not running")
        return self._process.pid

    @property
    def log_path(self) -> Path:
        """The baresip log file."""
        return self.folder / "baresip.log"

    def log_text(self) -> str:
        """Return its log so far (baresip buffers it: complete after ``stop()``)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"

    def _write_config(self, modules: str) -> None:
        port = pick_free_sip_port()
        tone = f"ausine,{self.tone_hz}"
        lines = [
            "poll_method epoll",
            f"sip_listen 127.0.0.1:{port}",
            "net_interface 127.0.0.1",
            f"audio_source {tone}",
            f"audio_player {tone}",  # baresip needs a player; nothing is played anywhere
            f"audio_alert {tone}",
            "ausrc_srate 48000",
            "auplay_srate 48000",
            "ausrc_channels 2",
            "auplay_channels 2",
            f"module_path {modules}",
            "module g711.so",
            "module opus.so",
            "module ausine.so",
            "module_app account.so",
        ]
        (self.folder / "config").write_text("\n".join(lines) + "\n")
        account = f"<{self.uri}>;auth_pass=unused;regint=300;answermode=auto"
        (self.folder / "accounts").write_text(account + "\n")

    def start(self, timeout: float = _STARTUP_TIMEOUT) -> Baresip:
        """Start baresip and wait until it is registered and answers.

        Args:
            timeout: seconds to wait for the registration.

        Returns:
            The user agent itself.

        Raises:
            SipServerError: baresip is not installed, exited, or did not register in time.
        """
        binary, modules = find_baresip()
        self.folder.mkdir(parents=True, exist_ok=True)
        self._write_config(modules)
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._log = log
        self._process = subprocess.Popen(
            [binary, "-f", str(self.folder), "-v"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.folder,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        try:
            deadline = time.monotonic() + timeout
            while not self.registrar.reaches(self.user):  # registered, and answering
                process = self._process
                if process is None or process.poll() is not None:
                    raise SipServerError(f"baresip exited:\n{self.log_text()[-2000:]}")
                if time.monotonic() > deadline:
                    raise SipServerError(f"baresip did not register within {timeout} s")
                time.sleep(0.05)
        except BaseException:
            self.stop(remove=False)
            raise
        return self

    def stop(self, *, remove: bool = False) -> None:
        """Stop baresip: SIGTERM (SIGKILL after 5 s) to our pid.

        Args:
            remove: also remove its folder (and log), if this object created it; otherwise it
                stays until ``close()``.
        """
        process, self._process = self._process, None
        terminate(process, _STOP_TIMEOUT)
        log, self._log = self._log, None
        if log is not None:
            log.close()
        if remove and self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def close(self) -> None:
        """Stop baresip and remove its folder (if this object created it)."""
        self.stop(remove=True)

    def __enter__(self) -> Baresip:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
