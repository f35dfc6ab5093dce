"""Isolated, resettable copies of a repository in which commands and tests run."""

import logging

from sandboxes import counts
from sandboxes.base import ExecResult, Sandbox, SandboxLimits, TestReport, TestResult
from sandboxes.errors import (
    DebugAgentError,
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

BACKENDS = ("auto", "docker", "local")


def open_sandbox(repo_dir, backend: str = "auto", *, limits: SandboxLimits | None = None,
                 image: str | None = None, deps: bool = True) -> Sandbox:
    """A sandbox of ``repo_dir``: Docker when an engine and the image are there, else local.

    ``backend="auto"`` falls back to the local backend with a warning that says why;
    ``"docker"`` raises SandboxUnavailable instead. With ``deps`` (the default) a repo that
    declares dependencies or a package runs in its environment image (built once, cached; see
    sandboxes/project_image.py), and its pytest settings are adapted to the sandbox
    (``sandbox.pytest_args``); SetupFailed when that environment cannot be built.
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
            sandbox = DockerSandbox(repo_dir, image=image, limits=limits)
            sandbox.pytest_args = args
            return sandbox
        if backend == "docker":
            raise SandboxUnavailable(problem)
        log.warning("Docker backend not usable, using the local sandbox: %s", problem)
    sandbox = LocalSandbox(repo_dir, limits)
    if deps:
        from sandboxes.project import detect_project, local_pytest_args

        sandbox.pytest_args = local_pytest_args(detect_project(repo_dir))
    return sandbox

__all__ = [
    "DebugAgentError", "ExecResult", "LocalSandbox", "PathNotFound", "RepoTooLarge", "Sandbox",
    "SandboxError", "SandboxLimits", "SandboxTimeout", "SandboxUnavailable", "SetupFailed",
    "TestReport",
    "TestResult", "UsageError", "open_sandbox", "run_pytest",
]
