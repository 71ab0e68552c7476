"""``janus-fast``: the command line — ``info``, ``ping``, ``bench`` and ``monitor``.

Rule: every command either prints its result and exits 0, or prints ONE line
``janus-fast: error: …`` on stderr and exits non-zero (2: bad usage or URL, 3: authentication
refused, 1: anything else — unreachable, timed out, Janus error); never a traceback.
Credentials come from options or the environment (``JANUS_API_SECRET``, ``JANUS_TOKEN``,
``JANUS_ADMIN_SECRET``) and are never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, NoReturn, TextIO

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_AUTH = 3


class CliError(Exception):
    """A failure the user gets as one line (with an exit code)."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see `{self.prog} --help`)", EXIT_USAGE)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _transport_config(timeout: float) -> dict[str, Any]:
    return {"timeout": timeout, "connect_timeout": timeout, "max_retries": 0, "reconnect": False}


def _classify(exc: BaseException) -> CliError:
    """Map a library error to a one-line ``CliError`` (with an exit code)."""
    from janus_fast import AuthError, InvalidURLError, JanusError, RequestTimeoutError

    if isinstance(exc, CliError):
        return exc
    if isinstance(exc, InvalidURLError):
        return CliError(f"bad URL: {_one_line(str(exc))}", EXIT_USAGE)
    if isinstance(exc, AuthError):
        return CliError(f"authentication refused: {_one_line(str(exc))}", EXIT_AUTH)
    if isinstance(exc, JanusError) and getattr(exc, "code", None) == 403:
        return CliError(f"authentication refused: {_one_line(str(exc))}", EXIT_AUTH)
    if isinstance(exc, RequestTimeoutError | TimeoutError | asyncio.TimeoutError):
        return CliError("timed out waiting for Janus", EXIT_ERROR)
    text = _one_line(str(exc)) or type(exc).__name__
    return CliError(text, EXIT_ERROR)


async def _open(url: str, args: argparse.Namespace, **extra: Any) -> Any:
    from janus_fast import JanusTransport

    config = _transport_config(args.timeout)
    config.update(extra)
    transport = JanusTransport.create_transport(
        url, api_secret=args.api_secret, token=args.token, config=config
    )
    await transport.connect()
    return transport


# -- info ------------------------------------------------------------------------------------------
async def _info(args: argparse.Namespace, out: TextIO) -> int:
    transport = await _open(args.url, args)
    try:
        info = await transport.info()
    finally:
        await transport.disconnect()
    if args.json:
        out.write(json.dumps(info, indent=2, sort_keys=True) + "\n")
        return 0
    plugins = sorted((info.get("plugins") or {}).keys())
    transports = sorted((info.get("transports") or {}).keys())
    facts = [
        ("server", f"{info.get('name', 'Janus')} {info.get('version_string', '?')}"),
        ("server name", info.get("server-name")),
        ("author", info.get("author")),
        ("session timeout", f"{info.get('session-timeout')} s"),
        ("reclaim timeout", f"{info.get('reclaim-session-timeout')} s"),
        ("api secret", "required" if info.get("api_secret") else "no"),
        ("auth token", "required" if info.get("auth_token") else "no"),
        ("event handlers", "on" if info.get("event_handlers") else "off"),
        ("transports", ", ".join(transports) or "-"),
        ("plugins", ", ".join(plugins) or "-"),
    ]
    for name, value in facts:
        out.write(f"{name + ':':17}{value}\n")
    return 0


# -- ping ------------------------------------------------------------------------------------------
async def _ping(args: argparse.Namespace, out: TextIO) -> int:
    transport = await _open(args.url, args)
    times: list[float] = []
    try:
        for number in range(args.count):
            if number:
                await asyncio.sleep(args.interval)
            begin = time.perf_counter()
            reply = await transport.ping()
            elapsed = (time.perf_counter() - begin) * 1000
            if reply.get("janus") != "pong":
                raise CliError(f"Janus answered {reply.get('janus')!r} to ping")
            times.append(elapsed)
            if not args.json:
                out.write(f"pong from {args.url}: seq={number + 1} time={elapsed:.3f} ms\n")
                out.flush()
    finally:
        await transport.disconnect()
    summary = {
        "url": args.url,
        "count": len(times),
        "min_ms": round(min(times), 3),
        "avg_ms": round(sum(times) / len(times), 3),
        "max_ms": round(max(times), 3),
    }
    if args.json:
        out.write(json.dumps({**summary, "times_ms": [round(t, 3) for t in times]}) + "\n")
    else:
        out.write(
            f"{len(times)} pings: min/avg/max = {summary['min_ms']:.3f}/"
            f"{summary['avg_ms']:.3f}/{summary['max_ms']:.3f} ms\n"
        )
    return 0


