"""report.md, report.html and swebench_report.json of an evaluation run.

The HTML pages are self-contained: the plots are inline SVG drawn here (no plotting library, no
external file), the style and the one small script (a filter over the task rows) are inline, so a
page opens anywhere. report.html links each task row to that task's page under tasks/ (agent.view),
which shows its trajectory; all of them together can be copied or mailed as one directory.
"""

from __future__ import annotations

import html
import json
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agent.eval.metrics import LOCALIZATION_KEYS
from agent.eval.records import EvalRecord

HARNESS_REPORT = "swebench_report.json"
"""Per task the fields of the SWE-bench harness report (agent.eval.harness)."""

FL_LABELS = {
    "top1_line": "top-1 line", "top5_line": "top-5 lines", "top1_file": "top-1 file",
    "top5_file": "top-5 files", "edited_line": "edited a reference line",
    "edited_file": "edited a reference file",
}


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


# -- SVG plots -----------------------------------------------------------------------------------


def svg_bars(rows: Sequence[tuple[str, float, str]], *, width: int = 560) -> str:
    """Horizontal bars for values in [0, 1]: (label, value, note)."""
    bar_h, gap, left, right = 22, 8, 170, 110
    height = len(rows) * (bar_h + gap) + gap + 20
    span = width - left - right
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" font-family="sans-serif" font-size="12">']
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = left + tick * span
        parts.append(f'<line x1="{x:.1f}" y1="{gap}" x2="{x:.1f}" y2="{height - 20}" '
                     'stroke="#ddd"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle" fill="#555">'
                     f'{int(tick * 100)}%</text>')
    for i, (label, value, note) in enumerate(rows):
        y = gap + i * (bar_h + gap)
        w = max(0.0, min(1.0, value)) * span
        parts.append(f'<text x="{left - 6}" y="{y + bar_h * 0.7:.1f}" text-anchor="end">'
                     f'{html.escape(label[:26])}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#3b7dd8">'
                     f'<title>{html.escape(label)}: {_pct(value)} {html.escape(note)}</title></rect>')
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + bar_h * 0.7:.1f}" fill="#333">'
                     f'{_pct(value)} {html.escape(note)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def histogram_bins(values: Sequence[float], bins: int = 10,
                   integer: bool = False) -> list[tuple[float, float, int]]:
    """(low, high, count) for ``bins`` equal-width bins over the values' range; with ``integer``
    and a range of at most 20, one bin per whole number."""
    if not values:
        return []
    lo, hi = min(values), max(values)
    if integer and hi - lo < 20:
        start = int(lo)
        counts = [0] * (int(hi) - start + 1)
        for v in values:
            counts[int(v) - start] += 1
        return [(start + i, start + i + 1, c) for i, c in enumerate(counts)]
    if math.isclose(lo, hi):
        return [(lo, hi, len(values))]
    width = (hi - lo) / bins
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / width))] += 1
    return [(lo + i * width, lo + (i + 1) * width, c) for i, c in enumerate(counts)]


def svg_histogram(values: Sequence[float], *, xlabel: str, bins: int = 10, width: int = 560,
                  height: int = 220, integer: bool = False) -> str:
    rows = histogram_bins(values, bins, integer)
    if not rows:
        return "<p><em>no data</em></p>"
    left, bottom, top = 40, 40, 12
    plot_w, plot_h = width - left - 12, height - bottom - top
    peak = max(c for _, _, c in rows) or 1
    bar_w = plot_w / len(rows)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" font-family="sans-serif" font-size="11">',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
             'stroke="#555"/>',
             f'<text x="{left - 6}" y="{top + 8}" text-anchor="end" fill="#555">{peak}</text>',
             f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" fill="#555">0</text>']
    fmt = (lambda v: f"{v:.0f}") if integer else (lambda v: f"{v:.3g}")
    for i, (low, high, count) in enumerate(rows):
        h = plot_h * count / peak
        x = left + i * bar_w
        parts.append(f'<rect x="{x + 1:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" '
                     f'height="{h:.1f}" fill="#e8833a"><title>{fmt(low)}–{fmt(high)}: {count}'
                     '</title></rect>')
        if i % max(1, len(rows) // 5) == 0:
            parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 14}" fill="#555">{fmt(low)}</text>')
    parts.append(f'<text x="{left + plot_w:.1f}" y="{top + plot_h + 14}" text-anchor="end" '
                 f'fill="#555">{fmt(rows[-1][1])}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle">'
                 f'{html.escape(xlabel)}</text></svg>')
    return "".join(parts)


