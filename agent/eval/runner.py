"""Running one task, and a whole evaluation: config, the per-task function, resume, outputs.

``evaluate_task`` is what a worker runs (a local process or a Ray task): it builds the policy from
a picklable spec, opens the task's own DebugEnv (its own sandbox), plays ``samples`` episodes
through ``run_episode`` and returns the results.jsonl record of the best one. It never raises for
a failing task: infrastructure failures become records with ``error_kind`` "infra", our own bugs
"crash". ``run_eval`` decides what to run (``--resume``), hands the tasks to a pool, appends each
record as it arrives, and writes summary.json and the reports at the end.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.eval import sessions
from agent.eval.records import CRASH, INFRA, RETRIED_KINDS, ResultsLog, error_record, task_record
from agent.selection import best_result, patch_size, tests_passing
from envs.task import Task, load_suite
from sandboxes.errors import SandboxError, UsageError

log = logging.getLogger("debug_agent.eval")

RESULTS = "results.jsonl"
SUMMARY = "summary.json"
RUN_INFO = "run.json"
TRAJECTORIES = "trajectories"

Listener = Callable[[str, dict[str, Any]], None]
"""on_event(kind, data): "start" {total, skipped, todo}, "dispatch" {task_id, worker},
"record" {record}, "retry" {task_id, attempt}."""


@dataclass(frozen=True)
class PolicySpec:
    """A policy by name and options: what crosses into worker processes instead of a policy."""

    name: str = "search"
    options: dict[str, Any] = field(default_factory=dict)

    def build(self, task: Task | None = None):
        from agent.policies import make_policy

        return make_policy(self.name, task=task, **self.options)

    @property
    def key(self) -> str:
        return json.dumps([self.name, self.options], sort_keys=True, default=str)


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker needs besides the task; picklable, so it travels to processes and Ray."""

    policy: PolicySpec = field(default_factory=PolicySpec)
    backend: str = "auto"
    """Sandbox backend of each task's DebugEnv: docker | local | auto."""
    max_steps: int = 30
    samples: int = 1
    env_options: dict[str, Any] = field(default_factory=dict)
    """Further EnvConfig fields (time_budget_s, image, ...)."""
    trajectory_dir: str | None = None
    log_level: int = logging.WARNING
    log_file: str | None = None


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
    backend: str = "auto"
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
        if self.backend not in ("docker", "local", "auto"):
            raise UsageError(f"eval: --sandbox must be docker, local or auto, got {self.backend!r}")
        if self.task_timeout_s is not None and self.task_timeout_s <= 0:
            raise UsageError(f"eval: --task-timeout must be positive, got {self.task_timeout_s}")

    def worker_config(self) -> WorkerConfig:
        root = logging.getLogger("debug_agent")
        return WorkerConfig(
            policy=self.policy, backend=self.backend, max_steps=self.max_steps,
            samples=self.samples, env_options=dict(self.env_options),
            trajectory_dir=str(Path(self.out).resolve() / TRAJECTORIES),
            log_level=root.getEffectiveLevel(), log_file=str(Path(self.out).resolve() / "eval.log"),
        )


# -- one task ------------------------------------------------------------------------------------

_POLICIES: dict[str, Any] = {}
"""Per-process cache of policies that are slow to build (a loaded model)."""


def _policy_for(spec: PolicySpec, task: Task):
    from agent.policies import REUSABLE

    if spec.name not in REUSABLE:
        return spec.build(task)
    policy = _POLICIES.get(spec.key)
    if policy is None:
        policy = _POLICIES[spec.key] = spec.build(task)
    if hasattr(policy, "tokens_used"):
        policy.tokens_used = 0  # count this episode's tokens only
    return policy


def _infra_exceptions() -> tuple[type[BaseException], ...]:
    kinds: list[type[BaseException]] = [SandboxError, ConnectionError, TimeoutError, OSError]
    try:
        import docker.errors

        kinds.append(docker.errors.DockerException)
    except ImportError:
        pass
    return tuple(kinds)


def safe_name(task_id: str) -> str:
    return re.sub(r"[^\w.-]+", "_", task_id)[:150]