# -- bench -----------------------------------------------------------------------------------------
class _ProgressBar:
    """A one-line stderr progress bar (only on a terminal, or when forced)."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.started = time.monotonic()
        self.shown = False

    def __call__(self, done: int, total: int, label: str) -> None:
        if not self.enabled or total <= 0:
            return
        width = 28
        filled = int(width * done / total)
        elapsed = int(time.monotonic() - self.started)
        line = (
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
            f"{elapsed // 60}:{elapsed % 60:02d} {label}"
        )
        self.stream.write(line[:118].ljust(118))
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 118 + "\r")
            self.stream.flush()


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _split_list(value: str | None, default: Sequence[str]) -> tuple[str, ...]:
    if not value:
        return tuple(default)
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _bench(args: argparse.Namespace, out: TextIO) -> int:
    from janus_fast.bench.clients import CLIENTS, LOOPS
    from janus_fast.bench.report import render_table
    from janus_fast.bench.runner import BenchOptions, BenchSetupError, core_build, run_benchmark
    from janus_fast.bench.workloads import BY_KEY
    from janus_fast.transports._url import parse_url

    ws_url = http_url = None
    for url in args.urls:
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        if scheme in ("ws", "wss"):
            parse_url(url, ("ws", "wss"))
            if ws_url:
                raise CliError("give at most one ws:// and one http:// URL", EXIT_USAGE)
            ws_url = url
        elif scheme in ("http", "https"):
            parse_url(url, ("http", "https"))
            if http_url:
                raise CliError("give at most one ws:// and one http:// URL", EXIT_USAGE)
            http_url = url
        else:
            raise CliError(f"bad URL: {url!r} (use ws://, wss://, http:// or https://)", EXIT_USAGE)
    loops = _split_list(args.loops, LOOPS)
    if "uvloop" in loops:
        try:
            import uvloop  # noqa: F401
        except ImportError:
            loops = tuple(loop for loop in loops if loop != "uvloop")
            sys.stderr.write("janus-fast: note: uvloop is not installed; asyncio only\n")
    options = BenchOptions(
        ws_url=ws_url,
        http_url=http_url,
        janus_pid=args.janus_pid,
        clients=_split_list(args.clients, CLIENTS),
        loops=loops,
        workloads=_split_list(args.workloads, tuple(BY_KEY)),
        smoke=args.smoke,
        scale=args.scale,
        time_scale=args.time_scale,
        repeat=args.repeat,
        api_secret=args.api_secret,
        token=args.token,
    )
    if core_build() == "debug":
        sys.stderr.write(
            "janus-fast: warning: janus_fast._core is a debug build; rebuild with "
            "`maturin develop --release` for representative numbers\n"
        )
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    bar = _ProgressBar(sys.stderr, show)
    try:
        report = run_benchmark(options, bar)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    except BenchSetupError as exc:
        raise _setup_error(exc) from None
    finally:
        bar.close()
    if args.save:
        with open(args.save, "w", encoding="utf-8") as saved:
            json.dump(report, saved, indent=1)
    if args.plot:
        from janus_fast.bench.plot import write_plot

        written = write_plot(report, args.plot)
        if str(written) != args.plot:
            sys.stderr.write(
                f"janus-fast: note: matplotlib is not installed; wrote an HTML chart to {written}\n"
            )
    if args.json:
        out.write(json.dumps(report, indent=1) + "\n")
    else:
        out.write(render_table(report) + "\n")
    failed = [row for row in report["rows"] if row.get("failed") and "skipped" not in row["failed"]]
    return EXIT_ERROR if failed and len(failed) == len(report["rows"]) else 0


def _setup_error(exc: BaseException) -> CliError:
    cause = exc.__cause__
    if cause is not None:
        classified = _classify(cause)
        if classified.code != EXIT_ERROR:
            return CliError(_one_line(str(exc)), classified.code)
    return CliError(_one_line(str(exc)), EXIT_ERROR)


# -- monitor ---------------------------------------------------------------------------------------
async def _admin(transport: Any, secret: str, body: dict[str, Any], *ids: int) -> dict[str, Any]:
    from janus_fast import Expect

    reply = await transport._request({**body, "admin_secret": secret}, Expect.SUCCESS, *ids)
    result: dict[str, Any] = reply.json()
    return result


async def _snapshot(transport: Any, secret: str, max_handles: int) -> dict[str, Any]:
    begin = time.perf_counter()
    sessions = sorted((await _admin(transport, secret, {"janus": "list_sessions"}))["sessions"])
    handle_lists = await asyncio.gather(
        *(_admin(transport, secret, {"janus": "list_handles"}, sid) for sid in sessions),
        return_exceptions=True,
    )
    table: list[dict[str, Any]] = []
    budget = max_handles
    pending: list[tuple[dict[str, Any], int, int]] = []
    for session_id, listed in zip(sessions, handle_lists, strict=True):
        handles = [] if isinstance(listed, BaseException) else sorted(listed.get("handles", []))
        entry: dict[str, Any] = {"session_id": session_id, "handles": []}
        table.append(entry)
        entry["handle_count"] = len(handles)
        for handle_id in handles:
            if budget <= 0:
                break
            budget -= 1
            pending.append((entry, session_id, handle_id))
    infos = await asyncio.gather(
        *(_admin(transport, secret, {"janus": "handle_info"}, s, h) for _, s, h in pending),
        return_exceptions=True,
    )
    for (entry, _session_id, handle_id), info in zip(pending, infos, strict=True):
        details = {} if isinstance(info, BaseException) else info.get("info", {})
        created, now = details.get("created"), details.get("current_time")
        flags = details.get("flags") or {}
        entry["handles"].append(
            {
                "handle_id": handle_id,
                "plugin": details.get("plugin"),
                "opaque_id": details.get("opaque_id"),
                "age_s": round((now - created) / 1e6, 1) if created and now else None,
                "webrtc": bool(flags.get("negotiated") or flags.get("ready")),
            }
        )
    return {
        "time": time.strftime("%H:%M:%S"),
        "elapsed_ms": round((time.perf_counter() - begin) * 1000, 1),
        "sessions": table,
        "session_count": len(table),
        "handle_count": sum(entry["handle_count"] for entry in table),
    }


def _render_snapshot(url: str, snapshot: dict[str, Any], max_handles: int) -> str:
    lines = [
        f"Janus admin {url} — {snapshot['session_count']} sessions, "
        f"{snapshot['handle_count']} handles (at {snapshot['time']}, {snapshot['elapsed_ms']} ms)",
        f"{'SESSION':>18}  {'HANDLE':>18}  {'PLUGIN':28}  {'OPAQUE ID':20}  {'AGE s':>8}  WEBRTC",
    ]
    shown = 0
    for entry in snapshot["sessions"]:
        lines.append(f"{entry['session_id']:>18}  {'':>18}  ({entry['handle_count']} handles)")
        for handle in entry["handles"]:
            shown += 1
            age = "-" if handle["age_s"] is None else f"{handle['age_s']:.1f}"
            lines.append(
                f"{'':>18}  {handle['handle_id']:>18}  {handle['plugin'] or '-'!s:28}  "
                f"{str(handle['opaque_id'] or '-')[:20]:20}  {age:>8}  "
                f"{'yes' if handle['webrtc'] else 'no'}"
            )
    hidden = snapshot["handle_count"] - shown
    if hidden > 0:
        lines.append(f"(+{hidden} more handles; --max-handles {max_handles} shown)")
    if not snapshot["sessions"]:
        lines.append("(no sessions)")
    return "\n".join(lines)


async def _monitor(args: argparse.Namespace, out: TextIO) -> int:
    secret = args.admin_secret
    if not secret:
        raise CliError(
            "an admin secret is required (--admin-secret or JANUS_ADMIN_SECRET)", EXIT_USAGE
        )
    transport = await _open(args.url, args, subprotocol="janus-admin-protocol")
    clear = out.isatty() and not args.json and args.iterations != 1
    try:
        iteration = 0
        while args.iterations <= 0 or iteration < args.iterations:
            if iteration:
                await asyncio.sleep(args.interval)
            iteration += 1
            snapshot = await _snapshot(transport, secret, args.max_handles)
            if args.json:
                out.write(json.dumps(snapshot) + "\n")
            else:
                if clear:
                    out.write("\x1b[H\x1b[2J")
                out.write(_render_snapshot(args.url, snapshot, args.max_handles) + "\n")
            out.flush()
    finally:
        await transport.disconnect()
    return 0


# -- entry point -----------------------------------------------------------------------------------
def _secret_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--api-secret",
        default=os.environ.get("JANUS_API_SECRET"),
        help="Janus api_secret (default: $JANUS_API_SECRET)",
    )
    sub.add_argument(
        "--token", default=os.environ.get("JANUS_TOKEN"), help="Janus token (default: $JANUS_TOKEN)"
    )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="janus-fast",
        description="Command line of janus_fast, the fast asyncio client for Janus.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(sub: argparse.ArgumentParser, auth: bool = True) -> None:
        sub.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")
        if auth:
            _secret_options(sub)

    info = commands.add_parser("info", help="show what a Janus server is (its `info`)")
    info.add_argument("url", help="ws://HOST:PORT or http://HOST:PORT/janus")
    info.add_argument("--json", action="store_true", help="print the raw info as JSON")
    common(info)
    info.set_defaults(run=_info, is_async=True)

    ping = commands.add_parser("ping", help="round-trip Janus `ping` requests")
    ping.add_argument("url")
    ping.add_argument("-c", "--count", type=int, default=4, help="pings to send (default 4)")
    ping.add_argument("-i", "--interval", type=float, default=0.2, help="seconds between pings")
    ping.add_argument("--json", action="store_true")
    common(ping)
    ping.set_defaults(run=_ping, is_async=True)

    bench = commands.add_parser(
        "bench",
        help="macro benchmark: janus_fast vs janus-client vs a pure-Python floor",
        description="Without URL, starts a local Janus (event_loops=2, compact JSON) itself. "
        "With URLs (one ws:// and/or one http://), benchmarks that server; Janus CPU is then "
        "reported only with --janus-pid.",
    )
    bench.add_argument("urls", nargs="*", metavar="URL")
    bench.add_argument("--smoke", action="store_true", help="tiny sizes: a functional check")
    bench.add_argument("--json", action="store_true", help="print the report as JSON")
    bench.add_argument("--save", metavar="FILE", help="also write the JSON report to FILE")
    bench.add_argument(
        "--plot", metavar="FILE", help="write a chart (.png with matplotlib, or .html)"
    )
    bench.add_argument("--clients", help="comma list of fast,fast-native,janus-client,floor")
    bench.add_argument("--loops", help="comma list of asyncio,uvloop (default both)")
    bench.add_argument("--workloads", help="comma list of W1,W2,W3,W4,W5,W6a,W6b")
    bench.add_argument("--scale", type=float, default=1.0, help="multiply operation counts")
    bench.add_argument("--time-scale", type=float, default=1.0, help="multiply time limits")
    bench.add_argument(
        "--repeat",
        type=_positive_int,
        default=1,
        help="run everything N times (interleaved); report each row's median run",
    )
    bench.add_argument("--janus-pid", type=int, help="pid of the Janus at URL (for its CPU)")
    bench.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    _secret_options(bench)
    bench.set_defaults(run=_bench, is_async=False)

    monitor = commands.add_parser("monitor", help="live table of sessions and handles (Admin API)")
    monitor.add_argument(
        "url", metavar="ADMIN_URL", help="ws://HOST:PORT or http://HOST:PORT/admin"
    )
    monitor.add_argument(
        "--admin-secret",
        default=os.environ.get("JANUS_ADMIN_SECRET"),
        help="the Admin API secret (default: $JANUS_ADMIN_SECRET)",
    )
    monitor.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes")
    monitor.add_argument("--iterations", type=int, default=0, help="refreshes (0: until Ctrl-C)")
    monitor.add_argument("--max-handles", type=int, default=50, help="handles detailed per refresh")
    monitor.add_argument("--json", action="store_true", help="one JSON object per refresh")
    common(monitor, auth=False)
    monitor.set_defaults(run=_monitor, is_async=True, api_secret=None, token=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point (``janus-fast``)."""
    out = sys.stdout
    try:
        args = _parser().parse_args(argv)
        if args.is_async:
            code: int = asyncio.run(args.run(args, out))
        else:
            code = args.run(args, out)
        return code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        error = _classify(exc)
        sys.stderr.write(f"janus-fast: error: {error}\n")
        return error.code


if __name__ == "__main__":
    sys.exit(main())
