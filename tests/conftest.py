"""Shared fixtures: sandboxes of both backends, and a check that no container outlives the session.

Docker tests need a running engine and the sandbox image (`agent sandbox build`). Without them
they are skipped with the reason, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import uuid

import pytest

# Every DockerSandbox of this session carries this label, so the end-of-session check finds ours.
SESSION = os.environ.setdefault("DEBUG_AGENT_SESSION", f"pytest-{uuid.uuid4().hex[:10]}")
IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true",
                     help="Also run the tests marked slow (CI does; a plain run skips them).")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def docker_or_skip() -> None:
    """Skip (or fail, under CI=true) when the Docker backend cannot run here."""
    from sandboxes.docker import docker_problem

    problem = docker_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true and the Docker backend is not usable: {problem}")
        pytest.skip(problem)


@pytest.fixture
def docker_ready() -> None:
    """Use in tests marked ``docker`` that need the engine and the image."""
    docker_or_skip()


@pytest.fixture(params=["local", pytest.param("docker", marks=pytest.mark.docker)])
def backend(request) -> str:
    if request.param == "docker":
        docker_or_skip()
    return request.param


@pytest.fixture
def make_sandbox(backend):
    """``make_sandbox(repo_dir, **limits)`` opens a sandbox of the current backend; all are
    closed at the end of the test, also when it fails."""
    from sandboxes import SandboxLimits, open_sandbox

    opened = []

    def make(repo_dir, **limits):
        sandbox = open_sandbox(repo_dir, backend=backend, limits=SandboxLimits(**limits))
        opened.append(sandbox)
        return sandbox

    yield make
    for sandbox in opened:
        sandbox.close()


def pytest_sessionfinish(session, exitstatus):
    """Fail the session if a container or volume of this session is left behind."""
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: the controller checks once every worker is done
    try:
        from sandboxes.docker import leftovers, prune
    except ImportError:
        return
    left = leftovers(SESSION)
    if left:
        prune(SESSION, everything=True)
        session.exitstatus = 1
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"ERROR: sandbox leftovers after the session: {left}", red=True)
