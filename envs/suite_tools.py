"""Building the bundled suite (envs/suite/) from correct base repos and bug specs.

The source of truth is ``envs/suite_src/``: one correct repository per base and ``tasks.toml``,
where each task names a base, a bug class and the edits that put the bug in. Building a task
copies the base with the edits applied into ``envs/suite/<id>/repo``, writes the reference patch
with real git (the diff from the buggy files back to the correct ones), and runs the tests in a
sandbox to find which fail (fail_to_pass) and which pass (pass_to_pass)::

    python -m envs.suite_tools build [--only ID ...] [--sandbox local]
    python -m envs.suite_tools fixable      # which tasks one mutation at the bug can repair
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from envs.task import Task, TaskError, load_suite
from envs.validate import copy_repo, run_tests
from sandboxes.config import SandboxConfig

SRC = Path(__file__).parent / "suite_src"
SUITE = Path(__file__).parent / "suite"


@dataclass(frozen=True)
class BugSpec:
    id: str
    base: str
    bug_class: str
    edits: tuple[tuple[str, str, str], ...]
    """(file, old text, new text), each old text occurring exactly once in its file."""


def load_specs(path: Path = SRC / "tasks.toml") -> list[BugSpec]:
    data = tomllib.loads(path.read_text())
    specs = []
    for entry in data["task"]:
        edits = tuple((e["file"], e["old"], e["new"]) for e in entry["edits"])
        specs.append(BugSpec(entry["id"], entry["base"], entry["bug_class"], edits))
    ids = [s.id for s in specs]
    if len(set(ids)) != len(ids):
        dups = sorted({i for i in ids if ids.count(i) > 1})
        raise TaskError(f"{path}: duplicate task ids {dups}; give each task its own id")
    return specs


def buggy_files(base: Path, spec: BugSpec) -> dict[str, str]:
    """{relative path: buggy text} for every file the spec edits."""
    files: dict[str, str] = {}
    for rel, old, new in spec.edits:
        text = files.get(rel) or (base / rel).read_text()
        count = text.count(old)
        if count != 1:
            raise TaskError(f"task {spec.id}: {old!r} occurs {count} times in {base.name}/{rel}; "
                            "make the edit's old text unique")
        files[rel] = text.replace(old, new)
    return files


def git_diff(fixed_repo: Path, buggy: dict[str, str]) -> str:
    """A `git diff` patch that turns the buggy files back into those of ``fixed_repo``."""
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    with tempfile.TemporaryDirectory(prefix="debug-agent-diff-") as tmp:
        work = copy_repo(fixed_repo, Path(tmp) / "repo")

        def git(*args: str) -> str:
            return subprocess.run(["git", *args], cwd=work, env=env, check=True, text=True,
                                  capture_output=True).stdout

        git("init", "-q")
        for rel, text in buggy.items():
            (work / rel).write_text(text)
        git("add", "-A")
        for rel in buggy:
            shutil.copyfile(fixed_repo / rel, work / rel)
        # index = buggy, worktree = correct: the diff is the fix, with a/ and b/ prefixes.
        return git("-c", "core.quotepath=off", "diff", "--no-color", "--no-ext-diff")


def build_task(spec: BugSpec, out: Path, src: Path = SRC, backend: str = "local") -> Task:
    base = src / spec.base
    files = buggy_files(base, spec)
    target = out / spec.id
    if target.exists():
        shutil.rmtree(target)
    repo = copy_repo(base, target / "repo")
    for rel, text in files.items():
        (repo / rel).write_text(text)
    report = run_tests(repo, sandbox=SandboxConfig(backend))
    if report.collection_errors:
        raise TaskError(f"task {spec.id}: the buggy repo has collection errors: "
                        f"{report.collection_errors[0].strip().splitlines()[-1]}")
    statuses = report.statuses
    fail = sorted(n for n, s in statuses.items() if s in ("failed", "error", "timeout"))
    passing = sorted(n for n, s in statuses.items() if s == "passed")
    if not fail or not passing:
        raise TaskError(f"task {spec.id}: needs failing and passing tests, got {len(fail)} "
                        f"failing and {len(passing)} passing")
    task = Task(id=spec.id, repo=repo, fail_to_pass=tuple(fail), pass_to_pass=tuple(passing),
                bug_class=spec.bug_class, source="bundled", reference_patch=git_diff(base, files),
                extra={"base": spec.base, "files": sorted(files)})
    task.save(target)
    return task


def fixable_by_one_mutation(task: Task) -> bool:
    """Whether one mutation on a line the reference patch touches turns the buggy file into the
    fixed one (a rough measure of what a model-free repair engine can do)."""
    from envs.mutations import apply, enumerate_mutations
    from envs.validate import apply_patch

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m envs.suite_tools", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="(re)build envs/suite from envs/suite_src")
    build.add_argument("--only", nargs="*", help="task ids to build (default: all)")
    build.add_argument("--out", type=Path, default=SUITE)
    build.add_argument("--sandbox", default="local", choices=["auto", "docker", "local"])
    fix = sub.add_parser("fixable", help="report which tasks one mutation can repair")
    fix.add_argument("suite", nargs="?", type=Path, default=SUITE)
    args = parser.parse_args(argv)
    if args.command == "build":
        specs = [s for s in load_specs() if not args.only or s.id in args.only]
        if not args.only and args.out.exists():
            stale = {p.name for p in args.out.iterdir() if p.is_dir()} - {s.id for s in specs}
            for name in sorted(stale):
                shutil.rmtree(args.out / name)
        for spec in specs:
            task = build_task(spec, args.out, backend=args.sandbox)
            print(f"{task.id:<36} {task.bug_class:<20} f2p={len(task.fail_to_pass)} "
                  f"p2p={len(task.pass_to_pass)}", flush=True)
        return 0
    tasks = load_suite(args.suite)
    hits = 0
    for task in tasks:
        ok = fixable_by_one_mutation(task)
        hits += ok
        print(f"{task.id:<36} {task.bug_class:<20} {'yes' if ok else 'no'}")
    print(f"{hits}/{len(tasks)} fixable by one mutation ({hits / len(tasks):.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
