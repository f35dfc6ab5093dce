"""A second foreign development set from DebugBench: LeetCode solutions with one implanted bug.

DebugBench (thunlp) took accepted LeetCode solutions written by people and had a model implant
bugs of named kinds into them: logic (a condition, an index, an operation, a variable), reference
(an undefined method or object) and syntax (a missing colon, an unclosed bracket or string, an
illegal indentation, comment or keyword). Nothing of it is committed: ``build`` reads the
``benchmark/python3_*.json`` files of a mirror given on the command line, one category per file;
the multi-bug files (``double``, ``triple``, ``quadruple``) are left out.

Each record becomes a small project as a user would have it: ``main.py`` (the imports LeetCode's
judge provides, then the buggy ``class Solution``) and ``test_main.py``, one pytest function per
example of the problem statement, ``assert Solution().method(a=..., b=...) == expected``. An
example is kept when its input parses as Python literals and the accepted solution (the
reference) returns its stated output; problems whose arguments are trees, linked lists or
designed classes, and in-place problems, have none. Tasks are kept when some test fails on the
buggy module and every test passes with the reference (``manifest.jsonl`` says why a record was
dropped). A problem's records are all in one half, by a hash of its slug, so that no half learns
the other's programs: ``--split`` also writes OUT-dev/ and OUT-eval/.

    python benchmarks/debugbench.py build --mirror DEBUGBENCH_MIRROR --out DIR [--split]
        [--per-category N]
    python benchmarks/fix_suite.py --tasks DIR-dev --json --timeout 60 > run.json
    python benchmarks/debugbench.py measure run.json --tasks DIR-dev

``measure`` prints the resolve rate per bug category and how many resolved patches are the
reference program (AST). The examples are few (two or three per problem), so a plausible patch
here is weaker evidence than on HumanEvalFix.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import json
import re
import shutil
import sys
import tempfile
import tokenize
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from humanevalfix import TESTS, _listed, _project, _statuses, load_run, unified

from envs.mine import check_history, git
from envs.task import Task, TaskError
from sandboxes.base import FAILING

MULTI = ("double", "triple", "quadruple")
PRELUDE = ("from typing import *\nimport bisect, collections, functools, heapq, itertools, math, "
           "operator, re, string\nfrom bisect import *\nfrom collections import *\n"
           "from functools import *\nfrom heapq import *\nfrom itertools import *\n"
           "from math import *\n\n")
"""What LeetCode's Python judge has imported before a solution runs."""
FOREIGN_TYPES = re.compile(r"\b(TreeNode|ListNode|Node|NestedInteger|Optional\[\w*Node\])\b")
_LITERALS = {"true": "True", "false": "False", "null": "None"}


def categories(mirror: Path) -> dict[str, list[dict]]:
    """The single-bug records of the mirror's Python files, by category."""
    found = {}
    for name in git(mirror, "ls-tree", "--name-only", "HEAD", "benchmark/").splitlines():
        match = re.fullmatch(r"benchmark/python3_(.+)\.json", name.strip())
        if match and match[1] not in MULTI:
            found[match[1]] = json.loads(git(mirror, "show", f"HEAD:{name.strip()}"))
    return found


def half(slug: str) -> str:
    return "dev" if hashlib.sha1(slug.encode()).digest()[0] % 2 == 0 else "eval"


def task_id(category: str, slug: str, nth: int = 1) -> str:
    """``dbench-CATEGORY-SLUG``, with ``-N`` for a category's N-th record of one problem."""
    name = f"dbench-{re.sub(r'[^a-z0-9]+', '-', category.lower()).strip('-')}-{slug}"
    return name if nth == 1 else f"{name}-{nth}"


# -- examples into tests --------------------------------------------------------------------------

def _pylit(text: str) -> object:
    """A JSON-ish literal of a LeetCode statement (``[1,2]``, ``"ab"``, ``true``, ``null``)."""
    text = text.strip().rstrip(",").strip()
    tokens = re.split(r'("(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|\b\w+\b)', text)
    return ast.literal_eval("".join(_LITERALS.get(token, token) for token in tokens))


