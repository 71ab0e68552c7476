"""Per-server counters of what the pool itself does, as a snapshot dict or Prometheus text.

Rule: counting is a few dict increments (no lock, no I/O, no new dependency). The pool counts its
own requests (``info``, ``create``, Admin calls) by type and outcome with a latency histogram,
and connection events (reconnects, give-ups); the server's transport adds its live counters
(requests in flight ...) when a snapshot is taken. Label values are escaped; no secret is ever a
label (server names are redacted URLs or caller-chosen names).
"""

from __future__ import annotations

import bisect
import collections
from collections.abc import Iterable, Mapping
from typing import Any

#: Latency histogram bucket bounds (seconds), Prometheus style (cumulative, plus +Inf).
BUCKETS: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

#: The per-server one-value families: snapshot key, Prometheus type, help. The metric is
#: ``janus_pool_<key>``; exporters (janus_fast.pool.prometheus, .otel) read this table too.
SCALAR_FAMILIES: tuple[tuple[str, str, str], ...] = (
    ("sessions", "gauge", "live sessions this pool placed on the server"),
    ("admin_sessions", "gauge", "sessions on the server by its Admin API"),
    ("admin_handles", "gauge", "handles on the server by its Admin API"),
    ("in_flight", "gauge", "requests waiting on the server's shared connection"),
    ("events_dropped", "counter", "events dropped by this pool's sessions"),
    ("reconnects", "counter", "reconnections of the shared connection"),
    ("given_up", "counter", "times the shared connection gave up reconnecting"),
    ("placements", "counter", "sessions placed on the server"),
)


class ServerMetrics:
    """Counters of one server."""

    def __init__(self) -> None:
        self.requests: collections.Counter[tuple[str, str]] = collections.Counter()
        self._histograms: dict[str, list[int]] = {}
        self._sums: dict[str, float] = collections.defaultdict(float)
        self.connection_events: collections.Counter[str] = collections.Counter()
        #: Request types seen (bounded by the sessions' counting, see counted.py).
        self.request_types: set[str] = set()
        self.placements = 0
        self.state_changes = 0

    def observe(self, request: str, outcome: str, seconds: float) -> None:
        """Count a request of type ``request`` that ended with ``outcome`` after ``seconds``."""
        self.requests[(request, outcome)] += 1
        counts = self._histograms.get(request)
        if counts is None:
            counts = self._histograms[request] = [0] * (len(BUCKETS) + 1)
        counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self._sums[request] += seconds

    def snapshot(self) -> dict[str, Any]:
        """Return the counters and cumulative latency histograms as a new plain dict."""
        histograms = {}
        for request, counts in self._histograms.items():
            cumulative, total = [], 0
            for count in counts:
                total += count
                cumulative.append(total)
            histograms[request] = {
                "buckets": dict(zip([*map(str, BUCKETS), "+Inf"], cumulative, strict=True)),
                "count": total,
                "sum": self._sums[request],
            }
        return {
            "requests": {f"{r}:{o}": n for (r, o), n in sorted(self.requests.items())},
            "latency": histograms,
            "reconnects": self.connection_events["reconnected"],
            "reconnect_attempts": self.connection_events["reconnecting"],
            "disconnects": self.connection_events["disconnected"],
            "given_up": self.connection_events["given_up"],
            "placements": self.placements,
            "state_changes": self.state_changes,
        }


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def prometheus_text(servers: Mapping[str, Mapping[str, Any]]) -> str:
    """Prometheus text exposition (format 0.0.4) of ``JanusPool.metrics()["servers"]``."""
    lines: list[str] = []

    def family(name: str, kind: str, help_text: str, rows: Iterable[str]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(rows)

    def rows_of(key: str, metric: str) -> list[str]:
        return [
            f'{metric}{{server="{_label(s)}"}} {float(snap[key])}'
            for s, snap in servers.items()
            if isinstance(snap.get(key), (int, float)) and not isinstance(snap.get(key), bool)
        ]

    family(
        "janus_pool_server_up",
        "gauge",
        "1 if the server is up or degraded, 0 if down or unknown",
        [
            f'janus_pool_server_up{{server="{_label(s)}"}} '
            f"{1 if snap.get('state') in ('up', 'degraded') else 0}"
            for s, snap in servers.items()
        ],
    )
    for key, kind, help_text in SCALAR_FAMILIES:
        name = f"janus_pool_{key}_total" if kind == "counter" else f"janus_pool_{key}"
        family(name, kind, help_text, rows_of(key, name))
    request_rows, bucket_rows = [], []
    for server, snap in servers.items():
        label = _label(server)
        for name, count in snap.get("requests", {}).items():
            request, _, outcome = name.rpartition(":")
            request_rows.append(
                f'janus_pool_requests_total{{server="{label}",request="{_label(request)}",'
                f'outcome="{_label(outcome)}"}} {count}'
            )
        for request, histogram in snap.get("latency", {}).items():
            base = f'server="{label}",request="{_label(request)}"'
            for bound, count in histogram["buckets"].items():
                bucket_rows.append(
                    f'janus_pool_request_seconds_bucket{{{base},le="{bound}"}} {count}'
                )
            bucket_rows.append(f"janus_pool_request_seconds_sum{{{base}}} {histogram['sum']}")
            bucket_rows.append(f"janus_pool_request_seconds_count{{{base}}} {histogram['count']}")
    family(
        "janus_pool_requests_total", "counter", "pool requests by type and outcome", request_rows
    )
    family("janus_pool_request_seconds", "histogram", "pool request latency", bucket_rows)
    return "\n".join(lines) + "\n"


__all__ = ["BUCKETS", "SCALAR_FAMILIES", "ServerMetrics", "prometheus_text"]
