"""What an evaluation run measures: fault-localization accuracy per task, and the run summary.

Localization is judged against the reference patch: the lines it removes or changes in the
original files (a pure insertion counts as the line it follows; ``agent.patches.edited_lines``). A
localization entry is ``"path:line"``; it hits at line level when that exact line is one of the
reference lines, at file level when its file is one the reference changes.
"""

from __future__ import annotations

import math
import posixpath
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from agent.eval.records import ErrorKind, EvalRecord
from agent.patches import edited_lines

LOCALIZATION_KEYS = ("top1_line", "top5_line", "top1_file", "top5_file", "edited_line",
                     "edited_file")


def _norm(path: str) -> str:
    path = path.strip().replace("\\", "/")
    path = posixpath.normpath(path)
    return path.removeprefix("./")


def parse_location(entry: str) -> tuple[str, int | None]:
    """``"pkg/m.py:12"`` -> ("pkg/m.py", 12); a bare path gives line None."""
    text = str(entry).strip().split()[0] if str(entry).strip() else ""
    path, sep, line = text.rpartition(":")
    if sep and line.isdigit():
        return _norm(path), int(line)
    return _norm(text), None


def localization_hits(reference_patch: str | None, localization: Iterable[str],
                      edited: dict[str, list[int]]) -> dict[str, Any] | None:
    """Top-1 / top-5 line and file hits of ``localization``, and whether the edits touched the
    reference lines / files. None when the task has no reference patch to judge by."""
    if not reference_patch:
        return None
    reference = {_norm(p): set(lines) for p, lines in edited_lines(reference_patch).items()}
    if not reference:
        return None
    ranked = [parse_location(e) for e in localization]

    def line_hit(loc: tuple[str, int | None]) -> bool:
        path, line = loc
        return line is not None and line in reference.get(path, ())

    def file_hit(loc: tuple[str, int | None]) -> bool:
        return loc[0] in reference

    edited_norm = {_norm(p): set(lines) for p, lines in edited.items()}
    return {
        "localized": bool(ranked),
        "top1_line": any(map(line_hit, ranked[:1])),
        "top5_line": any(map(line_hit, ranked[:5])),
        "top1_file": any(map(file_hit, ranked[:1])),
        "top5_file": any(map(file_hit, ranked[:5])),
        "edited_line": any(edited_norm.get(p, set()) & lines for p, lines in reference.items()),
        "edited_file": any(p in reference for p in edited_norm),
        "reference_lines": {p: sorted(v) for p, v in reference.items()},
    }


def distribution(values: list[float]) -> dict[str, float]:
    """Mean, median, nearest-rank p90 and max of ``values`` (zeros when there are none)."""
    if not values:
        return {"mean": 0.0, "median": 0.0, "p90": 0.0, "max": 0.0}
    ordered = sorted(values)
    p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]  # nearest rank
    return {"mean": round(statistics.fmean(ordered), 3), "median": round(statistics.median(ordered), 3),
            "p90": round(p90, 3), "max": round(ordered[-1], 3)}


def _rate(n: int, d: int) -> float:
    return round(n / d, 4) if d else 0.0


def summarize(records: Iterable[EvalRecord], *, run: dict[str, Any] | None = None) -> dict:
    """summary.json of a run from its records (the last record of each task)."""
    rows = list({r.task_id: r for r in records}.values())
    total = len(rows)
    resolved = sum(r.resolved for r in rows)
    infra = [r for r in rows if r.retried]
    done = [r for r in rows if not r.retried]

    per_class: dict[str, dict[str, Any]] = defaultdict(lambda: {"tasks": 0, "resolved": 0})
    for r in rows:
        c = per_class[r.bug_class or "unknown"]
        c["tasks"] += 1
        c["resolved"] += r.resolved
    for c in per_class.values():
        c["resolve_rate"] = _rate(c["resolved"], c["tasks"])

    judged = [r.localization_eval for r in done if r.localization_eval]
    fl: dict[str, Any] = {"tasks": len(judged), "localized": sum(j["localized"] for j in judged)}
    for key in LOCALIZATION_KEYS:
        fl[key] = _rate(sum(bool(j[key]) for j in judged), len(judged))

    tokens = [r.result.tokens for r in done]
    rewards = [r.result.reward for r in done]
    return {
        "run": run or {},
        "tasks": total,
        "completed": len(done),
        "resolved": resolved,
        "resolve_rate": _rate(resolved, total),
        "resolve_rate_completed": _rate(resolved, len(done)),
        "mean_reward": round(statistics.fmean(rewards), 4) if done else 0.0,
        "per_bug_class": dict(sorted(per_class.items())),
        "localization": fl,
        "wall_s": distribution([r.wall_s for r in done]),
        "steps": distribution([float(r.result.steps) for r in done]),
        "tokens": {"total": sum(tokens), "mean": round(statistics.fmean(tokens), 1) if tokens else 0},
        "exit_status": dict(Counter(r.status for r in rows).most_common()),
        "infra_errors": len(infra),
        "infra_error_tasks": sorted(r.task_id for r in infra),
        "policy_errors": sum(r.error_kind == ErrorKind.POLICY for r in rows),
    }
