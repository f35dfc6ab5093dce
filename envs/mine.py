"""Real bugs from a git history: bug-fix commits turned into tasks, as SWE-bench and R2E-Gym do.

A candidate is a commit (not a merge) that changes both source files (``.py`` outside the tests)
and test files. Its buggy state is the parent's tree with the commit's test files laid over it;
its fixed state is the buggy state plus the commit's source changes (the reference patch). Other
files the commit touches (docs, changelog, packaging) stay as in the parent. Both states run the
whole suite in a sandbox of the same kind that validation and evaluation use, fixed state first
(most candidates are decided there, and it is the cheaper rejection). The commit is kept when

- every test of the commit's test files passes (or is skipped) in the fixed state,
- at least one test fails in the buggy state and passes in the fixed one (fail_to_pass; a test
  whose module cannot even be imported in the buggy state counts as failing), and
- no test that passed in the buggy state fails in the fixed one.

pass_to_pass is every test that passes in both. A second run of the buggy state leaves out the
tests whose status changes (flaky: timing-sensitive tests on a loaded machine), listed as
``flaky`` in task.json; tests that fail in both (the environment's, not
the commit's) are counted in task.json but left out. Every decision is appended to
``OUT/mined.jsonl`` as it is made, with the reason for a reject, so a second run skips the
commits already decided.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from envs.task import Task, TaskError, is_test_file
from sandboxes import TestReport, run_pytest
from sandboxes.base import FAILING
from sandboxes.config import SandboxConfig
from sandboxes.errors import SandboxError, SandboxUnavailable

log = logging.getLogger("debug_agent.envs")

LOG_NAME = "mined.jsonl"
#: Files beside the tests that belong with them (laid over the parent with the tests).
TEST_SUPPORT = frozenset({"pytest.ini"})
#: Python files that are neither the project's source nor its tests.
NOT_SOURCE_DIRS = frozenset({"docs", "doc", "examples", "example", "benchmarks", "scripts"})
NOT_SOURCE_NAMES = frozenset({"setup.py", "noxfile.py", "fabfile.py", "conftest.py"})
GIT_ENV = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}


@dataclass(frozen=True)
class MineConfig:
    """Which commits of a history to try, and how to run them."""

    rev: str = "HEAD"
    """The history to walk: commits reachable from this revision, newest first."""
    since: str | None = None
    """Only commits after this date (anything ``git log --since`` takes: 2020-01-01, 2.years)."""
    max_tasks: int | None = None
    """Stop once this many tasks are kept in this run (None: walk the whole history)."""
    max_source_lines: int | None = None
    """Skip, without running, commits whose source diff changes more lines than this."""
    subject: str | None = None
    """Only commits whose subject matches this regular expression (case-insensitive, anywhere
    in the subject; ``fix`` for bug fixes). Like ``since``, the others are not decided, so a
    later run without it still tries them."""
    retry: bool = False
    """Try again the commits that an earlier run rejected after running them (say, once the
    project's environment can be built); rejects decided without running stay decided."""
    source: str | None = None
    """Name recorded as each task's ``source`` (default: the repository directory's name)."""
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    """Where the commits' tests run (backend, image, limits)."""
    confirm: bool = True
    """Run the buggy state a second time and leave out the tests whose status changes."""
    timeout: float = 300.0
    """Seconds one whole-suite run may take."""
    per_test_timeout: float = 30.0
    """Seconds one test may take."""

    def __post_init__(self) -> None:
        for name in ("max_tasks", "max_source_lines"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise TaskError(f"MineConfig.{name} must be at least 1, got {value}")
        for name in ("timeout", "per_test_timeout"):
            if getattr(self, name) <= 0:
                raise TaskError(f"MineConfig.{name} must be positive, got {getattr(self, name)}")
        if self.subject is not None:
            try:
                re.compile(self.subject)
            except re.error as exc:
                raise TaskError(f"MineConfig.subject {self.subject!r} is not a regular "
                                f"expression: {exc}") from None


@dataclass(frozen=True)
class Commit:
    sha: str
    parent: str
    date: str
    subject: str
    source_files: tuple[str, ...] = ()
    test_files: tuple[str, ...] = ()
    deleted: frozenset[str] = frozenset()
    source_lines: int = 0
    """Lines added plus lines removed in the source files."""


@dataclass(frozen=True)
class Decision:
    """What happened to one commit: kept as a task, or rejected with the reason."""

    commit: Commit
    kept: bool
    reason: str
    task: Task | None = None
    duration_s: float = 0.0

    def to_json(self) -> dict:
        c = self.commit
        return {"commit": c.sha, "parent": c.parent, "date": c.date, "subject": c.subject,
                "kept": self.kept, "reason": self.reason,
                "task": self.task.id if self.task else None, "source_lines": c.source_lines,
                "source_files": list(c.source_files), "test_files": list(c.test_files),
                "duration_s": self.duration_s}


# -- the history ---------------------------------------------------------------------------------

def git(repo: Path, *args: str, binary: bool = False) -> str | bytes:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True,
                          env={**os.environ, **GIT_ENV})
    if proc.returncode != 0:
        raise TaskError(f"git {' '.join(args[:3])} failed in {repo}: "
                        f"{proc.stderr.decode(errors='replace').strip()[:300]}")
    return proc.stdout if binary else proc.stdout.decode("utf-8", errors="replace")


def _git_fails(repo: Path, *args: str) -> bool:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False,
                          env={**os.environ, **GIT_ENV}).returncode != 0