def _split_arguments(text: str) -> list[tuple[str, str]]:
    """``a = [1,2], b = "x,y"`` as ``[("a", "[1,2]"), ("b", '"x,y"')]``: split at the commas
    outside brackets and strings that a ``name =`` follows."""
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline)
              if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.ENDMARKER)]
    cuts, depth = [0], 0
    for i, tok in enumerate(tokens):
        depth += tok.string in "([{" and tok.type == tokenize.OP
        depth -= tok.string in ")]}" and tok.type == tokenize.OP
        if (tok.string == "," and depth == 0 and i + 2 < len(tokens)
                and tokens[i + 1].type == tokenize.NAME and tokens[i + 2].string == "="):
            cuts.append(i + 1)
    pairs = []
    for a, b in zip(cuts, cuts[1:] + [len(tokens) + 1]):
        part = tokens[a:b - 1]
        if len(part) < 3 or part[0].type != tokenize.NAME or part[1].string != "=":
            raise ValueError(f"not an argument: {text!r}")
        pairs.append((part[0].string, text[_offset(text, part[2].start):
                                           _offset(text, part[-1].end)]))
    return pairs


def _offset(text: str, position: tuple[int, int]) -> int:
    row, col = position
    return sum(len(line) for line in text.splitlines(keepends=True)[:row - 1]) + col


def parse_example(example: str) -> tuple[dict, object] | None:
    """The keyword arguments and the stated output of one example, or None."""
    match = re.search(r"Input:\s*(.+?)\s*\n\s*Output:\s*(.+?)\s*(?:\n|$)", example.replace("\r", ""),
                      re.DOTALL)
    if not match:
        return None
    try:
        arguments = {name: _pylit(value) for name, value in _split_arguments(match[1])}
        return arguments, _pylit(match[2])
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError,
            tokenize.TokenError):
        return None


