"""How often the repair engine's candidate space holds the real fix, on bugs written elsewhere.

Input: a mirror of a public collection of faulty / corrected program pairs (for example
ConDefects' ``Code/<problem>/Python/<id>/{faultyVersion,correctVersion}.py``, given with
``--mirror``; nothing of it is committed), or HumanEvalFix's Python tasks from a mirror of a
harbor humanevalpack dataset (``--humanevalfix dev``: the even ids, the development half). For each pair whose fix changes at most
``--max-lines`` lines, the engine's candidates at the changed lines (perfect localization) are
generated, ordered as the search orders them, and compared with the corrected program by AST.
``--tasks SUITE`` takes the pairs from a suite's tasks instead (the buggy file and the file after
the reference patch, for tasks whose reference patch changes one Python file).
Printed: how many pairs each engine reaches (the corrected program among its candidates), the
median position of the fix in the engine's order, which families reach them, and how many
candidates one line gets and how long generating them takes. The naive
engine is the mutation operators alone. No tests run: this measures the search space and the
ranking, not localization or validation.

    python benchmarks/repair_reach.py --mirror DIR [--n 300] [--seed 0] [--max-lines 2] [--json]
        [--split check]
    python benchmarks/repair_reach.py --tasks SUITE [--max-lines 2] [--json]
    python benchmarks/repair_reach.py --mirror HARBOR_HUMANEVALPACK --humanevalfix dev --max-lines 4
"""

from __future__ import annotations

import argparse
import difflib
import json
import random
import re
import statistics
import subprocess
import sys
import time
import zlib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.repair import (
    candidates_at,
    rank,
)
from agent.repair.engine import mutation_candidates


def pairs(mirror: Path) -> list[tuple[str, str, str]]:
    """(id, faulty, correct) texts from a bare or working git mirror's newest commit."""
    git = ["git", "-C", str(mirror)]
    names = subprocess.run(git + ["ls-tree", "-r", "--name-only", "HEAD"], capture_output=True,
                           text=True, check=True).stdout.split("\n")
    faulty = sorted(n for n in names if n.endswith("/faultyVersion.py"))
    out = []
    for path in faulty:
        fixed = path.replace("faultyVersion.py", "correctVersion.py")
        out.append((path.rsplit("/", 1)[0], path, fixed))
    return out


def split_of(pair_id: str) -> str:
    """"tune" or "check", fixed per pair: ``repair_prior.py`` measures the prior on the tune
    half of a mirror's pairs, so the check half measures the order on pairs it never saw."""
    return "tune" if zlib.crc32(pair_id.encode()) % 2 == 0 else "check"


def foreign_pairs(mirror: Path, n: int, seed: int, split: str | None = None):
    """Up to ``n`` (id, faulty, correct) texts of a mirror's pairs in a seeded order (of one
    ``split`` only, where given), read lazily."""
    found = [p for p in pairs(mirror) if split is None or split_of(p[0]) == split]
    random.Random(seed).shuffle(found)
    return ((pid, show(mirror, a), show(mirror, b)) for pid, a, b in found[:n])


HUMANEVALFIX = "datasets/humanevalpack-fix/python_{n}"


def humanevalfix_pairs(mirror: Path, half: str) -> list[tuple[str, str, str]]:
    """(id, faulty, correct) texts of HumanEvalFix's Python tasks from a mirror of a harbor
    humanevalpack dataset: the buggy program of ``instruction.md``'s context, the reference
    ``solution/solution.py``. ``half`` "dev" is the even ids, "eval" the odd ones (measure only).
    Blank lines are dropped from both (the two differ in them; the AST does not)."""
    out = []
    for n in range(0 if half == "dev" else 1, 164, 2):
        folder = HUMANEVALFIX.format(n=n)
        prompt, solution = show(mirror, f"{folder}/instruction.md"), show(mirror, f"{folder}/solution/solution.py")
        found = re.search(r"# Context\n\n```python\n(.*?)```", prompt or "", re.S)
        if found is None or solution is None:
            continue
        out.append((f"humanevalfix/python_{n}", _squeeze(found.group(1)), _squeeze(solution)))
    return out


def _squeeze(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if line.strip()) + "\n"


def show(mirror: Path, path: str) -> str | None:
    done = subprocess.run(["git", "-C", str(mirror), "show", f"HEAD:{path}"], capture_output=True,
                          check=False)
    try:
        return done.stdout.decode("utf-8") if done.returncode == 0 else None
    except UnicodeDecodeError:
        return None


def suite_pairs(suite: Path) -> list[tuple[str, str | None, str | None]]:
    """(task id, buggy text, fixed text) for each task whose reference patch changes one .py
    file (texts None otherwise)."""
    import tempfile

    from envs.task import load_suite
    from sandboxes import PatchError, apply_patch, copy_repo

    out = []
    for task in load_suite(suite):
        files = [line[6:] for line in (task.reference_patch or "").splitlines()
                 if line.startswith("+++ b/")]
        if len(files) != 1 or not files[0].endswith(".py"):
            out.append((task.id, None, None))
            continue
        with tempfile.TemporaryDirectory() as tmp:
            fixed = copy_repo(task.repo, Path(tmp) / "repo")
            try:
                apply_patch(fixed, task.reference_patch)
            except PatchError:
                out.append((task.id, None, None))
                continue
            out.append((task.id, (task.repo / files[0]).read_text(),
                        (fixed / files[0]).read_text()))
    return out