def has_commit(repo: Path, sha: str) -> bool:
    return not _git_fails(repo, "cat-file", "-e", sha + "^{commit}")


def check_history(repo: str | Path, rev: str = "HEAD") -> Path:
    """``repo`` resolved, once it is a git repository (work tree or bare mirror) with ``rev``."""
    repo = Path(repo).resolve()
    if not repo.is_dir():
        raise TaskError(f"{repo} is not a directory; give the path of a git repository")
    if _git_fails(repo, "rev-parse", "--git-dir"):
        raise TaskError(f"{repo} is not a git repository (git rev-parse found no .git); mining "
                        "needs the project's history: clone it, or run `git init` and commit")
    if _git_fails(repo, "rev-parse", "--verify", "-q", rev + "^{commit}"):
        raise TaskError(f"{repo} has no commit {rev!r}; pass --rev with a branch, tag or sha "
                        "that exists (see `git log`)")
    return repo


def default_source(repo: Path) -> str:
    """The project's name from its path: a bare mirror's ``.../NAME/repo`` or ``NAME.git``."""
    name = repo.name
    if name in ("repo", ".git") and repo.parent.name:
        name = repo.parent.name
    return name.removesuffix(".git")


def in_test_suite(path: str) -> bool:
    """A file of the test suite: a test file (``envs.task.is_test_file``) or pytest.ini."""
    return is_test_file(path) or path.split("/")[-1] in TEST_SUPPORT


def is_source_file(path: str) -> bool:
    parts = path.split("/")
    return (path.endswith(".py") and not in_test_suite(path) and parts[-1] not in NOT_SOURCE_NAMES
            and not any(p in NOT_SOURCE_DIRS or p.startswith(".") for p in parts[:-1]))


def commits(repo: Path, config: MineConfig) -> Iterator[Commit]:
    """The history's non-merge commits, newest first, with the files each one changes."""
    args = ["log", "--no-merges", "--format=%H%x1f%P%x1f%cI%x1f%s"]
    if config.since:
        args.append(f"--since={config.since}")
    for line in git(repo, *args, config.rev, "--").splitlines():
        sha, parents, date, subject = line.split("\x1f", 3)
        if not parents:
            continue  # the root commit: nothing to compare with
        parent = parents.split()[0]
        if config.subject and not re.search(config.subject, subject, re.IGNORECASE):
            continue
        yield _with_files(repo, Commit(sha, parent, date, subject))


