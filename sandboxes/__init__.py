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
    declares dependencies runs in a derived image that has them installed.
    """
    if backend not in BACKENDS:
        raise UsageError(f"unknown sandbox backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    counts.count("sandboxes")
    if backend in ("auto", "docker"):
        from sandboxes.docker import DockerSandbox, docker_problem
        from sandboxes.image import DEFAULT_IMAGE, ensure_deps_image

        image = image or DEFAULT_IMAGE
        problem = docker_problem(image)
        if problem is None:
            if deps:
                image = ensure_deps_image(repo_dir, image)
            return DockerSandbox(repo_dir, image=image, limits=limits)
        if backend == "docker":
            raise SandboxUnavailable(problem)
        log.warning("Docker backend not usable, using the local sandbox: %s", problem)
    return LocalSandbox(repo_dir, limits)

__all__ = [
    "DebugAgentError", "ExecResult", "LocalSandbox", "PathNotFound", "RepoTooLarge", "Sandbox",
    "SandboxError", "SandboxLimits", "SandboxTimeout", "SandboxUnavailable", "TestReport",
    "TestResult", "UsageError", "open_sandbox", "run_pytest",
]
