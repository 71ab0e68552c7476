"""The pool's metrics through prometheus_client (``PoolCollector``) against real Janus servers:
the collector's exposition equals ``pool.prometheus()`` at the same moment, both move after
requests, and a missing extra is a clear ImportError."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from janus_fast.plugins import JanusEchoTestPlugin
from janus_fast.pool import JanusPool, ServerSpec
from janus_fast.pool.prometheus import PoolCollector

FAST = {"probe_interval": 0.2, "probe_timeout": 1.0, "down_after": 2}

Parsed = dict[tuple[str, str, str], set[tuple[str, frozenset[tuple[str, str]], float]]]


def parse(text: str) -> Parsed:
    """Families as (name, type, help) -> samples as (name, labels, value)."""
    return {
        (f.name, f.type, f.documentation): {
            (s.name, frozenset(s.labels.items()), s.value) for s in f.samples
        }
        for f in text_string_to_metric_families(text)
    }


def sample(parsed: Parsed, name: str, **labels: str) -> float:
    found = [
        value
        for samples in parsed.values()
        for n, lbls, value in samples
        if n == name and lbls == frozenset(labels.items())
    ]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def both(pool: JanusPool, registry: CollectorRegistry) -> tuple[Parsed, Parsed]:
    # No await between the two reads: the loop does not run, the pool cannot change.
    builtin = pool.prometheus()
    exported = generate_latest(registry).decode()
    return parse(builtin), parse(exported)


def pool_specs(janus_factory: Any) -> list[ServerSpec]:
    with_admin, without = (janus_factory(plugins=("echotest",)) for _ in range(2))
    return [
        ServerSpec(
            with_admin.ws_url,
            admin_url=with_admin.admin_ws_url,
            admin_secret=with_admin.admin_secret,
            name="with-admin",
        ),
        ServerSpec(without.ws_url, name="no-admin"),
    ]


async def test_collector_equals_builtin_text_and_moves(janus_factory: Any) -> None:
    async with JanusPool(pool_specs(janus_factory), **FAST) as pool:
        registry = CollectorRegistry()
        registry.register(PoolCollector(pool))
        builtin, exported = both(pool, registry)
        assert exported == builtin
        assert sample(exported, "janus_pool_server_up", server="with-admin") == 1
        assert sample(exported, "janus_pool_admin_sessions", server="with-admin") >= 0
        # A server without an Admin API has no admin gauges (None is not a value).
        with pytest.raises(AssertionError):
            sample(exported, "janus_pool_admin_sessions", server="no-admin")
        families = {name for name, _, _ in exported}
        assert {"janus_pool_requests", "janus_pool_request_seconds", "janus_pool_in_flight"} <= (
            families
        )

        session = await pool.session()
        name = pool.server_of(session)
        assert name is not None
        plugin = JanusEchoTestPlugin()
        await plugin.attach(session)
        await plugin.request({"audio": True}, timeout=5.0)
        after_builtin, after_exported = both(pool, registry)
        assert after_exported == after_builtin
        assert after_exported != exported
        ok = {"server": name, "outcome": "ok"}
        assert sample(after_exported, "janus_pool_requests_total", request="create", **ok) == 1
        assert sample(after_exported, "janus_pool_requests_total", request="attach", **ok) == 1
        assert sample(after_exported, "janus_pool_placements_total", server=name) == 1
        assert sample(after_exported, "janus_pool_sessions", server=name) == 1
        assert (
            sample(
                after_exported, "janus_pool_request_seconds_count", server=name, request="create"
            )
            == 1
        )
        assert (
            sample(
                after_exported,
                "janus_pool_request_seconds_bucket",
                server=name,
                request="create",
                le="+Inf",
            )
            == 1
        )
        await session.destroy()
        gone_builtin, gone_exported = both(pool, registry)
        assert gone_exported == gone_builtin
        assert sample(gone_exported, "janus_pool_sessions", server=name) == 0


def test_collector_without_prometheus_client_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client.core", None)
    with pytest.raises(ImportError, match=r"janus-fast\[prometheus\]"):
        PoolCollector(object())  # type: ignore[arg-type]