def load_commit(repo: Path, sha: str) -> Commit:
    """One commit of the history, with its files (for rebuilding a chosen set of tasks)."""
    line = git(repo, "show", "-s", "--format=%H%x1f%P%x1f%cI%x1f%s", sha + "^{commit}", "--")
    full, parents, date, subject = line.strip().split("\x1f", 3)
    if not parents:
        raise TaskError(f"commit {sha} is the root of the history: there is no parent to mine")
    return _with_files(repo, Commit(full, parents.split()[0], date, subject))


def _with_files(repo: Path, commit: Commit) -> Commit:
    raw = git(repo, "diff-tree", "-r", "--no-renames", "-z", "--numstat", commit.parent,
              commit.sha)
    numstat: dict[str, int] = {}
    for entry in raw.split("\0"):
        parts = entry.split("\t")
        if len(parts) == 3 and parts[2]:
            added, removed = (int(n) if n.isdigit() else 0 for n in parts[:2])
            numstat[parts[2]] = added + removed
    status = git(repo, "diff-tree", "-r", "--no-renames", "-z", "--name-status", commit.parent,
                 commit.sha).split("\0")
    deleted = frozenset(status[i + 1] for i in range(0, len(status) - 1, 2) if status[i] == "D")
    sources = tuple(sorted(p for p in numstat if is_source_file(p)))
    tests = tuple(sorted(p for p in numstat if in_test_suite(p)))
    return Commit(commit.sha, commit.parent, commit.date, commit.subject, sources, tests, deleted,
                  sum(numstat[p] for p in sources))


def cheap_reject(commit: Commit, config: MineConfig) -> str | None:
    """Why the commit cannot be a task, when that shows without running anything."""
    if not any(p.endswith(".py") and p not in commit.deleted for p in commit.test_files):
        return "changes no test file"
    if not commit.source_files:
        return "changes no source file"
    if config.max_source_lines is not None and commit.source_lines > config.max_source_lines:
        return (f"source diff too large ({commit.source_lines} changed lines > "
                f"--max-source-lines {config.max_source_lines})")
    return None


# -- the two states ------------------------------------------------------------------------------

def export_tree(repo: Path, rev: str, dest: Path) -> Path:
    """The files of ``rev`` written into ``dest`` (through a private index: .gitattributes'
    export-ignore, which often drops the tests from `git archive`, plays no part)."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="debug-agent-index-") as tmp:
        env = {**os.environ, **GIT_ENV, "GIT_INDEX_FILE": os.path.join(tmp, "index")}
        for args in (["read-tree", rev], ["checkout-index", "-a", "-f"]):
            proc = subprocess.run(["git", "-C", str(repo), f"--work-tree={dest}", *args],
                                  capture_output=True, env=env)
            if proc.returncode != 0:
                raise TaskError(f"git {args[0]} of {rev[:12]} failed: "
                                f"{proc.stderr.decode(errors='replace').strip()[:300]}")
    return dest


def overlay(repo: Path, commit: Commit, dest: Path, paths: tuple[str, ...]) -> None:
    """Make ``paths`` in ``dest`` as they are in the commit (written, or removed if deleted)."""
    for rel in paths:
        target = dest / rel
        if rel in commit.deleted:
            target.unlink(missing_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(git(repo, "cat-file", "blob", f"{commit.sha}:{rel}", binary=True))


def source_patch(repo: Path, commit: Commit) -> str:
    """The commit's change to its source files: the reference patch, ``git apply``-able on the
    buggy repo."""
    return git(repo, "-c", "core.quotepath=off", "diff", "--no-color", "--no-ext-diff",
               "--no-renames", commit.parent, commit.sha, "--", *commit.source_files)


def _run_suite(repo_dir: Path, config: MineConfig) -> TestReport:
    with config.sandbox.open(repo_dir) as sandbox:
        return run_pytest(sandbox, timeout=config.timeout, per_test_timeout=config.per_test_timeout)


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def _first(ids: list[str], statuses: dict[str, str]) -> str:
    more = f" and {len(ids) - 1} more" if len(ids) > 1 else ""
    return f"{ids[0]} ({statuses.get(ids[0], 'not collected')}){more}"


def _gist(message: str) -> str:
    """The first line of a long error, and the last line that names an error, if another."""
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()] or ["?"]
    named = [ln for ln in lines[1:] if "error" in ln.lower()]
    return lines[0][:200] + (f" ... {named[-1][:200]}" if named else "")


def _why(report: TestReport) -> str:
    """The likeliest reason a run ran nothing: its first import error, or pytest's own error."""
    if report.collection_errors:
        last = (report.collection_errors[0].strip().splitlines() or ["?"])[-1]
        return f"{len(report.collection_errors)} test modules fail to import, first: {last[:160]}"
    lines = [ln.strip() for ln in report.output.splitlines() if ln.strip()]
    said = [ln for ln in lines if ln.lower().startswith(("error", "e ")) or "Error" in ln]
    return ((said or lines or ["no output"])[0])[:200] + f" (pytest exit {report.exit_code})"


