"""Per-task results in the shape of the SWE-bench harness report, so tools that read those can
read ours.

The harness writes, per instance, ``{"patch_is_None", "patch_exists",
"patch_successfully_applied", "resolved", "tests_status": {"FAIL_TO_PASS": {"success": [...],
"failure": [...]}, "PASS_TO_PASS": {...}, "FAIL_TO_FAIL": {...}, "PASS_TO_FAIL": {...}}}``; we add
``infra_failure`` and ``infra_failure_reason`` (the harness lists such instances as errors in its
run report). ``swebench_report.json`` of a run maps each task id to these fields.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.eval.records import EvalRecord
from sandboxes import PatchError, apply_patch


def patch_applies(repo: Path | None, patch: str) -> bool:
    """Whether ``patch`` applies to the files of ``repo`` (``git apply --check``: nothing is
    changed)."""
    if not patch.strip() or repo is None or not Path(repo).is_dir():
        return False
    try:
        apply_patch(repo, patch, check_only=True)
    except PatchError:
        return False
    return True


def _split(statuses: dict[str, str]) -> dict[str, list[str]]:
    return {"success": sorted(n for n, s in statuses.items() if s == "passed"),
            "failure": sorted(n for n, s in statuses.items() if s != "passed")}


def harness_fields(record: EvalRecord, *, applied: bool) -> dict[str, Any]:
    """The harness report entry of one record; ``applied``: whether its patch applies to the
    task's sources (``patch_applies``)."""
    patch = record.result.patch or ""
    return {
        "patch_is_None": record.retried,  # no episode, so no prediction at all
        "patch_exists": bool(patch.strip()),
        "patch_successfully_applied": bool(applied),
        "resolved": bool(record.resolved),
        "tests_status": {
            "FAIL_TO_PASS": _split(record.fail_to_pass),
            "PASS_TO_PASS": _split(record.pass_to_pass),
            "FAIL_TO_FAIL": {"success": [], "failure": []},
            "PASS_TO_FAIL": {"success": [], "failure": []},
        },
        "infra_failure": record.retried,
        "infra_failure_reason": (record.result.error or record.status) if record.retried else None,
    }


def harness_report(records: list[EvalRecord]) -> dict[str, dict[str, Any]]:
    """``{task_id: harness fields}`` for every record, sorted by task id (records written before
    the field existed get it from what they hold, their patch taken as applying)."""
    return {r.task_id: r.harness or harness_fields(r, applied=bool(r.result.patch.strip()))
            for r in sorted(records, key=lambda r: r.task_id)}
