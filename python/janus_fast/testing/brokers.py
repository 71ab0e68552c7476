"""Real message brokers for event-handler tests, each from the Debian package, on loopback.

``MosquittoBroker`` (MQTT) and ``RabbitMQBroker`` (AMQP 0-9-1).

Rule: like ``JanusServer``: every file the broker reads is generated into a private folder, every
listener binds 127.0.0.1 on a free port, readiness is proven by the listening socket belonging to
the started process (read from ``/proc``), and it is stopped by pid (SIGTERM, then SIGKILL) —
including RabbitMQ's ``epmd``, which runs on a private port so that the one stopped is its own.
A broker is killed when the *thread* that started it ends (``PR_SET_PDEATHSIG``, so none outlives
the tests): start and restart it from a thread that lives as long as it should (not
``asyncio.to_thread``).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import types
from pathlib import Path
from typing import TYPE_CHECKING

from janus_fast.testing._ports import pick_free_ports, ports_owned_by
from janus_fast.testing._process import die_with_parent, log_tail

if TYPE_CHECKING:
    from typing_extensions import Self

_STOP_TIMEOUT = 15.0


class BrokerStartError(RuntimeError):
    """The broker is not installed, exited, or did not listen in time."""


def _descendants(pid: int) -> list[int]:
    """List ``pid`` and every process below it (from ``/proc/*/task/*/children``)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{current}/task"):
                with contextlib.suppress(OSError):
                    text = Path(f"/proc/{current}/task/{task}/children").read_text()
                    todo.extend(int(child) for child in text.split())
    return found


