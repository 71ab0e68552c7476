"""``janus-fast bench``: the macro benchmark (``janus_fast.bench``) from the command line.

Rule: URLs and lists are checked before anything starts (bad ones are usage errors); progress goes
to stderr, the report to stdout (table or ``--json``); the exit code is 1 only when every row
failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from janus_fast.cli.common import (
    EXIT_ERROR,
    EXIT_USAGE,
    CliError,
    Commands,
    add_secret_options,
    classify,
    one_line,
)


class ProgressBar:
    """A one-line stderr progress bar (only on a terminal, or when forced)."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.started = time.monotonic()
        self.shown = False

    def __call__(self, done: int, total: int, label: str) -> None:
        """Redraw the bar: ``done`` of ``total`` steps, the elapsed time and ``label``."""
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
        """Erase the bar, if it was drawn."""
        if self.shown:
            self.stream.write("\r" + " " * 118 + "\r")
            self.stream.flush()


def positive_int(text: str) -> int:
    """Parse a whole number >= 1 (an argparse ``type``).

    Args:
        text: the option's text.

    Returns:
        The number.

    Raises:
        argparse.ArgumentTypeError: ``text`` is not a whole number >= 1.
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def split_list(value: str | None, default: Sequence[str]) -> tuple[str, ...]:
    """Split a comma-separated option into its non-empty items (``default`` when not given)."""
    if not value:
        return tuple(default)
    return tuple(item.strip() for item in value.split(",") if item.strip())


def load_saved_report(path: str) -> dict[str, object]:
    """Read a report saved by ``--save`` (for ``--from``).

    Args:
        path: the saved JSON file.

    Returns:
        The report.

    Raises:
        CliError: the file cannot be read or is not a saved report (a usage error, exit 2).
    """
    try:
        with open(path, encoding="utf-8") as saved:
            report = json.load(saved)
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read the saved report {path!r}: {exc}", EXIT_USAGE) from None
    if not isinstance(report, dict) or not isinstance(report.get("rows"), list):
        raise CliError(f"{path!r} is not a saved benchmark report", EXIT_USAGE)
    return report


def write_outputs(args: argparse.Namespace, report: dict[str, Any], out: TextIO) -> None:
    """Write the report where the options ask: JSON, chart, Markdown (page), or the table.

    Args:
        args: the parsed ``bench`` options (``save``, ``plot``, ``markdown_into``, ``json``,
            ``markdown``).
        report: the benchmark report.
        out: where the report goes when no file is named.

    Raises:
        CliError: the page given to ``--markdown-into`` cannot be read or has no report block.
    """
    from janus_fast.bench.markdown import render_markdown, replace_block
    from janus_fast.bench.report import render_table

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
    if args.markdown_into:
        try:
            with open(args.markdown_into, encoding="utf-8") as page_file:
                page = page_file.read()
            page = replace_block(page, render_markdown(report))
        except (OSError, ValueError) as exc:
            raise CliError(f"cannot update {args.markdown_into!r}: {exc}", EXIT_USAGE) from None
        with open(args.markdown_into, "w", encoding="utf-8") as page_file:
            page_file.write(page)
    if args.json:
        out.write(json.dumps(report, indent=1) + "\n")
    elif args.markdown:
        out.write(render_markdown(report) + "\n")
    elif not args.markdown_into:
        out.write(render_table(report) + "\n")


def run_bench(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``janus-fast bench``: benchmark against the given servers, or re-render a report.

    Args:
        args: the parsed ``bench`` options.
        out: where the report is written.

    Returns:
        The exit code: 1 when every row failed (not counting skipped ones), else 0.

    Raises:
        CliError: a usage error (bad or conflicting options) or a setup failure.
    """  # noqa: DOC501 (setup_error builds the CliError listed)
    if args.from_report:
        if args.urls:
            raise CliError("--from re-renders a saved report: give no URL", EXIT_USAGE)
        write_outputs(args, load_saved_report(args.from_report), out)
        return 0
    from janus_fast.bench.clients import CLIENTS, LOOPS
    from janus_fast.bench.runner import BenchOptions, BenchSetupError, core_build, run_benchmark
    from janus_fast.bench.workloads import DEFAULT_KEYS
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
    loops = split_list(args.loops, LOOPS)
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
        clients=split_list(args.clients, CLIENTS),
        loops=loops,
        workloads=split_list(args.workloads, DEFAULT_KEYS),
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
    bar = ProgressBar(sys.stderr, show)
    try:
        report = run_benchmark(options, bar)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    except BenchSetupError as exc:
        raise setup_error(exc) from None
    finally:
        bar.close()
    write_outputs(args, report, out)
    failed = [row for row in report["rows"] if row.get("failed") and "skipped" not in row["failed"]]
    return EXIT_ERROR if failed and len(failed) == len(report["rows"]) else 0


def setup_error(exc: BaseException) -> CliError:
    """Turn a benchmark that could not start into a ``CliError`` with its cause's exit code."""
    cause = exc.__cause__
    if cause is not None:
        classified = classify(cause)
        if classified.code != EXIT_ERROR:
            return CliError(one_line(str(exc)), classified.code)
    return CliError(one_line(str(exc)), EXIT_ERROR)


def register(commands: Commands) -> None:
    """Add ``bench`` to the ``janus-fast`` subcommands."""
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
        "--from",
        dest="from_report",
        metavar="FILE",
        help="do not run: re-render a report saved with --save",
    )
    bench.add_argument("--markdown", action="store_true", help="print the report as Markdown")
    bench.add_argument(
        "--markdown-into",
        metavar="PAGE",
        help="replace the generated block of a Markdown page with the report's tables",
    )
    bench.add_argument(
        "--plot", metavar="FILE", help="write a chart (.png with matplotlib, or .html)"
    )
    bench.add_argument("--clients", help="comma list of fast,fast-native,janus-client,floor")
    bench.add_argument("--loops", help="comma list of asyncio,uvloop (default both)")
    bench.add_argument(
        "--workloads",
        help="comma list of W1..W7b (default), or the opt-in W8 (many sessions), W9 "
        "(JanusPool of 3 local servers) and W10 (Unix socket, MQTT, RabbitMQ next to "
        "WebSocket; starts the brokers)",
    )
    bench.add_argument("--scale", type=float, default=1.0, help="multiply operation counts")
    bench.add_argument("--time-scale", type=float, default=1.0, help="multiply time limits")
    bench.add_argument(
        "--repeat",
        type=positive_int,
        default=1,
        help="run everything N times (interleaved); report each row's median run",
    )
    bench.add_argument("--janus-pid", type=int, help="pid of the Janus at URL (for its CPU)")
    bench.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    add_secret_options(bench)
    bench.set_defaults(run=run_bench, is_async=False)
