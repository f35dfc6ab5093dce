"""Evaluation as Ray tasks: each task runs on whichever node Ray picks, in its own sandbox there
(that node's Docker engine, or its local backend), so one run spreads over a cluster.

Nodes need not share a file system with the driver: a task travels as a tar of its directory and
its trajectories come back inside the result; the driver writes them and the results log, so the
run directory looks the same as a local run's. Ray does not retry tasks (``max_retries=0``): a
task whose worker or node dies becomes an infrastructure-error record, which ``--retries`` and
``--resume`` deal with like any other.
"""

from __future__ import annotations

import io
import json
import logging
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.eval.records import INFRA, error_record
from agent.trajectory import write_json_atomic
from envs.task import Task
from sandboxes.base import IGNORED_NAMES

log = logging.getLogger("debug_agent.eval")

Job = tuple[Task, int]
PACKAGES = ("agent", "envs", "sandboxes")


def pack_task(task: Task) -> bytes:
    """The task directory as a gzipped tar (caches and .git left out)."""
    if task.path is None:
        raise ValueError(f"task {task.id} was not loaded from a directory and cannot be shipped")
    buffer = io.BytesIO()

    def skip(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        return None if Path(info.name).name in IGNORED_NAMES else info

    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(task.path, arcname="task", filter=skip)
    return buffer.getvalue()


def run_packed(payload: bytes, config: Any, attempt: int) -> tuple[dict[str, Any], dict[str, str]]:
    """The Ray task: unpack the task, evaluate it, return (record, {trajectory name: JSON text})."""
    from dataclasses import replace

    from agent.eval.pool import setup_worker_logging
    from agent.eval.runner import evaluate_task

    setup_worker_logging(config.log_level, None)
    with tempfile.TemporaryDirectory(prefix="debug-agent-ray-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as tar:
            tar.extractall(tmp, filter="data")
        task = Task.load(Path(tmp) / "task")
        trajectories = Path(tmp) / "trajectories"
        record = evaluate_task(task, replace(config, trajectory_dir=str(trajectories)), attempt)
        texts = {p.name: p.read_text() for p in trajectories.glob("*.json")}
    return record, texts


def _localize_paths(record: dict[str, Any], texts: dict[str, str], directory: Path) -> None:
    """Write the shipped trajectories under the run directory and point the record at them."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        write_json_atomic(directory / name, json.loads(text))
    for entry in [record, *record.get("samples", [])]:
        if entry.get("trajectory_path"):
            entry["trajectory_path"] = str(directory / Path(entry["trajectory_path"]).name)


def run_ray(
    jobs: list[Job],
    config: Any,
    workers: int,
    address: str,
    *,
    on_record: Callable[[dict[str, Any]], Job | None],
    on_event: Callable[[str, dict[str, Any]], None],
    task_timeout_s: float | None = None,
) -> None:
    """Run ``jobs`` as Ray tasks, at most ``workers`` in flight.

    ``address`` "local" starts a Ray instance on this machine with ``workers`` CPUs; anything else
    is passed to ``ray.init(address=...)`` ("auto", "ray://head:10001", ...). When Ray is already
    initialized in this process (a test, a notebook), that instance is used as it is.
    """
    try:
        import ray
    except ImportError:
        from sandboxes.errors import UsageError

        raise UsageError("--ray needs Ray: pip install 'debug-agent[ray]'") from None
    from dataclasses import replace

    started_here = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address == "local":
            kwargs["num_cpus"] = workers
        else:
            kwargs["address"] = address
            # Nodes of a real cluster may not have this package: ship its source with the job.
            root = Path(__file__).resolve().parents[2]
            kwargs["runtime_env"] = {"py_modules": [str(root / p) for p in PACKAGES]}
        ray.init(**kwargs)
        started_here = True
    trajectory_dir = Path(config.trajectory_dir) if config.trajectory_dir else None
    remote = ray.remote(num_cpus=1, max_retries=0)(run_packed)
    shipped = replace(config, trajectory_dir=None, log_file=None)
    pending = list(jobs)
    in_flight: dict[Any, tuple[Job, float]] = {}
    try:
        while pending or in_flight:
            while pending and len(in_flight) < workers:
                job = pending.pop(0)
                ref = remote.remote(pack_task(job[0]), shipped, job[1])
                in_flight[ref] = (job, time.monotonic())
                on_event("dispatch", {"task_id": job[0].id, "worker": "ray"})
            done, _ = ray.wait(list(in_flight), num_returns=1, timeout=1.0)
            for ref in done:
                (task, attempt), since = in_flight.pop(ref)
                try:
                    record, texts = ray.get(ref)
                    if trajectory_dir is not None:
                        _localize_paths(record, texts, trajectory_dir)
                except ray.exceptions.RayError as exc:
                    why = f"Ray task failed: {type(exc).__name__}: {str(exc).splitlines()[0]}"
                    log.warning("task %s: %s", task.id, why)
                    record = error_record(task, config.policy.name, INFRA, why,
                                          wall_s=time.monotonic() - since, attempt=attempt,
                                          worker="ray")
                again = on_record(record)
                if again is not None:
                    pending.append(again)
            if task_timeout_s is not None:
                for ref, ((task, attempt), since) in list(in_flight.items()):
                    if time.monotonic() - since > task_timeout_s:
                        ray.cancel(ref, force=True)
                        del in_flight[ref]
                        record = error_record(task, config.policy.name, INFRA,
                                              f"task timed out after {task_timeout_s:g} s; "
                                              "Ray task cancelled",
                                              wall_s=time.monotonic() - since, attempt=attempt,
                                              worker="ray")
                        again = on_record(record)
                        if again is not None:
                            pending.append(again)
    finally:
        for ref in in_flight:
            ray.cancel(ref, force=True)
        if started_here:
            ray.shutdown()
