"""How well `agent fix` (search policy) does on the bundled suite.

Runs the real command, `agent fix TASK/repo --json`, once per task, and prints resolved / total,
median and p90 wall time per task, a per-bug-class table, and how many resolved patches are the
reference fix itself (the same files after the patch, not just the same test outcomes).

    python benchmarks/fix_suite.py [--sandbox docker|local] [--tasks DIR] [--limit N] [--json]

On the 2-core development machine the whole bundled suite takes several minutes with Docker.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.eval.metrics import distribution  # noqa: E402
from envs.task import TaskError, bundled_suite_path, load_suite  # noqa: E402
from envs.validate import apply_patch, copy_repo  # noqa: E402


def patched_tree(repo: Path, patch: str) -> dict[str, str] | None:
    """The repo's .py files after ``patch``, or None when it does not apply."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = copy_repo(repo, Path(tmp) / "repo")
        try:
            apply_patch(copy, patch)
        except TaskError:
            return None
        return {str(p.relative_to(copy)): p.read_text() for p in copy.rglob("*.py")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=Path, default=bundled_suite_path())
    parser.add_argument("--sandbox", default="docker", choices=["docker", "local", "auto"])
    parser.add_argument("--limit", type=int, default=None, help="Only the first N tasks.")
    parser.add_argument("--json", action="store_true", help="One JSON object instead of tables.")
    parser.add_argument("--timeout", type=float, default=None,
                        help="agent fix --timeout for each task (default: agent fix's own).")
    args = parser.parse_args()

    tasks = load_suite(args.tasks)[: args.limit]
    rows = []
    with tempfile.TemporaryDirectory() as out:
        for i, task in enumerate(tasks, 1):
            started = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-m", "agent", "fix", str(task.repo), "--json",
                 "--sandbox", args.sandbox, "--out", f"{out}/{task.id}",
                 *(["--timeout", str(args.timeout)] if args.timeout else [])],
                capture_output=True, text=True, cwd=ROOT)
            wall = time.monotonic() - started
            try:
                result = json.loads(done.stdout.strip().splitlines()[-1])
            except (json.JSONDecodeError, IndexError):
                result = {"resolved": False, "patch": "", "error": done.stderr.strip()[-300:]}
            same = False
            if result.get("resolved") and task.reference_patch:
                ours = patched_tree(task.repo, result["patch"])
                same = ours is not None and ours == patched_tree(task.repo, task.reference_patch)
            rows.append({"task": task.id, "bug_class": task.bug_class or "?",
                         "resolved": bool(result.get("resolved")), "same_as_reference": same,
                         "wall_s": round(wall, 2), "error": result.get("error")})
            if not args.json:
                mark = "ok " if rows[-1]["resolved"] else "-- "
                print(f"[{i:3}/{len(tasks)}] {mark} {wall:6.1f}s  {task.id}", flush=True)

    resolved = sum(r["resolved"] for r in rows)
    times = distribution([r["wall_s"] for r in rows])
    by_class: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_class[row["bug_class"]].append(row)
    summary = {
        "sandbox": args.sandbox,
        "tasks": len(rows),
        "resolved": resolved,
        "resolve_rate": round(resolved / len(rows), 3) if rows else 0.0,
        "median_s": round(times["median"], 2),
        "p90_s": round(times["p90"], 2),
        "same_as_reference": sum(r["same_as_reference"] for r in rows),
        "by_class": {c: {"resolved": sum(r["resolved"] for r in rs), "total": len(rs)}
                     for c, rs in sorted(by_class.items())},
        "unresolved": [r["task"] for r in rows if not r["resolved"]],
    }
    if args.json:
        print(json.dumps(summary | {"rows": rows}, indent=1))
        return 0
    print()
    print(f"resolved {resolved}/{len(rows)} ({summary['resolve_rate']:.0%}) with the "
          f"{args.sandbox} sandbox; median {summary['median_s']} s, p90 {summary['p90_s']} s "
          "per task")
    print(f"resolved patches identical in effect to the reference fix: "
          f"{summary['same_as_reference']}/{resolved}")
    print(f"\n{'bug class':28} resolved")
    for name, counts in summary["by_class"].items():
        print(f"{name:28} {counts['resolved']}/{counts['total']}")
    if summary["unresolved"]:
        print("\nnot resolved: " + ", ".join(summary["unresolved"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
