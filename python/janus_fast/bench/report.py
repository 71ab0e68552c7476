"""The benchmark report: the project's targets checked against a run, and the results table.

Rule: pure functions of the report dict (``runner.run_benchmark``'s result, also the ``--json``
output), so a saved JSON can be re-rendered. Targets compare clients of the same loop in the
same run; a target whose inputs are missing is reported as not evaluated, never as met.
"""

from __future__ import annotations

import math
from typing import Any

from janus_fast.bench.workloads import BY_KEY

#: Client CPU per operation on W2/W3: janus_fast ≤ 1/15 of janus-client's, ≤ 1/5 of the floor's.
CPU_VS_PEER = 15.0
CPU_VS_FLOOR = 5.0
#: W5: Python memory per idle handle.
MEMORY_PER_HANDLE = 1024.0
#: W6: throughput ≥ 4× janus-client's and ≥ the aiohttp floor's.
HTTP_VS_PEER = 4.0
HTTP_VS_FLOOR = 1.0
#: W3: the compatible API's client CPU per operation ≤ 1.2× the native API's (same run).
COMPAT_VS_NATIVE = 1.2
#: W7: client CPU per ``joining`` event delivered through ``on_receive`` (µs).
FANIN_CPU_PER_EVENT = 3.5
FAST_CLIENTS = ("fast", "fast-native")
_ORDER = {key: number for number, key in enumerate(BY_KEY)}
_CLIENT_ORDER = {
    key: number for number, key in enumerate(("fast", "fast-native", "janus-client", "floor"))
}


def _index(report: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(row["loop"], row["client"], row["workload"]): row for row in report["rows"]}


