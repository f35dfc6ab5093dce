"""How well `agent fix` (search policy) does on the bundled suite, or on any suite given.

Runs the real command, `agent fix TASK/repo --json`, once per task, and prints resolved / total
(plausible: every test passes), median and p90 wall time per task, a per-bug-class table, how
many resolved patches are the reference fix itself (the same files after the patch) or the same
program (the same AST: formatting and comments aside), what one fix cost in sandboxes opened,
full-suite runs, coverage runs and test runs (mean per fix), which stage of the search found each fix (a round, two partial fixes joined, further lines or
pairs of edits once a round ran dry), per repair family the candidates
tried and the fixes found, candidates validated per second, and episodes that ran past
--timeout by more than 10 s.

    python benchmarks/fix_suite.py [--sandbox docker|local] [--tasks DIR] [--limit N] [--json]
        [--timeout S] [--runs DIR] [--engine full|naive] [--jobs N] [--only ID,...]

``--engine naive`` runs the baseline the engine is compared with on the same tasks, sandbox and
budget: single mutations of every source file in file order, one round (`agent fix --engine`).
``--jobs N`` is `agent fix --jobs`: candidates validated at once (default: agent fix's own).

Run it with the package installed (or ``PYTHONPATH`` at the checkout).

On the 2-core development machine the whole bundled suite takes several minutes with Docker.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from agent.eval.metrics import distribution
from envs.task import bundled_suite_path, load_suite
from sandboxes import PatchError, apply_patch, copy_repo
from sandboxes.counts import KEYS as RUN_KEYS


def patched_tree(repo: Path, patch: str) -> dict[str, str] | None:
    """The repo's .py files after ``patch``, or None when it does not apply."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = copy_repo(repo, Path(tmp) / "repo")
        try:
            apply_patch(copy, patch)
        except PatchError:
            return None
        return {str(p.relative_to(copy)): p.read_text() for p in copy.rglob("*.py")}


def same_program(a: dict[str, str] | None, b: dict[str, str] | None) -> bool:
    """Whether two trees hold the same Python programs (ASTs equal, comments and layout aside)."""
    if a is None or b is None or a.keys() != b.keys():
        return False
    for path in a:
        if a[path] == b[path]:
            continue
        try:
            if ast.dump(ast.parse(a[path])) != ast.dump(ast.parse(b[path])):
                return False
        except SyntaxError:
            return False
    return True


PHASES = ("start", "coverage", "generate", "validate", "search_other", "final")
"""Where one fix's seconds go: set-up, sandbox start and the first test run; the coverage run
of ``localize``; making candidates; validating them; the rest of the search (later rounds'
localization, bookkeeping); the policy's closing actions and the final scoring run."""


