"""Candidates validated per second by the search's worker: a baseline revision against this one.

    python benchmarks/validate_throughput.py TASK_DIR... [--candidates 120] [--baseline REV]
        [--jobs 1,2] [--backend docker] [--repeats 2] [--json]

For each task (a directory with task.json and repo/, as ``agent eval`` reads them): one sandbox,
the first run and the coverage run of ``localize`` as ``agent fix`` makes them, then the engine's
first ``--candidates`` candidates at the ranked lines, validated in batches of the search's size
(``SearchConfig.batch_size``) by ``validate_worker`` as of ``--baseline`` (``git show
REV:agent/policies/validate_worker.py``) and as it is in the working tree, alternately, in the
same sandbox, on the same requests. Prints candidates per second for both, their ratio, and
whether both workers reported the same status for every test of every candidate (they must).

``--jobs A,B`` compares instead the working tree's worker validating A candidates at once with
it validating B at once (``SearchConfig.jobs``), in a sandbox with B CPUs (as far as the machine
has them), on the same requests, alternately.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKER = "agent/policies/validate_worker.py"


def prepare(task, sandbox, n: int) -> tuple[list[dict], dict, dict]:
    """(the candidates' payload entries, the request's shared part, the suite part)."""
    from agent.policies.search import SearchConfig, _span
    from agent.repair import evidence
    from agent.repair.proposals import in_order
    from envs.candidates import source_files
    from envs.limits import COVERAGE_SLOWDOWN, hung_limits, test_limits
    from envs.localize import localize_report
    from sandboxes import run_pytest

    cfg = SearchConfig()
    first = run_pytest(sandbox, list(task.tests), per_test_timeout=cfg.test_timeout_s)
    ranked, report = localize_report(
        sandbox, task, top_n=cfg.top_locations, per_test_timeout=cfg.test_timeout_s,
        limits=hung_limits(first, cfg.test_timeout_s, slowdown=COVERAGE_SLOWDOWN))
    files = source_files(sandbox, task)
    ranking = [(s.path, s.line) for s in ranked if s.path in files]
    scores = {(s.path, s.line): s.score for s in ranked}
    payload = []
    for _, cand in in_order(ranking, files, scores, time_limit_s=60):
        payload.append({"id": str(len(payload)),
                        "files": {cand.path: _span(files[cand.path], cand.text)}})
        if len(payload) >= n:
            break
    f2p, p2p = list(task.fail_to_pass), list(task.pass_to_pass)
    durations = {t: r.duration_s for t, r in first.tests.items()}
    limits = test_limits(durations, first.statuses, ceiling=cfg.test_timeout_s)
    suite = {"limits": {t: limits[t] for t in f2p + p2p if t in limits}}
    if report.coverage:
        suite["p2p_by_file"] = evidence.tests_by_file(report.coverage, p2p)
    shared = {"f2p": f2p, "p2p": p2p, "timeout": cfg.test_timeout_s, "stop_on_success": False,
              "p2p_from": 1, "deadline_s": 600}
    return payload, shared, suite


def validate(sandbox, source: str, jobs: int, payload, shared, suite, batch: int
             ) -> tuple[float, dict]:
    """Seconds for every batch, and each candidate's result by id."""
    from agent.policies.search import run_worker

    # One copies folder for all the batches, as a search keeps one (a worker of before issue
    # 15's copies work ignores it and copies the repo per batch).
    copies = f"{sandbox.scratch_dir}/jobs-bench-{uuid.uuid4().hex[:12]}"
    results, started = {}, time.monotonic()
    for i in range(0, len(payload), batch):
        request = dict(shared, candidates=payload[i:i + batch], jobs=jobs, copies=copies)
        _, by_id = run_worker(sandbox, request, suite, timeout=600, source=source)
        results.update(by_id)
    spent = time.monotonic() - started
    sandbox.run(["rm", "-rf", copies], timeout=60)
    return spent, results


def statuses(results: dict) -> dict:
    return {k: (r["f2p"], r["p2p"]) for k, r in results.items()}


