"""Measurement primitives of the macro benchmark: CPU time, memory and latency summaries.

Rule: every number the benchmark reports is computed here, the same way for every client — the
client's CPU is ``time.process_time()`` of its own (single-client) process, Janus's CPU is
utime + stime of its pid from ``/proc/<pid>/stat`` (all its threads), memory is the tracemalloc
(Python heap) or RSS difference across a phase, latencies are summarised by linear quantiles.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import time
from collections.abc import Sequence

_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
#: Quantile points kept per workload (for latency-distribution plots): 0, 1, ..., 100 percent.
QUANTILE_POINTS = 101


def proc_cpu_seconds(pid: int) -> float | None:
    """Utime + stime of process ``pid`` (every thread), in seconds; None if unreadable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            data = stat.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; fields after its ')' are space separated.
    fields = data[data.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def rss_bytes() -> int:
    """Resident set size of this process (``/proc/self/statm``), 0 when unavailable."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile ``q`` (0..1) of an already sorted, non-empty sequence."""
    if not sorted_values:
        return float("nan")
    position = q * (len(sorted_values) - 1)
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    fraction = position - low
    return sorted_values[low] * (1.0 - fraction) + sorted_values[high] * fraction


@dataclasses.dataclass
class Meter:
    """Wall clock, client CPU and Janus CPU across one measured phase."""

    janus_pid: int | None = None
    wall: float = 0.0
    client_cpu: float = 0.0
    janus_cpu: float | None = None
    #: The client's CPU split into user and kernel time (getrusage; loopback TCP work done in
    #: the client's send/recv system calls is kernel time charged to the client).
    client_user: float = 0.0
    client_sys: float = 0.0
    _wall0: float = 0.0
    _cpu0: float = 0.0
    _usage0: tuple[float, float] = (0.0, 0.0)
    _janus0: float | None = None

    def start(self) -> None:
        """Start (or resume) measuring: note wall time, our CPU and Janus's CPU now."""
        self._janus0 = proc_cpu_seconds(self.janus_pid) if self.janus_pid else None
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self._usage0 = (usage.ru_utime, usage.ru_stime)
        self._cpu0 = time.process_time()
        self._wall0 = time.perf_counter()

    def stop(self) -> None:
        """Stop measuring: add the time and CPU spent since ``start`` to the totals."""
        self.wall += time.perf_counter() - self._wall0
        self.client_cpu += time.process_time() - self._cpu0
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.client_user += usage.ru_utime - self._usage0[0]
        self.client_sys += usage.ru_stime - self._usage0[1]
        if self._janus0 is not None and self.janus_pid:
            now = proc_cpu_seconds(self.janus_pid)
            if now is not None:
                self.janus_cpu = (self.janus_cpu or 0.0) + now - self._janus0


@dataclasses.dataclass
class Outcome:
    """What one workload run produced (before it is turned into a report row)."""

    ops: int = 0
    errors: int = 0
    first_error: str | None = None
    truncated: bool = False
    latencies: list[float] = dataclasses.field(default_factory=list)
    extra: dict[str, float | int | str | None] = dataclasses.field(default_factory=dict)

    def error(self, exc: BaseException) -> None:
        """Count a failed operation; keep the first error's text (one line, 300 chars)."""
        self.errors += 1
        if self.first_error is None:
            text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
            self.first_error = text[:300]


def summarize(outcome: Outcome, meter: Meter) -> dict[str, object]:
    """Compute the report fields of one workload: rates, latency quantiles, CPU per operation."""
    ops = outcome.ops
    lat = sorted(outcome.latencies)
    quantiles = (
        [round(quantile(lat, i / (QUANTILE_POINTS - 1)) * 1e6, 2) for i in range(QUANTILE_POINTS)]
        if lat
        else []
    )
    per_op = 1e6 / ops if ops else float("nan")
    return {
        "ops": ops,
        "errors": outcome.errors,
        "first_error": outcome.first_error,
        "truncated": outcome.truncated,
        "wall_s": round(meter.wall, 4),
        "ops_per_s": round(ops / meter.wall, 1) if ops and meter.wall > 0 else 0.0,
        "p50_us": round(quantile(lat, 0.5) * 1e6, 1) if lat else None,
        "p99_us": round(quantile(lat, 0.99) * 1e6, 1) if lat else None,
        "client_cpu_s": round(meter.client_cpu, 4),
        "client_cpu_us_per_op": round(meter.client_cpu * per_op, 2) if ops else None,
        "client_user_us_per_op": round(meter.client_user * per_op, 2) if ops else None,
        "client_sys_us_per_op": round(meter.client_sys * per_op, 2) if ops else None,
        "janus_cpu_s": None if meter.janus_cpu is None else round(meter.janus_cpu, 3),
        "janus_cpu_us_per_op": (
            round(meter.janus_cpu * per_op, 2) if ops and meter.janus_cpu is not None else None
        ),
        "latency_quantiles_us": quantiles,
        **outcome.extra,
    }
