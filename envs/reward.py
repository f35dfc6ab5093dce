"""The reward: how a finished episode is scored. The formula lives here and nowhere else.

Scoring never trusts the tests as the policy left them:

1. Take the files the policy changed (``sandbox.changed_files()``) and drop every change to a test
   file or test configuration (``is_test_path``): a test file (``envs.task.is_test_file``:
   anything under a ``tests/``, ``test/`` or ``testing/`` directory, ``test_*.py``,
   ``*_test.py``, ``conftest.py`` anywhere), ``pytest.ini``, ``tox.ini``,
   ``setup.cfg``, ``pyproject.toml``, ``sitecustomize.py``, ``usercustomize.py``, ``*.pth``, and
   the files that hold the task's tests.
   Also dropped: a new top-level module or package that shadows one the test run imports (a
   ``pytest.py``, ``_pytest/``, ``xml/``, ``json.py``: the repo root comes first on ``sys.path``),
   and a changed source file whose added lines name the test machinery (``pytest``, ``_pytest``,
   ``pluggy``, ``junitxml``, ``conftest``, our plugin) - code under test has no business there.
2. Reset the sandbox to its start state and re-apply only the remaining source changes.
3. Run the task's fail_to_pass and pass_to_pass tests by node id. A test counts as passing only
   when the report says ``passed``; missing (the run died, ``os._exit``), skipped, errored, failed
   or timed out all count as not passing. When no source change remains and the caller has the
   run of the start state (the env's first run), that run's statuses are the score instead: the
   code is the same, and running it again would only repeat its failures and hangs.
4. Put the sandbox back as the policy left it.

With ``f`` the fraction of fail_to_pass tests that pass and ``b`` the fraction of pass_to_pass tests
that no longer pass (``b = 0`` when there are none)::

    reward = 1.0                                  if f == 1 and b == 0   (resolved)
    reward = 0.5 * f * (1 - b) - 0.1 * b          otherwise

so a partial fix earns at most 0.5 (strictly below 1.0 whenever anything is unresolved), every
broken pass_to_pass test lowers the reward, and breaking tests without fixing any goes below the
0.0 of doing nothing (down to -0.1). This is the terminal reward; intermediate steps earn only the
env's configured penalties.

Known limit: source code runs in the same process as pytest, so code under test that reaches
pytest's reporting without naming it (``sys.modules["_py" + "test"]``) is not caught; the sandbox
bounds what it can reach.
"""

from __future__ import annotations

import difflib
import posixpath
import re
import sys
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from envs.task import Task, is_test_file
from sandboxes.base import Sandbox, TestReport

#: File names that configure pytest or the interpreter, wherever they sit.
TEST_CONFIG_NAMES = frozenset(
    {"conftest.py", "pytest.ini", "tox.ini", "setup.cfg", "pyproject.toml", "sitecustomize.py",
     "usercustomize.py"}
)
#: Top-level names a new repo file may not take: what a pytest run imports besides the stdlib.
TOOLING_MODULES = frozenset(
    {"pytest", "_pytest", "pluggy", "py", "iniconfig", "packaging", "coverage", "exceptiongroup",
     "tomli", "_debug_agent_pytest_plugin"}
)
_TAMPER = re.compile(r"\b(_?pytest|pluggy|junitxml|junit|conftest|_debug_agent\w*|PYTEST_\w+)\b")

RESOLVED_REWARD = 1.0
PARTIAL_WEIGHT = 0.5
REGRESSION_COST = 0.1


@dataclass
class Score:
    """The outcome of scoring one episode."""

    reward: float
    resolved: bool
    tests: dict[str, str]
    """Node id -> status for every fail_to_pass and pass_to_pass test ("missing" if not reported)."""
    fail_to_pass_passed: int = 0
    pass_to_pass_broken: int = 0
    dropped: list[str] = field(default_factory=list)
    """Changed paths that scoring ignored (tests, test configuration, tampering)."""
    report: TestReport | None = None


def task_test_files(task: Task) -> set[str]:
    """The files that hold the task's tests (the part of each node id before ``::``), leaving
    out the source modules whose doctests are collected (``--doctest-modules``): those are the
    code under repair, not tests."""
    return {posixpath.normpath(nodeid.split("::", 1)[0]) for nodeid in task.tests
            if not is_doctest_item(nodeid)}


def is_doctest_item(nodeid: str) -> bool:
    """Whether ``nodeid`` names a doctest in a Python module that is not a test file by its
    name: ``semver.py::semver.VersionInfo.bump_major`` or ``src/pkg/mod.py::pkg.mod`` (the
    docstrings' dotted names). A text file's doctests (``README.rst::README.rst``) stay tests."""
    path, _, name = nodeid.partition("::")
    if not name or not path.endswith(".py") or is_test_file(path):
        return False
    first = name.split("::", 1)[0].split("[", 1)[0]
    stem = posixpath.basename(path)[:-3]
    return "." in first or first == stem  # a test function's name has no dot


