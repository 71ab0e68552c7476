"""The pool's metrics through prometheus_client (``PoolCollector``) and OpenTelemetry
(``PoolInstruments``) against real Janus servers: each equals ``pool.prometheus()`` at the same
moment, both move after requests, a missing extra is a clear ImportError, and a read that meets a
dict changing size (an exporter thread) is retried."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from janus_fast.plugins import JanusEchoTestPlugin
from janus_fast.pool import JanusPool, ServerSpec
from janus_fast.pool.otel import PoolInstruments
from janus_fast.pool.prometheus import PoolCollector
from janus_fast.pool.snapshot import READ_ATTEMPTS, read_servers

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


def otel_as_prometheus(reader: InMemoryMetricReader) -> dict[tuple[str, frozenset[Any]], float]:
    """The reader's points under the names and labels of pool.prometheus()'s samples."""
    data = reader.get_metrics_data()
    assert data is not None
    (resource,) = data.resource_metrics
    (scope,) = resource.scope_metrics
    assert scope.scope.name == "janus_fast.pool"
    names = {"janus.pool.request.seconds": "janus_pool_request_seconds_sum"}
    points = {}
    for metric in scope.metrics:
        name = names.get(metric.name, metric.name.replace(".", "_"))
        if type(metric.data).__name__ == "Sum":
            assert metric.data.is_monotonic
            name = name if name.endswith("_sum") else f"{name}_total"
        for point in metric.data.data_points:
            points[(name, frozenset(point.attributes.items()))] = float(point.value)
    return points


def builtin_without_buckets(pool: JanusPool) -> dict[tuple[str, frozenset[Any]], float]:
    """pool.prometheus()'s samples, less the histogram's buckets and counts (not in OTel)."""
    return {
        (name, labels): value
        for samples in parse(pool.prometheus()).values()
        for name, labels, value in samples
        if not name.endswith(("_bucket", "_count"))
    }


async def test_otel_instruments_equal_builtin_text_and_move(janus_factory: Any) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    try:
        async with JanusPool(pool_specs(janus_factory), **FAST) as pool:
            PoolInstruments(pool, meter_provider=provider)
            before = otel_as_prometheus(reader)
            assert before == builtin_without_buckets(pool)
            assert before[("janus_pool_server_up", frozenset({("server", "no-admin")}))] == 1

            session = await pool.session()
            name = pool.server_of(session)
            assert name is not None
            plugin = JanusEchoTestPlugin()
            await plugin.attach(session)
            await plugin.request({"audio": True}, timeout=5.0)
            after = otel_as_prometheus(reader)
            assert after == builtin_without_buckets(pool)
            attach = frozenset({("server", name), ("request", "attach"), ("outcome", "ok")})
            assert ("janus_pool_requests_total", attach) not in before
            assert after[("janus_pool_requests_total", attach)] == 1
            assert after[("janus_pool_placements_total", frozenset({("server", name)}))] == 1
            create = frozenset({("server", name), ("request", "create")})
            assert after[("janus_pool_request_seconds_sum", create)] > 0
            await session.destroy()
    finally:
        provider.shutdown()


def test_otel_without_the_api_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.metrics", None)
    with pytest.raises(ImportError, match=r"janus-fast\[otel\]"):
        PoolInstruments(object())  # type: ignore[arg-type]


class Racing:
    """A pool whose first metrics() reads meet a dict changing size (as from another thread)."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.reads = 0

    def metrics(self) -> dict[str, Any]:
        self.reads += 1
        if self.reads <= self.failures:
            raise RuntimeError("dictionary changed size during iteration")
        return {"servers": {"a": {"state": "up"}}}


def test_read_retries_a_dict_changing_size_then_gives_up() -> None:
    racing = Racing(READ_ATTEMPTS - 1)
    assert read_servers(racing) == {"a": {"state": "up"}}
    assert racing.reads == READ_ATTEMPTS
    always = Racing(READ_ATTEMPTS)
    with pytest.raises(RuntimeError, match="changed size"):
        read_servers(always)
    assert always.reads == READ_ATTEMPTS
