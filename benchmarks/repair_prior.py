"""Measure the repair engine's per-family prior: which families fix which contexts.

For every bug with a known fix, the engine's candidates at the fault lines (the lines the fix
touches) are generated, deduplicated by AST, and each is compared with the fixed file by AST.
A family's rate in a context (the kind of statement at the fault line) is the share of the bugs
where it proposed something at which one of its candidates was the fix; a family's depth is the
sum, over the bugs it fixed, of the fix's place among the family's candidates at the line (0:
its first), which sets how fast the family gives way at a line (``rank.Prior.decay``); its
candidates are how many distinct edits it proposed over those bugs (what trying it costs,
recorded beside the rate). Bugs come from our own suites (the bundled tasks: hand-written bugs with reference patches; synthetic mutants of the
seed repositories: one random mutation each, the original as the fix) and, since our suites'
bugs are mostly inverse mutations, from code written elsewhere: ``--mirror`` a collection of
faulty / corrected program pairs (ConDefects; only the *tune* half of its pairs,
``repair_reach.split_of``, so that ``repair_reach.py --split check`` measures on pairs the prior
never saw) and ``--humanevalfix`` a harbor humanevalpack mirror (its development half only, the
even ids). No sandbox runs: an exact match with the fix is a stricter test than passing the
tests, so the rates are lower bounds that rank families alike.

    python benchmarks/repair_prior.py [--suite DIR] [--mutants N] [--seed S] [--out PATH]
        [--mirror CONDEFECTS --pairs N] [--humanevalfix HARBOR_MIRROR]

Writes ``agent/repair/prior.json`` by default; prints the families by rate.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "benchmarks"))

from repair_reach import changed_lines, foreign_pairs, humanevalfix_pairs  # sibling script

from agent.repair import candidates_at
from agent.repair.rank import PRIOR_PATH, ast_key, context_of
from envs.bugs import is_test_file, source_files
from envs.mutations import apply, enumerate_mutations
from envs.task import bundled_suite_path, load_suite
from envs.validate import apply_patch, copy_repo

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")


def fault_lines(patch: str) -> dict[str, list[int]]:
    """Lines of the buggy files that a unified diff changes (for a pure insertion, the lines
    around it)."""
    out: dict[str, list[int]] = defaultdict(list)
    path, row = None, 0
    for line in patch.splitlines():
        if line.startswith("--- "):
            path = line[4:].removeprefix("a/") if line[4:] != "/dev/null" else None
        elif (match := _HUNK.match(line)) and path:
            row = int(match[1])
        elif path and line.startswith("-") and not line.startswith("---"):
            out[path].append(row)
            row += 1
        elif path and line.startswith("+") and not line.startswith("+++"):
            out[path] += [max(row - 1, 1), row]
        elif path and line.startswith(" "):
            row += 1
    return {p: sorted(set(rows)) for p, rows in out.items()}


def sources(repo: Path) -> dict[str, str]:
    return {rel: (repo / rel).read_text() for rel in source_files(repo)}


def score_bug(buggy: dict[str, str], fixed: dict[str, str], lines: dict[str, list[int]],
              counts: dict[str, dict[str, int]]) -> None:
    for path, rows in lines.items():
        if path not in buggy or path not in fixed:
            continue
        target = ast_key(path, fixed[path])
        package = {p: t for p, t in buggy.items() if p != path}
        seen, proposed, hits = set(), defaultdict(int), set()
        depth: dict[str, int] = {}
        context = context_of(buggy[path], rows[0])
        for line in rows:
            place: dict[str, int] = defaultdict(int)
            for cand in candidates_at(path, buggy[path], line, package):
                # The fix's place among its family's candidates at the line, counted as
                # rank.order counts them (duplicates and code that does not compile too).
                k = place[cand.family]
                place[cand.family] += 1
                key = ast_key(path, cand.text)
                if key is None or key in seen:
                    continue
                seen.add(key)
                proposed[cand.family] += 1
                if key == target:
                    hits.add(cand.family)
                    depth[cand.family] = min(depth.get(cand.family, k), k)
        for family, n in proposed.items():
            for name in (family, f"{family}|{context}"):
                counts[name]["tried"] += 1
                counts[name]["fixed"] += family in hits
                counts[name]["candidates"] = counts[name].get("candidates", 0) + n
        for family, k in depth.items():
            counts[family]["depth"] = counts[family].get("depth", 0) + k


def bundled(suite: Path, counts) -> int:
    n = 0
    for task in load_suite(suite):
        if not task.reference_patch:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            fixed_repo = copy_repo(task.repo, Path(tmp) / "repo")
            apply_patch(fixed_repo, task.reference_patch)
            score_bug(sources(task.repo), sources(fixed_repo), fault_lines(task.reference_patch),
                      counts)
        n += 1
    return n


def mutants(seeds: list[Path], n: int, seed: int, counts) -> int:
    rng = random.Random(seed)
    pool = []
    for repo in seeds:
        files = sources(repo)
        for path, text in files.items():
            if not is_test_file(path):
                pool += [(files, path, m) for m in enumerate_mutations(text, path)]
    for files, path, m in rng.sample(pool, min(n, len(pool))):
        buggy = dict(files)
        buggy[path] = apply(files[path], m)
        score_bug(buggy, files, {path: list(m.lines)}, counts)
    return min(n, len(pool))


def foreign(texts, counts, max_lines: int = 3) -> int:
    """Score (id, faulty, correct) program pairs whose fix changes at most ``max_lines`` lines."""
    n = 0
    for _, faulty, correct in texts:
        if faulty is None or correct is None or ast_key("m.py", faulty) is None \
                or ast_key("m.py", correct) is None:
            continue
        lines = changed_lines(faulty, correct)
        if lines and len(lines) <= max_lines:
            score_bug({"m.py": faulty}, {"m.py": correct}, {"m.py": lines}, counts)
            n += 1
    return n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, default=bundled_suite_path())
    parser.add_argument("--seeds", type=Path, nargs="*",
                        default=sorted((ROOT / "envs" / "seeds").iterdir()))
    parser.add_argument("--mutants", type=int, default=200, help="Synthetic mutants to score.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=PRIOR_PATH)
    parser.add_argument("--mirror", type=Path, default=None,
                        help="A git mirror of faulty/corrected pairs (ConDefects): its tune half.")
    parser.add_argument("--pairs", type=int, default=300, help="Pairs of --mirror to score.")
    parser.add_argument("--humanevalfix", type=Path, default=None,
                        help="A harbor humanevalpack mirror: HumanEvalFix's development half.")
    args = parser.parse_args()

    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"tried": 0, "fixed": 0})
    n_tasks = bundled(args.suite, counts)
    n_mutants = mutants([p for p in args.seeds if p.is_dir()], args.mutants, args.seed, counts)
    n_pairs = foreign(foreign_pairs(args.mirror, args.pairs, args.seed, "tune"), counts) \
        if args.mirror else 0
    n_hefix = foreign(humanevalfix_pairs(args.humanevalfix, "dev"), counts, max_lines=4) \
        if args.humanevalfix else 0
    data = {"format": "debug-agent.repair-prior/1",
            "measured_on": {"bundled_tasks": n_tasks, "synthetic_mutants": n_mutants,
                            "seed": args.seed, "foreign_pairs": n_pairs,
                            "humanevalfix_dev": n_hefix},
            "counts": dict(sorted(counts.items()))}
    args.out.write_text(json.dumps(data, indent=1) + "\n")
    families = sorted((k for k in counts if "|" not in k),
                      key=lambda k: -counts[k]["fixed"] / max(counts[k]["tried"], 1))
    print(f"{n_tasks} bundled tasks, {n_mutants} mutants, {n_pairs} foreign pairs, "
          f"{n_hefix} HumanEvalFix dev programs -> {args.out}")
    print(f"{'family':24} {'bugs':>7} {'fixed':>6}  rate  (bugs: where the family proposed an edit)")
    for name in families:
        c = counts[name]
        print(f"{name:24} {c['tried']:7} {c['fixed']:6}  {c['fixed'] / max(c['tried'], 1):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