def changed_lines(a: str, b: str) -> list[int]:
    rows = []
    matcher = difflib.SequenceMatcher(None, a.split("\n"), b.split("\n"), autojunk=False)
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if tag == "replace" or tag == "delete":
            rows += range(i1 + 1, i2 + 1)
        elif tag == "insert":
            rows += [max(i1, 1), i1 + 1]
    return sorted(set(rows))


def position(groups, target: str) -> tuple[int | None, str]:
    """Where the fix comes in the engine's order (0-based), and its family."""
    originals = {"m.py": groups[1]}
    for i, (_, cand) in enumerate(rank.unique(iter(rank.order(groups[0])), originals)):
        if rank.ast_key("m.py", cand.text) == target:
            return i, cand.family
    return None, ""


def measure(faulty: str, correct: str, rows: list[int]) -> dict:
    target = rank.ast_key("m.py", correct)
    full, naive, sizes, times = [], [], [], []
    for r, line in enumerate(rows):
        context = rank.context_of(faulty, line)
        start = time.perf_counter()
        found = candidates_at("m.py", faulty, line)
        times.append(time.perf_counter() - start)
        sizes.append(len(found))
        full.append((r, context, found))
        naive.append((r, context, mutation_candidates("m.py", faulty, line)))
    at, family = position((full, faulty), target)
    naive_at, _ = position((naive, faulty), target)
    return {"engine": at, "family": family, "naive": naive_at, "site_candidates": sizes,
            "site_seconds": times}


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--mirror", type=Path, help="A git mirror of faulty/corrected pairs.")
    source.add_argument("--tasks", type=Path, help="A suite whose reference patches give pairs.")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-lines", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--split", choices=("tune", "check"), default=None,
                        help="--mirror: only the pairs of this half (repair_prior.py measures "
                             "the prior on the tune half)")
    parser.add_argument("--humanevalfix", choices=("dev", "eval"),
                        help="the mirror is a harbor humanevalpack dataset: read HumanEvalFix's "
                             "Python pairs, the even ids (dev) or the odd ones (eval: report "
                             "only, never tune on them)")
    args = parser.parse_args()

    if args.tasks:
        texts = suite_pairs(args.tasks)
    elif args.humanevalfix:
        texts = iter(humanevalfix_pairs(args.mirror, args.humanevalfix))
    else:
        texts = foreign_pairs(args.mirror, len(pairs(args.mirror)), args.seed, args.split)
    rows = []
    for pid, faulty, correct in texts:
        if len(rows) >= args.n:
            break
        if faulty is None or correct is None or rank.ast_key("m.py", faulty) is None \
                or rank.ast_key("m.py", correct) is None:
            continue
        lines = changed_lines(faulty, correct)
        if not lines or len(lines) > args.max_lines:
            continue
        rows.append({"id": pid, **measure(faulty, correct, lines)})
    reached = [r for r in rows if r["engine"] is not None]
    naive = [r for r in rows if r["naive"] is not None]
    summary = {
        "pairs": len(rows),
        "engine_reached": len(reached),
        "naive_reached": len(naive),
        "engine_median_position": statistics.median([r["engine"] for r in reached]) if reached else None,
        "naive_median_position": statistics.median([r["naive"] for r in naive]) if naive else None,
        "site_candidates_median": _quantile([n for r in rows for n in r["site_candidates"]], 0.5),
        "site_candidates_p90": _quantile([n for r in rows for n in r["site_candidates"]], 0.9),
        "site_ms_median": _quantile([1000 * t for r in rows for t in r["site_seconds"]], 0.5),
        "site_ms_p90": _quantile([1000 * t for r in rows for t in r["site_seconds"]], 0.9),
        "by_family": dict(Counter(r["family"] for r in reached).most_common()),
    }
    if args.json:
        print(json.dumps(summary | {"rows": rows}, indent=1))
        return 0
    print(f"{summary['pairs']} faulty/corrected pairs with fixes of at most {args.max_lines} lines")
    print(f"engine reaches {summary['engine_reached']} (median position "
          f"{summary['engine_median_position']}), mutation operators alone "
          f"{summary['naive_reached']} (median position {summary['naive_median_position']})")
    print(f"candidates per line: median {summary['site_candidates_median']}, p90 "
          f"{summary['site_candidates_p90']}; generation per line: median "
          f"{summary['site_ms_median']:.1f} ms, p90 {summary['site_ms_p90']:.1f} ms")
    for family, n in summary["by_family"].items():
        print(f"  {family:24} {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
