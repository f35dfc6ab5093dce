"""Tasks: one buggy repository instance each, and suites of them.

On disk (see DESIGN.md)::

    TASK/
      task.json        {"id", "fail_to_pass", "pass_to_pass", "test_command"?, "bug_class"?, "source"?}
      repo/            the files the agent sees
      reference.patch  optional unified diff that fixes it; never copied into a sandbox
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from envs.bugspecs import is_spec_suite, materialize
from sandboxes.base import TestReport
from sandboxes.errors import CollectionHung, UsageError


class TaskError(UsageError):
    """A task directory or task.json that does not follow the format."""


@dataclass(frozen=True)
class Task:
    id: str
    repo: Path
    fail_to_pass: tuple[str, ...]
    pass_to_pass: tuple[str, ...] = ()
    test_command: str | None = None
    bug_class: str | None = None
    source: str | None = None
    leave_alone: tuple[str, ...] = ()
    """Glob patterns (repo-relative, fnmatch) of files no edit may touch: the repository's
    ``[tool.debug-agent] exclude`` (task.json: "leave_alone")."""
    reference_patch: str | None = None
    path: Path | None = None
    """The task directory, when the task was loaded from disk."""
    extra: dict = field(default_factory=dict, compare=False, hash=False)
    """Keys of task.json that this version does not know, kept for round trips."""

    @property
    def tests(self) -> tuple[str, ...]:
        return self.fail_to_pass + self.pass_to_pass

    def leaves_alone(self, path: str) -> bool:
        """Whether ``path`` (repo-relative) is one of the files no edit may touch."""
        path = posixpath.normpath(path.replace("\\", "/"))
        return any(fnmatch.fnmatchcase(path, pattern.rstrip("/")) or
                   fnmatch.fnmatchcase(path, pattern.rstrip("/") + "/*")
                   for pattern in self.leave_alone)

    @classmethod
    def load(cls, path: str | Path) -> "Task":
        path = Path(path)
        meta_path = path / "task.json"
        if not path.is_dir():
            raise TaskError(f"task {path} is not a directory")
        if not meta_path.is_file():
            raise TaskError(f"task {path} has no task.json")
        try:
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as exc:
            raise TaskError(f"{meta_path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(meta, dict):
            raise TaskError(f"{meta_path}: expected a JSON object, got {type(meta).__name__}")
        for key in ("id", "fail_to_pass"):
            if key not in meta:
                raise TaskError(f"{meta_path}: missing required key {key!r}")
        for key in ("fail_to_pass", "pass_to_pass"):
            value = meta.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise TaskError(f"{meta_path}: {key!r} must be a list of pytest node ids")
        if not meta["fail_to_pass"]:
            raise TaskError(f"{meta_path}: 'fail_to_pass' is empty; a task needs a failing test")
        repo = path / "repo"
        if not repo.is_dir():
            raise TaskError(f"task {path} has no repo/ directory")
        patch_path = path / "reference.patch"
        leave_alone = meta.get("leave_alone", [])
        if not isinstance(leave_alone, list) or not all(isinstance(v, str) for v in leave_alone):
            raise TaskError(f"{meta_path}: 'leave_alone' must be a list of path patterns")
        known = {"id", "fail_to_pass", "pass_to_pass", "test_command", "bug_class", "source",
                 "leave_alone"}
        return cls(
            id=str(meta["id"]),
            repo=repo,
            fail_to_pass=tuple(meta["fail_to_pass"]),
            pass_to_pass=tuple(meta.get("pass_to_pass", [])),
            test_command=meta.get("test_command"),
            bug_class=meta.get("bug_class"),
            source=meta.get("source"),
            leave_alone=tuple(leave_alone),
            reference_patch=patch_path.read_text() if patch_path.is_file() else None,
            path=path,
            extra={k: v for k, v in meta.items() if k not in known},
        )

    @classmethod
    def from_report(cls, repo: str | Path, report: TestReport, *, test_command: str | None = None,
                    source: str | None = None, leave_alone: tuple[str, ...] = ()) -> "Task":
        """The task a repository is, by one run of its tests: the failing tests become
        fail_to_pass, the passing ones pass_to_pass (`agent fix` builds its task so).

        UsageError when the run found no test at all; fail_to_pass is empty when nothing fails.
        A test module that does not import because of the code under test is a failing entry;
        one whose own file is broken (`broken_test_files`) is not: no source edit fixes it.
        """
        repo = Path(repo)
        if not report.tests and report.collection_errors:
            raise UsageError(f"the tests of {repo} cannot be collected:\n"
                             + "\n".join(report.collection_errors)[:2000])
        if not report.tests and report.timed_out:
            raise CollectionHung(
                f"the tests of {repo} were still being collected when the run was stopped after "
                f"{report.duration_s:.0f} s: code run at import loops or waits (not fixed)")
        if not report.tests:
            raise UsageError(f"pytest found no tests in {repo}; pass --test-command")
        broken = broken_test_files(report)
        return cls(
            id=repo.name or "repo",
            repo=repo,
            fail_to_pass=tuple(n for n in report.failing if n not in broken),
            pass_to_pass=tuple(n for n, r in report.tests.items() if r.status == "passed"),
            test_command=test_command,
            source=source,
            leave_alone=tuple(leave_alone),
        )

    def to_json(self) -> dict:
        meta = {"id": self.id, "fail_to_pass": list(self.fail_to_pass),
                "pass_to_pass": list(self.pass_to_pass)}
        for key in ("test_command", "bug_class", "source"):
            if getattr(self, key) is not None:
                meta[key] = getattr(self, key)
        if self.leave_alone:
            meta["leave_alone"] = list(self.leave_alone)
        meta.update(self.extra)
        return meta

    def save(self, path: str | Path) -> None:
        """Write task.json and reference.patch into ``path``; the repo must already be at path/repo."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "task.json").write_text(json.dumps(self.to_json(), indent=2) + "\n")
        if self.reference_patch is not None:
            (path / "reference.patch").write_text(self.reference_patch)


