"""Charts of a benchmark report: throughput and latency distribution per client and workload.

Rule: ``write_plot`` writes a PNG with matplotlib when the file name ends in ``.png`` and
matplotlib is installed; otherwise a self-contained HTML page (inline SVG, no script, no CDN).
It returns the path actually written (``.html`` replaces ``.png`` when matplotlib is missing).
"""

from __future__ import annotations

import html
import importlib
import math
from pathlib import Path
from typing import Any

COLORS = {
    "fast": "#1f77b4",
    "fast-native": "#17becf",
    "janus-client": "#d62728",
    "floor": "#7f7f7f",
}
DASH = {"asyncio": "", "uvloop": "6,3"}


def _series(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    by_workload: dict[str, list[dict[str, Any]]] = {}
    for row in report["rows"]:
        if row.get("failed") or not row.get("ops"):
            continue
        by_workload.setdefault(row["workload"], []).append(row)
    return by_workload


def write_plot(report: dict[str, Any], path: str | Path) -> Path:
    """Chart a report: a PNG with matplotlib, else a self-contained HTML page.

    Args:
        report: the benchmark report.
        path: the file to write; a ``.png`` becomes ``.html`` when matplotlib is missing.

    Returns:
        The path written.
    """
    target = Path(path)
    if target.suffix.lower() == ".png":
        try:
            pyplot = importlib.import_module("matplotlib.pyplot")
        except ImportError:
            target = target.with_suffix(".html")
        else:
            _write_png(report, target, pyplot)
            return target
    target.write_text(render_html(report), encoding="utf-8")
    return target


def _write_png(report: dict[str, Any], target: Path, pyplot: Any) -> None:
    importlib.import_module("matplotlib").use("Agg")
    series = _series(report)
    keys = list(series)
    figure, axes = pyplot.subplots(
        len(keys), 2, figsize=(13, 3.2 * max(1, len(keys))), squeeze=False
    )
    for row_number, key in enumerate(keys):
        rows = series[key]
        bars, lat = axes[row_number][0], axes[row_number][1]
        names = [f"{r['client']}\n{r['loop']}" for r in rows]
        bars.barh(
            names,
            [r["ops_per_s"] for r in rows],
            color=[COLORS.get(r["client"], "#333") for r in rows],
        )
        bars.set_title(f"{key}: {rows[0]['title']} — ops/s", fontsize=9)
        bars.tick_params(labelsize=7)
        for r in rows:
            quantiles = r.get("latency_quantiles_us") or []
            if quantiles:
                lat.plot(
                    quantiles,
                    [i / (len(quantiles) - 1) * 100 for i in range(len(quantiles))],
                    color=COLORS.get(r["client"], "#333"),
                    linestyle="--" if r["loop"] == "uvloop" else "-",
                    label=f"{r['client']} ({r['loop']})",
                )
        lat.set_xscale("log")
        lat.set_xlabel("latency µs", fontsize=8)
        lat.set_ylabel("percentile", fontsize=8)
        lat.set_title(f"{key}: latency distribution", fontsize=9)
        lat.legend(fontsize=6)
        lat.tick_params(labelsize=7)
    figure.tight_layout()
    figure.savefig(target, dpi=110)
    pyplot.close(figure)


def _bar_svg(rows: list[dict[str, Any]]) -> str:
    width, bar_height, label_width = 560, 18, 230
    height = bar_height * len(rows) + 30
    top = max(r["ops_per_s"] for r in rows) or 1.0
    parts = [f'<svg width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">']
    for number, r in enumerate(rows):
        y = 10 + number * bar_height
        length = (width - label_width - 80) * r["ops_per_s"] / top
        name = html.escape(f"{r['label']} · {r['loop']}")
        opacity = 0.65 if r["loop"] == "uvloop" else 1
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 12}" font-size="11" text-anchor="end">'
            f"{name}</text>"
            f'<rect x="{label_width}" y="{y + 2}" width="{length:.1f}" height="{bar_height - 5}" '
            f'fill="{COLORS.get(r["client"], "#333")}" opacity="{opacity}"/>'
            f'<text x="{label_width + length + 4:.1f}" y="{y + 12}" font-size="11">'
            f"{r['ops_per_s']:,.0f}/s</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _cdf_svg(rows: list[dict[str, Any]]) -> str:
    width, height, left, bottom = 560, 260, 50, 30
    values = [q for r in rows for q in (r.get("latency_quantiles_us") or []) if q > 0]
    if not values:
        return ""
    low, high = math.log10(min(values)), math.log10(max(values))
    if high - low < 1e-9:
        high = low + 1
    plot_w, plot_h = width - left - 10, height - bottom - 10

    def x(value: float) -> float:
        return left + (math.log10(max(value, 1e-9)) - low) / (high - low) * plot_w

    def y(percent: float) -> float:
        return 10 + plot_h - percent / 100 * plot_h

    parts = [f'<svg width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">']
    parts.append(
        f'<rect x="{left}" y="10" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>'
    )
    for exponent in range(math.floor(low), math.ceil(high) + 1):
        if low <= exponent <= high:
            px = x(10**exponent)
            parts.append(
                f'<line x1="{px:.1f}" y1="10" x2="{px:.1f}" y2="{10 + plot_h}" stroke="#ddd"/>'
                f'<text x="{px:.1f}" y="{height - 12}" font-size="10" text-anchor="middle">'
                f"{10**exponent:g} µs</text>"
            )
    for percent in (0, 50, 90, 99, 100):
        parts.append(
            f'<text x="{left - 4}" y="{y(percent) + 4:.1f}" font-size="10" text-anchor="end">'
            f"p{percent}</text>"
        )
    for r in rows:
        quantiles = r.get("latency_quantiles_us") or []
        if len(quantiles) < 2:
            continue
        points = " ".join(
            f"{x(q):.1f},{y(i / (len(quantiles) - 1) * 100):.1f}" for i, q in enumerate(quantiles)
        )
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{COLORS.get(r["client"], "#333")}" '
            f'stroke-width="1.6" stroke-dasharray="{DASH.get(r["loop"], "")}">'
            f"<title>{html.escape(r['label'])} · {r['loop']}</title></polyline>"
        )
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: dict[str, Any]) -> str:
    """Return a self-contained HTML page charting the report (inline SVG bars)."""
    meta = report.get("meta", {})
    out = [
        "<!doctype html><html><head><meta charset='utf-8'><title>janus_fast benchmark</title>",
        "<style>body{font-family:sans-serif;margin:20px}section{margin-bottom:28px}"
        "h2{font-size:15px}.legend span{display:inline-block;margin-right:14px}</style></head>",
        "<body><h1>janus_fast macro benchmark</h1>",
        f"<p>{html.escape(str(meta.get('machine', {})))}"
        f" · Python {html.escape(str(meta.get('python')))}"
        f" · Janus {html.escape(str(meta.get('janus', {}).get('version')))}"
        f" · started {html.escape(str(meta.get('started')))}</p>",
        "<p class='legend'>",
    ]
    for client, color in COLORS.items():
        out.append(f"<span style='color:{color}'>■ {html.escape(client)}</span>")
    out.append("solid: asyncio, dashed / light: uvloop</p>")
    for key, rows in _series(report).items():
        out.append(f"<section><h2>{html.escape(key)}: {html.escape(rows[0]['title'])}</h2>")
        out.append("<div>throughput (ops/s)</div>" + _bar_svg(rows))
        out.append("<div>latency distribution (percentile vs µs, log scale)</div>" + _cdf_svg(rows))
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out)
