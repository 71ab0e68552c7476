"""Run the macro benchmark: a real Janus, every client on every loop, one worker process each.

Rule: the runner owns the Janus it starts (``event_loops = 2``, compact JSON, through
``janus_fast.testing``) or uses the URLs it is given; it runs the clients one after another, each
in its own ``janus_fast.bench.worker`` process with a hard deadline, and turns their JSON lines
into one report. It never raises for a client that fails or is missing: that client's rows say
why. Setup problems (Janus missing or unreachable, bad credentials) raise ``BenchSetupError``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from janus_fast.bench.clients import (
    CLIENTS,
    ENV_API_SECRET,
    ENV_TOKEN,
    ENV_URLS,
    LABELS,
    LOOPS,
)
from janus_fast.bench.workloads import (
    ALL_WORKLOADS,
    BY_KEY,
    DEFAULT_KEYS,
    expand_workloads,
    runs_on,
)

#: The Janus a local run starts (the benchmark's setting: two event loops, compact JSON).
LOCAL_JANUS = {"event_loops": 2, "json": "compact", "debug_level": 3}


class BenchSetupError(RuntimeError):
    """The benchmark cannot start (no Janus, unreachable URL, refused credentials)."""


@dataclasses.dataclass
class BenchOptions:
    """What to benchmark, and where (``janus-fast bench``'s options).

    Attributes:
        ws_url: the Janus WebSocket URL; with ``http_url`` None, a local Janus is started.
        http_url: the Janus HTTP URL.
        janus_pid: the Janus process to charge CPU to (a local one), if known.
        clients: the clients to compare (``CLIENTS``).
        loops: the event loops (``asyncio``, ``uvloop``).
        workloads: workload keys or groups (``W1`` … ``W10``).
        smoke: run each workload's small smoke count (a quick check that every row works).
        scale: multiplies the operation counts.
        time_scale: multiplies every workload's time limit.
    """

    ws_url: str | None = None
    http_url: str | None = None
    janus_pid: int | None = None
    clients: Sequence[str] = CLIENTS
    loops: Sequence[str] = LOOPS
    workloads: Sequence[str] = DEFAULT_KEYS
    smoke: bool = False
    scale: float = 1.0
    time_scale: float = 1.0
    #: Runs of every (loop, client) worker, interleaved; each row reported is the median run.
    repeat: int = 1
    #: Never in the repr (nor in the report): credentials.
    api_secret: str | None = dataclasses.field(default=None, repr=False)
    token: str | None = dataclasses.field(default=None, repr=False)
    #: URLs of the opt-in workloads' transports (``unix``, ``mqtt``, ``amqp``, ``pool1``,
    #: ``pool3``), set by a local run; broker URLs hold credentials: never in the repr.
    extra_urls: dict[str, str] = dataclasses.field(default_factory=dict, repr=False)


ProgressCallback = Callable[[int, int, str], None]


def run_benchmark(
    options: BenchOptions, progress: ProgressCallback | None = None
) -> dict[str, Any]:
    """Run the benchmark; start a local Janus when no URL is given.

    Workload groups are accepted (``W6`` for W6a and W6b, ``W7`` for W7a and W7b).

    Args:
        options: what to run, and where.
        progress: called with ``(done, total, label)`` as the runs proceed.

    Returns:
        The report: ``meta``, ``rows`` (one per workload, client and loop), ``skipped``
        and ``targets``.

    Raises:
        ValueError: an unknown client, loop or workload.
        BenchSetupError: a URL cannot be reached, credentials are refused, or the local Janus
            (or a broker) cannot be started.
    """  # noqa: DOC501 (the AssertionError at the end is unreachable)
    options = dataclasses.replace(options, workloads=expand_workloads(options.workloads))
    _validate(options)
    if options.ws_url or options.http_url:
        _preflight(options)
        return _run_all(options, progress, janus=None)
    import contextlib

    from janus_fast.testing.brokers import BrokerStartError
    from janus_fast.testing.server import JanusNotInstalledError, JanusStartError

    transports: set[str] = {BY_KEY[key].transport for key in options.workloads}
    with contextlib.ExitStack() as stack:
        try:
            server, extra = _start_local(stack, transports)
        except (JanusNotInstalledError, JanusStartError, BrokerStartError, OSError) as exc:
            raise BenchSetupError(f"cannot start a local Janus: {_one_line(exc)}") from None
        extra["pool1"] = server.ws_url
        local = dataclasses.replace(
            options,
            ws_url=server.ws_url,
            http_url=server.http_url,
            janus_pid=server.pid,
            extra_urls=extra,
        )
        janus = {
            "started_by_benchmark": True,
            "config": dict(LOCAL_JANUS),
            "version": _janus_version(server.info()),
        }
        return _run_all(local, progress, janus=janus)
    raise AssertionError("unreachable")  # pragma: no cover (mypy: ExitStack may swallow)


def _start_local(stack: Any, transports: set[str]) -> tuple[Any, dict[str, str]]:
    """Start the local Janus and, for W9's pool of three, two more.

    The Unix-socket, Nanomsg, MQTT and RabbitMQ transports and their brokers are started only when a
    selected W10 row needs them; every process is stopped by ``stack`` (by pid).

    Returns:
        The main server and the URLs of the opt-in transports.
    """
    from janus_fast.testing import JanusConfig, JanusServer
    from janus_fast.testing.brokers import MosquittoBroker, RabbitMQBroker
    from janus_fast.testing.config import BrokerAPI, NanomsgAPI, nanomsg_addresses
    from janus_fast.testing.nanomsg import ensure_nanomsg_transport

    settings: dict[str, Any] = dict(LOCAL_JANUS)
    extra: dict[str, str] = {}
    brokers: dict[str, Any] = {}
    if "mqtt" in transports:
        brokers["mqtt"] = stack.enter_context(MosquittoBroker())
    if "amqp" in transports:
        brokers["amqp"] = stack.enter_context(RabbitMQBroker())
    for scheme, broker in brokers.items():
        api = BrokerAPI("127.0.0.1", broker.port, broker.username, broker.password, admin=False)
        settings["mqtt_api" if scheme == "mqtt" else "rabbitmq_api"] = api
        extra[scheme] = f"{scheme}://{broker.username}:{broker.password}@127.0.0.1:{broker.port}/"
    if "unix" in transports:
        settings["unix_socket"] = "SOCK_SEQPACKET"
    if "nanomsg" in transports:
        settings["nanomsg_api"] = NanomsgAPI(admin=False)
    server = stack.enter_context(JanusServer(JanusConfig(**settings)))
    if "unix" in transports:
        extra["unix"] = server.unix_url
    if "nanomsg" in transports:
        ensure_nanomsg_transport(server)
        extra["nanomsg"] = f"nanomsg+{nanomsg_addresses(server.config, server.folder)[0]}"
    if "pool3" in transports:
        others = [
            stack.enter_context(JanusServer(JanusConfig(**LOCAL_JANUS)))  # type: ignore[arg-type]
            for _ in range(2)
        ]
        extra["pool3"] = ",".join([server.ws_url] + [other.ws_url for other in others])
    return server, extra


def _validate(options: BenchOptions) -> None:
    for client in options.clients:
        if client not in CLIENTS:
            raise ValueError(f"unknown client {client!r} (known: {', '.join(CLIENTS)})")
    for loop in options.loops:
        if loop not in LOOPS:
            raise ValueError(f"unknown loop {loop!r} (known: {', '.join(LOOPS)})")
    for key in options.workloads:
        if key not in BY_KEY:
            raise ValueError(f"unknown workload {key!r} (known: {', '.join(BY_KEY)})")


def _janus_version(info: dict[str, Any]) -> str | None:
    version = info.get("version_string")
    return str(version) if version is not None else None


def _preflight(options: BenchOptions) -> None:
    """Reach the given Janus once and create/destroy a session (credentials are checked)."""
    from janus_fast import JanusFastError, JanusSession, JanusTransport

    async def check(url: str) -> None:
        transport = JanusTransport.create_transport(
            url,
            api_secret=options.api_secret,
            token=options.token,
            config={"timeout": 10.0, "connect_timeout": 10.0, "max_retries": 0},
        )
        try:
            await transport.connect()
            await transport.ping()
            session = JanusSession(transport=transport)
            await session.create()
            await session.destroy()
        finally:
            await transport.disconnect()

    for url in (options.ws_url, options.http_url):
        if url:
            try:
                asyncio.run(check(url))
            except (JanusFastError, OSError) as exc:
                raise BenchSetupError(f"{url}: {_one_line(exc)}") from exc


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def _worker_deadline(keys: Sequence[str], options: BenchOptions) -> float:
    limits = sum(BY_KEY[key].time_limit * options.time_scale for key in keys)
    return limits * 2.5 + 60.0


def _run_all(
    options: BenchOptions, progress: ProgressCallback | None, janus: dict[str, Any] | None
) -> dict[str, Any]:
    keys = [w.key for w in ALL_WORKLOADS if w.key in options.workloads]
    keys = [
        key
        for key in keys
        if BY_KEY[key].transport not in ("ws", "http")
        or (options.http_url if BY_KEY[key].transport == "http" else options.ws_url)
    ]
    repeat = max(1, options.repeat)
    per_client = {
        client: [key for key in keys if runs_on(BY_KEY[key], client)] for client in options.clients
    }
    total = repeat * len(options.loops) * sum(len(k) for k in per_client.values())
    done = 0
    runs: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    skipped: list[dict[str, Any]] = []
    versions: dict[str, Any] = {}
    started = time.time()
    # Repetitions are the outer loop, so that every client's runs are spread over the whole
    # benchmark and a noisy minute hurts one run of each rather than all runs of one.
    for attempt in range(repeat):
        for loop in options.loops:
            for client in options.clients:
                client_keys = per_client[client]
                if not client_keys:
                    continue
                prefix = f"run {attempt + 1}/{repeat} " if repeat > 1 else ""

                def tick(
                    label: str,
                    finished: int,
                    loop: str = loop,
                    client: str = client,
                    base: int = done,
                    prefix: str = prefix,
                ) -> None:
                    if progress is not None:
                        progress(base + finished, total, f"{prefix}{loop} {client} {label}")

                result = _run_worker(client, loop, client_keys, options, tick)
                versions.update(result["versions"])
                if result["unavailable"] is not None and attempt == 0:
                    skipped.append(
                        {"client": client, "loop": loop, "reason": result["unavailable"]}
                    )
                for key in client_keys:
                    row = result["rows"].get(key) or {
                        "failed": result["error"] or "the worker produced no result"
                    }
                    runs.setdefault((loop, client, key), []).append(row)
                    done += 1
                if progress is not None:
                    progress(done, total, f"{prefix}{loop} {client} done")
    rows: list[dict[str, Any]] = []
    for (loop, client, key), attempts in runs.items():
        workload = BY_KEY[key]
        rows.append(
            {
                "loop": loop,
                "client": client,
                "label": LABELS[client],
                "workload": key,
                "title": workload.title,
                "transport": workload.transport,
                **median_run(attempts),
            }
        )
    from janus_fast.bench.report import evaluate_targets

    report: dict[str, Any] = {
        "meta": {
            "started": datetime.datetime.fromtimestamp(started, datetime.timezone.utc).isoformat(),
            "duration_s": round(time.time() - started, 1),
            "machine": _machine(),
            "python": platform.python_version(),
            "core_build": core_build(),
            "versions": versions,
            "janus": janus or {"started_by_benchmark": False, "pid": options.janus_pid},
            "smoke": options.smoke,
            "scale": options.scale,
            "time_scale": options.time_scale,
            "repeat": repeat,
        },
        "workloads": {
            w.key: {
                "title": w.title,
                "transport": w.transport,
                "count": max(1, int((w.smoke_count if options.smoke else w.count) * options.scale)),
                "concurrency": w.concurrency,
                "handles": w.handles,
                "time_limit_s": w.time_limit * options.time_scale,
            }
            for w in ALL_WORKLOADS
            if w.key in keys
        },
        "rows": rows,
        "skipped": skipped,
    }
    report["targets"] = evaluate_targets(report)
    return report


def median_run(attempts: list[dict[str, Any]]) -> dict[str, Any]:
    """Pick the run with the median client CPU per operation (a real run, never a mix).

    Args:
        attempts: the rows of every run of one (workload, client, loop).

    Returns:
        That run's row, with every run's CPU per operation and throughput attached; a failed
        row only when every run failed.
    """
    good = [row for row in attempts if not row.get("failed")]
    if not good:
        return attempts[0]
    if len(attempts) == 1:
        return good[0]
    ranked = sorted(good, key=lambda row: row.get("client_cpu_us_per_op") or float("inf"))
    chosen = dict(ranked[(len(ranked) - 1) // 2])
    chosen["runs"] = len(attempts)
    chosen["failed_runs"] = len(attempts) - len(good)
    chosen["client_cpu_us_per_op_runs"] = [row.get("client_cpu_us_per_op") for row in good]
    chosen["ops_per_s_runs"] = [row.get("ops_per_s") for row in good]
    return chosen


def _run_worker(
    client: str,
    loop: str,
    keys: Sequence[str],
    options: BenchOptions,
    tick: Callable[[str, int], None],
) -> dict[str, Any]:
    """Run one worker process; return its rows by workload (and why, if it failed)."""
    command = [
        sys.executable,
        "-m",
        "janus_fast.bench.worker",
        "--client",
        client,
        "--loop",
        loop,
        "--workloads",
        ",".join(keys),
        "--scale",
        str(options.scale),
        "--time-scale",
        str(options.time_scale),
    ]
    if options.ws_url:
        command += ["--ws", options.ws_url]
    if options.http_url:
        command += ["--http", options.http_url]
    if options.janus_pid:
        command += ["--janus-pid", str(options.janus_pid)]
    if options.smoke:
        command.append("--smoke")
    env = dict(os.environ)
    env.pop(ENV_API_SECRET, None)
    env.pop(ENV_TOKEN, None)
    env[ENV_URLS] = orjson.dumps(options.extra_urls).decode()
    if options.api_secret:
        env[ENV_API_SECRET] = options.api_secret
    if options.token:
        env[ENV_TOKEN] = options.token
    result: dict[str, Any] = {"rows": {}, "versions": {}, "unavailable": None, "error": None}
    deadline = time.monotonic() + _worker_deadline(keys, options)
    with (
        tempfile.TemporaryFile() as stderr,
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, env=env
        ) as process,
    ):
        tick("starting", 0)
        try:
            for raw in _lines_until(process, deadline):
                message = orjson.loads(raw)
                kind = message.pop("type")
                if kind == "meta":
                    result["versions"] = message.get("versions", {})
                elif kind == "begin":
                    tick(f"{message['workload']} ({message['count']} ops)", len(result["rows"]))
                elif kind == "result":
                    result["rows"][message.pop("workload")] = message
                elif kind == "failed":
                    result["rows"][message["workload"]] = {"failed": message["reason"]}
                elif kind == "unavailable":
                    result["unavailable"] = message["reason"]
                    result["error"] = f"skipped: {message['reason']}"
        except TimeoutError:
            result["error"] = "the worker exceeded its time limit and was stopped"
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
        if process.returncode not in (0, None) and result["error"] is None:
            stderr.seek(0)
            tail = stderr.read()[-2000:].decode(errors="replace").strip().splitlines()
            result["error"] = f"worker exited with {process.returncode}: " + (
                tail[-1] if tail else "no output"
            )
    return result


def _lines_until(process: subprocess.Popen[bytes], deadline: float) -> Any:
    """Yield the non-blank lines of the worker's stdout until ``deadline``.

    A watchdog kills the process once ``deadline`` passes, so a silent hang cannot block the
    run.

    Yields:
        Each non-blank line, as bytes.

    Raises:
        TimeoutError: the deadline passed (the process was killed).
    """
    import threading

    expired = threading.Event()

    def watchdog() -> None:
        while process.poll() is None:
            if time.monotonic() > deadline:
                expired.set()
                process.kill()
                return
            time.sleep(0.2)

    thread = threading.Thread(target=watchdog, daemon=True)
    thread.start()
    assert process.stdout is not None
    for raw in process.stdout:
        if raw.strip():
            yield raw
    process.wait()
    if expired.is_set():
        raise TimeoutError


def _machine() -> dict[str, Any]:
    model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "system": platform.platform()}


def core_build() -> str:
    """Tell whether the installed ``janus_fast._core`` is a ``release`` or ``debug`` build.

    A debug build keeps Rust's debug assertions (``precondition_check`` symbols); its numbers
    say nothing about the library, so the benchmark reports it and the CLI warns.

    Returns:
        ``release``, ``debug`` or ``unknown`` (the file cannot be read).
    """
    from janus_fast import _core

    path = getattr(_core, "__file__", None)
    if not path:
        return "unknown"
    try:
        data = Path(path).read_bytes()
    except OSError:
        return "unknown"
    return "debug" if b"precondition_check" in data else "release"