# -- tables --------------------------------------------------------------------------------------


def policy_label(policy: dict[str, Any]) -> str:
    """``search (backend=local, time_budget_s=720)``: the policy as a person writes it."""
    options = policy.get("options") or {}
    args = ", ".join(f"{k}={v}" for k, v in sorted(options.items()))
    return str(policy.get("name", "?")) + (f" ({args})" if args else "")


def _run_rows(run: dict[str, Any]) -> list[tuple[str, str]]:
    """When the run started, how often it was resumed, and its elapsed time over all sessions."""
    sessions = run.get("sessions") or []
    rows = [("started", str(run.get("started_at", "?")))]
    resumed = int(run.get("resumed", 0))
    if resumed:
        last = sessions[-1]["started_at"] if sessions else "?"
        rows.append(("resumed", f"{resumed} time{'s' if resumed > 1 else ''} (last {last})"))
    if run.get("finished_at"):
        rows.append(("finished", str(run["finished_at"])))
    total = float(run.get("elapsed_s", 0) or 0)
    where = f"with {run.get('workers', '?')} workers ({run.get('sandbox', '?')} sandbox)"
    if len(sessions) > 1:
        this = float(sessions[-1].get("elapsed_s") or 0)
        rows.append(("total elapsed", f"{total:.1f} s over {len(sessions)} sessions "
                                      f"(last session {this:.1f} s) {where}"))
    else:
        rows.append(("total elapsed", f"{total:.1f} s {where}"))
    return rows


def _headline(summary: dict[str, Any]) -> list[tuple[str, str]]:
    run = summary.get("run", {})
    return [
        ("policy", policy_label(run.get("policy", {}))),
        ("tasks", str(summary["tasks"])),
        ("resolved", f"{summary['resolved']} ({_pct(summary['resolve_rate'])})"),
        ("resolve rate, infra errors left out", _pct(summary["resolve_rate_completed"])),
        ("infrastructure errors", str(summary["infra_errors"])),
        ("mean reward", f"{summary['mean_reward']:.3f}"),
        ("wall time per task (mean / median / p90)",
         "{mean:.1f} / {median:.1f} / {p90:.1f} s".format(**summary["wall_s"])),
        ("steps per task (mean / median / p90)",
         "{mean:.1f} / {median:.0f} / {p90:.0f}".format(**summary["steps"])),
        ("tokens (total / mean)", f"{summary['tokens']['total']} / {summary['tokens']['mean']}"),
        *_run_rows(run),
    ]


def _task_rows(records: Sequence[EvalRecord]) -> list[list[str]]:
    rows = []
    for r in sorted(records, key=lambda r: r.task_id):
        fl = r.localization_eval or {}
        f2p, p2p = r.fail_to_pass, r.pass_to_pass
        rows.append([
            r.task_id, r.bug_class, "yes" if r.resolved else "no", f"{r.result.reward:.2f}",
            f"{r.passed(f2p)}/{len(f2p)}", f"{r.passed(p2p)}/{len(p2p)}", str(r.result.steps),
            f"{r.wall_s:.1f}", ("yes" if fl.get("top5_line") else "no") if fl else "–",
            r.status_text[:80],
        ])
    return rows


TASK_HEADER = ["task", "bug class", "resolved", "reward", "f2p", "p2p", "steps", "wall s",
               "top-5 line", "exit status"]


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(map(cell, header)) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in rows]
    return "\n".join(lines)


def _class_rows(summary: dict[str, Any]) -> list[list[str]]:
    return [[name, str(c["tasks"]), str(c["resolved"]), _pct(c["resolve_rate"])]
            for name, c in summary["per_bug_class"].items()]