def buggy_statuses(before: TestReport, ran: dict[str, str]) -> dict[str, str]:
    """The buggy run's statuses, with "error" for the tests of the fixed run whose module did
    not import on the buggy source (they have no result of their own)."""
    was = dict(before.statuses)
    for nodeid in ran:
        if nodeid not in was and any(_module(nodeid) in text for text in before.collection_errors):
            was[nodeid] = "error"
    return was


def flaky(f2p: list[str], p2p: list[str], again: TestReport, ran: dict[str, str]) -> list[str]:
    """The tests whose status on the buggy source changed in a second run."""
    was = buggy_statuses(again, ran)
    return ([n for n in f2p if was.get(n) not in FAILING]
            + [n for n in p2p if was.get(n) != "passed"])


def judge(commit: Commit, before: TestReport | None, after: TestReport
          ) -> tuple[str | None, list[str], list[str], dict]:
    """(reject reason or None, fail_to_pass, pass_to_pass, facts) from the two runs; with
    ``before`` None, only what the fixed state alone can reject."""
    tests = set(commit.test_files)
    ran = after.statuses
    own = sorted(n for n in ran if _module(n) in tests)
    if not own:
        return f"no test of the commit's test files runs after the fix: {_why(after)}", [], [], {}
    bad = [n for n in own if ran[n] not in ("passed", "skipped")]
    if bad:
        return f"the commit's tests fail after the fix too: {_first(bad, ran)}", [], [], {}
    if before is None:
        return None, [], [], {}
    was = buggy_statuses(before, ran)
    f2p = sorted(n for n, s in ran.items() if s == "passed" and was.get(n) in FAILING)
    p2p = sorted(n for n, s in ran.items() if s == "passed" and was.get(n) == "passed")
    if not f2p:
        return (f"no test fails before the fix: the commit's {len(own)} tests pass on the "
                "parent's source too", [], [], {})
    regressed = sorted(n for n, s in was.items() if s == "passed" and ran.get(n) != "passed")
    if regressed:
        return f"the fix breaks tests that passed before: {_first(regressed, ran)}", [], [], {}
    facts = {"fail_before": {n: was[n] for n in f2p},
             "failing_in_both": sum(1 for n, s in ran.items()
                                    if s in FAILING and was.get(n) in FAILING)}
    return None, f2p, p2p, facts


class _Rejected(Exception):
    """A commit that is not a task, with the reason (control flow inside try_commit only)."""