def evaluate_task(task: Task, config: WorkerConfig, attempt: int = 1) -> dict[str, Any]:
    """Run ``task`` and return its results.jsonl record; never raises for the task's sake."""
    from agent.loop import run_episode
    from envs.env import DebugEnv, EnvConfig

    started = time.monotonic()
    worker = f"{os.uname().nodename}:{os.getpid()}"
    try:
        env = DebugEnv(EnvConfig(backend=config.backend, max_steps=config.max_steps,
                                 **config.env_options), tasks=[task])
        results = []
        try:
            for sample in range(config.samples):
                policy = _policy_for(config.policy, task)
                path = None
                if config.trajectory_dir:
                    suffix = f".s{sample}" if config.samples > 1 else ""
                    path = Path(config.trajectory_dir) / f"{safe_name(task.id)}{suffix}.json"
                results.append(run_episode(policy, env, task=task, seed=sample,
                                           trajectory_path=path))
        finally:
            env.close()
        best = best_result(results)
        samples = [
            {"resolved": r.resolved, "reward": r.reward, "tests_passed": tests_passing(r),
             "patch_lines": patch_size(r.patch), "steps": r.steps, "exit_status": r.exit_status,
             "trajectory_path": r.trajectory_path, "kept": r is best}
            for r in results
        ] if config.samples > 1 else []
        return task_record(task, best, wall_s=time.monotonic() - started, attempt=attempt,
                           samples=samples, worker=worker)
    except _infra_exceptions() as exc:
        log.warning("task %s: infrastructure error: %s: %s", task.id, type(exc).__name__, exc)
        return error_record(task, config.policy.name, INFRA, f"{type(exc).__name__}: {exc}",
                            wall_s=time.monotonic() - started, attempt=attempt, worker=worker)
    except Exception as exc:  # the task boundary: one task's crash must not end the run
        log.error("task %s crashed:\n%s", task.id, traceback.format_exc())
        return error_record(task, config.policy.name, CRASH, f"{type(exc).__name__}: {exc}",
                            wall_s=time.monotonic() - started, attempt=attempt, worker=worker)


# -- a run ---------------------------------------------------------------------------------------


@dataclass
class Plan:
    tasks: list[Task]
    """Every task of the suite (the summary covers these)."""
    todo: list[tuple[Task, int]]
    """(task, attempt) to run now."""
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
            todo.append((task, 1))
        elif previous.get("error_kind") in RETRIED_KINDS:
            todo.append((task, int(previous.get("attempt", 1)) + 1))
    return Plan(tasks=tasks, todo=todo, skipped=len(tasks) - len(todo))


#: run.json keys that must not change when a run is resumed (the results would mix two setups).
SAME_ON_RESUME = ("policy", "samples", "max_steps", "sandbox")


def check_same_run(previous: dict[str, Any], now: dict[str, Any], out: Path) -> None:
    changed = [k for k in SAME_ON_RESUME if k in previous and previous[k] != now[k]]
    if changed:
        what = "; ".join(f"{k}: {previous[k]!r} then, {now[k]!r} now" for k in changed)
        raise UsageError(f"cannot resume {out} with different settings ({what}); pass the same "
                         "options, or choose another --out")


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
        "workers": config.workers, "sandbox": config.backend, "samples": config.samples,
        "max_steps": config.max_steps, "ray": config.ray_address,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    previous = json.loads((out / RUN_INFO).read_text()) if (out / RUN_INFO).exists() else None
    if config.resume and previous and plan.skipped:
        check_same_run(previous, run_info, out)
    session_started_at = run_info["started_at"]
    sessions.carry_over(previous if config.resume else None, run_info)
    write_json_atomic(out / RUN_INFO, run_info)
    emit("start", {"total": len(plan.tasks), "skipped": plan.skipped, "todo": len(plan.todo)})
    started = time.monotonic()
    retries_left = {task.id: config.retries for task, _ in plan.todo}
    by_id = {task.id: task for task in plan.tasks}

    with results.open():
        def on_record(record: dict[str, Any]) -> tuple[Task, int] | None:
            """Write the record; return a job to run again when the task earns a retry."""
            results.append(record)
            emit("record", {"record": record})
            task_id = record["task_id"]
            if record.get("error_kind") in RETRIED_KINDS and retries_left.get(task_id, 0) > 0:
                retries_left[task_id] -= 1
                emit("retry", {"task_id": task_id, "attempt": record["attempt"] + 1})
                return by_id[task_id], int(record["attempt"]) + 1
            return None

        if plan.todo:
            worker_config = config.worker_config()
            if config.ray_address is not None:
                from agent.eval.ray_pool import run_ray

                run_ray(plan.todo, worker_config, config.workers, config.ray_address,
                        on_record=on_record, on_event=emit, task_timeout_s=config.task_timeout_s)
            else:
                from agent.eval.pool import run_local

                run_local(plan.todo, worker_config, config.workers, on_record=on_record,
                          on_event=emit, task_timeout_s=config.task_timeout_s)

    latest = results.latest()
    records = [latest[t.id] for t in plan.tasks if t.id in latest]
    sessions.finish(run_info, session_started_at=session_started_at,
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
