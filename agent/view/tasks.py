"""The task pages of an eval run: ``tasks/<task>.html`` for every record, each its trajectory's
page with the record's harness fields, linking back to the run's summary page.

Kept apart from ``agent.view.pages`` (which reads whole runs and renders their summary through
``agent.eval.report``) so that the report can write these pages without an import cycle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.eval.records import EvalRecord
from agent.view.model import TrajectoryView, test_rows, trajectory_view
from agent.view.render import trajectory_page, write_page
from sandboxes.errors import UsageError

TASK_PAGES = "tasks"
TRAJECTORIES = "trajectories"
"""Where an eval run keeps its trajectories (agent.eval.runner writes them there)."""


def task_page_name(task_id: str) -> str:
    from agent.eval.worker import safe_name

    return f"{TASK_PAGES}/{safe_name(task_id)}.html"


def write_task_pages(run_dir: Path, root: Path, records: list[EvalRecord],
                     run_info: dict[str, Any], *, back: str) -> list[Path]:
    """``root/tasks/<task>.html`` for every record; each links back to ``root/back``."""
    tasks = _suite(run_info)
    pages = []
    for record in records:
        task = tasks.get(record.task_id)
        view = _task_view(run_dir, record, task)
        target = root / task_page_name(record.task_id)
        write_page(target, trajectory_page(view, back=f"../{back}"))
        pages.append(target)
    return pages


def _task_view(run_dir: Path, record: EvalRecord, task: Any) -> TrajectoryView:
    from agent.eval.worker import safe_name

    result = record.result
    candidates = [Path(result.trajectory_path)] if result.trajectory_path else []
    candidates.append(run_dir / TRAJECTORIES / f"{safe_name(record.task_id)}.json")
    found = next((p for p in candidates if p.is_file()), None)
    repo = task.repo if task is not None else None
    reference = task.reference_patch if task is not None else None
    if found is not None:
        return trajectory_view(found, repo=repo, record=record, reference_patch=reference)
    # No episode (an infrastructure error before it began): the record alone.
    return TrajectoryView(
        task_id=record.task_id, policy=result.policy or "?", source="(no trajectory)",
        steps=[], resolved=result.resolved, reward=result.reward, exit_status=record.status_text,
        elapsed_s=record.wall_s, patch=result.patch, tests=test_rows("", result.tests, record),
        record=record, diffs_note="no trajectory was written for this task")


def _suite(run_info: dict[str, Any]) -> dict[str, Any]:
    """The run's tasks by id, for their original sources; empty when the suite is gone."""
    from envs.task import load_suite

    where = run_info.get("tasks")
    if not where or not Path(where).is_dir():
        return {}
    try:
        return {t.id: t for t in load_suite(where)}
    except (UsageError, ValueError, OSError):
        return {}
