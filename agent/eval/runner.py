"""A whole evaluation: its config, what to run (``--resume``), the executors, the outputs.

``run_eval`` decides what to run, hands the jobs and the function to run (worker.py) to an
executor (local processes, pool.py, or Ray, ray_pool.py), appends each record as it arrives, and
writes summary.json and the reports at the end. The executors know nothing of tasks or records:
the two callbacks here turn a result or a lost job into a record, and an infrastructure error
into a retry while ``retries`` last.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from agent.eval.sessions import carry_over, finish
from agent.eval.pool import Lost, run_local
from agent.eval.ray_pool import run_ray
from agent.eval.records import ErrorKind, EvalRecord, ResultsLog
from agent.eval.worker import (
    EvalJob,
    PolicySpec,
    WorkerConfig,
    error_record,
    land_shipped,
    run_job,
    run_shipped,
    ship,
)
from agent.eval.worker_log import setup_worker_logging
from envs.task import Task, load_suite
from sandboxes.config import SandboxConfig
from sandboxes.errors import UsageError

log = logging.getLogger("debug_agent.eval")

RESULTS = "results.jsonl"
SUMMARY = "summary.json"
RUN_INFO = "run.json"
TRAJECTORIES = "trajectories"

Listener = Callable[[str, dict[str, Any]], None]
"""on_event(kind, data): "start" {total, skipped, todo}, "dispatch" {task_id, worker, pid},
"record" {record: EvalRecord}, "retry" {task_id, attempt}, "end" {summary}."""


@dataclass
class EvalConfig:
    """One evaluation run (the options of ``agent eval``)."""

    tasks: str | Path
    """A suite directory (or one task directory)."""
    out: str | Path
    """Run directory: results.jsonl, summary.json, report.md, report.html, trajectories/."""
    policy: PolicySpec = field(default_factory=PolicySpec)
    workers: int = 1
    """Tasks run at once (processes, or Ray tasks in flight)."""
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    samples: int = 1
    """Episodes per task; the best is kept (agent.selection.best_result)."""
    max_steps: int = 30
    resume: bool = False
    """Skip tasks already finished in ``out``; run again those that ended in an infra error."""
    retries: int = 0
    """Extra attempts within this run for a task that ends in an infrastructure error."""
    task_timeout_s: float | None = None
    """Wall-clock limit per task (all samples); past it the worker is killed (infra error)."""
    ray_address: str | None = None
    """None: local processes. "local": a Ray instance started here. Else a Ray address."""
    env_options: dict[str, Any] = field(default_factory=dict)
    only: tuple[str, ...] = ()
    """Run only these task ids (all when empty)."""

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        for name in ("workers", "samples", "max_steps"):
            if getattr(self, name) < 1:
                raise UsageError(f"eval: --{name.replace('_', '-')} must be at least 1, "
                                 f"got {getattr(self, name)}")
        if self.retries < 0:
            raise UsageError(f"eval: --retries must be 0 or more, got {self.retries}")
        if self.task_timeout_s is not None and self.task_timeout_s <= 0:
            raise UsageError(f"eval: --task-timeout must be positive, got {self.task_timeout_s}")

    def worker_config(self) -> WorkerConfig:
        root = logging.getLogger("debug_agent")
        return WorkerConfig(
            policy=self.policy, sandbox=self.sandbox, max_steps=self.max_steps,
            samples=self.samples, env_options=dict(self.env_options),
            trajectory_dir=str(Path(self.out).resolve() / TRAJECTORIES),
            log_level=root.getEffectiveLevel(), log_file=str(Path(self.out).resolve() / "eval.log"),
        )


# -- a run ---------------------------------------------------------------------------------------


@dataclass
class Plan:
    tasks: list[Task]
    """Every task of the suite (the summary covers these)."""
    todo: list[EvalJob]
    """What to run now."""
    skipped: int


def plan_run(config: EvalConfig, results: ResultsLog) -> Plan:
    from agent.policies import check_policy

    check_policy(config.policy.name, **config.policy.options)
    tasks = load_suite(config.tasks)
    if config.only:
        wanted = set(config.only)
        unknown = wanted - {t.id for t in tasks}
        if unknown:
            raise UsageError(f"eval: no task {sorted(unknown)} in {config.tasks}")
        tasks = [t for t in tasks if t.id in wanted]
    latest = results.latest()
    if latest and not config.resume:
        raise UsageError(f"{results.path} already holds {len(latest)} results: pass --resume to "
                         "continue that run, or choose another --out")
    todo = []
    for task in tasks:
        previous = latest.get(task.id)
        if previous is None:
            todo.append(EvalJob(task))
        elif previous.retried:
            todo.append(EvalJob(task, previous.attempt + 1))
    return Plan(tasks=tasks, todo=todo, skipped=len(tasks) - len(todo))


#: run.json keys that must not change when a run is resumed (the results would mix two setups).
SAME_ON_RESUME = ("policy", "samples", "max_steps", "sandbox")


def check_same_run(previous: dict[str, Any], now: dict[str, Any], out: Path) -> None:
    changed = [k for k in SAME_ON_RESUME if k in previous and previous[k] != now[k]]
    if changed:
        what = "; ".join(f"{k}: {previous[k]!r} then, {now[k]!r} now" for k in changed)
        raise UsageError(f"cannot resume {out} with different settings ({what}); pass the same "
                         "options, or choose another --out")


def execute(config: EvalConfig, jobs: list[EvalJob], results: ResultsLog, emit: Listener) -> None:
    """Run ``jobs`` on the configured executor, appending each record to ``results``."""
    retries_left = {job.task.id: config.retries for job in jobs}

    def on_result(job: EvalJob, record: EvalRecord) -> EvalJob | None:
        """Write the record; hand back the job's next attempt when the task earns a retry."""
        results.append(record)
        emit("record", {"record": record})
        if record.retried and retries_left.get(job.task.id, 0) > 0:
            retries_left[job.task.id] -= 1
            emit("retry", {"task_id": job.task.id, "attempt": job.attempt + 1})
            return EvalJob(job.task, job.attempt + 1)
        return None

    def on_lost(job: EvalJob, lost: Lost) -> EvalJob | None:
        return on_result(job, error_record(job.task, config.policy.name, ErrorKind.INFRA,
                                           lost.why, wall_s=lost.wall_s,
                                           attempt=job.attempt, worker=lost.worker))

    def on_dispatch(job: EvalJob, worker: str, pid: int | None) -> None:
        emit("dispatch", {"task_id": job.task.id, "worker": worker, "pid": pid})

    if not jobs:
        return
    worker_config = config.worker_config()
    if config.ray_address is None:
        init = functools.partial(setup_worker_logging, worker_config.log_level,
                                 worker_config.log_file)
        run_local(functools.partial(run_job, worker_config), jobs, config.workers, on_result,
                  on_lost, init=init, on_dispatch=on_dispatch, timeout_s=config.task_timeout_s)
        return
    landing = Path(worker_config.trajectory_dir)
    shipped = replace(worker_config, trajectory_dir=None, log_file=None)
    run_ray(functools.partial(run_shipped, shipped), jobs, config.workers,
            lambda job, out: on_result(job, land_shipped(*out, landing)), on_lost,
            address=config.ray_address, ship=ship, on_dispatch=on_dispatch,
            timeout_s=config.task_timeout_s)