def _runs(buggy: Path, fixed: Path, commit: Commit, config: MineConfig
          ) -> tuple[list[str], list[str], dict]:
    """fail_to_pass, pass_to_pass and facts from the runs of both states, or _Rejected."""
    try:
        after = _run_suite(fixed, config)
        reason, *_ = judge(commit, None, after)
        if reason:
            raise _Rejected(reason)
        reason, f2p, p2p, facts = judge(commit, _run_suite(buggy, config), after)
        if reason:
            raise _Rejected(reason)
        if config.confirm:  # timing-sensitive tests flip on a loaded machine: leave them out
            changed = set(flaky(f2p, p2p, _run_suite(buggy, config), after.statuses))
            f2p = [n for n in f2p if n not in changed]
            p2p = [n for n in p2p if n not in changed]
            facts["flaky"] = sorted(changed)
            if not f2p:
                raise _Rejected(f"the failing tests are flaky: {sorted(changed)[0]} passed on "
                                "the buggy source in a second run")
    except SandboxUnavailable:
        raise  # the machine's problem, not the commit's: stop, and decide it next time
    except SandboxError as exc:
        raise _Rejected(f"environment set-up failed: {_gist(str(exc))}") from None
    return f2p, p2p, facts


def try_commit(repo: Path, commit: Commit, out: Path, config: MineConfig, source: str
               ) -> Decision:
    """Build both states of one candidate, run them, and write the task when it is kept."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="debug-agent-mine-") as tmp:
        buggy, fixed = Path(tmp) / "buggy", Path(tmp) / "fixed"
        try:
            try:
                export_tree(repo, commit.parent, buggy)
                overlay(repo, commit, buggy, commit.test_files)
                shutil.copytree(buggy, fixed, symlinks=True)
                overlay(repo, commit, fixed, commit.source_files)
            except TaskError as exc:  # a mirror without some large blobs, typically
                raise _Rejected(f"cannot build the two states: {exc}") from None
            f2p, p2p, facts = _runs(buggy, fixed, commit, config)
        except _Rejected as rejected:
            return Decision(commit, False, str(rejected), None,
                            round(time.monotonic() - start, 1))
        target = out / f"{source}-{commit.sha[:10]}"
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        shutil.move(str(buggy), target / "repo")
    task = Task(id=target.name, repo=target / "repo", fail_to_pass=tuple(f2p),
                pass_to_pass=tuple(p2p), bug_class="mined", source=source,
                reference_patch=source_patch(repo, commit), path=target,
                extra={"commit": commit.sha, "parent": commit.parent, "date": commit.date,
                       "subject": commit.subject, "source_files": list(commit.source_files),
                       "source_lines": commit.source_lines, **facts})
    task.save(target)
    return Decision(commit, True, f"{len(f2p)} fail_to_pass, {len(p2p)} pass_to_pass", task,
                    round(time.monotonic() - start, 1))


# -- the whole history ---------------------------------------------------------------------------

def decided(out: Path, retry: bool = False) -> dict[str, dict]:
    """Commits already decided in ``out`` (from its mined.jsonl), by sha; with ``retry``, the
    rejects that ran the suite are left out (the last record of a commit counts)."""
    path = out / LOG_NAME
    if not path.is_file():
        return {}
    records = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            log.warning("%s:%d is not JSON (a run cut short?); that commit is tried again",
                        path, number)
            continue
        records[record["commit"]] = record
    if retry:
        records = {sha: r for sha, r in records.items() if r["kept"] or not r["duration_s"]}
    return records


def mine(repo: str | Path, out: str | Path, config: MineConfig = MineConfig(),
         on_decision: Callable[[Decision], None] | None = None) -> list[Decision]:
    """Walk ``repo``'s history and write a task into ``out`` for each commit kept; returns this
    run's decisions (commits decided by an earlier run into the same ``out`` are skipped)."""
    repo = check_history(repo, config.rev)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    source = config.source or default_source(repo)
    seen = decided(out, config.retry)
    made: list[Decision] = []
    kept = 0
    with (out / LOG_NAME).open("a") as journal:
        for commit in commits(repo, config):
            if config.max_tasks is not None and kept >= config.max_tasks:
                break
            if commit.sha in seen:
                continue
            reason = cheap_reject(commit, config)
            decision = (Decision(commit, False, reason) if reason
                        else try_commit(repo, commit, out, config, source))
            journal.write(json.dumps({"source": source, **decision.to_json()}) + "\n")
            journal.flush()
            kept += decision.kept
            made.append(decision)
            if on_decision is not None:
                on_decision(decision)
    return made