def phases(result: dict, trajectory: Path) -> dict[str, float]:
    """The seconds of each of PHASES for one `agent fix --json` result and its trajectory."""
    stats = result.get("policy_stats") or {}
    try:
        steps = json.loads(trajectory.read_text())["steps"]
    except (OSError, ValueError, KeyError):
        steps = []
    in_steps = sum(s["elapsed_s"] for s in steps)
    coverage = sum(s["elapsed_s"] for s in steps
                   if s["action"].strip("`\n ").split()[:1] == ["localize"])
    search = stats.get("elapsed_s", 0.0)
    out = {"start": result.get("total_elapsed_s", 0.0) - in_steps, "coverage": coverage,
           "generate": stats.get("generate_s", 0.0), "validate": stats.get("validate_s", 0.0)}
    out["search_other"] = search - out["generate"] - out["validate"]
    out["final"] = in_steps - coverage - search
    return {k: round(max(v, 0.0), 2) for k, v in out.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=Path, default=bundled_suite_path())
    parser.add_argument("--sandbox", default="docker", choices=["docker", "local", "auto"])
    parser.add_argument("--limit", type=int, default=None, help="Only the first N tasks.")
    parser.add_argument("--json", action="store_true", help="One JSON object instead of tables.")
    parser.add_argument("--timeout", type=float, default=None,
                        help="agent fix --timeout for each task (default: agent fix's own).")
    parser.add_argument("--runs", type=Path, default=None,
                        help="Keep each task's agent fix output (trajectory, result) in "
                             "RUNS/TASK_ID (default: a temporary folder).")
    parser.add_argument("--engine", choices=("full", "naive"), default="full",
                        help="agent fix --engine: the repair engine, or the naive baseline.")
    parser.add_argument("--jobs", type=int, default=None,
                        help="agent fix --jobs: candidates validated at once (default: agent "
                             "fix's own).")
    parser.add_argument("--only", default=None, metavar="ID,...",
                        help="Only the tasks with these ids (comma-separated).")
    args = parser.parse_args()

    tasks = load_suite(args.tasks)
    if args.only:
        wanted = set(args.only.split(","))
        missing = wanted - {t.id for t in tasks}
        if missing:
            parser.error(f"--only: no task {', '.join(sorted(missing))} in {args.tasks}")
        tasks = [t for t in tasks if t.id in wanted]
    tasks = tasks[: args.limit]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = args.runs or tmp
        for i, task in enumerate(tasks, 1):
            started = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-m", "agent", "fix", str(task.repo), "--json",
                 "--sandbox", args.sandbox, "--out", f"{out}/{task.id}", "--engine", args.engine,
                 *(["--timeout", str(args.timeout)] if args.timeout else []),
                 *(["--jobs", str(args.jobs)] if args.jobs else [])],
                capture_output=True, text=True)
            wall = time.monotonic() - started
            try:
                result = json.loads(done.stdout.strip().splitlines()[-1])
            except (json.JSONDecodeError, IndexError):
                result = {"resolved": False, "patch": "", "error": done.stderr.strip()[-300:]}
            same = same_ast = False
            if result.get("resolved") and task.reference_patch:
                ours = patched_tree(task.repo, result["patch"])
                reference = patched_tree(task.repo, task.reference_patch)
                same = ours is not None and ours == reference
                same_ast = same_program(ours, reference)
            stats = result.get("policy_stats") or {}
            spent = phases(result, Path(out) / task.id / "trajectory.json")
            rows.append({"task": task.id, "bug_class": task.bug_class or "?",
                         "resolved": bool(result.get("resolved")), "same_as_reference": same,
                         "same_program_as_reference": same_ast,
                         "wall_s": round(wall, 2), "error": result.get("error"),
                         "family": stats.get("family", ""), "candidates": stats.get("candidates", 0),
                         "stage": stats.get("stage", ""), "reached": stats.get("reached", {}),
                         "search_s": stats.get("elapsed_s", 0.0), "line_rank": stats.get("line_rank"),
                         "families": stats.get("families", {}), "phases": spent,
                         "runs": result.get("runs", {}), "patch": result.get("patch", "")})
            mark = "ok " if rows[-1]["resolved"] else "-- "
            print(f"[{i:3}/{len(tasks)}] {mark} {wall:6.1f}s  {task.id}  "
                  f"({rows[-1]['candidates']} candidates"
                  + (f", {rows[-1]['family']} at line rank {rows[-1]['line_rank']}"
                     if rows[-1]["family"] else "")
                  + (f", {rows[-1]['stage']}" if rows[-1]["stage"] else "") + ")", flush=True,
                  file=sys.stderr if args.json else sys.stdout)  # --json: stdout is the JSON

    resolved = sum(r["resolved"] for r in rows)
    times = distribution([r["wall_s"] for r in rows])
    by_class: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_class[row["bug_class"]].append(row)
    families: dict[str, dict[str, int]] = defaultdict(lambda: {"tried": 0, "plausible": 0,
                                                                "fixes": 0})
    for row in rows:
        for name, counts in row["families"].items():
            families[name]["tried"] += counts.get("tried", 0)
            families[name]["plausible"] += counts.get("plausible", 0)
        if row["resolved"] and row["family"]:
            families[row["family"]]["fixes"] += 1
    searched = sum(r["search_s"] for r in rows)
    late = [r["task"] for r in rows if args.timeout and r["wall_s"] > args.timeout + 10]
    validated = sum(r["phases"]["validate"] for r in rows)
    summary = {
        "sandbox": args.sandbox,
        "engine": args.engine,
        "jobs": args.jobs,
        "tasks": len(rows),
        "resolved": resolved,
        "resolve_rate": round(resolved / len(rows), 3) if rows else 0.0,
        "median_s": round(times["median"], 2),
        "p90_s": round(times["p90"], 2),
        "same_as_reference": sum(r["same_as_reference"] for r in rows),
        "same_program_as_reference": sum(r["same_program_as_reference"] for r in rows),
        "candidates": sum(r["candidates"] for r in rows),
        "candidates_per_s": round(sum(r["candidates"] for r in rows) / searched, 2)
        if searched else 0.0,
        "candidates_per_validation_s": round(sum(r["candidates"] for r in rows) / validated, 2)
        if validated else 0.0,
        "phases_mean_s": {k: round(sum(r["phases"][k] for r in rows) / len(rows), 2)
                          for k in PHASES} if rows else {},
        "past_timeout_by_10s": late,
        "by_family": dict(sorted(families.items(), key=lambda kv: -kv[1]["tried"])),
        "by_stage": {stage: sum(r["resolved"] and r["stage"] == stage for r in rows)
                     for stage in sorted({r["stage"] for r in rows if r["resolved"]})},
        "reached": {k: sum(r["reached"].get(k, 0) for r in rows) for k in ("lines", "pairs")},
        "by_class": {c: {"resolved": sum(r["resolved"] for r in rs), "total": len(rs)}
                     for c, rs in sorted(by_class.items())},
        "unresolved": [r["task"] for r in rows if not r["resolved"]],
        "runs_per_fix": {key: round(sum(r["runs"].get(key, 0) for r in rows) / len(rows), 2)
                         for key in RUN_KEYS} if rows else {},
    }
    if args.json:
        print(json.dumps(summary | {"rows": rows}, indent=1))
        return 0
    print()
    print(f"resolved {resolved}/{len(rows)} ({summary['resolve_rate']:.0%}) with the "
          f"{args.sandbox} sandbox ({args.engine} engine); median {summary['median_s']} s, p90 {summary['p90_s']} s "
          "per task")
    print(f"resolved patches identical in effect to the reference fix: "
          f"{summary['same_as_reference']}/{resolved}; the same program (AST): "
          f"{summary['same_program_as_reference']}/{resolved}")
    print("per fix (mean): " + ", ".join(f"{v} {k.replace('_', ' ')}"
                                         for k, v in summary["runs_per_fix"].items()))
    print(f"{summary['candidates']} candidates validated, {summary['candidates_per_s']} per "
          f"second of search, {summary['candidates_per_validation_s']} per second of validation")
    print("time per task (mean s): " + ", ".join(
        f"{k.replace('_', ' ')} {v}" for k, v in summary["phases_mean_s"].items()))
    if args.timeout:
        print(f"episodes past --timeout {args.timeout:g} by more than 10 s: "
              f"{len(late)}" + (f" ({', '.join(late)})" if late else ""))
    print("fixes by stage of the search: " + (", ".join(
        f"{k} {v}" for k, v in summary["by_stage"].items()) or "none")
          + "; candidates validated once a round ran dry: "
          + ", ".join(f"{k} {v}" for k, v in summary["reached"].items()))
    print(f"\n{'repair family':24} {'tried':>7} {'plausible':>9} {'fixes':>6}")
    for name, counts in summary["by_family"].items():
        print(f"{name:24} {counts['tried']:7} {counts['plausible']:9} {counts['fixes']:6}")
    print(f"\n{'bug class':28} resolved")
    for name, counts in summary["by_class"].items():
        print(f"{name:28} {counts['resolved']}/{counts['total']}")
    if summary["unresolved"]:
        print("\nnot resolved: " + ", ".join(summary["unresolved"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