def _value(row: dict[str, Any] | None, field: str) -> float | None:
    if row is None or row.get("failed") or not row.get("ops"):
        return None
    value = row.get(field)
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def evaluate_targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Evaluate every performance target, per loop and janus_fast API, with the measured ratio."""
    rows = _index(report)
    loops = sorted({row["loop"] for row in report["rows"]})
    results: list[dict[str, Any]] = []

    def add(
        loop: str,
        client: str,
        workload: str,
        what: str,
        value: float | None,
        required: float,
        higher_is_better: bool,
    ) -> None:
        ok = (
            None
            if value is None
            else (value >= required if higher_is_better else value <= required)
        )
        results.append(
            {
                "loop": loop,
                "client": client,
                "workload": workload,
                "target": what,
                "value": None if value is None else round(value, 2),
                "required": required,
                "higher_is_better": higher_is_better,
                "ok": ok,
            }
        )

    for loop in loops:
        for client in FAST_CLIENTS:
            for workload in ("W2", "W3"):
                mine = _value(rows.get((loop, client, workload)), "client_cpu_us_per_op")
                peer = _value(rows.get((loop, "janus-client", workload)), "client_cpu_us_per_op")
                floor = _value(rows.get((loop, "floor", workload)), "client_cpu_us_per_op")
                if (loop, client, workload) not in rows:
                    continue
                add(
                    loop,
                    client,
                    workload,
                    "client CPU/op: janus-client's ÷ ours",
                    peer / mine if peer and mine else None,
                    CPU_VS_PEER,
                    True,
                )
                add(
                    loop,
                    client,
                    workload,
                    "client CPU/op: floor's ÷ ours",
                    floor / mine if floor and mine else None,
                    CPU_VS_FLOOR,
                    True,
                )
            for workload in ("W6a", "W6b"):
                if (loop, client, workload) not in rows:
                    continue
                mine = _value(rows.get((loop, client, workload)), "ops_per_s")
                peer = _value(rows.get((loop, "janus-client", workload)), "ops_per_s")
                floor = _value(rows.get((loop, "floor", workload)), "ops_per_s")
                add(
                    loop,
                    client,
                    workload,
                    "throughput: ours ÷ janus-client's",
                    mine / peer if mine and peer else None,
                    HTTP_VS_PEER,
                    True,
                )
                add(
                    loop,
                    client,
                    workload,
                    "throughput: ours ÷ floor's",
                    mine / floor if mine and floor else None,
                    HTTP_VS_FLOOR,
                    True,
                )
        if (loop, "fast", "W3") in rows and (loop, "fast-native", "W3") in rows:
            compat = _value(rows.get((loop, "fast", "W3")), "client_cpu_us_per_op")
            native = _value(rows.get((loop, "fast-native", "W3")), "client_cpu_us_per_op")
            add(
                loop,
                "fast",
                "W3",
                "client CPU/op: compat ÷ native",
                compat / native if compat and native else None,
                COMPAT_VS_NATIVE,
                False,
            )
        for workload in ("W7a", "W7b"):
            if (loop, "fast", workload) in rows:
                add(
                    loop,
                    "fast",
                    workload,
                    "client CPU µs per on_receive event",
                    _value(rows.get((loop, "fast", workload)), "client_cpu_us_per_op"),
                    FANIN_CPU_PER_EVENT,
                    False,
                )
        if (loop, "fast", "W5") in rows:
            add(
                loop,
                "fast",
                "W5",
                "Python bytes per idle handle",
                _value(rows.get((loop, "fast", "W5")), "mem_py_bytes_per_handle"),
                MEMORY_PER_HANDLE,
                False,
            )
    return results


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "-"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


COLUMNS = (
    ("WL", "workload"),
    ("client", "label"),
    ("ops", "ops"),
    ("ops/s", "ops_per_s"),
    ("p50 µs", "p50_us"),
    ("p99 µs", "p99_us"),
    ("cli CPU µs/op", "client_cpu_us_per_op"),
    ("(usr+sys)", "_split"),
    ("Janus CPU µs/op", "janus_cpu_us_per_op"),
    ("py B/handle", "mem_py_bytes_per_handle"),
    ("RSS B/handle", "mem_rss_bytes_per_handle"),
    ("note", "_note"),
)


def _cell(row: dict[str, Any], field: str) -> str:
    if field == "_split":
        user, system = row.get("client_user_us_per_op"), row.get("client_sys_us_per_op")
        return f"{_fmt(user)}+{_fmt(system)}" if user is not None and system is not None else ""
    if field == "_note":
        if row.get("failed"):
            return f"FAILED: {row['failed']}"[:90]
        notes = []
        if row.get("truncated"):
            notes.append(f"time limit ({_fmt(row.get('ops'))} of {_fmt(row.get('target_ops'))})")
        if row.get("errors"):
            notes.append(f"{row['errors']} errors: {row.get('first_error')}"[:80])
        if row.get("fanin_handles") is not None:
            notes.append(
                f"{_fmt(row['fanin_handles'])} handles, {_fmt(row.get('fanin_joins'))} joins"
                f" (p50/p99: joins), {_fmt(row.get('ops'))} of"
                f" {_fmt(row.get('fanin_events_expected'))} events"
            )
        if row.get("handles_attached") is not None:
            notes.append(f"{_fmt(row['handles_attached'])} handles")
        spread = row.get("client_cpu_us_per_op_runs")
        if spread and len(spread) > 1:
            notes.append("CPU runs " + "/".join(_fmt(value, 1) for value in spread))
        if row.get("failed_runs"):
            notes.append(f"{row['failed_runs']} runs failed")
        return "; ".join(notes)
    if row.get("failed") and field not in ("workload", "label"):
        return ""
    return _fmt(row.get(field), 2 if field.endswith("per_op") else 1)


def render_table(report: dict[str, Any]) -> str:
    """Render the results table (one block per event loop), the targets, and the run's facts."""
    lines: list[str] = []
    meta = report.get("meta", {})
    janus = meta.get("janus", {})
    lines.append(
        f"janus_fast macro benchmark — {meta.get('machine', {}).get('cpus')} CPUs "
        f"({meta.get('machine', {}).get('cpu_model')}), Python {meta.get('python')}, "
        f"Janus {janus.get('version') or '?'}"
        + (
            " (started by the benchmark: event_loops=2, compact JSON)"
            if janus.get("started_by_benchmark")
            else ""
        )
    )
    if meta.get("core_build") == "debug":
        lines.append(
            "WARNING: janus_fast._core is a DEBUG build; rebuild with "
            "`maturin develop --release` for representative numbers"
        )
    if meta.get("smoke"):
        lines.append("(smoke sizes: a functional check, not a measurement)")
    if (meta.get("repeat") or 1) > 1:
        lines.append(
            f"each row: the median of {meta['repeat']} interleaved runs by client CPU per "
            "operation (all runs' values in the note)"
        )
    for loop in sorted({row["loop"] for row in report["rows"]}):
        rows = sorted(
            (row for row in report["rows"] if row["loop"] == loop),
            key=lambda row: (_ORDER.get(row["workload"], 99), _CLIENT_ORDER.get(row["client"], 9)),
        )
        lines.append("")
        lines.append(f"event loop: {loop}")
        header = [title for title, _ in COLUMNS]
        table = [header] + [[_cell(row, field) for _, field in COLUMNS] for row in rows]
        widths = [max(len(r[i]) for r in table) for i in range(len(header))]
        previous = None
        for number, cells in enumerate(table):
            if number > 1 and rows[number - 1]["workload"] != previous:
                lines.append("")
            if number > 0:
                previous = rows[number - 1]["workload"]
            lines.append(
                "  ".join(
                    cell.ljust(widths[i]) if i in (0, 1, len(cells) - 1) else cell.rjust(widths[i])
                    for i, cell in enumerate(cells)
                ).rstrip()
            )
    for skip in report.get("skipped", []):
        lines.append(f"skipped {skip['client']} on {skip['loop']}: {skip['reason']}")
    targets = report.get("targets") or []
    if targets and meta.get("smoke"):
        lines.append("")
        lines.append("targets: not evaluated on smoke sizes")
    elif targets:
        lines.append("")
        lines.append("targets:")
        for target in targets:
            verdict = {True: "met", False: "NOT met", None: "not evaluated"}[target["ok"]]
            lines.append(
                f"  {target['loop']:8} {target['workload']:4} {target['client']:12} "
                f"{target['target']}: {_fmt(target['value'], 2)} "
                f"(required {'≥' if target.get('higher_is_better', True) else '≤'} "
                f"{_fmt(target['required'], 1)}) {verdict}"
            )
    return "\n".join(lines)
