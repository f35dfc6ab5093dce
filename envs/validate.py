"""Checking that tasks mean what they say.

A task is valid when, in a sandbox, every fail_to_pass test fails on the buggy repo, every
pass_to_pass test passes, and, where there is a reference patch, every listed test passes once the
patch is applied (with ``git apply``, in a temporary copy: never in the task directory).
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from envs.task import Task
from sandboxes import PatchError, TestReport, apply_patch, copy_repo, run_pytest
from sandboxes.base import FAILING
from sandboxes.config import SandboxConfig

log = logging.getLogger("debug_agent.envs")



@dataclass
class TaskCheck:
    """What validation found for one task."""

    task_id: str
    bug_class: str | None
    n_fail_to_pass: int
    n_pass_to_pass: int
    problems: list[str] = field(default_factory=list)
    buggy_ok: bool = False
    """fail_to_pass all fail and pass_to_pass all pass on the buggy repo."""
    patched_ok: bool | None = None
    """Every listed test passes with the reference patch; None when the task has none."""
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def run_tests(repo: str | Path, node_ids: Iterable[str] | None = None, *,
              sandbox: SandboxConfig = SandboxConfig(), timeout: float = 300.0) -> TestReport:
    """One pytest run over a repo (all tests, or ``node_ids``) in a fresh sandbox."""
    with sandbox.open(repo) as opened:
        return run_pytest(opened, list(node_ids) if node_ids is not None else None,
                          timeout=timeout)


def _describe(statuses: dict[str, str], ids: Iterable[str], limit: int = 3) -> str:
    ids = list(ids)
    shown = ", ".join(f"{i} ({statuses.get(i, 'not run')})" for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _statuses(report: TestReport, ids: Iterable[str]) -> dict[str, str]:
    """Each test's status, and that of each module or folder asked for by its path."""
    found = report.statuses
    for nodeid in ids:
        result = report.result(nodeid)
        if nodeid not in found and result is not None:
            found[nodeid] = result.status
    return found


def validate_task(task: Task, sandbox: SandboxConfig = SandboxConfig()) -> TaskCheck:
    start = time.monotonic()
    check = TaskCheck(task.id, task.bug_class, len(task.fail_to_pass), len(task.pass_to_pass))
    if task.test_command:
        log.info("%s: validation runs pytest by node id; test_command %r is not used",
                 task.id, task.test_command)
    buggy = run_tests(task.repo, task.tests, sandbox=sandbox)
    statuses = _statuses(buggy, task.tests)
    # a module that does not import is the bug when the task names it as failing
    expected = bool(buggy.uncollected) and all(n in task.fail_to_pass for n in buggy.uncollected)
    if buggy.collection_errors and not expected:
        error = buggy.collection_errors[0]
        check.problems.append(f"buggy repo: collection error: {error.strip().splitlines()[-1]}")
    passing_f2p = [t for t in task.fail_to_pass if statuses.get(t) not in FAILING]
    failing_p2p = [t for t in task.pass_to_pass if statuses.get(t) != "passed"]
    if passing_f2p:
        check.problems.append(f"fail_to_pass tests do not fail on the buggy repo: "
                              f"{_describe(statuses, passing_f2p)}")
    if failing_p2p:
        check.problems.append(f"pass_to_pass tests do not pass on the buggy repo: "
                              f"{_describe(statuses, failing_p2p)}")
    check.buggy_ok = not check.problems
    if task.reference_patch is not None:
        with tempfile.TemporaryDirectory(prefix="debug-agent-validate-") as tmp:
            patched_repo = copy_repo(task.repo, Path(tmp) / "repo")
            try:
                apply_patch(patched_repo, task.reference_patch)
            except PatchError as exc:
                check.problems.append(f"reference {exc}; regenerate it against the task's repo/")
                check.patched_ok = False
            else:
                patched = _statuses(run_tests(patched_repo, task.tests, sandbox=sandbox),
                                    task.tests)
                not_passing = [t for t in task.tests if patched.get(t) != "passed"]
                check.patched_ok = not not_passing
                if not_passing:
                    check.problems.append(f"with the reference patch, tests still do not pass: "
                                          f"{_describe(patched, not_passing)}")
    check.duration_s = round(time.monotonic() - start, 2)
    return check


def validate_suite(tasks: list[Task], sandbox: SandboxConfig = SandboxConfig(),
                   on_done: Callable[[TaskCheck], None] | None = None) -> list[TaskCheck]:
    """Validate every task in order; ``on_done`` is called after each (for progress)."""
    checks = []
    for task in tasks:
        check = validate_task(task, sandbox)
        checks.append(check)
        if on_done is not None:
            on_done(check)
    return checks
