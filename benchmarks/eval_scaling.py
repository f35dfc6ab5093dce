"""Evaluation throughput: tasks per minute on the bundled suite with 1 and 2 workers.

    python benchmarks/eval_scaling.py                      # Docker backend, reference policy
    python benchmarks/eval_scaling.py --backend local --limit 12 --json

Each worker count runs the same tasks from scratch in a fresh run directory (its own sandboxes,
its own worker processes); the time is the whole ``run_eval`` call, worker start-up included.
The reference policy replays each task's reference.patch (localize, edit, submit), so the work
per task is the sandbox's: container start, the first test run, per-test coverage, scoring.
Target on a 2-core machine: a speed-up of at least 1.7x from 1 to 2 workers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def measure(tasks: Path, workers: int, backend: str, policy: str, only: tuple[str, ...],
            out_root: Path) -> dict:
    from agent.eval import EvalConfig, PolicySpec, run_eval
    from sandboxes.config import SandboxConfig

    config = EvalConfig(tasks=tasks, out=out_root / f"workers-{workers}", workers=workers,
                        sandbox=SandboxConfig(backend), policy=PolicySpec(policy), only=only)
    started = time.monotonic()
    summary = run_eval(config)
    elapsed = time.monotonic() - started
    return {
        "workers": workers, "tasks": summary["tasks"], "resolved": summary["resolved"],
        "infra_errors": summary["infra_errors"], "elapsed_s": round(elapsed, 2),
        "tasks_per_min": round(60 * summary["tasks"] / elapsed, 2),
        "task_wall_s_mean": summary["wall_s"]["mean"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["docker", "local"], default="docker")
    parser.add_argument("--policy", choices=["reference", "search"], default="reference")
    parser.add_argument("--tasks", type=Path, default=None, help="suite [default: the bundled one]")
    parser.add_argument("--limit", type=int, default=None, help="first N tasks only")
    parser.add_argument("--workers", default="1,2", help="worker counts to compare")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    from envs.task import bundled_suite_path, load_suite

    tasks = args.tasks or bundled_suite_path()
    ids = tuple(t.id for t in load_suite(tasks))
    only = ids[: args.limit] if args.limit else ()
    counts = [int(w) for w in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="eval-scaling-") as tmp:
        # Warm-up: first container start, image layers and Python caches are not the pool's cost.
        measure(tasks, 1, args.backend, args.policy, ids[:1], Path(tmp) / "warmup")
        runs = [measure(tasks, w, args.backend, args.policy, only, Path(tmp)) for w in counts]
    base = runs[0]["tasks_per_min"]
    for run in runs:
        run["speedup"] = round(run["tasks_per_min"] / base, 2) if base else 0.0
    result = {"backend": args.backend, "policy": args.policy, "cpus": os.cpu_count(),
              "load_avg_1m": round(os.getloadavg()[0], 2), "runs": runs}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"eval scaling: {args.policy} policy, {args.backend} backend, "
              f"{runs[0]['tasks']} tasks, {os.cpu_count()} CPUs")
        print(f"{'workers':>8} {'elapsed s':>10} {'tasks/min':>10} {'speed-up':>9} {'resolved':>9}")
        for run in runs:
            print(f"{run['workers']:>8} {run['elapsed_s']:>10.1f} {run['tasks_per_min']:>10.2f} "
                  f"{run['speedup']:>8.2f}x {run['resolved']:>5}/{run['tasks']}")
        print(f"(1-minute load average at the end: {result['load_avg_1m']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
