"""What runs in a worker (a local process or a Ray task): one task, start to record.

``evaluate_task`` builds the policy from a picklable spec, opens the task's own DebugEnv (its own
sandbox), plays ``samples`` episodes through ``run_episode`` and returns the EvalRecord of the
best one. It never raises for a failing task: infrastructure failures become records with
error_kind INFRA, our own bugs CRASH. ``run_job`` is the function the local executor is handed;
``run_shipped`` the one Ray runs, on a node that may not share the driver's file system: the task
travels as a tar of its directory and its trajectories come back beside the record.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import tarfile
import tempfile
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agent.eval.harness import harness_fields, patch_applies
from agent.eval.metrics import localization_hits
from agent.eval.records import ErrorKind, EvalRecord, Sample
from agent.eval.worker_log import setup_worker_logging
from agent.selection import best_result, patch_size, tests_passing
from agent.trajectory import EpisodeResult, ExitStatus
from envs.task import Task
from sandboxes.base import IGNORED_NAMES
from sandboxes.config import SandboxConfig
from sandboxes.errors import SandboxError, SetupFailed

log = logging.getLogger("debug_agent.eval")


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
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    """Where each task's DebugEnv opens its sandbox."""
    max_steps: int = 30
    samples: int = 1
    env_options: dict[str, Any] = field(default_factory=dict)
    """Further EnvConfig fields (time_budget_s, ...)."""
    trajectory_dir: str | None = None
    log_level: int = logging.WARNING
    log_file: str | None = None


@dataclass(frozen=True)
class EvalJob:
    """One attempt at one task: what the executors are handed."""

    task: Task
    attempt: int = 1

    def __str__(self) -> str:
        return f"task {self.task.id}"


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


def evaluate_task(task: Task, config: WorkerConfig, attempt: int = 1) -> EvalRecord:
    """Run ``task`` and return its record; never raises for the task's sake."""
    from agent.loop import run_episode
    from envs.env import DebugEnv, EnvConfig

    started = time.monotonic()
    worker = f"{os.uname().nodename}:{os.getpid()}"
    try:
        env = DebugEnv(EnvConfig(sandbox=config.sandbox, max_steps=config.max_steps,
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
            Sample(resolved=r.resolved, reward=r.reward, tests_passed=tests_passing(r),
                   patch_lines=patch_size(r.patch), steps=r.steps, exit_status=str(r.exit_status),
                   trajectory_path=r.trajectory_path, kept=r is best)
            for r in results
        ] if config.samples > 1 else []
        return task_record(task, best, wall_s=time.monotonic() - started, attempt=attempt,
                           samples=samples, worker=worker)
    except SetupFailed as exc:  # before the infra errors it also is: the repo's, not retried
        log.warning("task %s: set-up failed: %s", task.id, exc)
        return error_record(task, config.policy.name, ErrorKind.SETUP, str(exc),
                            wall_s=time.monotonic() - started, attempt=attempt, worker=worker)
    except _infra_exceptions() as exc:
        log.warning("task %s: infrastructure error: %s: %s", task.id, type(exc).__name__, exc)
        return error_record(task, config.policy.name, ErrorKind.INFRA,
                            f"{type(exc).__name__}: {exc}", wall_s=time.monotonic() - started,
                            attempt=attempt, worker=worker)
    except Exception as exc:  # the task boundary: one task's crash must not end the run
        log.error("task %s crashed:\n%s", task.id, traceback.format_exc())
        return error_record(task, config.policy.name, ErrorKind.CRASH,
                            f"{type(exc).__name__}: {exc}", wall_s=time.monotonic() - started,
                            attempt=attempt, worker=worker)


def run_job(config: WorkerConfig, job: EvalJob) -> EvalRecord:
    """The local executor's function (``functools.partial(run_job, config)``)."""
    return evaluate_task(job.task, config, job.attempt)


def outcome_split(tests: dict[str, str], names: Iterable[str]) -> dict[str, str]:
    return {name: tests.get(name, "missing") for name in names}


def task_record(task: Task, result: EpisodeResult, *, wall_s: float, attempt: int = 1,
                samples: list[Sample] | None = None, worker: str = "") -> EvalRecord:
    """The record of one task from the kept EpisodeResult."""
    record = EvalRecord(
        result=result,
        bug_class=task.bug_class or "unknown",
        fail_to_pass=outcome_split(result.tests, task.fail_to_pass),
        pass_to_pass=outcome_split(result.tests, task.pass_to_pass),
        wall_s=round(wall_s, 3),
        error_kind=ErrorKind.POLICY if result.exit_status == ExitStatus.ERROR else None,
        localization_eval=localization_hits(task.reference_patch, result.localization,
                                            result.edited_lines),
        attempt=attempt,
        samples=samples or [],
        worker=worker,
        finished_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    record.harness = harness_fields(record, applied=patch_applies(task.repo, result.patch))
    return record


def error_record(task: Task, policy: str, kind: ErrorKind, message: str, *, wall_s: float = 0.0,
                 attempt: int = 1, worker: str = "") -> EvalRecord:
    """The record of a task that produced no episode result (``kind`` INFRA or CRASH)."""
    result = EpisodeResult(task_id=task.id, policy=policy, exit_status=ExitStatus.ERROR,
                           error=message)
    record = task_record(task, result, wall_s=wall_s, attempt=attempt, worker=worker)
    record.error_kind = kind
    record.harness = harness_fields(record, applied=False)
    return record


# -- over Ray ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShippedJob:
    """An EvalJob as it travels to a Ray node: the task directory as a gzipped tar."""

    payload: bytes
    attempt: int


def ship(job: EvalJob) -> ShippedJob:
    """Pack the job's task directory (caches and .git left out)."""
    task = job.task
    if task.path is None:
        raise ValueError(f"task {task.id} was not loaded from a directory and cannot be shipped")
    buffer = io.BytesIO()

    def skip(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        return None if Path(info.name).name in IGNORED_NAMES else info

    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(task.path, arcname="task", filter=skip)
    return ShippedJob(buffer.getvalue(), job.attempt)


def run_shipped(config: WorkerConfig, job: ShippedJob) -> tuple[EvalRecord, dict[str, str]]:
    """The Ray task: unpack the task, evaluate it, return (record, {trajectory name: JSON text})."""
    setup_worker_logging(config.log_level, None)
    with tempfile.TemporaryDirectory(prefix="debug-agent-ray-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(job.payload), mode="r:gz") as tar:
            tar.extractall(tmp, filter="data")
        task = Task.load(Path(tmp) / "task")
        trajectories = Path(tmp) / "trajectories"
        record = evaluate_task(task, replace(config, trajectory_dir=str(trajectories)),
                               job.attempt)
        texts = {p.name: p.read_text() for p in trajectories.glob("*.json")}
    return record, texts


def land_shipped(record: EvalRecord, texts: dict[str, str], directory: Path) -> EvalRecord:
    """Write the trajectories that came back under the run directory; point the record at them."""
    from agent.trajectory import write_json_atomic

    directory.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        write_json_atomic(directory / name, json.loads(text))
    for entry in [record.result, *record.samples]:
        if entry.trajectory_path:
            entry.trajectory_path = str(directory / Path(entry.trajectory_path).name)
    return record
