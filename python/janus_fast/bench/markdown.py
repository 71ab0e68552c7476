"""The benchmark report as Markdown: the one copy of the results tables in the documentation.

Rule: a pure function of a saved report (the ``--json``/``--save`` output), so the tables in
``docs/benchmarks.md`` are generated from ``docs/benchmark-report.json`` and a test checks that they
still are. One row per (workload, client); each cell shows every event loop of the run, in
``asyncio / uvloop`` order. A failed or missing value is ``-``, never a number.
"""

from __future__ import annotations

import math
from typing import Any

#: Row order of the clients; a client not listed here comes after these, by name.
CLIENT_ORDER = ("fast", "fast-native", "janus-client", "floor")
#: Event-loop order inside a cell.
LOOP_ORDER = ("asyncio", "uvloop")
#: The markers around the generated block in a Markdown page.
BEGIN_MARKER = "<!-- generated from the saved report: janus-fast bench --from FILE --markdown -->"
END_MARKER = "<!-- end of generated block -->"


def _number(value: Any, digits: int) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-"
    if not math.isfinite(value):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def _loops(report: dict[str, Any]) -> list[str]:
    present = {row["loop"] for row in report.get("rows", [])}
    return [loop for loop in LOOP_ORDER if loop in present] + sorted(present - set(LOOP_ORDER))


def _client_key(client: str) -> tuple[int, str]:
    return (
        (CLIENT_ORDER.index(client), "") if client in CLIENT_ORDER else (len(CLIENT_ORDER), client)
    )


def _cell(rows: list[dict[str, Any] | None], field: str, digits: int) -> str:
    values = []
    for row in rows:
        if row is None or row.get("failed"):
            values.append("-")
        else:
            values.append(_number(row.get(field), digits))
    return " / ".join(values)


def _runs(rows: list[dict[str, Any] | None]) -> str:
    parts = []
    for row in rows:
        runs = (
            [] if row is None or row.get("failed") else row.get("client_cpu_us_per_op_runs") or []
        )
        parts.append("/".join(_number(float(value), 1) for value in runs) or "-")
    return " ; ".join(parts)


def _facts(report: dict[str, Any], loops: list[str]) -> str:
    meta = report.get("meta", {})
    machine = meta.get("machine", {})
    janus = meta.get("janus", {})
    versions = meta.get("versions", {})
    started = str(meta.get("started", "?"))[:10]
    repeat = meta.get("repeat") or 1
    library = ", ".join(f"{name} {version}" for name, version in versions.items())
    how = (
        f"each row is the median of {repeat} interleaved runs by client CPU per operation"
        if repeat > 1
        else "one run per row"
    )
    return (
        f"Run of {started}: {machine.get('cpus', '?')} CPUs ({machine.get('cpu_model', '?')}), "
        f"Python {meta.get('python', '?')}, Janus {janus.get('version') or '?'}, "
        f"`_core` build: {meta.get('core_build', '?')}; {library}; "
        f"{_number(meta.get('duration_s'), 0)} s end to end; {how}. "
        f"Cells show {' / '.join(loops)}."
    )


def render_markdown(report: dict[str, Any]) -> str:
    """Render a saved benchmark report as Markdown: the run's facts, results and targets.

    Args:
        report: The report dict, as ``janus-fast bench --json`` prints it or ``--save`` writes it.

    Returns:
        Markdown text: a paragraph of facts, the results table (with a Python-bytes-per-handle
        column when a row measured it) and, when the report has any, the targets table. The
        same report always renders to the same text.
    """
    loops = _loops(report)
    by_key: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    labels: dict[str, str] = {}
    for row in report.get("rows", []):
        by_key.setdefault((row["workload"], row["client"]), {})[row["loop"]] = row
        labels[row["client"]] = row.get("label", row["client"])
    order = list(report.get("workloads", {}))
    titles = {key: spec.get("title", "") for key, spec in report.get("workloads", {}).items()}

    def workload_key(key: str) -> tuple[int, str]:
        return (order.index(key), "") if key in order else (len(order), key)

    memory = any(row.get("mem_py_bytes_per_handle") is not None for row in report.get("rows", []))
    lines = [_facts(report, loops), ""]
    lines.append(
        "| WL | workload | client | ops/s | p50 µs | p99 µs | client CPU µs/op "
        "| every run's client CPU | Janus CPU µs/op |"
        + (" Python B per handle |" if memory else "")
    )
    lines.append("|---|---|---|---:|---:|---:|---:|---|---:|" + ("---:|" if memory else ""))
    for workload, client in sorted(by_key, key=lambda k: (workload_key(k[0]), _client_key(k[1]))):
        per_loop = by_key[(workload, client)]
        rows = [per_loop.get(loop) for loop in loops]
        lines.append(
            f"| {workload} | {titles.get(workload, '')} | {labels[client]} "
            f"| {_cell(rows, 'ops_per_s', 0)} | {_cell(rows, 'p50_us', 0)} "
            f"| {_cell(rows, 'p99_us', 0)} | {_cell(rows, 'client_cpu_us_per_op', 2)} "
            f"| {_runs(rows)} | {_cell(rows, 'janus_cpu_us_per_op', 1)} |"
            + (f" {_cell(rows, 'mem_py_bytes_per_handle', 0)} |" if memory else "")
        )
    targets = report.get("targets") or []
    if targets:
        lines += ["", "| loop | WL | client | target | value | required | verdict |"]
        lines.append("|---|---|---|---|---:|---:|---|")
        for target in targets:
            verdict = {True: "met", False: "**not met**", None: "not evaluated"}[target.get("ok")]
            sign = "≥" if target.get("higher_is_better", True) else "≤"
            client = labels.get(target["client"], target["client"])
            lines.append(
                f"| {target['loop']} | {target['workload']} | {client} "
                f"| {target['target']} | {_number(target.get('value'), 2)} "
                f"| {sign} {_number(target.get('required'), 1)} | {verdict} |"
            )
    return "\n".join(lines)


def replace_block(page: str, block: str) -> str:
    """Put a generated block between the markers of a Markdown page.

    Args:
        page: The page's text; it must hold ``BEGIN_MARKER`` and, after it, ``END_MARKER``.
        block: The generated Markdown to put between them.

    Returns:
        The page with the old block replaced.

    Raises:
        ValueError: The page lacks the markers, or has them in the wrong order.
    """
    start = page.find(BEGIN_MARKER)
    end = page.find(END_MARKER)
    if start < 0 or end < start:
        raise ValueError("the page has no generated-block markers (or they are out of order)")
    head = page[: start + len(BEGIN_MARKER)]
    return f"{head}\n\n{block}\n\n{page[end:]}"


def generated_block(page: str) -> str:
    """Return the text between a page's generated-block markers, without the blank edges.

    Args:
        page: A Markdown page holding ``BEGIN_MARKER`` and ``END_MARKER``.

    Returns:
        The block between the markers, stripped of leading and trailing blank lines.

    Raises:
        ValueError: The page lacks the markers, or has them in the wrong order.
    """
    start = page.find(BEGIN_MARKER)
    end = page.find(END_MARKER)
    if start < 0 or end < start:
        raise ValueError("the page has no generated-block markers (or they are out of order)")
    return page[start + len(BEGIN_MARKER) : end].strip("\n")
