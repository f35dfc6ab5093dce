"""DebugEnv throughput: reset latency and steps per second, one env and N in parallel.

Every episode plays the same scripted sequence (so the figures measure the env, not a policy)::

    run_tests, search "def ", localize, open FILE, edit FILE (a comment added to one line), submit

where FILE is the task's first non-test Python file. The serial run plays ``--episodes`` episodes
in one DebugEnv; the parallel run plays the same episodes in ``--n`` envs of an AsyncVectorEnv
(one worker process and one sandbox each), so the speed-up is serial time / parallel time for the
same work. Tasks come from the bundled suite, or from the env test fixtures when it is absent.

    python benchmarks/env_throughput.py                      # local and docker, N=4
    python benchmarks/env_throughput.py --backends local --n 2 --episodes 4 --json
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from collections import defaultdict
from pathlib import Path

from sandboxes.config import SandboxConfig

ROOT = Path(__file__).resolve().parent.parent

FIXTURES = ROOT / "tests" / "fixtures" / "env_tasks"


def load_tasks(suite: str | None, count: int):
    from envs.reward import is_test_path
    from envs.task import bundled_suite_path, load_suite

    path = Path(suite) if suite else bundled_suite_path()
    if not suite and not any(path.glob("*/task.json")):
        path = FIXTURES
    tasks = load_suite(path)
    tasks = [t for t in tasks if t.id != "env-sleepy"] or tasks  # keep sleep out of the figures
    picked = tasks[:: max(1, len(tasks) // count)][:count]  # spread over the suite
    scripts = {}
    for task in picked:
        files = sorted(p.relative_to(task.repo).as_posix() for p in task.repo.rglob("*.py"))
        sources = [f for f in files if not is_test_path(f) and "__pycache__" not in f] or files
        edits = [(f, edit_target((task.repo / f).read_text())) for f in sources]
        source, target = next(((f, t) for f, t in edits if t), (sources[0], None))
        scripts[task.id] = script(source, target)
    return path, picked, scripts


def edit_target(text: str) -> str | None:
    """A line of ``text`` that a trailing comment cannot break, and that occurs once."""
    for line in text.splitlines():
        if (line.strip().startswith(("return ", "if ", "for ", "def ")) and "#" not in line
                and line.rstrip().endswith((":", ")")) and '"""' not in line
                and text.count(line) == 1):
            return line
    return None


def script(path: str, target: str | None) -> list[str]:
    actions = ["run_tests", 'search "def "', "localize", f"open {path}"]
    if target is not None:
        actions.append(f"edit {path}\n<<<<<<< SEARCH\n{target}\n=======\n{target}  # touched\n"
                       ">>>>>>> REPLACE")
    return actions + ["submit"]


def run_serial(config, tasks, scripts, episodes: int) -> dict:
    from envs.env import DebugEnv

    resets, per_verb, steps, step_time = [], defaultdict(list), 0, 0.0
    started = time.monotonic()
    with DebugEnv(config, tasks) as env:
        for episode in range(episodes):
            task = tasks[episode % len(tasks)]
            t0 = time.monotonic()
            env.reset(seed=episode, options={"task": task})
            resets.append(time.monotonic() - t0)
            for action in scripts[task.id]:
                t0 = time.monotonic()
                *_, info = env.step(action)
                elapsed = time.monotonic() - t0
                if info["format_error"]:
                    raise RuntimeError(f"scripted action failed on {task.id}: {action!r}")
                per_verb[info["action"]].append(elapsed)
                steps += 1
                step_time += elapsed
    total = time.monotonic() - started
    return {
        "episodes": episodes, "steps": steps, "total_s": round(total, 2),
        "reset_s_median": round(statistics.median(resets), 3),
        "reset_s_mean": round(statistics.mean(resets), 3),
        "steps_per_s": round(steps / step_time, 2),
        "step_s_by_action": {verb: round(statistics.mean(ts), 3) for verb, ts in per_verb.items()},
    }


def run_parallel(config, tasks, scripts, episodes: int, n: int) -> dict:
    from envs.vector import make_vector_env

    env = make_vector_env(n, config, tasks)
    steps, step_time, reset_time, done = 0, 0.0, 0.0, 0
    started = time.monotonic()
    try:
        round_ = 0
        while done < episodes:
            t0 = time.monotonic()
            _, info = env.reset(seed=round_ * n)
            reset_time += time.monotonic() - t0
            plans = [scripts[task_id] for task_id in info["task_id"]]
            for i in range(max(len(p) for p in plans)):
                actions = [p[min(i, len(p) - 1)] for p in plans]
                t0 = time.monotonic()
                _, _, terminated, _, info = env.step(actions)
                step_time += time.monotonic() - t0
                steps += n
                if terminated.all():
                    break
            done += n
            round_ += 1
    finally:
        env.close()
    total = time.monotonic() - started
    return {
        "n": n, "episodes": done, "steps": steps, "total_s": round(total, 2),
        "reset_s_per_env": round(reset_time / done, 3),
        "steps_per_s": round(steps / step_time, 2),
    }


def bench_backend(backend: str, tasks, scripts, episodes: int, n: int) -> dict:
    from envs.env import EnvConfig
    from sandboxes import open_sandbox
    from sandboxes.errors import SandboxUnavailable

    try:
        open_sandbox(tasks[0].repo, backend=backend).close()
    except SandboxUnavailable as exc:
        return {"backend": backend, "skipped": str(exc)}
    config = EnvConfig(sandbox=SandboxConfig(backend), max_steps=50)
    serial = run_serial(config, tasks, scripts, episodes)
    parallel = run_parallel(config, tasks, scripts, episodes, n)
    return {
        "backend": backend, "serial": serial, "parallel": parallel,
        "speedup_steps_per_s": round(parallel["steps_per_s"] / serial["steps_per_s"], 2),
        "speedup_wall": round(serial["total_s"] / parallel["total_s"], 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="local,docker", help="comma-separated: local,docker")
    parser.add_argument("--n", type=int, default=4, help="parallel envs")
    parser.add_argument("--episodes", type=int, default=4, help="episodes per configuration")
    parser.add_argument("--suite", default=None, help="task suite (default: the bundled suite)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    suite, tasks, scripts = load_tasks(args.suite, max(args.episodes, args.n))
    results = {"suite": str(suite), "tasks": [t.id for t in tasks], "n": args.n,
               "episodes": args.episodes, "backends": []}
    for backend in args.backends.split(","):
        results["backends"].append(bench_backend(backend.strip(), tasks, scripts,
                                                 args.episodes, args.n))
        if not args.json:
            show(results["backends"][-1], args.n)
    if args.json:
        print(json.dumps(results, indent=2))


def show(result: dict, n: int) -> None:
    backend = result["backend"]
    if "skipped" in result:
        print(f"{backend}: skipped ({result['skipped']})")
        return
    s, p = result["serial"], result["parallel"]
    print(f"{backend}: reset {s['reset_s_median']:.2f} s (median of {s['episodes']}), "
          f"{s['steps_per_s']:.2f} steps/s with 1 env; "
          f"{p['steps_per_s']:.2f} steps/s with {n} envs "
          f"(speed-up {result['speedup_steps_per_s']:.2f}x steps/s, "
          f"{result['speedup_wall']:.2f}x wall; reset {p['reset_s_per_env']:.2f} s per env)")
    by_verb = ", ".join(f"{verb} {t:.2f}" for verb, t in s["step_s_by_action"].items())
    print(f"  step latency by action (s, 1 env): {by_verb}")


if __name__ == "__main__":
    main()
