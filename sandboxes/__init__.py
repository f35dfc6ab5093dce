"""Isolated, resettable copies of a repository in which commands and tests run."""

import logging

from sandboxes import counts
from sandboxes._files import apply_patch, copy_repo, diff_texts
from sandboxes.base import ExecResult, Sandbox, SandboxLimits, TestReport, TestResult
from sandboxes.config import BACKENDS, Backend, SandboxConfig
from sandboxes.deadline import Cancelled, Deadline
from sandboxes.errors import (
    DebugAgentError,
    PatchError,
    PathNotFound,
    RepoTooLarge,
    SandboxError,
    SandboxTimeout,
    SandboxUnavailable,
    SetupFailed,
    UsageError,
)
from sandboxes.local import LocalSandbox
from sandboxes.pytest_runner import run_pytest

log = logging.getLogger("debug_agent.sandboxes")


def open_sandbox(repo_dir, backend: Backend = "auto", *, limits: SandboxLimits | None = None,
                 image: str | None = None, deps: bool = True,
                 deadline: Deadline | None = None) -> Sandbox:
    """A sandbox of ``repo_dir``: Docker when an engine and the image are there, else local.

    ``backend="auto"`` falls back to the local backend with a warning that says why;
    ``"docker"`` raises SandboxUnavailable instead. With ``deps`` (the default) a repo that
    declares dependencies or a package runs in its environment image (built once, cached; see
    sandboxes/project_image.py), and its pytest settings are adapted to the sandbox
    (``sandbox.pytest_args``); SetupFailed when that environment cannot be built. Its
    commands respect ``deadline`` (default: the current one, ``sandboxes.deadline.current()``).
    """
    if backend not in BACKENDS:
        raise UsageError(f"unknown sandbox backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    counts.count("sandboxes")
    if backend in ("auto", "docker"):
        from sandboxes.docker import DockerSandbox, docker_problem
        from sandboxes.image import DEFAULT_IMAGE

        image = image or DEFAULT_IMAGE
        problem = docker_problem(image)
        if problem is None:
            args: tuple[str, ...] = ()
            if deps:
                from sandboxes.project_image import project_environment

                env = project_environment(repo_dir, image)
                image, args = env.image, env.pytest_args
            sandbox = DockerSandbox(repo_dir, image=image, limits=limits, deadline=deadline)
            sandbox.pytest_args = args
            return sandbox
        if backend == "docker":
            raise SandboxUnavailable(problem)
        log.warning("Docker backend not usable, using the local sandbox: %s", problem)
    sandbox = LocalSandbox(repo_dir, limits, deadline=deadline)
    if deps:
        from sandboxes.project import detect_project, local_pytest_args

        sandbox.pytest_args = local_pytest_args(detect_project(repo_dir))
    return sandbox


def prune_orphans() -> list[str]:
    """Remove what runs killed outright (SIGKILL, a crash) left: containers whose owner is dead
    (never a live run's) and temporary copies likewise; return their names."""
    from sandboxes.docker import prune
    from sandboxes.local import prune_temp

    removed = prune_temp()
    try:
        removed += prune(timeout=10)
    except (ImportError, SandboxUnavailable):
        pass  # no docker package or engine here: no containers either
    return removed


__all__ = [
    "BACKENDS", "Backend", "Cancelled", "Deadline", "DebugAgentError", "ExecResult", "LocalSandbox", "PatchError",
    "PathNotFound", "RepoTooLarge", "Sandbox", "SandboxConfig", "SandboxError", "SandboxLimits",
    "SandboxTimeout", "SandboxUnavailable", "SetupFailed", "TestReport", "TestResult",
    "UsageError", "apply_patch", "copy_repo", "diff_texts", "open_sandbox", "prune_orphans",
    "run_pytest",
]
