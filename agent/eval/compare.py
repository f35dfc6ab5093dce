"""Comparing two evaluation runs, and exporting a run as SWE-bench predictions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.eval.records import EvalRecord, ResultsLog
from sandboxes.errors import UsageError


def load_run(path: str | Path) -> dict[str, EvalRecord]:
    """The last record of each task of a run directory (or of a results.jsonl file)."""
    path = Path(path)
    results = path if path.is_file() else path / "results.jsonl"
    if not results.is_file():
        raise UsageError(f"{path} is not an eval run (no results.jsonl); run `agent eval --out "
                         f"{path}` first")
    return ResultsLog(results).latest()


def _outcome(record: EvalRecord) -> str:
    if record.retried:
        return "infra_error"
    return "resolved" if record.resolved else "unresolved"


@dataclass
class Comparison:
    a: str
    b: str
    common: int
    resolved_a: int
    resolved_b: int
    fixed: list[str] = field(default_factory=list)
    """Unresolved (or errored) in A, resolved in B."""
    broken: list[str] = field(default_factory=list)
    """Resolved in A, not in B."""
    changed: list[dict[str, str]] = field(default_factory=list)
    """Every task whose outcome differs: {task_id, a, b}."""
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)

    @property
    def rate_a(self) -> float:
        return self.resolved_a / self.common if self.common else 0.0

    @property
    def rate_b(self) -> float:
        return self.resolved_b / self.common if self.common else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "common_tasks": self.common,
                "resolved_a": self.resolved_a, "resolved_b": self.resolved_b,
                "resolve_rate_a": round(self.rate_a, 4), "resolve_rate_b": round(self.rate_b, 4),
                "resolve_rate_diff": round(self.rate_b - self.rate_a, 4),
                "fixed": self.fixed, "broken": self.broken, "changed": self.changed,
                "only_a": self.only_a, "only_b": self.only_b}


def compare_runs(run_a: str | Path, run_b: str | Path) -> Comparison:
    """Which tasks changed outcome from run A to run B; rates are over the tasks both ran."""
    a, b = load_run(run_a), load_run(run_b)
    common = sorted(set(a) & set(b))
    result = Comparison(a=str(run_a), b=str(run_b), common=len(common),
                        resolved_a=sum(a[t].resolved for t in common),
                        resolved_b=sum(b[t].resolved for t in common),
                        only_a=sorted(set(a) - set(b)), only_b=sorted(set(b) - set(a)))
    for task_id in common:
        oa, ob = _outcome(a[task_id]), _outcome(b[task_id])
        if oa == ob:
            continue
        result.changed.append({"task_id": task_id, "a": oa, "b": ob})
        if ob == "resolved":
            result.fixed.append(task_id)
        elif oa == "resolved":
            result.broken.append(task_id)
    return result


def predictions(run: str | Path, model_name: str | None = None) -> list[dict[str, str]]:
    """SWE-bench predictions: one {instance_id, model_name_or_path, model_patch} per task.

    Tasks that ended in an infrastructure error have no patch worth judging and are left out.
    """
    records = load_run(run)
    out = []
    for task_id in sorted(records):
        record = records[task_id]
        if record.retried:
            continue
        out.append({"instance_id": task_id,
                    "model_name_or_path": model_name or record.result.policy or "debug-agent",
                    "model_patch": record.result.patch})
    return out


def write_predictions(preds: list[dict[str, str]], path: str | Path, fmt: str | None = None) -> None:
    """JSON (a list) or JSONL (one object a line), by ``fmt`` or the file's suffix."""
    path = Path(path)
    fmt = fmt or ("jsonl" if path.suffix == ".jsonl" else "json")
    if fmt == "jsonl":
        text = "".join(json.dumps(p) + "\n" for p in preds)
    elif fmt == "json":
        text = json.dumps(preds, indent=1) + "\n"
    else:
        raise UsageError(f"export: --format must be json or jsonl, got {fmt!r}")
    from agent.eval.report import write_text_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)
