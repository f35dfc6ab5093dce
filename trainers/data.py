"""Verified demonstrations: run a policy over tasks, keep resolved episodes, build a chat dataset.

Episodes go through ``run_episode`` and ``DebugEnv``, the same loop and environment as inference,
and each one's trajectory is the SFT example as it stands: its message list, passed through the
same ``fit_messages`` the model policies apply at inference (so the model is trained on the text it
will see), less the last observation (what the env said after ``submit``: nothing to learn from).

Output directory::

    OUT/
      trajectories/<task_id>.json   resolved episodes (the demonstrations)
      unresolved/<task_id>.json     the rest, kept for inspection and so a rerun skips them
      dataset/                      a `datasets` Dataset on disk: messages, task_id, bug_class, ...
      manifest.json                 tasks, bug classes, counts, policy

Collection resumes: a task with a finished trajectory in either folder is not run again.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from agent.prompts import Message
from agent.prompts import fit_messages
from agent.trajectory import Trajectory, write_json_atomic
from envs.task import Task, load_suite

log = logging.getLogger("debug_agent.trainers.data")

MANIFEST_FORMAT = "debug-agent.demonstrations/1"


@dataclass
class CollectConfig:
    tasks: str
    """A task directory or a suite of them."""
    out: str
    """Output directory (trajectories/, unresolved/, dataset/, manifest.json)."""
    policy: str = "search"
    """Policy that demonstrates: search (model-free), reference (replays reference.patch), ..."""
    policy_options: dict[str, Any] = field(default_factory=dict)
    """Extra options for make_policy."""
    workers: int = 1
    """Episodes run at once, each in its own sandbox."""
    sandbox: str = "auto"
    """Sandbox backend: docker, local or auto."""
    image: str | None = None
    """Docker image for the sandbox; None for the default."""
    max_steps: int = 30
    """Step budget per episode."""
    time_budget_s: float = 600.0
    """Wall-clock budget per episode."""
    max_context_chars: int = 24_000
    """Character budget of fit_messages; match the hf policy's max_context_chars."""

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if self.sandbox not in ("docker", "local", "auto"):
            raise ValueError(f"sandbox must be docker, local or auto, got {self.sandbox!r}")


@dataclass
class CollectSummary:
    attempted: int
    resolved: int
    skipped: int
    """Tasks already done by an earlier run."""
    errors: dict[str, str]
    """task id -> what went wrong, for episodes that could not run."""
    dataset_rows: int


def example_messages(messages: list[Message], max_chars: int) -> list[Message]:
    """One SFT example from a trajectory's messages: fitted as at inference, ends on the policy."""
    messages = list(messages)
    while messages and messages[-1]["role"] != "assistant":
        messages.pop()
    return fit_messages(messages, max_chars)


def _done_path(out: Path, task_id: str) -> Path | None:
    for sub in ("trajectories", "unresolved"):
        path = out / sub / f"{_safe(task_id)}.json"
        if path.is_file():
            try:
                if Trajectory.load(path).result is not None:
                    return path
            except (ValueError, KeyError, json.JSONDecodeError):
                return None
    return None


def _safe(task_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in task_id)


def run_one(task: Task, config: CollectConfig, out: Path) -> bool:
    """One episode of the demonstrating policy on ``task``; returns whether it resolved."""
    from agent.loop import run_episode
    from agent.policies import make_policy
    from envs.env import DebugEnv, EnvConfig

    policy = make_policy(config.policy, task=task, **config.policy_options)
    env_config = EnvConfig(backend=config.sandbox, image=config.image, max_steps=config.max_steps,
                           time_budget_s=config.time_budget_s)
    partial = out / "unresolved" / f".{_safe(task.id)}.partial.json"
    with DebugEnv(env_config, tasks=[task]) as env:
        result = run_episode(policy, env, task=task, trajectory_path=partial)
    final = out / ("trajectories" if result.resolved else "unresolved") / f"{_safe(task.id)}.json"
    final.parent.mkdir(parents=True, exist_ok=True)
    partial.replace(final)
    return result.resolved


def collect(config: CollectConfig,
            on_done: Callable[[Task, bool | None], None] | None = None,
            on_start: Callable[[int], None] | None = None) -> CollectSummary:
    """Run the policy over every task not done yet, then rebuild the dataset and the manifest.

    ``on_start(n)`` hears how many episodes will run; ``on_done(task, resolved)`` hears of each
    (resolved is None when the episode could not run).
    """
    out = Path(config.out)
    tasks = load_suite(config.tasks)
    todo = [t for t in tasks if _done_path(out, t.id) is None]
    if on_start is not None:
        on_start(len(todo))
    errors: dict[str, str] = {}
    lock = threading.Lock()
    (out / "unresolved").mkdir(parents=True, exist_ok=True)
    (out / "trajectories").mkdir(parents=True, exist_ok=True)
    log.info("%d tasks, %d already done, %d to run with %s", len(tasks), len(tasks) - len(todo),
             len(todo), config.policy)
    with ThreadPoolExecutor(max_workers=config.workers) as pool:
        futures = {pool.submit(run_one, task, config, out): task for task in todo}
        for future in as_completed(futures):
            task = futures[future]
            try:
                resolved: bool | None = future.result()
            except Exception as exc:  # the task boundary: record it and go on with the others
                log.warning("task %s failed to run: %s", task.id, exc)
                with lock:
                    errors[task.id] = f"{type(exc).__name__}: {exc}"
                resolved = None
            if on_done is not None:
                on_done(task, resolved)
    rows = build_dataset(out, tasks, config)
    resolved_count = sum((out / "trajectories" / f"{_safe(t.id)}.json").is_file() for t in tasks)
    return CollectSummary(attempted=len(todo), resolved=resolved_count,
                          skipped=len(tasks) - len(todo), errors=errors, dataset_rows=rows)


def build_dataset(out: Path, tasks: list[Task], config: CollectConfig) -> int:
    """Write dataset/ and manifest.json from the trajectories on disk; returns the row count."""
    from datasets import Dataset

    rows: list[dict[str, Any]] = []
    entries = []
    for task in tasks:
        done = _done_path(out, task.id)
        entry = {"id": task.id, "bug_class": task.bug_class, "source": task.source,
                 "resolved": None, "steps": None, "reward": None}
        if done is not None:
            trajectory = Trajectory.load(done)
            result = trajectory.result
            entry.update(resolved=result.resolved, steps=result.steps, reward=result.reward)
            if result.resolved:
                rows.append({
                    "messages": example_messages(trajectory.messages, config.max_context_chars),
                    "task_id": task.id,
                    "bug_class": task.bug_class or "",
                    "source": task.source or "",
                    "reward": result.reward,
                    "steps": result.steps,
                })
        entries.append(entry)
    if rows:
        Dataset.from_list(rows).save_to_disk(str(out / "dataset"))
    resolved = [e for e in entries if e["resolved"]]
    manifest = {
        "format": MANIFEST_FORMAT,
        "policy": config.policy,
        "tasks_dir": str(config.tasks),
        "config": asdict(config),
        "counts": {
            "tasks": len(tasks),
            "attempted": sum(e["resolved"] is not None for e in entries),
            "resolved": len(resolved),
            "examples": len(rows),
            "by_bug_class": dict(Counter(e["bug_class"] or "unknown" for e in resolved)),
            "by_source": dict(Counter(e["source"] or "unknown" for e in resolved)),
        },
        "tasks": entries,
        "dataset": "dataset" if rows else None,
    }
    write_json_atomic(out / "manifest.json", manifest)
    return len(rows)
