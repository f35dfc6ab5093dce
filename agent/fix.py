"""`agent fix`: turn a repository into a task, run a policy on it, hand back (or apply) the patch.

The user's repository is only ever read, except by ``apply_patch`` when they asked for it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from agent.patches import patch_files
from envs.task import Task
from sandboxes.base import IGNORED_NAMES, TestReport
from sandboxes.errors import UsageError

log = logging.getLogger("debug_agent.fix")


def check_repo(path: str | os.PathLike) -> Path:
    """The repo directory, or a UsageError that says what is wrong with ``path``."""
    repo = Path(path).expanduser()
    if not repo.exists():
        raise UsageError(f"no such directory: {path}")
    if not repo.is_dir():
        raise UsageError(f"{path} is a file, not a repository directory")
    return repo.resolve()


def find_test_files(repo: Path, limit: int = 1) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(repo):
        dirs[:] = [d for d in dirs if d not in IGNORED_NAMES and not d.startswith(".")]
        for name in files:
            if name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")):
                found.append(Path(root) / name)
                if len(found) >= limit:
                    return found
    return found


def pytest_args(test_command: str | None) -> tuple[str, ...]:
    """The pytest arguments in a ``--test-command`` (which must run pytest)."""
    if not test_command:
        return ()
    words = shlex.split(test_command)
    for prefix in (["pytest"], ["py.test"], ["python", "-m", "pytest"], ["python3", "-m", "pytest"]):
        if words[: len(prefix)] == prefix:
            return tuple(words[len(prefix):])
    raise UsageError(f"--test-command must run pytest (e.g. 'pytest tests/unit'), got {test_command!r}")


@dataclass
class Detected:
    """The repo's test run before any change: the failing and the passing tests."""

    report: TestReport
    failing: list[str]
    """Failing tests, and test modules that do not import because of the code they import."""
    passing: list[str]
    broken_tests: dict[str, str] = field(default_factory=dict)
    """Test modules that do not import because of an error in a test file itself: node id ->
    the error's last line. Source edits cannot fix them, so they are not in ``failing``."""


def prepare_environment(repo: Path, *, backend: str, image: str | None, setup: tuple[str, ...],
                        progress=log.info) -> str | None:
    """The image the repo's tests run in: its project environment, built once and cached
    (sandboxes/project_image.py); ``image`` unchanged where Docker is not used."""
    from sandboxes.docker import docker_problem
    from sandboxes.image import DEFAULT_IMAGE
    from sandboxes.project_image import ensure_project_image

    problem = docker_problem(image or DEFAULT_IMAGE) if backend != "local" else "local backend"
    if problem is not None:
        if setup:
            raise UsageError("--setup runs in the Docker sandbox's image build; it cannot run "
                             f"with the {backend} backend here ({problem})")
        return image
    return ensure_project_image(repo, base=image or DEFAULT_IMAGE, setup=setup, progress=progress)


def _broken_test_files(report: TestReport, workdir: str) -> dict[str, str]:
    from envs.reward import is_test_path
    from sandboxes.pytest_runner import error_origin

    broken = {}
    for nodeid in report.uncollected:
        message = report.tests[nodeid].message
        origin = error_origin(message, workdir)
        if origin is not None and is_test_path(origin[0]):
            last = next((ln.strip() for ln in reversed(message.splitlines()) if ln.strip()), "")
            broken[nodeid] = f"{origin[0]}:{origin[1]}: {last.removeprefix('E').strip()}"
    return broken


def detect(repo: Path, *, backend: str, image: str | None, test_command: str | None,
           timeout: float) -> Detected:
    """Run the repo's tests once in a sandbox and sort them into failing and passing."""
    from sandboxes import open_sandbox
    from sandboxes.pytest_runner import run_pytest

    extra = pytest_args(test_command)
    if not test_command and not find_test_files(repo):
        raise UsageError(f"no tests found in {repo} (looked for test_*.py and *_test.py); "
                         "pass --test-command")
    kwargs = {"image": image} if image else {}
    with open_sandbox(repo, backend=backend, **kwargs) as sandbox:
        report = run_pytest(sandbox, timeout=timeout, extra_args=extra)
        workdir = sandbox.workdir
    broken = _broken_test_files(report, workdir)
    failing = [n for n in report.failing if n not in broken]
    passing = [n for n, r in report.tests.items() if r.status == "passed"]
    if not report.tests and report.collection_errors:
        raise UsageError(f"the tests of {repo} cannot be collected:\n"
                         + "\n".join(report.collection_errors)[:2000])
    if not report.tests:
        raise UsageError(f"pytest found no tests in {repo}; pass --test-command")
    return Detected(report, failing, passing, broken)


def make_task(repo: Path, detected: Detected, test_command: str | None) -> Task:
    return Task(
        id=repo.name or "repo",
        repo=repo,
        fail_to_pass=tuple(detected.failing),
        pass_to_pass=tuple(detected.passing),
        test_command=test_command,
        source="agent fix",
    )


def default_out_dir(repo: Path) -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return cache / "debug-agent" / "runs" / f"{repo.name}-{stamp}"


@dataclass
class Applied:
    how: str
    """"git" or "backup"."""
    undo: str
    """A command or instruction that undoes the change."""


def _git(repo: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(repo), *args], input=input, text=True,
                          capture_output=True)


def git_toplevel(repo: Path) -> Path | None:
    result = _git(repo, "rev-parse", "--show-toplevel")
    return Path(result.stdout.strip()).resolve() if result.returncode == 0 else None


def apply_patch(repo: Path, patch: str) -> Applied:
    """Write ``patch`` into ``repo``.

    In a git repository only when its working tree is clean, so `git checkout` undoes exactly our
    change; elsewhere the files the patch touches are first copied to a backup directory.
    Nothing is changed when the patch does not apply.
    """
    if not patch.strip():
        raise UsageError("there is no patch to apply")
    top = git_toplevel(repo)
    if top is not None:
        status = _git(repo, "status", "--porcelain", "--", ".")
        if status.stdout.strip():
            raise UsageError(f"{repo} has uncommitted changes; commit or stash them first, "
                             "or run without --apply and apply the printed patch yourself")
        # The patch's paths are relative to `repo`, which may be below the work tree's top.
        sub = repo.resolve().relative_to(top).as_posix()
        where = ["--directory", sub] if sub != "." else []
        check = _git(top, "apply", "--check", *where, "-", input=patch)
        if check.returncode != 0:
            raise UsageError(f"the patch does not apply to {repo}: {check.stderr.strip()}")
        _git(top, "apply", *where, "-", input=patch).check_returncode()
        files = patch_files(patch)
        return Applied("git", f"git -C {shlex.quote(str(repo))} checkout -- "
                       + " ".join(shlex.quote(f) for f in files))
    # Not a git repository: check in a scratch copy, then back up, then apply for real.
    files = patch_files(patch)
    with tempfile.TemporaryDirectory() as scratch:
        for name in files:
            src = repo / name
            if src.exists():
                (Path(scratch) / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, Path(scratch) / name)
        check = subprocess.run(["git", "apply", "--check", "-"], cwd=scratch, input=patch,
                               text=True, capture_output=True)
        if check.returncode != 0:
            raise UsageError(f"the patch does not apply to {repo}: {check.stderr.strip()}")
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    backup = repo.parent / f".{repo.name}.debug-agent-backup-{stamp}"
    for name in files:
        src = repo / name
        if src.exists():
            (backup / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, backup / name)
    backup.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "apply", "-"], cwd=repo, input=patch, text=True,
                   capture_output=True).check_returncode()
    return Applied("backup", f"copy the files back from {backup}")
