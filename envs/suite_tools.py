"""Maintaining the bundled suite (envs/suite/): adding bugs and recording their tests.

The suite is data (see envs/bugspecs.py): one correct repository per base under ``bases/`` and,
per bug, a ``.diff`` that introduces it and a ``.json`` with its class and the tests it breaks.
A maintainer writes the bug into a copy of a base (any editor), then::

    python -m envs.suite_tools add ID --base BASE --bug-class CLASS --buggy DIR
    python -m envs.suite_tools record [ID ...] [--sandbox local]   # after a base changed
    python -m envs.suite_tools fixable      # which tasks one mutation at the bug can repair

``add`` takes the diff from the base to DIR and ``record`` runs the tests of the buggy repo in a
sandbox: the failing ones become fail_to_pass, the passing ones pass_to_pass. No library module
imports this script; ``load_suite`` only reads what it wrote.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from envs.bugspecs import BugSpec, build_task, load_specs
from envs.task import Task, TaskError, bundled_suite_path, load_suite
from envs.validate import run_tests
from sandboxes import apply_patch, copy_repo, diff_texts
from sandboxes.base import FAILING
from sandboxes.config import SandboxConfig

SUITE = bundled_suite_path()


def bug_diff(base: Path, buggy: Path) -> str:
    """The git diff from ``base`` to the repository ``buggy`` (source files only, tests never)."""
    changed = {}
    for path in sorted(p for p in buggy.rglob("*.py") if "__pycache__" not in p.parts):
        rel = path.relative_to(buggy).as_posix()
        original = base / rel
        if not original.is_file():
            raise TaskError(f"{rel} is not in base {base.name}; a bug changes existing files")
        if path.read_text() != original.read_text():
            changed[rel] = path.read_text()
    if not changed:
        raise TaskError(f"{buggy} does not differ from base {base.name}; write the bug in first")
    if any(rel.startswith("tests/") for rel in changed):
        raise TaskError(f"the bug changes test files {sorted(changed)}; a bug changes source only")
    return diff_texts({rel: (base / rel).read_text() for rel in changed}, changed)


def record(spec: BugSpec, suite: Path, backend: str) -> BugSpec:
    """``spec`` with fail_to_pass / pass_to_pass from a run of the buggy repo's tests."""
    with tempfile.TemporaryDirectory(prefix="debug-agent-record-") as tmp:
        build_task(suite, spec, Path(tmp) / spec.id)
        report = run_tests(Path(tmp) / spec.id / "repo", sandbox=SandboxConfig(backend))
    if report.collection_errors:
        raise TaskError(f"task {spec.id}: the buggy repo has collection errors: "
                        f"{report.collection_errors[0].strip().splitlines()[-1]}")
    fail = sorted(n for n, s in report.statuses.items() if s in FAILING)
    passing = sorted(n for n, s in report.statuses.items() if s == "passed")
    if not fail or not passing:
        raise TaskError(f"task {spec.id}: needs failing and passing tests, got {len(fail)} "
                        f"failing and {len(passing)} passing")
    return BugSpec(**{**spec.__dict__, "fail_to_pass": tuple(fail), "pass_to_pass": tuple(passing)})


def write_spec(spec: BugSpec, suite: Path) -> None:
    bugs = suite / "bugs"
    bugs.mkdir(parents=True, exist_ok=True)
    (bugs / f"{spec.id}.diff").write_text(spec.diff)
    (bugs / f"{spec.id}.json").write_text(json.dumps(spec.to_json(), indent=2) + "\n")


def fixable_by_one_mutation(task: Task) -> bool:
    """Whether one mutation on a line the reference patch touches turns the buggy file into the
    fixed one (a rough measure of what a model-free repair engine can do)."""
    from envs.mutations import apply, enumerate_mutations

    with tempfile.TemporaryDirectory() as tmp:
        fixed = copy_repo(task.repo, Path(tmp) / "repo")
        apply_patch(fixed, task.reference_patch or "")
        changed = [rel for rel in task.extra.get("files", [])
                   if (fixed / rel).read_text() != (task.repo / rel).read_text()]
        if len(changed) != 1:
            return False
        buggy_text = (task.repo / changed[0]).read_text()
        fixed_text = (fixed / changed[0]).read_text()
    buggy_lines, fixed_lines = buggy_text.splitlines(), fixed_text.splitlines()
    lines = {i + 1 for i, line in enumerate(buggy_lines)
             if i >= len(fixed_lines) or line != fixed_lines[i]}
    return any(apply(buggy_text, m) == fixed_text
               for m in enumerate_mutations(buggy_text, changed[0], lines=lines or None))


def _print(spec: BugSpec) -> None:
    print(f"{spec.id:<36} {spec.bug_class:<20} f2p={len(spec.fail_to_pass)} "
          f"p2p={len(spec.pass_to_pass)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m envs.suite_tools", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", type=Path, default=SUITE, help="suite of bug specs")
    parser.add_argument("--sandbox", default="local", choices=["auto", "docker", "local"])
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="add (or replace) a bug from a buggy copy of a base")
    add.add_argument("id")
    add.add_argument("--base", required=True)
    add.add_argument("--bug-class", required=True)
    add.add_argument("--buggy", type=Path, required=True, help="the base with the bug written in")
    rec = sub.add_parser("record", help="re-run the tests and record fail_to_pass / pass_to_pass")
    rec.add_argument("ids", nargs="*", help="bug ids (default: all)")
    sub.add_parser("fixable", help="report which tasks one mutation can repair")
    args = parser.parse_args(argv)
    suite: Path = args.suite
    if args.command == "add":
        diff = bug_diff(suite / "bases" / args.base, args.buggy)
        spec = record(BugSpec(args.id, args.base, args.bug_class, "bundled", (), (), diff),
                      suite, args.sandbox)
        write_spec(spec, suite)
        _print(spec)
    elif args.command == "record":
        for spec in load_specs(suite):
            if not args.ids or spec.id in args.ids:
                spec = record(spec, suite, args.sandbox)
                write_spec(spec, suite)
                _print(spec)
    else:
        tasks = load_suite(suite)
        hits = 0
        for task in tasks:
            ok = fixable_by_one_mutation(task)
            hits += ok
            print(f"{task.id:<36} {task.bug_class:<20} {'yes' if ok else 'no'}")
        print(f"{hits}/{len(tasks)} fixable by one mutation ({hits / len(tasks):.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
