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

from agent.view.model import trajectory_view
from agent.view.render import render, trajectory_page, write_page
from agent.view.tasks import task_page_name, write_task_pages
from sandboxes.errors import UsageError


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
        write_page(target, trajectory_page(view))
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


def _fix_result(run_dir: Path) -> dict:
    """What `agent fix` left beside its trajectories: its --json object (repo, explanation)."""
    from agent.fix import FIX_RESULT

    path = run_dir / FIX_RESULT
    try:
        data = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_fix_run(run_dir: Path, trajectories: list[Path], out: Path, repo: Path | None) -> View:
    result = _fix_result(run_dir)
    if repo is None and result.get("repo"):
        repo = Path(result["repo"])
    pages, views = [], []
    for trajectory in trajectories:
        view = trajectory_view(trajectory, repo=repo)
        if result.get("trajectory_path") and Path(result["trajectory_path"]).name == trajectory.name:
            view.explanation = result.get("explanation")  # of the kept sample
        target = out / trajectory.with_suffix(".html").name
        back = "index.html" if len(trajectories) > 1 else None
        write_page(target, trajectory_page(view, back=back))
        pages.append(target)
        views.append((target.name, view))
    if len(trajectories) == 1:
        return View("fix run", pages[0], pages)
    index = out / "index.html"
    write_page(index, render("samples.html", run=str(run_dir), samples=views))
    return View("fix run", index, [index, *pages])


# -- eval runs -----------------------------------------------------------------------------------


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
    write_page(index, render_html(summary, records, task_href=task_page_name))
    return View("eval run", index, [index, *pages])


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    return json.loads(path.read_text())
