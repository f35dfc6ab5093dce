"""Which pages a path gets, and where they are written.

- a trajectory file ``T.json``: ``T.html`` beside it (or ``--out``);
- an ``agent fix`` run directory (``trajectory.json``, or ``trajectory-K.json`` per sample): one
  page per trajectory, and an index when there are several;
- an eval run directory (``results.jsonl``): the run summary (``report.html``, or ``index.html``
  under ``--out``) with a link on every task row to ``tasks/<task>.html``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.view.model import TrajectoryView, trajectory_view
from agent.view.render import render, trajectory_page
from sandboxes.errors import UsageError

TASK_PAGES = "tasks"


@dataclass
class View:
    kind: str
    """trajectory | fix run | eval run"""
    index: Path
    """The page to open first."""
    pages: list[Path] = field(default_factory=list)
    """Every page written (the index included)."""

    @property
    def root(self) -> Path:
        return self.index.parent


def write_view(path: str | Path, out: str | Path | None = None, *,
               repo: str | Path | None = None) -> View:
    """Write the pages of ``path`` (see the module docstring); ``repo``: the original sources of a
    trajectory or fix run, for the diff after each step."""
    path = Path(path)
    repo = Path(repo) if repo is not None else None
    if not path.exists():
        raise UsageError(f"no such file or directory: {path}")
    if path.is_file():
        target = _page_target(path, Path(out) if out else None)
        view = trajectory_view(path, repo=repo)
        _write(target, trajectory_page(view))
        return View("trajectory", target, [target])
    if (path / "results.jsonl").exists():
        return write_eval_pages(path, Path(out) if out else None)
    trajectories = sorted(path.glob("trajectory*.json"))
    if trajectories:
        return _write_fix_run(path, trajectories, Path(out) if out else path, repo)
    raise UsageError(f"{path} is neither a trajectory file, an `agent fix` run directory "
                     "(trajectory.json) nor an eval run directory (results.jsonl)")


def _page_target(trajectory: Path, out: Path | None) -> Path:
    if out is None:
        return trajectory.with_suffix(".html")
    return out if out.suffix == ".html" else out / trajectory.with_suffix(".html").name


def _write(path: Path, text: str) -> None:
    from agent.eval.report import write_text_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)


def _fix_repo(run_dir: Path, repo: Path | None) -> Path | None:
    """The repository an `agent fix` run worked on, when its result file names it."""
    if repo is not None:
        return repo
    for name in ("result.json", "fix.json"):
        result = run_dir / name
        if result.is_file():
            try:
                named = json.loads(result.read_text()).get("repo")
            except (OSError, json.JSONDecodeError, AttributeError):
                continue
            if named:
                return Path(named)
    return None


def _write_fix_run(run_dir: Path, trajectories: list[Path], out: Path, repo: Path | None) -> View:
    repo = _fix_repo(run_dir, repo)
    pages, views = [], []
    for trajectory in trajectories:
        view = trajectory_view(trajectory, repo=repo)
        target = out / trajectory.with_suffix(".html").name
        back = "index.html" if len(trajectories) > 1 else None
        _write(target, trajectory_page(view, back=back))
        pages.append(target)
        views.append((target.name, view))
    if len(trajectories) == 1:
        return View("fix run", pages[0], pages)
    index = out / "index.html"
    _write(index, render("samples.html", run=str(run_dir), samples=views))
    return View("fix run", index, [index, *pages])


# -- eval runs -----------------------------------------------------------------------------------


def task_page_name(task_id: str) -> str:
    from agent.eval.runner import safe_name

    return f"{TASK_PAGES}/{safe_name(task_id)}.html"


def write_eval_pages(run_dir: Path, out: Path | None = None) -> View:
    """The summary page and every task's page of the eval run in ``run_dir``.

    Without ``out`` the summary is the run's own ``report.html``; with it, ``out/index.html``.
    """
    from agent.eval.records import ResultsLog
    from agent.eval.report import render_html
    from agent.eval.metrics import summarize

    records = list(ResultsLog(run_dir / "results.jsonl").latest().values())
    run_info = _read_json(run_dir / "run.json")
    summary = summarize(records, run=run_info)
    root = out or run_dir
    index = root / ("report.html" if out is None else "index.html")
    pages = write_task_pages(run_dir, root, records, run_info, back=index.name)
    _write(index, render_html(summary, records, task_href=task_page_name))
    return View("eval run", index, [index, *pages])


def write_task_pages(run_dir: Path, root: Path, records: list[dict[str, Any]],
                     run_info: dict[str, Any], *, back: str) -> list[Path]:
    """``root/tasks/<task>.html`` for every record; each links back to ``root/back``."""
    tasks = _suite(run_info)
    pages = []
    for record in records:
        task = tasks.get(record["task_id"])
        view = _task_view(run_dir, record, task)
        target = root / task_page_name(record["task_id"])
        _write(target, trajectory_page(view, back=f"../{back}"))
        pages.append(target)
    return pages


def _task_view(run_dir: Path, record: dict[str, Any], task: Any) -> TrajectoryView:
    from agent.eval.runner import TRAJECTORIES, safe_name

    candidates = [Path(record["trajectory_path"])] if record.get("trajectory_path") else []
    candidates.append(run_dir / TRAJECTORIES / f"{safe_name(record['task_id'])}.json")
    found = next((p for p in candidates if p.is_file()), None)
    repo = task.repo if task is not None else None
    reference = task.reference_patch if task is not None else None
    if found is not None:
        return trajectory_view(found, repo=repo, record=record, reference_patch=reference)
    # No episode (an infrastructure error before it began): the record alone.
    from agent.view.model import test_rows

    return TrajectoryView(
        task_id=record["task_id"], policy=record.get("policy", "?"), source="(no trajectory)",
        steps=[], resolved=record.get("resolved"), reward=record.get("reward"),
        exit_status=record.get("exit_status", ""), elapsed_s=record.get("wall_s"),
        patch=record.get("patch") or "", tests=test_rows("", record.get("tests") or {}, record),
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


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    return json.loads(path.read_text())
