"""Where the fix comes in the search's order, with the localization a real run had.

``repair_reach.py`` asks whether the engine's candidates at the fault lines hold the fix (perfect
localization); this asks how many candidates the search validates before it, given the ranking
that ``localize`` really produced. For each task of a suite whose reference patch changes one
Python file, the ranking (lines and scores) and the failing tests' output are read from a
``fix_suite.py --runs RUNS`` run's trajectory (``RUNS/TASK/trajectory.json``: its ``localize``
observation and first message), the lines the search adds (traceback frames, lines where code
cannot run) are added as the search adds them, and the engine's candidates at the top lines are
ordered as ``SearchPolicy.candidates`` orders them. The fix is the first candidate whose AST is
the reference's (a plausible non-reference edit may come earlier, so positions are upper
bounds). No tests run.

Printed: tasks, how many have the fix among the ordered candidates, the position of the fix
(median, p75), how many come within budgets of N candidates, the rank of the fix's line, the
families of the fixes, and the seconds spent making candidates (median, max).

    python benchmarks/repair_order.py --tasks SUITE --runs RUNS [--budget 50 100 300 1000]
        [--top-lines 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from repair_reach import _quantile, suite_pairs  # a sibling script module

from agent.repair import rank
from agent.repair.proposals import in_order, problem_lines
from envs.bugs import source_files
from envs.localize import traceback_frames
from envs.task import load_suite

_RANKED = re.compile(r"^(?P<path>\S+\.py):(?P<line>\d+)\s+(?P<score>-?[\d.]+)", re.MULTILINE)
_TEST_HEADER = re.compile(r"^--- (\S+) ---$", re.MULTILINE)


def failing_outputs(text: str) -> dict[str, str]:
    """{node id: output} from the episode's first message, where each failing test's output
    follows a ``--- NODE ---`` header (the last one runs to the file list after it)."""
    headers = list(_TEST_HEADER.finditer(text))
    ends = [h.start() for h in headers[1:]] + [len(text)]
    out = {h[1]: text[h.end():end].strip("\n") for h, end in zip(headers, ends)}
    if headers:
        last = headers[-1][1]
        out[last] = out[last].split("\n\nFiles in the repository")[0]
    return out


def evidence(trajectory: Path) -> tuple[list[tuple[str, int]], dict, dict[str, str]] | None:
    """(ranking, scores, failing tests' outputs) of a run: its first ``localize`` observation
    and the first user message (the failing tests' output, by node id); None when the run has
    no localization."""
    try:
        data = json.loads(trajectory.read_text())
    except (OSError, ValueError):
        return None
    observation = next((s["observation"] for s in data.get("steps", [])
                        if s["action"].strip("`\n ").split()[:1] == ["localize"]), None)
    if observation is None:
        return None
    found = [(m["path"], int(m["line"]), float(m["score"])) for m in _RANKED.finditer(observation)]
    first = next((m["content"] for m in data.get("messages", []) if m["role"] == "user"), "")
    return [(p, n) for p, n, _ in found], {(p, n): s for p, n, s in found}, failing_outputs(first)


def measure_task(task, buggy_text: str, fixed_text: str, path: str, runs: Path,
                 top_lines: int) -> dict | None:
    found = evidence(runs / task.id / "trajectory.json")
    if found is None:
        return None
    ranking, scores, failures = found
    files = {rel: (Path(task.repo) / rel).read_text() for rel in source_files(Path(task.repo))}
    files[path] = buggy_text
    for output in failures.values():  # as SearchPolicy.ranking adds them
        ranking += traceback_frames(output)
    lines = [loc for loc in dict.fromkeys(problem_lines(files, failures.values()) + ranking)
             if loc[0] in files][:top_lines]
    target = rank.ast_key(path, fixed_text)
    started = time.perf_counter()
    position, family, line_rank, total = None, "", None, 0
    for i, (index, cand) in enumerate(in_order(lines, files, scores, failures=failures)):
        total = i + 1
        if position is None and cand.path == path and rank.ast_key(path, cand.text) == target:
            position, family, line_rank = i, cand.family, index + 1
    return {"task": task.id, "position": position, "family": family, "line_rank": line_rank,
            "candidates": total, "lines": len(lines), "seconds": round(time.perf_counter() - started, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=Path, required=True, help="The suite (reference patches).")
    parser.add_argument("--runs", type=Path, required=True,
                        help="A fix_suite.py --runs folder of the same suite (trajectories).")
    parser.add_argument("--budget", type=int, nargs="*", default=[50, 100, 300, 1000])
    parser.add_argument("--top-lines", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    tasks = {t.id: t for t in load_suite(args.tasks)}
    rows = []
    for task_id, buggy, fixed in suite_pairs(args.tasks):
        task = tasks[task_id]
        if buggy is None or fixed is None:
            continue
        path = next(line[6:] for line in task.reference_patch.splitlines()
                    if line.startswith("+++ b/"))
        row = measure_task(task, buggy, fixed, path, args.runs, args.top_lines)
        if row is not None:
            rows.append(row)
    reached = [r["position"] for r in rows if r["position"] is not None]
    summary = {
        "tasks": len(rows), "reached": len(reached),
        "median_position": statistics.median(reached) if reached else None,
        "p75_position": _quantile(reached, 0.75),
        "within": {n: sum(p < n for p in reached) for n in args.budget},
        "line_rank": dict(sorted(Counter(r["line_rank"] for r in rows
                                         if r["line_rank"] is not None).items())),
        "by_family": dict(Counter(r["family"] for r in rows if r["family"]).most_common()),
        "generate_s_median": _quantile([r["seconds"] for r in rows], 0.5),
        "generate_s_max": max((r["seconds"] for r in rows), default=None),
    }
    if args.json:
        print(json.dumps(summary | {"rows": rows}, indent=1))
        return 0
    print(f"{summary['tasks']} tasks; the reference fix among the ordered candidates of "
          f"{summary['reached']} (top {args.top_lines} lines)")
    print(f"position of the fix: median {summary['median_position']}, p75 {summary['p75_position']}")
    print("within a budget of " + ", ".join(f"{n}: {k}" for n, k in summary["within"].items())
          + " candidates")
    print("rank of the fix's line: " + ", ".join(f"{k}: {v}" for k, v in summary["line_rank"].items()))
    print(f"making and ordering every candidate: median {summary['generate_s_median']} s, "
          f"max {summary['generate_s_max']} s per task")
    for family, n in summary["by_family"].items():
        print(f"  {family:24} {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