def is_test_path(path: str, test_files: Iterable[str] = ()) -> bool:
    """Whether a change to ``path`` (repo-relative) is a change to tests or test configuration."""
    path = posixpath.normpath(path.replace("\\", "/"))
    name = path.split("/")[-1]
    if is_test_file(path) or name in TEST_CONFIG_NAMES or name.endswith(".pth"):
        return True
    return path in set(test_files)


def shadows_tooling(path: str) -> bool:
    """Whether ``path`` is a top-level module or package named like one the test run imports."""
    top = posixpath.normpath(path).split("/")[0]
    name = top[:-3] if top.endswith(".py") else top
    if "/" not in posixpath.normpath(path) and not top.endswith(".py"):
        return False  # a top-level data file
    return name in TOOLING_MODULES or name in sys.stdlib_module_names


def tampers_with_tests(old: str, new: str) -> bool:
    """Whether the lines added to a source file name the test machinery."""
    added = (line[1:] for line in difflib.unified_diff(old.splitlines(), new.splitlines(), n=0,
                                                        lineterm="")
             if line.startswith("+") and not line.startswith("+++"))
    return any(_TAMPER.search(line) for line in added)


def compute_reward(fail_to_pass: dict[str, bool], pass_to_pass: dict[str, bool]) -> tuple[float, bool]:
    """(reward, resolved) from which of the task's tests pass; the formula in the module docstring."""
    f = sum(fail_to_pass.values()) / len(fail_to_pass) if fail_to_pass else 1.0
    b = (sum(not ok for ok in pass_to_pass.values()) / len(pass_to_pass)) if pass_to_pass else 0.0
    if f == 1.0 and b == 0.0:
        return RESOLVED_REWARD, True
    return PARTIAL_WEIGHT * f * (1.0 - b) - REGRESSION_COST * b, False


def score(
    sandbox: Sandbox, task: Task, *, timeout: float = 300.0, per_test_timeout: float = 30.0,
    limits: Mapping[str, float] | None = None, baseline: TestReport | None = None,
) -> Score:
    """Score the sandbox's current state for ``task`` (steps 1-4 of the module docstring);
    ``limits``: tests with a limit of their own (``run_pytest``). ``baseline``: a run of the
    sandbox's starting state (the episode's first run), whose statuses are the score when no
    change to the code is kept: running identical code again would only repeat its hangs."""
    from sandboxes.pytest_runner import run_pytest

    changes = sandbox.changed_files()
    test_files = task_test_files(task)
    kept = {p: c for p, c in changes.items() if not is_test_path(p, test_files)}
    if not kept and baseline is not None:
        return _score_of(task, baseline, dropped=sorted(changes))
    sandbox.reset()
    try:
        start_files = set(sandbox.list_files())
        for path, content in list(kept.items()):
            if content is None:
                continue
            is_new = path not in start_files
            before = "" if is_new else sandbox.read_file(path)
            if (is_new and shadows_tooling(path)) or tampers_with_tests(before, _text(content)):
                del kept[path]
        apply_changes(sandbox, kept)
        report = run_pytest(
            sandbox, list(task.tests), timeout=timeout, per_test_timeout=per_test_timeout,
            limits=limits)
    finally:
        sandbox.reset()
        apply_changes(sandbox, changes)
    return _score_of(task, report, dropped=sorted(set(changes) - set(kept)))


def _score_of(task: Task, report: TestReport, dropped: list[str]) -> Score:
    f2p = {t: report.passed(t) for t in task.fail_to_pass}
    p2p = {t: report.passed(t) for t in task.pass_to_pass}
    reward, resolved = compute_reward(f2p, p2p)
    statuses = {t: r.status if (r := report.result(t)) else "missing" for t in task.tests}
    return Score(
        reward=reward, resolved=resolved, tests=statuses,
        fail_to_pass_passed=sum(f2p.values()),
        pass_to_pass_broken=sum(not ok for ok in p2p.values()),
        dropped=dropped, report=report,
    )


def _text(content: bytes) -> str:
    # Sandboxes write text; a non-UTF-8 file the tests wrote comes back with replacement marks.
    return content.decode("utf-8", errors="replace")


def apply_changes(sandbox: Sandbox, changes: dict[str, bytes | None]) -> None:
    """Write a change set (``sandbox.changed_files()``) back into a sandbox."""
    for path, content in changes.items():
        if content is None:
            sandbox.delete_file(path)
        else:
            sandbox.write_file(path, _text(content))