def _pids_named(name: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if Path(f"/proc/{entry}/comm").read_text().strip() == name:
                    pids.append(int(entry))
    return pids


def _stop_pid(pid: int, timeout: float = _STOP_TIMEOUT) -> None:
    """SIGTERM ``pid``, then SIGKILL after ``timeout`` s; returns once it is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists():
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
        time.sleep(0.05)


class _Broker:
    """Process bookkeeping shared by the brokers."""

    name = "broker"
    startup_timeout = 30.0

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix=f"janus-fast-{self.name}-"))
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: object = None
        self._argv: list[str] = []
        self._env: dict[str, str] | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise BrokerStartError(f"{self.name} is not running")
        return self._process.pid

    @property
    def log_path(self) -> Path:
        return self.folder / f"{self.name}.log"

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.log_path, lines, missing="")

    def _spawn(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        if shutil.which(argv[0]) is None:
            raise BrokerStartError(
                f"{argv[0]} is not installed (Debian: apt-get install mosquitto rabbitmq-server)"
            )
        self._argv, self._env = argv, env
        previous, self._log = self._log, None
        if previous is not None:  # a restart
            previous.close()  # type: ignore[attr-defined]
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._log = log
        self._process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.folder,
            env=env,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )

    def _ready(self) -> bool:
        """Beyond its listening socket, whether the broker is ready (subclasses refine it)."""
        return True

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            process = self._process
            if process is None or process.poll() is not None:
                code = None if process is None else process.returncode
                self.stop()
                raise BrokerStartError(f"{self.name} exited with {code}:\n{self.log_tail()}")
            owners = _descendants(process.pid)
            if (
                any(ports_owned_by(pid, (self.port,))[self.port] for pid in owners)
                and self._ready()
            ):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerStartError(
                    f"{self.name} did not listen on {self.port} in {self.startup_timeout} s:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.1)

    def _stop_process(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            _stop_pid(process.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=1)

    def restart(self) -> Self:
        """Stop the broker process and start it again on the same port(s).

        Same config and state folder: clients lose their link, their credentials stay valid.

        Returns:
            The broker itself.

        Raises:
            BrokerStartError: the broker was never started, or did not come back listening.
        """
        if not self._argv:
            raise BrokerStartError(f"{self.name} was never started")
        self._stop_process()
        self._spawn(self._argv, self._env)
        self._wait_listening()
        return self

    def stop(self) -> None:
        """Stop the broker process (SIGTERM, then SIGKILL) and close its log."""
        self._stop_process()
        log, self._log = self._log, None
        if log is not None:
            log.close()  # type: ignore[attr-defined]

    def __enter__(self) -> _Broker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class MosquittoBroker(_Broker):
    """``mosquitto`` on 127.0.0.1:``port`` with password auth (``username``/``password``).

    Args:
        username: the one broker user.
        password: its password (None: a new random one).
    """

    name = "mosquitto"
    startup_timeout = 10.0

    def __init__(self, username: str = "janus-fast", password: str | None = None) -> None:
        super().__init__()
        self.username = username
        self.password = password if password is not None else secrets.token_hex(12)

    def __repr__(self) -> str:
        return f"<MosquittoBroker port={self.port} username={self.username!r}>"

    def start(self) -> MosquittoBroker:
        """Write the config and password file, start ``mosquitto`` and wait until it listens.

        Returns:
            The broker itself.

        Raises:
            BrokerStartError: it exited or did not listen within ``startup_timeout``.
        """
        (self.port,) = pick_free_ports(1)
        passwords = self.folder / "passwords"
        passwords.write_text(f"{self.username}:{self.password}\n")
        passwords.chmod(0o600)
        # -U hashes the plain file in place: the password never appears on a command line.
        subprocess.run(
            ["mosquitto_passwd", "-U", str(passwords)], check=True, capture_output=True, timeout=10
        )
        conf = self.folder / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous false\n"
            f"password_file {passwords}\n"
            "persistence false\n"
            # As root it would switch to user "mosquitto", who cannot read this private folder.
            f"user {pwd.getpwuid(os.geteuid()).pw_name}\n"
            # Janus's requests and replies are small packets: send each at once (no Nagle delay).
            "set_tcp_nodelay true\n"
            "log_dest stdout\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
        )
        self._spawn(["mosquitto", "-c", str(conf)])
        self._wait_listening()
        return self

    def __enter__(self) -> MosquittoBroker:
        return self.start()


class RabbitMQBroker(_Broker):
    """``rabbitmq-server`` on 127.0.0.1:``port``: a private node, Mnesia dir and epmd.

    It has one user (``username``/``password``) on vhost ``/``. Starting takes several seconds.

    Args:
        username: the one broker user.
        password: its password (None: a new random one).
    """

    name = "rabbitmq"
    startup_timeout = 60.0

    def __init__(self, username: str = "janus-fast", password: str | None = None) -> None:
        super().__init__()
        self.username = username
        self.password = password if password is not None else secrets.token_hex(12)
        self.epmd_port = 0

    def __repr__(self) -> str:
        return f"<RabbitMQBroker port={self.port} username={self.username!r}>"

    def start(self) -> RabbitMQBroker:
        """Write the config, start a private RabbitMQ node and wait until it speaks AMQP.

        Returns:
            The broker itself.

        Raises:
            BrokerStartError: it exited or did not answer within ``startup_timeout``.
        """
        self.port, dist_port, self.epmd_port = pick_free_ports(3)
        folder = self.folder
        (folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            f"default_user = {self.username}\n"
            f"default_pass = {self.password}\n"
            "loopback_users = none\n"
            "log.console = true\nlog.console.level = warning\nlog.file = false\n"
        )
        (folder / "rabbitmq.conf").chmod(0o600)
        (folder / "enabled_plugins").write_text("[].\n")
        (folder / "rabbitmq-env.conf").write_text("")
        env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOME": str(folder),  # the Erlang cookie goes here
            "LANG": "C.UTF-8",
            "RABBITMQ_CONF_ENV_FILE": str(folder / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(folder / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(folder / "log"),
            "RABBITMQ_NODENAME": f"janus-fast-{secrets.token_hex(4)}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(dist_port),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }
        # Debian's /usr/sbin wrapper switches to user "rabbitmq" (who cannot write this private
        # folder): run the server script itself.
        direct = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
        self._spawn([str(direct) if direct.exists() else "rabbitmq-server"], env)
        self._wait_listening()
        return self

    def _ready(self) -> bool:
        """Tell whether the broker is up: it answers the AMQP 0-9-1 header with a method frame."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                sock.sendall(b"AMQP\x00\x00\x09\x01")
                return sock.recv(1) == b"\x01"
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the node, then the private ``epmd`` it started (by its port, no other)."""
        super().stop()
        # The epmd the node started is a daemon on our private port: stop that one only.
        if self.epmd_port:
            for pid in _pids_named("epmd"):
                if ports_owned_by(pid, (self.epmd_port,))[self.epmd_port]:
                    _stop_pid(pid, timeout=5)
            self.epmd_port = 0

    def __enter__(self) -> RabbitMQBroker:
        return self.start()
