"""Smoke run of the macro benchmark: every workload of every client, once, at tiny sizes.

Not a measurement (`janus-fast bench` is): it proves each client's workloads run against a real
Janus configured as the benchmark configures it, and that the report is sane. janus-client 0.9.0
is a benchmark-only dependency (the `bench` extra); without it its cases fail with the hint.
Works under `pytest benches` and `make bench` (`--benchmark-only`: one pedantic round).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from janus_fast.bench import BenchOptions, run_benchmark
from janus_fast.bench.clients import CLIENTS, LOOPS
from janus_fast.bench.report import render_table
from janus_fast.bench.runner import LOCAL_JANUS
from janus_fast.bench.workloads import BY_KEY, DEFAULT_KEYS, WORKLOADS
from janus_fast.testing import JanusConfig, JanusServer


@pytest.fixture(scope="module")
def bench_janus() -> Iterator[JanusServer]:
    with JanusServer(JanusConfig(**LOCAL_JANUS)) as server:  # type: ignore[arg-type]
        yield server


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("client", CLIENTS)
def test_macro_smoke(benchmark: Any, bench_janus: JanusServer, client: str, loop: str) -> None:
    options = BenchOptions(
        ws_url=bench_janus.ws_url,
        http_url=bench_janus.http_url,
        janus_pid=bench_janus.pid,
        clients=(client,),
        loops=(loop,),
        smoke=True,
    )
    report: dict[str, Any] = benchmark.pedantic(
        run_benchmark, args=(options,), rounds=1, iterations=1
    )
    assert not report["skipped"], report["skipped"]
    rows = report["rows"]
    assert [row["workload"] for row in rows] == [w.key for w in WORKLOADS]
    for row, workload in zip(rows, WORKLOADS, strict=True):
        assert not row.get("failed"), row
        expected = workload.smoke_count * (2 if workload.kind == "handles" else 1)
        if workload.kind == "fanin":  # every joining event, N(N-1)/2
            expected = workload.smoke_count * (workload.smoke_count - 1) // 2
            assert row["fanin_joins"] == workload.smoke_count, row
        assert row["ops"] == expected and row["errors"] == 0 and not row["truncated"], row
        assert row["ops_per_s"] > 0 and row["client_cpu_us_per_op"] > 0, row
        assert row["janus_cpu_us_per_op"] is not None and row["janus_cpu_us_per_op"] >= 0, row
        assert 0 < row["p50_us"] <= row["p99_us"] < 30e6, row
        quantiles = row["latency_quantiles_us"]
        assert len(quantiles) == 101 and quantiles == sorted(quantiles), row
        if workload.kind == "handles":
            assert row["handles_attached"] == workload.smoke_count
            assert 0 < row["mem_py_bytes_per_handle"] < 1e6
    table = render_table(report)
    assert loop in table and all(w.key in table for w in WORKLOADS)
    for target in report["targets"]:
        assert target["value"] is None or math.isfinite(target["value"])


def test_cost_floor_smoke(bench_janus: JanusServer) -> None:
    """``benches/cost_floor.py`` runs (tiny counts) and reports its three phases per loop."""
    script = Path(__file__).with_name("cost_floor.py")
    result = subprocess.run(
        [sys.executable, str(script), bench_janus.ws_url, "--count", "2000"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(rows) == 4 * len(LOOPS), result.stdout
    for row in rows:
        match = re.search(r"([0-9.]+) µs/op +([0-9.]+|-) ops/read call$", row)
        assert match is not None and float(match.group(1)) > 0, row
        assert match.group(2) == "-" or float(match.group(2)) > 0, row


@pytest.mark.parametrize("transport", ["ws", "http"])
def test_soak_slow_consumer_smoke(transport: str) -> None:
    """``benches/soak_slow_consumer.py`` runs ~10 s (its own Janus) per transport: slow handlers
    drop events, every event is accounted for (received = handled + dropped once drained), the
    per-handle bound holds and RSS stays flat."""
    script = Path(__file__).with_name("soak_slow_consumer.py")
    result = subprocess.run(
        [
            sys.executable,
            str(script),
            "--seconds",
            "10",
            "--quiet",
            "--json",
            "--transport",
            transport,
        ],
        capture_output=True,
        text=True,
        timeout=55,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["problems"] == [], report["problems"]
    final = report["final"]
    assert final["dropped"] > 0 and final["handled"] > 0, final
    assert final["received"] == final["handled"] + final["dropped"], final
    assert 0 < report["max_queued"] <= report["queued_bound"], report
    assert len(report["samples"]) >= 8 and report["churn_failures"] == 0, report


def _rows_ok(report: dict[str, Any], keys: list[str]) -> dict[str, dict[str, Any]]:
    assert not report["skipped"], report["skipped"]
    rows = {row["workload"]: row for row in report["rows"]}
    assert sorted(rows) == sorted(keys), report["rows"]
    for key, row in rows.items():
        workload = BY_KEY[key]
        assert not row.get("failed"), row
        assert row["ops"] == workload.smoke_count and row["errors"] == 0, row
        assert not row["truncated"] and row["ops_per_s"] > 0, row
        assert row["client_cpu_us_per_op"] > 0 and 0 < row["p50_us"] <= row["p99_us"], row
    return rows


def test_many_sessions_smoke(bench_janus: JanusServer) -> None:
    """W8 (opt-in, janus_fast only): sessions of two handles held at once on one WebSocket;
    the floor, given too, runs nothing."""
    assert "W8" not in DEFAULT_KEYS
    options = BenchOptions(
        ws_url=bench_janus.ws_url,
        janus_pid=bench_janus.pid,
        clients=("fast-native", "floor"),
        loops=("uvloop",),
        workloads=("W8",),
        smoke=True,
    )
    report = run_benchmark(options)
    assert [row["client"] for row in report["rows"]] == ["fast-native"]
    row = _rows_ok(report, ["W8"])["W8"]
    assert row["sessions_held"] == BY_KEY["W8"].smoke_count, row
    assert row["handles_attached"] == 2 * BY_KEY["W8"].smoke_count, row
    assert row["attach_handles_per_s"] > 0 and 0 < row["mem_py_bytes_per_handle"] < 1e6, row
    assert row["mem_sample_handles"] == row["handles_attached"], row


def test_pool_smoke() -> None:
    """W9 (opt-in): the benchmark starts three Janus servers of its own; ping and echotest
    through a JanusPool of three and of one."""
    assert not {"W9a", "W9b"} & set(DEFAULT_KEYS)
    options = BenchOptions(
        clients=("fast", "fast-native"), loops=("asyncio",), workloads=("W9",), smoke=True
    )
    report = run_benchmark(options)
    for client in ("fast", "fast-native"):  # the janus-client-compatible API and the native one
        of_client = {**report, "rows": [row for row in report["rows"] if row["client"] == client]}
        rows = _rows_ok(of_client, ["W9a", "W9b", "W9c", "W9d"])
        assert rows["W9a"]["janus_cpu_us_per_op"] is None  # three pids: not one Janus's CPU
        assert rows["W9c"]["janus_cpu_us_per_op"] is not None


def test_transports_smoke() -> None:
    """W10 (opt-in): ping and echotest over WebSocket, Unix socket, MQTT, RabbitMQ and Nanomsg
    of one local Janus (the benchmark starts both brokers)."""
    options = BenchOptions(
        clients=("fast-native",), loops=("uvloop",), workloads=("W10",), smoke=True
    )
    report = run_benchmark(options)
    rows = _rows_ok(report, [f"W10{letter}" for letter in "abcdefghij"])
    assert {BY_KEY[key].transport for key in rows} == {"ws", "unix", "mqtt", "amqp", "nanomsg"}
    assert "amqp://" not in render_table(report)  # broker credentials stay out of the report
