"""The ``janus-fast`` command line against real Janus instances: output, exit codes, errors.

Every failure must be ONE line on stderr and a non-zero exit code (2 usage/URL, 3 auth, 1 else).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from janus_fast.bench.workloads import WORKLOADS
from janus_fast.cli import main
from janus_fast.testing import JanusServer
from janus_fast.testing._ports import pick_free_ports


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(err: str) -> None:
    assert err.startswith("janus-fast: error: "), err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err


def test_console_script_is_declared() -> None:
    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts.get("janus-fast") == "janus_fast.cli:main"


def test_info(
    capsys: pytest.CaptureFixture[str], janus_server: JanusServer, janus_url: str
) -> None:
    code, out, err = run(capsys, "info", janus_url)
    assert code == 0, err
    assert "Janus WebRTC Server" in out
    assert janus_server.server_name in out
    assert "janus.plugin.echotest" in out


def test_info_json(capsys: pytest.CaptureFixture[str], janus_server: JanusServer) -> None:
    code, out, _ = run(capsys, "info", janus_server.ws_url, "--json")
    assert code == 0
    assert json.loads(out)["server-name"] == janus_server.server_name


def test_ping(capsys: pytest.CaptureFixture[str], janus_url: str) -> None:
    code, out, err = run(capsys, "ping", janus_url, "-c", "3", "-i", "0")
    assert code == 0, err
    assert out.count("pong from") == 3
    assert "3 pings: min/avg/max" in out


def test_ping_json(capsys: pytest.CaptureFixture[str], janus_server: JanusServer) -> None:
    code, out, _ = run(capsys, "ping", janus_server.http_url, "-c", "2", "-i", "0", "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["count"] == 2 and len(summary["times_ms"]) == 2


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps({**body, "transaction": uuid.uuid4().hex}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


@pytest.fixture
def live_handle(janus_server: JanusServer) -> Iterator[tuple[int, int, str]]:
    """A session with one echotest handle (made over plain HTTP), destroyed afterwards."""
    base = janus_server.http_url
    session_id = _post(base, {"janus": "create"})["data"]["id"]
    opaque = f"cli-test-{uuid.uuid4().hex[:8]}"
    handle_id = _post(
        f"{base}/{session_id}",
        {"janus": "attach", "plugin": "janus.plugin.echotest", "opaque_id": opaque},
    )["data"]["id"]
    yield session_id, handle_id, opaque
    _post(f"{base}/{session_id}", {"janus": "destroy"})


@pytest.mark.parametrize("admin", ["ws", "http"])
def test_monitor_one_iteration(
    capsys: pytest.CaptureFixture[str],
    janus_server: JanusServer,
    live_handle: tuple[int, int, str],
    admin: str,
) -> None:
    session_id, handle_id, opaque = live_handle
    url = janus_server.admin_ws_url if admin == "ws" else janus_server.admin_http_url
    secret = janus_server.admin_secret
    code, out, err = run(capsys, "monitor", url, "--admin-secret", secret, "--iterations", "1")
    assert code == 0, err
    assert str(session_id) in out and str(handle_id) in out
    assert "janus.plugin.echotest" in out and opaque in out
    assert secret not in out + err
    code, out, _ = run(
        capsys, "monitor", url, "--admin-secret", secret, "--iterations", "1", "--json"
    )
    snapshot = json.loads(out)
    session = next(s for s in snapshot["sessions"] if s["session_id"] == session_id)
    assert session["handles"][0]["handle_id"] == handle_id
    assert session["handles"][0]["opaque_id"] == opaque


def test_monitor_counts_handles_beyond_max_handles(
    capsys: pytest.CaptureFixture[str],
    janus_server: JanusServer,
    live_handle: tuple[int, int, str],
) -> None:
    session_id, handle_id, opaque = live_handle
    url, secret = janus_server.admin_http_url, janus_server.admin_secret
    argv = ("monitor", url, "--admin-secret", secret, "--iterations", "1", "--max-handles", "0")
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    snapshot = json.loads(out)
    session = next(s for s in snapshot["sessions"] if s["session_id"] == session_id)
    assert (session["handle_count"], session["handles"]) == (1, [])
    assert snapshot["handle_count"] >= 1
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert f"(+{snapshot['handle_count']} more handles; --max-handles 0 shown)" in out
    assert str(handle_id) not in out and opaque not in out


def test_monitor_needs_an_admin_secret(
    capsys: pytest.CaptureFixture[str], janus_server: JanusServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JANUS_ADMIN_SECRET", raising=False)
    code, _, err = run(capsys, "monitor", janus_server.admin_ws_url, "--iterations", "1")
    assert code == 2
    assert_one_line_error(err)
    assert "admin secret is required" in err


@pytest.mark.parametrize("admin", ["ws", "http"])
def test_monitor_wrong_admin_secret(
    capsys: pytest.CaptureFixture[str], janus_server: JanusServer, admin: str
) -> None:
    url = janus_server.admin_ws_url if admin == "ws" else janus_server.admin_http_url
    code, _, err = run(capsys, "monitor", url, "--admin-secret", "wrong", "--iterations", "1")
    assert code == 3
    assert_one_line_error(err)
    assert "authentication refused" in err and "wrong" not in err.replace("wrong or", "")


@pytest.mark.parametrize(
    "url", ["foo://127.0.0.1:8188", "ws://", "http://[::1", "127.0.0.1:8188", "wss://:0"]
)
def test_bad_url(capsys: pytest.CaptureFixture[str], url: str) -> None:
    for command in ("info", "ping"):
        code, out, err = run(capsys, command, url)
        assert code == 2, err
        assert_one_line_error(err)
        assert out == ""


@pytest.mark.parametrize("scheme", ["ws", "http"])
def test_unreachable_port(capsys: pytest.CaptureFixture[str], scheme: str) -> None:
    port = pick_free_ports(1)[0]
    url = f"ws://127.0.0.1:{port}" if scheme == "ws" else f"http://127.0.0.1:{port}/janus"
    for argv in (["info", url], ["ping", url], ["monitor", url, "--admin-secret", "x"]):
        code, _, err = run(capsys, *argv, "--timeout", "3")
        assert code == 1, err
        assert_one_line_error(err)
    code, _, err = run(capsys, "bench", url, "--smoke", "--clients", "fast", "--loops", "asyncio")
    assert code == 1
    assert_one_line_error(err)


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["nope"], ["ping"], ["ping", "ws://x", "-c", "many"], []):
        code, _, err = run(capsys, *argv)
        assert code == 2
        assert_one_line_error(err)
    code, _, err = run(capsys, "bench", "ws://127.0.0.1:1", "--clients", "nobody", "--smoke")
    assert code == 2
    assert_one_line_error(err)


def test_bench_auth_failure(capsys: pytest.CaptureFixture[str], janus_factory: Any) -> None:
    janus = janus_factory(api_secret="s3cret-value")
    argv = ["bench", janus.ws_url, "--smoke", "--clients", "fast", "--loops", "asyncio"]
    code, _, err = run(capsys, *argv, "--workloads", "W1")
    assert code == 3
    assert_one_line_error(err)
    code, _, err = run(capsys, *argv, "--workloads", "W1", "--api-secret", "wrong-secret")
    assert code == 3
    assert_one_line_error(err)
    assert "wrong-secret" not in err
    code, out, err = run(
        capsys, *argv, "--workloads", "W1,W3", "--api-secret", "s3cret-value", "--json"
    )
    assert code == 0, err
    rows = json.loads(out)["rows"]
    assert [row["workload"] for row in rows] == ["W1", "W3"]
    assert all(row["ops"] > 0 and row["errors"] == 0 for row in rows), rows
    assert "s3cret-value" not in out + err


def _check_rows(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        assert not row.get("failed"), row
        assert row["ops"] > 0 and row["errors"] == 0 and not row["truncated"], row
        assert row["ops_per_s"] > 0 and row["client_cpu_us_per_op"] > 0, row
        assert row["p50_us"] <= row["p99_us"], row


def test_bench_smoke_json_against_url(
    capsys: pytest.CaptureFixture[str], janus_server: JanusServer
) -> None:
    code, out, err = run(
        capsys,
        "bench",
        janus_server.ws_url,
        janus_server.http_url,
        "--smoke",
        "--json",
        "--clients",
        "fast,fast-native,floor",
        "--loops",
        "asyncio,uvloop",
        "--janus-pid",
        str(janus_server.pid),
    )
    assert code == 0, err
    report = json.loads(out)
    rows = report["rows"]
    # Every workload (the default), per loop and per client.
    assert len(rows) == 2 * 3 * len(WORKLOADS)
    assert {row["workload"] for row in rows} == {w.key for w in WORKLOADS}
    _check_rows(rows)
    assert all(row["janus_cpu_us_per_op"] is not None for row in rows)
    w5 = [row for row in rows if row["workload"] == "W5" and row["client"] == "fast"]
    assert all(0 < row["mem_py_bytes_per_handle"] < 10_000 for row in w5)
    assert {t["workload"] for t in report["targets"]} >= {"W2", "W3", "W5", "W6a", "W6b"}


def test_bench_starts_its_own_janus(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    plot = tmp_path / "chart.html"
    code, out, err = run(
        capsys,
        "bench",
        "--smoke",
        "--clients",
        "fast",
        "--loops",
        "asyncio",
        "--workloads",
        "W1,W2,W6a",
        "--plot",
        str(plot),
        "--save",
        str(tmp_path / "report.json"),
    )
    assert code == 0, err
    assert "started by the benchmark: event_loops=2, compact JSON" in out
    assert "W6a" in out and "janus_fast (compat API)" in out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["meta"]["janus"]["started_by_benchmark"] is True
    _check_rows(report["rows"])
    page = plot.read_text()
    assert page.count("<svg") >= 6 and "http" not in page.replace("http://www.w3.org", "")


def test_console_script_runs_as_a_process(janus_server: JanusServer) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "janus_fast.cli", "ping", janus_server.ws_url, "-c", "1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "pong from" in result.stdout
    result = subprocess.run(
        [sys.executable, "-m", "janus_fast.cli", "info", "ws://127.0.0.1:1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert_one_line_error(result.stderr)


def test_bench_repeat_reports_the_median_run(
    capsys: pytest.CaptureFixture[str], janus_server: JanusServer
) -> None:
    code, out, err = run(
        capsys,
        "bench",
        janus_server.ws_url,
        "--smoke",
        "--json",
        "--repeat",
        "3",
        "--clients",
        "fast",
        "--loops",
        "asyncio",
        "--workloads",
        "W1,W2",
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["meta"]["repeat"] == 3
    rows = report["rows"]
    assert len(rows) == 2
    _check_rows(rows)
    for row in rows:
        runs = row["client_cpu_us_per_op_runs"]
        assert row["runs"] == 3 and len(runs) == 3 and len(row["ops_per_s_runs"]) == 3
        assert row["client_cpu_us_per_op"] == sorted(runs)[1]  # the median run's own numbers


def test_median_run_never_mixes_runs_and_keeps_failures_visible() -> None:
    from janus_fast.bench.runner import median_run

    runs = [
        {"client_cpu_us_per_op": 9.0, "ops_per_s": 1.0},
        {"failed": "worker died"},
        {"client_cpu_us_per_op": 3.0, "ops_per_s": 3.0},
        {"client_cpu_us_per_op": 5.0, "ops_per_s": 2.0},
    ]
    chosen = median_run(runs)
    assert (chosen["client_cpu_us_per_op"], chosen["ops_per_s"]) == (5.0, 2.0)
    assert chosen["failed_runs"] == 1 and chosen["client_cpu_us_per_op_runs"] == [9.0, 3.0, 5.0]
    assert median_run([{"failed": "a"}, {"failed": "b"}]) == {"failed": "a"}
    assert median_run([{"client_cpu_us_per_op": 1.0}]) == {"client_cpu_us_per_op": 1.0}


def test_bench_rejects_a_bad_repeat(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "bench", "--repeat", "0")
    assert code != 0 and "--repeat" in err and "Traceback" not in err