def entry_method(source: str) -> str | None:
    """The one public method of ``class Solution``, or None (no such class, or several)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Solution":
            public = [f.name for f in node.body
                      if isinstance(f, ast.FunctionDef) and not f.name.startswith("_")]
            return public[0] if len(public) == 1 else None
    return None


def test_module(method: str, examples: list[tuple[dict, object]]) -> tuple[str, list[str]]:
    lines, names = ["from main import Solution\n"], []
    for i, (arguments, output) in enumerate(examples, 1):
        call = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
        names.append(f"test_example_{i}")
        lines.append(f"\ndef test_example_{i}():\n"
                     f"    assert Solution().{method}({call}) == {output!r}\n")
    return "".join(lines), names


# -- deciding and writing the tasks ---------------------------------------------------------------

def decide(category: str, record: dict, out: Path, nth: int = 1) -> dict:
    slug = record.get("slug", "?")
    tid = task_id(category, slug, nth)
    result = {"id": tid, "category": category, "half": half(slug), "kept": False}
    oracle, buggy = record.get("oracle_code", ""), record.get("buggy_code", "")
    method = entry_method(oracle)
    if method is None:
        return result | {"reason": "the reference is not a class Solution with one method"}
    if FOREIGN_TYPES.search(oracle):
        return result | {"reason": "its arguments are trees, lists or designed classes"}
    examples = [e for e in map(parse_example, record.get("examples", [])) if e is not None]
    if not examples:
        return result | {"reason": "no example parses as literals"}
    fixed = PRELUDE + oracle.strip("\n") + "\n"
    broken = PRELUDE + buggy.strip("\n") + "\n"
    if fixed == broken:
        return result | {"reason": "the buggy code is the reference"}
    tests, names = test_module(method, examples)
    with tempfile.TemporaryDirectory(prefix="debug-agent-dbench-") as tmp:
        after = _statuses(_project(Path(tmp) / "fixed", fixed, tests), names)
        good = [n for n in names if after.get(f"{TESTS}::{n}") == "passed"]
        if not good:
            return result | {"reason": f"the reference fails every example: "
                             f"{_listed(after, sorted(after))}"}
        # Keep the examples whose stated output the reference returns (others: any order,
        # in-place results, floating-point output).
        examples = [e for e, n in zip(examples, names) if n in good]
        tests, names = test_module(method, examples)
        before = _statuses(_project(Path(tmp) / "buggy", broken, tests), names)
        f2p = sorted(n for n in before if before[n] in FAILING)
        p2p = sorted(n for n in before if before[n] == "passed")
        if before and set(before.values()) == {"error"}:  # the module does not import: pytest
            f2p, p2p = [TESTS], []  # names the file, as agent fix's first run does
        if not f2p:
            return result | {"reason": f"the buggy module passes all {len(names)} examples"}
        target = out / tid
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        shutil.move(str(Path(tmp) / "buggy"), target / "repo")
    Task(id=tid, repo=target / "repo", fail_to_pass=tuple(f2p), pass_to_pass=tuple(p2p),
         bug_class=category, source="debugbench", reference_patch=unified(broken, fixed),
         extra={"slug": slug, "half": result["half"], "entry_point": method,
                "fail_before": {n: before.get(n, "error") for n in f2p},
                "explanation": record.get("explanations", "").strip()}).save(target)
    return result | {"kept": True, "reason": f"{len(f2p)} fail_to_pass, {len(p2p)} pass_to_pass"}


def build(found: dict[str, list[dict]], out: Path, split: bool, per_category: int | None,
          ) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    records, kept_in, seen = [], Counter(), Counter()
    with (out / "manifest.jsonl").open("w") as manifest:
        for category, items in sorted(found.items()):
            for item in sorted(items, key=lambda r: r.get("slug", "")):
                if per_category is not None and kept_in[category, half(item.get("slug", ""))] \
                        >= per_category:
                    continue
                seen[category, item.get("slug", "")] += 1
                record = decide(category, item, out, seen[category, item.get("slug", "")])
                records.append(record)
                manifest.write(json.dumps(record) + "\n")
                if record["kept"]:
                    kept_in[category, record["half"]] += 1
                    if split:
                        copy = out.with_name(f"{out.name}-{record['half']}") / record["id"]
                        if copy.exists():
                            shutil.rmtree(copy)
                        shutil.copytree(out / record["id"], copy)
    kept = [r for r in records if r["kept"]]
    print(f"{len(kept)} of {len(records)} records kept in {out} "
          f"({sum(r['half'] == 'dev' for r in kept)} dev, "
          f"{sum(r['half'] == 'eval' for r in kept)} eval)", file=sys.stderr)
    return records


def measure(run: dict, tasks: dict[str, Task]) -> dict:
    """Resolved and same-program counts of a ``fix_suite.py --json`` run, per category."""
    per: dict[str, Counter] = defaultdict(Counter)
    for row in run["rows"]:
        task = tasks.get(row["task"])
        if task is None:
            continue
        counts = per[task.bug_class or "?"]
        counts["tasks"] += 1
        counts["resolved"] += bool(row.get("resolved"))
        counts["same_program"] += bool(row.get("same_program_as_reference"))
    return {"tasks": sum(c["tasks"] for c in per.values()),
            "resolved": sum(c["resolved"] for c in per.values()),
            "same_program_as_reference": sum(c["same_program"] for c in per.values()),
            "median_s": run.get("median_s"), "p90_s": run.get("p90_s"),
            "categories": {k: dict(v) for k, v in sorted(per.items())}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("build", help="Build the suite from a DebugBench mirror.")
    make.add_argument("--mirror", type=Path, required=True, help="The DebugBench history.")
    make.add_argument("--out", type=Path, required=True, help="Suite directory to write.")
    make.add_argument("--split", action="store_true",
                      help="Also copy the tasks into OUT-dev/ and OUT-eval/ (by problem).")
    make.add_argument("--per-category", type=int, default=None,
                      help="Keep at most N tasks per category and half (the first by slug).")
    judge = sub.add_parser("measure", help="Per-category figures of a fix_suite --json run.")
    judge.add_argument("run", type=Path, help="The JSON that fix_suite.py --json printed, or "
                       "its --runs folder (a run cut short).")
    judge.add_argument("--tasks", type=Path, required=True, help="The suite it ran.")
    judge.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            found = categories(check_history(args.mirror))
            if not found:
                raise TaskError(f"{args.mirror} has no benchmark/python3_*.json files")
            build(found, args.out, args.split, args.per_category)
            return 0
        summary = measure(*load_run(args.run, args.tasks))
    except (TaskError, OSError, json.JSONDecodeError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary, indent=1))
        return 0
    print(f"resolved {summary['resolved']}/{summary['tasks']}; the same program as the "
          f"reference (AST): {summary['same_program_as_reference']}/{summary['resolved']}")
    if summary["median_s"] is not None:
        print(f"median {summary['median_s']} s, p90 {summary['p90_s']} s per task")
    for name, counts in summary["categories"].items():
        print(f"  {name:24} {counts.get('resolved', 0):3}/{counts['tasks']:<3} "
              f"same program {counts.get('same_program', 0)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