def measure(task_dir: Path, args, variants: dict[str, tuple[str, int]]) -> dict:
    """``variants``: name -> (worker source, jobs); the first is the base of the ratio."""
    from agent.policies.search import SearchConfig
    from envs.task import Task
    from sandboxes import SandboxLimits, open_sandbox

    task = Task.load(task_dir)
    cpus = min(max(jobs for _, jobs in variants.values()), os.cpu_count() or 1)
    sandbox = open_sandbox(task.repo, backend=args.backend, limits=SandboxLimits(cpus=cpus))
    try:
        payload, shared, suite = prepare(task, sandbox, args.candidates)
        seconds = {name: 0.0 for name in variants}
        seen: dict[str, dict] = {}
        for _ in range(args.repeats):
            for name, (source, jobs) in variants.items():
                spent, results = validate(sandbox, source, jobs, payload, shared, suite,
                                          SearchConfig().batch_size)
                seconds[name] += spent
                seen.setdefault(name, statuses(results))
    finally:
        sandbox.close()
    base, now = list(variants)
    done = {name: len(seen[name]) for name in variants}
    rate = {name: done[name] * args.repeats / seconds[name] for name in variants}
    return {"task": task.id, "candidates": len(payload), "validated": done,
            "per_s": rate, "ratio": rate[now] / rate[base],
            "same_statuses": seen[now] == seen[base]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="+", type=Path, help="task directories")
    parser.add_argument("--candidates", type=int, default=120, help="candidates per task")
    parser.add_argument("--baseline", default="7a44678",
                        help="git revision of the baseline worker [default: the last one "
                             "before issue 15's throughput work]")
    parser.add_argument("--jobs", default=None, metavar="A,B",
                        help="compare the working tree's worker at A jobs with it at B jobs "
                             "instead of a baseline revision with the working tree")
    parser.add_argument("--backend", default="docker", choices=("docker", "local"))
    parser.add_argument("--repeats", type=int, default=2, help="runs of each worker per task")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    variants = make_variants(args)
    if isinstance(variants, str):
        print(f"error: {variants}", file=sys.stderr)
        return 2
    rows = [measure(task_dir, args, variants) for task_dir in args.tasks]
    base, now = list(variants)
    total = {name: sum(r["validated"][name] for r in rows) * args.repeats
             / sum(r["validated"][name] * args.repeats / r["per_s"][name] for r in rows)
             for name in variants}
    summary = {"compared": list(variants), "backend": args.backend, "tasks": rows,
               "per_s": total, "ratio": total[now] / total[base],
               "same_statuses": all(r["same_statuses"] for r in rows),
               "load_average": os.getloadavg()}
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"validate_worker {base} vs {now}, {args.backend} sandbox, {args.repeats} runs each; "
          "load average %.1f %.1f %.1f" % summary["load_average"])
    print(f"{'task':28} {'cands':>5} {'base/s':>7} {'now/s':>7} {'ratio':>6} same")
    for r in rows:
        print(f"{r['task']:28} {r['candidates']:5d} {r['per_s'][base]:7.1f} "
              f"{r['per_s'][now]:7.1f} {r['ratio']:6.2f} {r['same_statuses']}")
    print(f"{'all':28} {'':5} {total[base]:7.1f} {total[now]:7.1f} "
          f"{summary['ratio']:6.2f} {summary['same_statuses']}")
    return 0


def make_variants(args) -> dict[str, tuple[str, int]] | str:
    """name -> (worker source, jobs) of the two workers compared; a message when there are
    none."""
    now = (ROOT / WORKER).read_text()
    if args.jobs:
        try:
            a, b = (int(n) for n in args.jobs.split(","))
        except ValueError:
            return f"--jobs takes two counts such as 1,2, got {args.jobs!r}"
        if min(a, b) < 1 or a == b:
            return f"--jobs takes two different counts of at least 1, got {args.jobs!r}"
        return {f"jobs={a}": (now, a), f"jobs={b}": (now, b)}
    baseline = subprocess.run(["git", "show", f"{args.baseline}:{WORKER}"], cwd=ROOT,
                              capture_output=True, text=True)
    if baseline.returncode != 0:
        return f"no {WORKER} at {args.baseline!r}: {baseline.stderr.strip()}"
    return {args.baseline: (baseline.stdout, 1), "working tree": (now, 1)}


if __name__ == "__main__":
    sys.exit(main())