def run_eval(config: EvalConfig, on_event: Listener | None = None) -> dict[str, Any]:
    """Run (or resume) an evaluation; returns the summary, also written to ``out/summary.json``."""
    from agent.eval.metrics import summarize
    from agent.eval.report import write_reports
    from agent.trajectory import write_json_atomic

    emit = on_event or (lambda kind, data: None)
    out = Path(config.out)
    results = ResultsLog(out / RESULTS)
    plan = plan_run(config, results)  # checks the inputs before anything is written
    out.mkdir(parents=True, exist_ok=True)
    run_info = {
        "tasks": str(Path(config.tasks).resolve()), "policy": asdict(config.policy),
        "workers": config.workers, "sandbox": config.sandbox.backend, "samples": config.samples,
        "max_steps": config.max_steps, "ray": config.ray_address,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    previous = json.loads((out / RUN_INFO).read_text()) if (out / RUN_INFO).exists() else None
    if config.resume and previous and plan.skipped:
        check_same_run(previous, run_info, out)
    session_started_at = run_info["started_at"]
    carry_over(previous if config.resume else None, run_info)
    write_json_atomic(out / RUN_INFO, run_info)
    emit("start", {"total": len(plan.tasks), "skipped": plan.skipped, "todo": len(plan.todo)})
    started = time.monotonic()
    with results.open():
        execute(config, plan.todo, results, emit)

    latest = results.latest()
    records = [latest[t.id] for t in plan.tasks if t.id in latest]
    finish(run_info, session_started_at=session_started_at,
                    elapsed_s=time.monotonic() - started, tasks_run=len(plan.todo))
    write_json_atomic(out / RUN_INFO, run_info)
    summary = summarize(records, run=run_info)
    write_json_atomic(out / SUMMARY, summary)
    write_reports(out, summary, records)
    emit("end", {"summary": summary})
    return summary


def rebuild_outputs(out: str | Path) -> dict[str, Any]:
    """summary.json and the reports again from results.jsonl (after a crash, or by hand)."""
    from agent.eval.metrics import summarize
    from agent.eval.report import write_reports
    from agent.trajectory import write_json_atomic

    out = Path(out)
    results = ResultsLog(out / RESULTS)
    if not results.path.exists():
        raise UsageError(f"{out} is not an eval run directory (no {RESULTS})")
    records = list(results.latest().values())
    run_info = json.loads((out / RUN_INFO).read_text()) if (out / RUN_INFO).exists() else {}
    summary = summarize(records, run=run_info)
    write_json_atomic(out / SUMMARY, summary)
    write_reports(out, summary, records)
    return summary
