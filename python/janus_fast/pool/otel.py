"""A ``JanusPool``'s metrics as OpenTelemetry observable instruments.

Rule: the instruments keep nothing; each callback reads one ``pool.metrics()`` snapshot
(``snapshot.read_servers``) when the SDK collects, and observes the values ``pool.prometheus()``
shows, attributed ``server`` (and ``request``, ``outcome``). OpenTelemetry has no observable
histogram: the latency is exported as its running sum of seconds (the counts are the request
counter), not as buckets. opentelemetry-api (the optional extra ``janus-fast[otel]``) is imported
only when the instruments are made.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from janus_fast.pool.metrics import SCALAR_FAMILIES
from janus_fast.pool.snapshot import UP_STATES, MetricsSource, is_value, read_servers

if TYPE_CHECKING:
    from types import ModuleType

    from opentelemetry.metrics import CallbackOptions, Meter, MeterProvider, Observation

#: The instrumentation scope of the meter the instruments are made on.
METER_NAME = "janus_fast.pool"

_Rows = Callable[[Mapping[str, Mapping[str, Any]]], Iterable[tuple[float, dict[str, str]]]]


def _metrics_api() -> ModuleType:
    try:
        return importlib.import_module("opentelemetry.metrics")
    except ImportError as exc:
        raise ImportError(
            "PoolInstruments needs opentelemetry-api: pip install 'janus-fast[otel]'"
        ) from exc


def _up(servers: Mapping[str, Mapping[str, Any]]) -> Iterable[tuple[float, dict[str, str]]]:
    for server, snap in servers.items():
        yield (1 if snap.get("state") in UP_STATES else 0), {"server": server}


def _scalar(key: str) -> _Rows:
    def rows(servers: Mapping[str, Mapping[str, Any]]) -> Iterable[tuple[float, dict[str, str]]]:
        for server, snap in servers.items():
            if is_value(snap.get(key)):
                yield snap[key], {"server": server}

    return rows


def _requests(servers: Mapping[str, Mapping[str, Any]]) -> Iterable[tuple[float, dict[str, str]]]:
    for server, snap in servers.items():
        for name, count in snap.get("requests", {}).items():
            request, _, outcome = name.rpartition(":")
            yield count, {"server": server, "request": request, "outcome": outcome}


def _seconds(servers: Mapping[str, Mapping[str, Any]]) -> Iterable[tuple[float, dict[str, str]]]:
    for server, snap in servers.items():
        for request, histogram in snap.get("latency", {}).items():
            yield histogram["sum"], {"server": server, "request": request}


class PoolInstruments:
    """Make observable instruments that read a pool's metrics when OpenTelemetry collects.

    Instruments (all attributed ``server``): gauges ``janus.pool.server.up``,
    ``janus.pool.sessions``, ``janus.pool.admin_sessions``, ``janus.pool.admin_handles``,
    ``janus.pool.in_flight``; counters ``janus.pool.events_dropped``, ``janus.pool.reconnects``,
    ``janus.pool.given_up``, ``janus.pool.placements``, ``janus.pool.requests`` (``request``,
    ``outcome``) and ``janus.pool.request.seconds`` (unit ``s``, ``request``: the seconds the
    requests took, the sum of ``pool.prometheus()``'s histogram). OpenTelemetry cannot remove an
    instrument: make one ``PoolInstruments`` per pool and meter provider.

    Args:
        pool: The pool to read (a ``JanusPool``, or anything with its ``metrics()``); read from
            any thread, e.g. a periodic exporter's.
        meter_provider: Where to make the meter; the global provider when ``None``.

    Raises:
        ImportError: opentelemetry-api is not installed (the ``otel`` extra).
    """

    def __init__(self, pool: MetricsSource, meter_provider: MeterProvider | None = None) -> None:
        api = _metrics_api()
        self._api = api
        self._pool = pool
        self.meter: Meter = (
            meter_provider.get_meter(METER_NAME)
            if meter_provider is not None
            else api.get_meter(METER_NAME)
        )
        meter = self.meter
        gauge, counter = meter.create_observable_gauge, meter.create_observable_counter
        gauge(
            "janus.pool.server.up",
            [self._callback(_up)],
            description="1 if the server is up or degraded, 0 if down or unknown",
        )
        for key, kind, help_text in SCALAR_FAMILIES:
            make = gauge if kind == "gauge" else counter
            make(f"janus.pool.{key}", [self._callback(_scalar(key))], description=help_text)
        counter(
            "janus.pool.requests",
            [self._callback(_requests)],
            description="pool requests by type and outcome",
        )
        counter(
            "janus.pool.request.seconds",
            [self._callback(_seconds)],
            unit="s",
            description="seconds the pool's requests took, by type",
        )

    def _callback(self, rows: _Rows) -> Callable[[CallbackOptions], Iterable[Observation]]:
        observation = self._api.Observation

        def callback(options: CallbackOptions) -> Iterable[Observation]:
            servers = read_servers(self._pool)
            return [observation(value, attributes) for value, attributes in rows(servers)]

        return callback


__all__ = ["METER_NAME", "PoolInstruments"]
