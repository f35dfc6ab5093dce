"""`agent fix`: one pass from a repository to a patch, as a library function.

``fix(repo, FixConfig)`` opens one DebugEnv on the repository: its reset runs the tests once in
the episode's sandbox and builds the task from that run (the failing tests become fail_to_pass),
the policy works in that same sandbox (the search validates its candidates there and reuses the
env's localization), and the best of ``samples`` episodes comes back as a FixResult that holds
everything the CLI prints. The user's repository is only ever read, except by ``apply_to_repo``
when they asked for it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from agent.explain import Explanation
from agent.patches import patch_files
from agent.trajectory import EpisodeResult, write_json_atomic
from envs.task import Task, broken_test_files, is_test_module, pytest_args
from sandboxes import apply_patch, counts
from sandboxes.base import IGNORED_NAMES
from sandboxes.config import SandboxConfig
from sandboxes.errors import UsageError
from sandboxes.project import ProjectSpec, detect_project

log = logging.getLogger("debug_agent.fix")

FIX_RESULT = "result.json"
"""What a fix leaves beside its trajectories: ``FixResult.to_json()`` (read by `agent view`)."""


def default_jobs() -> int:
    """Candidates validated at once unless told: two where the machine has two cores (a third
    job gains little once the sandbox's own test runs and candidate making share them)."""
    return min(2, os.cpu_count() or 1)


@dataclass(frozen=True)
class FixConfig:
    """What ``fix`` does; the fields of `agent fix`'s options."""

    policy: str = "search"
    """search (model-free), hf (a local model) or openai (an endpoint)."""
    policy_options: dict[str, Any] = field(default_factory=dict)
    """Options for make_policy (model=, adapter=, load_4bit=, base_url=, ...); None values are
    dropped."""
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    """Where the sandbox opens (backend, image, limits)."""
    max_steps: int = 30
    """Actions per episode."""
    timeout_s: float | None = None
    """Wall-clock seconds for the whole fix, all samples: a promise, kept within a few seconds
    whatever the code under repair does (``sandboxes.deadline``). None: the repo's own
    ``timeout`` setting, else ``DEFAULT_TIMEOUT_S``."""
    samples: int = 1
    """Episodes to draw at most; the first resolved one ends the drawing."""
    test_command: str | None = None
    """How to run the tests when not plain pytest from the repo root ('pytest tests/unit')."""
    apply: bool = False
    """Write a resolving patch into the repository."""
    out: Path | None = None
    """Where trajectories go; None for a new directory under the user's cache."""
    setup: tuple[str, ...] = ()
    """Shell commands run once in the build of the project's environment image (Docker only)."""
    started_at: float | None = None
    """The ``time.monotonic()`` value ``timeout_s`` counts from (`agent fix`: the process's
    start, ``sandboxes.deadline.process_start``); None: when ``fix`` is called."""
    jobs: int = field(default_factory=default_jobs)
    """Search policy: candidates validated at once, each in its own copy of the repo
    (``SearchConfig.jobs``); the sandbox gets as many CPUs, as far as this machine has them."""

    def __post_init__(self) -> None:
        if self.max_steps < 2:
            raise UsageError(f"FixConfig.max_steps must be at least 2, got {self.max_steps}")
        if self.timeout_s is not None and self.timeout_s <= 0:
            raise UsageError(f"FixConfig.timeout_s must be positive, got {self.timeout_s}")
        if self.samples < 1:
            raise UsageError(f"FixConfig.samples must be at least 1, got {self.samples}")
        if self.jobs < 1:
            raise UsageError(f"FixConfig.jobs must be at least 1, got {self.jobs}")
        pytest_args(self.test_command)  # UsageError for a command that does not run pytest


@dataclass
class FixResult:
    """What one `agent fix` found: the CLI prints it, ``to_json`` is its ``--json`` object."""

    repo: Path
    task: Task
    """The task the first test run made of the repo."""
    initial_tests: dict[str, str]
    """Node id -> status of that run."""
    best: EpisodeResult | None = None
    """The kept episode; None when nothing failed."""
    samples: int = 0
    applied: Applied | None = None
    elapsed_s: float = 0.0
    runs: dict[str, int] = field(default_factory=dict)
    """Sandboxes opened and test runs made by this fix (see ``sandboxes.counts``)."""
    policy_stats: dict[str, Any] | None = None
    """The kept episode's policy's own account, when it keeps one (the search: the family of
    the winning edit, candidates tried, the rank of its line, the tests covering it)."""
    broken_test_files: dict[str, str] = field(default_factory=dict)
    """Test modules that do not import because a test file itself is broken (node id -> where
    and why); left alone, since the fix is to the code under test (envs.task.broken_test_files)."""
    explanation: Explanation | None = None
    """Why the kept patch is believed (agent.explain); None without a patch."""

    @property
    def nothing_to_fix(self) -> bool:
        return not self.task.fail_to_pass and not self.broken_test_files

    @property
    def resolved(self) -> bool:
        return self.nothing_to_fix or (self.best is not None and self.best.resolved)

    @property
    def fixed_tests(self) -> list[str]:
        tests = self.best.tests if self.best else {}
        return [t for t in self.task.fail_to_pass if tests.get(t) == "passed"]

    @property
    def broken_tests(self) -> list[str]:
        tests = self.best.tests if self.best else {}
        return [t for t in self.task.pass_to_pass if tests.get(t) not in (None, "passed")]

    @property
    def message(self) -> str:
        if self.nothing_to_fix:
            return f"all {len(self.task.pass_to_pass)} tests pass: nothing to fix"
        if not self.task.fail_to_pass:
            return ("the test files themselves do not import, and debug-agent fixes the code "
                    "under test, not its tests:\n  " + "\n  ".join(
                        f"{node}: {why}" for node, why in self.broken_test_files.items()))
        return (f"{len(self.fixed_tests)}/{len(self.task.fail_to_pass)} failing tests fixed, "
                f"{len(self.broken_tests)} broken")

    def to_json(self) -> dict[str, Any]:
        common = {"repo": str(self.repo), "total_elapsed_s": self.elapsed_s, "runs": self.runs}
        common["broken_test_files"] = self.broken_test_files
        if self.best is None:
            return {"resolved": self.resolved, "nothing_to_fix": self.nothing_to_fix,
                    "message": self.message, "tests": self.initial_tests} | common
        return self.best.to_json() | common | {
            "fixed_tests": self.fixed_tests, "broken_tests": self.broken_tests,
            "samples": self.samples,
            "applied": self.applied.how if self.applied else None,
            "undo": self.applied.undo if self.applied else None,
            "policy_stats": self.policy_stats,
            "explanation": self.explanation.to_json() if self.explanation else None,
        }


class FixProgress(Protocol):
    """Where ``fix`` says what it is doing (the CLI shows a spinner and keeps the notes)."""

    def status(self, text: str) -> None:
        """What runs now (replaces the previous status)."""

    def note(self, text: str) -> None:
        """A line worth keeping."""


class _Quiet:
    def status(self, text: str) -> None:
        log.debug("%s", text)

    def note(self, text: str) -> None:
        log.info("%s", text)


def sandbox_for_jobs(sandbox: SandboxConfig, jobs: int, cores: int | None = None
                     ) -> SandboxConfig:
    """``sandbox`` with a CPU per job, up to the ``cores`` of this machine (Docker refuses
    more)."""
    cpus = float(min(max(jobs, 1), cores or os.cpu_count() or 1))
    if cpus <= sandbox.limits.cpus:
        return sandbox
    return dataclasses.replace(sandbox, limits=dataclasses.replace(sandbox.limits, cpus=cpus))


#: Seconds of ``timeout_s`` kept for closing the sandboxes and printing the result.
CLOSE_MARGIN_S = 3.0

#: The whole fix's wall-clock limit when neither the caller nor the repo's settings give one.
DEFAULT_TIMEOUT_S = 900.0


def fix(repo: str | os.PathLike, config: FixConfig = FixConfig(),
        progress: FixProgress | None = None) -> FixResult:
    """Find and fix the fault that makes ``repo``'s tests fail (see the module docstring).

    UsageError for bad input (no such directory, no tests, a test command that is not pytest);
    the repository is changed only with ``config.apply`` and a resolving patch. Everything runs
    under one deadline of ``config.timeout_s``; when the process is told to stop (SIGINT /
    SIGTERM through ``agent.interrupts``), ``Cancelled`` comes out, its ``partial`` the
    interrupted episode's result (None before the episode started), every sandbox closed.
    """
    from sandboxes import deadline, prune_orphans

    repo = check_repo(repo)
    spec = detect_project(repo)  # once: its settings and its environment serve the whole fix
    if config.timeout_s is None:
        config = dataclasses.replace(config,
                                     timeout_s=spec.settings.timeout or DEFAULT_TIMEOUT_S)
    limit = max(config.timeout_s - CLOSE_MARGIN_S, config.timeout_s / 2)
    with deadline.scope(limit, since=config.started_at):
        for name in prune_orphans():
            log.info("removed %s, left by a run that was killed", name)
        return _fix(repo, spec, config, progress)


def _fix(repo: Path, spec: ProjectSpec, config: FixConfig,
         progress: FixProgress | None) -> FixResult:
    from agent.loop import play_episode, run_episode
    from agent.policies import make_policy
    from agent.selection import best_result
    from envs.env import DebugEnv, EnvConfig
    from sandboxes import deadline

    progress = progress or _Quiet()
    started, before = time.monotonic(), counts.snapshot()
    settings = spec.settings  # [tool.debug-agent]: what options leave out
    test_command = config.test_command or settings.test_command
    pytest_args(test_command)  # UsageError for a setting that does not run pytest
    if not test_command and not find_test_files(repo):
        raise UsageError(f"no tests found in {repo} (looked for test_*.py and *_test.py); "
                         "pass --test-command")
    out = config.out or default_out_dir(repo)
    progress.status(f"setting up the environment of {repo.name}")
    image = prepare_environment(repo, spec, backend=config.sandbox.backend,
                                image=config.sandbox.image,
                                setup=config.setup, progress=progress.status,
                                time_limit=max(deadline.current().remaining(), 0.01))
    # The episode stops early enough for its final scoring run to fit in the deadline; a test
    # that hangs is stopped early enough for the rest of the suite to run.
    per_test = settings.test_timeout or min(30.0, max(5.0, config.timeout_s / 6))
    sandbox = config.sandbox
    if config.policy == "search":
        sandbox = sandbox_for_jobs(sandbox, config.jobs)
    env_config = EnvConfig(sandbox=dataclasses.replace(sandbox, image=image),
                           max_steps=config.max_steps, time_budget_s=config.timeout_s * 0.85,
                           per_test_timeout_s=per_test)
    results: list[EpisodeResult] = []
    policies = []
    with DebugEnv(env_config) as env:
        progress.status(f"running the tests of {repo.name} in a {config.sandbox.backend} sandbox")
        start = env.reset(options={"repo": repo, "test_command": test_command,
                                   "source": "agent fix", "leave_alone": settings.exclude})
        task = env.task
        result = FixResult(repo, task, env.initial_report.statuses,
                           broken_test_files=broken_test_files(env.initial_report))
        if not task.fail_to_pass:
            return _finish(result, started, before)
        if result.broken_test_files:
            progress.note("left alone, test files that do not import themselves: "
                          + ", ".join(result.broken_test_files))
        progress.note(f"{len(task.fail_to_pass)} failing, {len(task.pass_to_pass)} passing "
                      f"tests; fixing with the [bold]{config.policy}[/] policy")
        for k in range(config.samples):
            policy = make_policy(config.policy, task=task, **_policy_options(config))
            label = f"sample {k + 1}/{config.samples}: " if config.samples > 1 else ""
            trajectory = out / (f"trajectory-{k}.json" if config.samples > 1 else "trajectory.json")
            progress.status(f"{label}localizing and trying fixes")
            steps = iter(range(1, config.max_steps + 1))

            def on_step(step, label=label, steps=steps) -> None:
                progress.status(f"{label}step {next(steps)} done: {step.info.get('action') or '?'}")

            if k == 0:  # the env is already reset to the task its first run built
                episode = play_episode(policy, env, *start, trajectory_path=trajectory,
                                       on_step=on_step)
            else:
                episode = run_episode(policy, env, task, trajectory_path=trajectory,
                                      on_step=on_step)
            results.append(episode)
            policies.append(policy)
            if episode.resolved:
                break
    result.best, result.samples = best_result(results), len(results)
    result.policy_stats = _stats(policies[results.index(result.best)])
    result.explanation = _explain(result)  # before --apply changes the sources it reads
    if config.apply and result.best.resolved:
        result.applied = apply_to_repo(repo, result.best.patch)
    _finish(result, started, before)
    # Beside the trajectories, for `agent view` (the repo, for the diff after each step; the
    # explanation, for the page).
    write_json_atomic(out / FIX_RESULT, result.to_json())
    return result


def _explain(result: FixResult) -> Explanation | None:
    from agent.explain import explain

    best = result.best
    if best is None or not best.patch or not best.trajectory_path:
        return None
    return explain(Path(best.trajectory_path), repo=result.repo, fixed=result.fixed_tests,
                   broken=result.broken_tests, stats=result.policy_stats)


def _finish(result: FixResult, started: float, before: dict[str, int]) -> FixResult:
    after = counts.snapshot()
    result.runs = {key: after[key] - before[key] for key in after}
    result.elapsed_s = round(time.monotonic() - started, 2)
    return result


def _stats(policy) -> dict[str, Any] | None:
    stats = getattr(policy, "stats", None)
    return dataclasses.asdict(stats) if dataclasses.is_dataclass(stats) else None


def _policy_options(config: FixConfig) -> dict[str, Any]:
    options = dict(config.policy_options)
    if config.policy == "search":
        options.setdefault("time_budget_s", config.timeout_s * 0.8)
        options.setdefault("jobs", config.jobs)
    return options


def prepare_environment(repo: Path, spec: ProjectSpec, *, backend: str, image: str | None,
                        setup: tuple[str, ...], progress=log.info,
                        time_limit: float | None = None) -> str | None:
    """The image the repo's tests run in (``spec``: what the repo declares, detected once by
    the caller): its project environment, built once and cached
    (sandboxes/project_image.py), so every sandbox of this fix starts from it; ``image``
    unchanged where Docker is not used. SetupFailed when the environment cannot be built."""
    from sandboxes.docker import docker_problem
    from sandboxes.image import DEFAULT_IMAGE
    from sandboxes.project_image import ensure_project_image

    problem = docker_problem(image or DEFAULT_IMAGE) if backend != "local" else "local backend"
    if problem is not None:
        if setup:
            raise UsageError("--setup runs in the Docker sandbox's image build; it cannot run "
                             f"with the {backend} backend here ({problem})")
        return image
    return ensure_project_image(repo, spec, base=image or DEFAULT_IMAGE, setup=setup,
                                progress=progress, time_limit=time_limit)


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
            if is_test_module(name):
                found.append(Path(root) / name)
                if len(found) >= limit:
                    return found
    return found


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


def apply_to_repo(repo: Path, patch: str) -> Applied:
    """Write ``patch`` into the user's ``repo``, in a way that can be undone.

    In a git repository only when its working tree is clean, so `git checkout` undoes exactly our
    change; elsewhere the files the patch touches are first copied to a backup directory.
    Nothing is changed when the patch does not apply.
    """
    if not patch.strip():
        raise UsageError("there is no patch to apply")
    files = patch_files(patch)
    top = git_toplevel(repo)
    if top is not None:
        status = _git(repo, "status", "--porcelain", "--", ".")
        if status.stdout.strip():
            raise UsageError(f"{repo} has uncommitted changes; commit or stash them first, "
                             "or run without --apply and apply the printed patch yourself")
        # The patch's paths are relative to `repo`, which may be below the work tree's top.
        apply_patch(top, patch, directory=repo.resolve().relative_to(top).as_posix())
        return Applied("git", f"git -C {shlex.quote(str(repo))} checkout -- "
                       + " ".join(shlex.quote(f) for f in files))
    apply_patch(repo, patch, check_only=True)  # before the backup: a misfit changes nothing
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    backup = repo.parent / f".{repo.name}.debug-agent-backup-{stamp}"
    for name in files:
        src = repo / name
        if src.exists():
            (backup / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, backup / name)
    backup.mkdir(parents=True, exist_ok=True)
    apply_patch(repo, patch)
    return Applied("backup", f"copy the files back from {backup}")
