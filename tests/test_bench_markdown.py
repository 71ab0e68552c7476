"""The benchmark tables in the documentation are generated from the saved report, and stay so."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from janus_fast.bench.markdown import (
    BEGIN_MARKER,
    END_MARKER,
    generated_block,
    render_markdown,
    replace_block,
)
from janus_fast.cli import main

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmark-report.json"
PAGE = ROOT / "docs" / "benchmarks.md"


def saved_report() -> dict[str, Any]:
    report: dict[str, Any] = json.loads(REPORT.read_text(encoding="utf-8"))
    return report


def test_docs_tables_are_the_saved_report() -> None:
    """docs/benchmarks.md holds exactly what the saved report renders to (one copy, no drift)."""
    page = PAGE.read_text(encoding="utf-8")
    assert generated_block(page) == render_markdown(saved_report()), (
        "docs/benchmarks.md is out of date: run `janus-fast bench --from "
        "docs/benchmark-report.json --markdown-into docs/benchmarks.md`"
    )


def test_every_row_and_loop_is_rendered() -> None:
    report = saved_report()
    text = render_markdown(report)
    loops = sorted({row["loop"] for row in report["rows"]})
    pairs = {(row["workload"], row["label"]) for row in report["rows"]}
    table_lines = [line for line in text.splitlines() if re.match(r"\| W\d", line)]
    assert len(table_lines) == len(pairs)
    for workload, label in pairs:
        line = next(x for x in table_lines if x.startswith(f"| {workload} |") and label in x)
        ops_cell = line.split("|")[4]
        assert ops_cell.count("/") == len(loops) - 1


def test_a_failed_row_shows_no_number() -> None:
    report = saved_report()
    broken = copy.deepcopy(report)
    first = broken["rows"][0]
    first["failed"] = "worker died"
    text = render_markdown(broken)
    line = next(
        x
        for x in text.splitlines()
        if x.startswith(f"| {first['workload']} |") and first["label"] in x
    )
    cells = [cell.strip() for cell in line.split("|")]
    loops = [
        loop for loop in ("asyncio", "uvloop") if any(r["loop"] == loop for r in report["rows"])
    ]
    position = loops.index(first["loop"])
    assert cells[4].split(" / ")[position] == "-"
    assert f"{first['ops_per_s']:,.0f}" not in cells[4].split(" / ")[position]


def test_replace_block_keeps_the_rest_of_the_page() -> None:
    page = f"# Title\n\nbefore\n\n{BEGIN_MARKER}\n\nold table\n\n{END_MARKER}\n\nafter\n"
    updated = replace_block(page, "new table")
    assert updated.startswith("# Title\n\nbefore\n\n")
    assert updated.endswith(f"{END_MARKER}\n\nafter\n")
    assert generated_block(updated) == "new table"
    with pytest.raises(ValueError, match="markers"):
        replace_block("no markers here", "x")


def test_cli_rerenders_a_saved_report(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["bench", "--from", str(REPORT), "--markdown"])
    out = capsys.readouterr().out
    assert code == 0
    assert out == render_markdown(saved_report()) + "\n"
    page = tmp_path / "page.md"
    page.write_text(f"intro\n{BEGIN_MARKER}\nstale\n{END_MARKER}\n", encoding="utf-8")
    assert main(["bench", "--from", str(REPORT), "--markdown-into", str(page)]) == 0
    assert generated_block(page.read_text(encoding="utf-8")) == render_markdown(saved_report())


def test_cli_refuses_what_is_not_a_report(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"not": "a report"}', encoding="utf-8")
    assert main(["bench", "--from", str(bogus), "--markdown"]) == 2
    err = capsys.readouterr().err
    assert "not a saved benchmark report" in err
    assert main(["bench", "--from", str(tmp_path / "missing.json")]) == 2
    assert "cannot read the saved report" in capsys.readouterr().err
