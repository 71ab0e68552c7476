"""Read a pool's per-server metrics for an exporter, from any thread.

Rule: exporters (janus_fast.pool.prometheus, janus_fast.pool.otel) read ``pool.metrics()`` through
``read_servers`` only. An exporter's HTTP or export thread may read while the event loop changes
the pool's dicts: a read that meets a dict changing size (``RuntimeError``) is retried a few
times, never patched up, so every answer is one whole snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

#: States an exporter counts as up (``janus_pool_server_up`` 1), as ``pool.prometheus()`` does.
UP_STATES = ("up", "degraded")
#: Reads tried before the ``RuntimeError`` of a dict changing size is raised.
READ_ATTEMPTS = 5


class MetricsSource(Protocol):
    """Anything with ``JanusPool.metrics()``'s shape."""

    def metrics(self) -> dict[str, Any]:
        """Return the snapshot (``{"servers": {name: {...}}, ...}``)."""
        ...


def is_value(value: Any) -> bool:
    """Return whether a snapshot entry is a metric value (a number; ``None`` and bools are not)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read_servers(pool: MetricsSource) -> Mapping[str, Mapping[str, Any]]:
    """Return ``pool.metrics()["servers"]``, retrying a read that met a dict changing size.

    Args:
        pool: The pool (or anything with its ``metrics()``).

    Returns:
        The per-server snapshots, by server name.

    Raises:
        RuntimeError: Every one of ``READ_ATTEMPTS`` reads met a dict changing size.
    """
    for _ in range(READ_ATTEMPTS - 1):
        try:
            return _servers(pool)
        except RuntimeError:
            continue
    return _servers(pool)


def _servers(pool: MetricsSource) -> Mapping[str, Mapping[str, Any]]:
    servers: Mapping[str, Mapping[str, Any]] = pool.metrics()["servers"]
    return servers


__all__ = ["READ_ATTEMPTS", "UP_STATES", "MetricsSource", "is_value", "read_servers"]