def _fl_rows(summary: dict[str, Any]) -> list[list[str]]:
    fl = summary["localization"]
    return [[FL_LABELS[k], _pct(fl[k])] for k in LOCALIZATION_KEYS]


# -- the two reports -----------------------------------------------------------------------------


def render_markdown(summary: dict[str, Any], records: Sequence[EvalRecord]) -> str:
    fl = summary["localization"]
    parts = [
        "# Evaluation report", "",
        _md_table(["", ""], _headline(summary)), "",
        "## Resolve rate per bug class", "",
        _md_table(["bug class", "tasks", "resolved", "rate"], _class_rows(summary)), "",
        "## Fault localization", "",
        f"Judged on {fl['tasks']} tasks with a reference patch ({fl['localized']} of them "
        "localized by the policy); a hit is a reference line (or file) in the policy's ranking.",
        "", _md_table(["measure", "accuracy"], _fl_rows(summary)), "",
    ]
    if summary["infra_error_tasks"]:
        parts += ["## Infrastructure errors", "",
                  "Not counted as the policy's failures; `agent eval --resume` runs them again: "
                  + ", ".join(summary["infra_error_tasks"]), ""]
    parts += ["## Tasks", "", _md_table(TASK_HEADER, _task_rows(records)), ""]
    return "\n".join(parts)


def _task_entries(records: Sequence[EvalRecord],
                  task_href: Callable[[str], str] | None) -> list[dict[str, Any]]:
    entries = []
    for record, cells in zip(sorted(records, key=lambda r: r.task_id), _task_rows(records)):
        patch = record.result.patch
        entries.append({
            "cells": cells, "href": task_href(record.task_id) if task_href else None,
            "patch": patch, "patch_lines": sum(patch_size_lines(patch)),
            "search_text": " ".join(cells).lower(),
        })
    return entries


def patch_size_lines(patch: str) -> tuple[int, int]:
    """(removed, added) lines of a unified diff."""
    lines = [ln for ln in patch.splitlines() if not ln.startswith(("---", "+++"))]
    return sum(ln.startswith("-") for ln in lines), sum(ln.startswith("+") for ln in lines)


def render_html(summary: dict[str, Any], records: Sequence[EvalRecord], *,
                task_href: Callable[[str], str] | None = None) -> str:
    """The run's summary page; with ``task_href``, each task row links to that task's page."""
    from markupsafe import Markup

    from agent.view.render import render

    done = [r for r in records if not r.retried]
    class_bars = [(name, c["resolve_rate"], f"({c['resolved']}/{c['tasks']})")
                  for name, c in summary["per_bug_class"].items()]
    fl = summary["localization"]
    fl_bars = [(FL_LABELS[k], fl[k], "") for k in LOCALIZATION_KEYS]
    return render(
        "run.html", headline=_headline(summary), class_rows=_class_rows(summary),
        class_bars=Markup(svg_bars(class_bars)), fl=fl, fl_bars=Markup(svg_bars(fl_bars)),
        wall_plot=Markup(svg_histogram([r.wall_s for r in done], xlabel="seconds")),
        steps_plot=Markup(svg_histogram([float(r.result.steps) for r in done], xlabel="steps",
                                        integer=True)),
        infra_tasks=summary["infra_error_tasks"], header=TASK_HEADER,
        tasks=_task_entries(records, task_href),
    )


def write_text_atomic(path: Path, text: str) -> None:
    """Temp file in the same directory, then rename: a reader never sees half a report."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is for reading
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_reports(out: Path, summary: dict[str, Any], records: Sequence[EvalRecord]) -> None:
    """report.md; report.html with a page per task under tasks/; swebench_report.json."""
    from agent.eval.harness import harness_report
    from agent.view.tasks import task_page_name, write_task_pages

    write_text_atomic(out / "report.md", render_markdown(summary, records))
    write_text_atomic(out / HARNESS_REPORT, json.dumps(harness_report(list(records)), indent=1))
    write_task_pages(out, out, list(records), summary.get("run", {}), back="report.html")
    write_text_atomic(out / "report.html", render_html(summary, records, task_href=task_page_name))
