"""A prometheus_client collector of a ``JanusPool``'s metrics, for an existing registry.

Rule: each scrape reads one ``pool.metrics()`` snapshot and yields the same families, labels and
values as ``pool.prometheus()`` (the families of ``metrics.SCALAR_FAMILIES`` plus the up gauge,
the request counter and the latency histogram); nothing is kept between scrapes. prometheus_client
(the optional extra ``janus-fast[prometheus]``) is imported only when a collector is made.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from janus_fast.pool.metrics import SCALAR_FAMILIES
from janus_fast.pool.snapshot import UP_STATES, MetricsSource, is_value, read_servers

if TYPE_CHECKING:
    from types import ModuleType

    from prometheus_client.metrics_core import Metric


def _client_core() -> ModuleType:
    try:
        return importlib.import_module("prometheus_client.core")
    except ImportError as exc:
        raise ImportError(
            "PoolCollector needs prometheus_client: pip install 'janus-fast[prometheus]'"
        ) from exc


class PoolCollector:
    """Expose a pool's metrics to a prometheus_client registry (a custom collector).

    ``registry.register(PoolCollector(pool))`` (or ``prometheus_client.REGISTRY``); every
    ``collect()`` reads ``pool.metrics()`` once. Counter samples end in ``_total``
    (``janus_pool_events_dropped_total`` ...), as in ``pool.prometheus()``. Register one
    collector per pool in a registry: two pools would repeat the same families.

    Args:
        pool: The pool to read (a ``JanusPool``, or anything with its ``metrics()``); read from
            any thread (``snapshot.read_servers``), e.g. prometheus_client's HTTP server's.

    Raises:
        ImportError: prometheus_client is not installed (the ``prometheus`` extra).
    """

    def __init__(self, pool: MetricsSource) -> None:
        self._core = _client_core()
        self._pool = pool

    def collect(self) -> Iterator[Metric]:
        """Build the metric families from one snapshot of the pool.

        Yields:
            ``janus_pool_server_up``, one family per entry of ``SCALAR_FAMILIES``,
            ``janus_pool_requests_total`` and the ``janus_pool_request_seconds`` histogram,
            each labelled ``server`` (and ``request``, ``outcome`` where they apply).
        """
        core = self._core
        servers = read_servers(self._pool)
        up = core.GaugeMetricFamily(
            "janus_pool_server_up",
            "1 if the server is up or degraded, 0 if down or unknown",
            labels=["server"],
        )
        for server, snap in servers.items():
            up.add_metric([server], 1 if snap.get("state") in UP_STATES else 0)
        yield up
        for key, kind, help_text in SCALAR_FAMILIES:
            family_class = core.GaugeMetricFamily if kind == "gauge" else core.CounterMetricFamily
            family = family_class(f"janus_pool_{key}", help_text, labels=["server"])
            for server, snap in servers.items():
                if is_value(snap.get(key)):
                    family.add_metric([server], float(snap[key]))
            yield family
        requests = core.CounterMetricFamily(
            "janus_pool_requests_total",
            "pool requests by type and outcome",
            labels=["server", "request", "outcome"],
        )
        latency = core.HistogramMetricFamily(
            "janus_pool_request_seconds", "pool request latency", labels=["server", "request"]
        )
        for server, snap in servers.items():
            for name, count in snap.get("requests", {}).items():
                request, _, outcome = name.rpartition(":")
                requests.add_metric([server, request, outcome], count)
            for request, histogram in snap.get("latency", {}).items():
                latency.add_metric(
                    [server, request],
                    list(histogram["buckets"].items()),
                    histogram["sum"],
                )
        yield requests
        yield latency


__all__ = ["PoolCollector"]