#: Directories whose files belong to the tests, wherever they sit.
TEST_DIR_NAMES = frozenset({"tests", "test", "testing"})


def is_test_module(name: str) -> bool:
    """Whether a file name is one pytest collects by default (``test_*.py``, ``*_test.py``)."""
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def is_test_file(path: str) -> bool:
    """The one rule for "a test file" (repo-relative ``path``): a test module, a conftest.py, or
    anything under a tests/, test/ or testing/ directory."""
    parts = posixpath.normpath(path.replace("\\", "/")).split("/")
    return (any(part in TEST_DIR_NAMES for part in parts[:-1]) or parts[-1] == "conftest.py"
            or is_test_module(parts[-1]))


def pytest_args(test_command: str | None) -> tuple[str, ...]:
    """The pytest arguments in a test command (``--test-command``, task.json's "test_command"),
    which must run pytest; () for None."""
    if not test_command:
        return ()
    words = shlex.split(test_command)
    for prefix in (["pytest"], ["py.test"], ["python", "-m", "pytest"], ["python3", "-m", "pytest"]):
        if words[: len(prefix)] == prefix:
            return tuple(words[len(prefix):])
    raise UsageError(f"the test command must run pytest (e.g. 'pytest tests/unit'), "
                     f"got {test_command!r}")


def load_suite(path: str | Path) -> list[Task]:
    """Every task below ``path`` (a task directory itself, or a directory of them), sorted by id.

    A suite stored as bug specs (envs/bugspecs.py; the bundled one is) is materialized first, into
    a cache directory; ``bundled`` (or ``envs/suite`` where there is no such directory) names the
    bundled suite.
    """
    path = resolve_suite_path(path)
    if is_spec_suite(path):
        path = materialize(path)
    if (path / "task.json").is_file():
        return [Task.load(path)]
    task_dirs = sorted(p.parent for p in path.glob("*/task.json"))
    if not task_dirs:
        raise TaskError(f"no tasks in {path} (looked for */task.json)")
    tasks = [Task.load(d) for d in task_dirs]
    seen: dict[str, Path] = {}
    for task in tasks:
        if task.id in seen:
            raise TaskError(f"duplicate task id {task.id!r} in {seen[task.id]} and {task.path}")
        seen[task.id] = task.path
    return sorted(tasks, key=lambda t: t.id)


BUNDLED_NAMES = ("bundled", "envs/suite")
"""How a user names the bundled suite: ``envs/suite`` is where it lives in a checkout, so the
README's commands also work from anywhere else (an installed wheel)."""


def bundled_suite_path() -> Path:
    """The suite of hand-written buggy tasks that ships with the package (as bug specs)."""
    return Path(__file__).parent / "suite"


def resolve_suite_path(path: str | Path) -> Path:
    """``path`` itself when it exists; the bundled suite for one of BUNDLED_NAMES; else an error."""
    path = Path(path)
    if path.exists():
        return path
    if path.as_posix().rstrip("/") in BUNDLED_NAMES:
        return bundled_suite_path()
    raise TaskError(f"no such task directory: {path} (the bundled suite is called 'bundled')")


def broken_test_files(report: TestReport) -> dict[str, str]:
    """Test modules of ``report`` that do not import because of an error in a test file itself
    (not in the code under test): node id -> "path:line: the error's last line"."""
    broken = {}
    for nodeid, where in report.uncollected.items():
        if where and is_test_file(where.rsplit(":", 1)[0]):
            lines = [ln.strip() for ln in report.tests[nodeid].message.splitlines() if ln.strip()]
            broken[nodeid] = f"{where}: {lines[-1].removeprefix('E').strip() if lines else ''}"
    return broken
