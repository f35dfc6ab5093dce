"""agent eval on the Docker backend: a run, and a sandbox container killed under a running task."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from agent.eval import EvalConfig, PolicySpec, run_eval
from agent.eval.records import RETRIED_KINDS
from sandboxes.config import SandboxConfig
from tests.conftest import docker_or_skip
from tests.test_eval_faults import make_suite

FIXTURES = Path(__file__).parent / "fixtures" / "eval_tasks"

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _docker():
    docker_or_skip()


def test_docker_run(tmp_path):
    summary = run_eval(EvalConfig(tasks=FIXTURES, out=tmp_path / "run", workers=2,
                                  policy=PolicySpec("reference"), sandbox=SandboxConfig("docker")))
    assert (summary["tasks"], summary["resolved"], summary["infra_errors"]) == (3, 2, 0)
    assert summary["run"]["sandbox"] == "docker"


def _kill_our_containers() -> int:
    import docker

    client = docker.from_env()
    session = os.environ["DEBUG_AGENT_SESSION"]
    containers = client.containers.list(filters={"label": f"debug-agent.session={session}"})
    for container in containers:
        container.kill()
    return len(containers)


def test_killed_container_is_an_infra_error_and_is_retried(tmp_path):
    suite = make_suite(tmp_path, sleep_s=3.0)
    out = tmp_path / "run"
    killed: list[int] = []

    def on_event(kind: str, data: dict) -> None:
        if kind == "dispatch" and data["task_id"] == "slow_add" and not killed:
            timer = threading.Timer(3.0, lambda: killed.append(_kill_our_containers()))
            timer.start()

    summary = run_eval(EvalConfig(tasks=suite, out=out, policy=PolicySpec("reference"),
                                  sandbox=SandboxConfig("docker"), retries=1, only=("slow_add",)),
                       on_event=on_event)
    assert killed and killed[0] >= 1
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    # Recorded apart from "not resolved" and retried. "infra" when the sandbox raises its own
    # SandboxError; "crash" when a dead container surfaces as some other exception.
    assert lines[0]["error_kind"] in RETRIED_KINDS, lines[0]["exit_status"]
    assert len(lines) == 2 and lines[1]["error_kind"] is None
    assert lines[1]["resolved"] and summary["resolved"] == 1 and summary["infra_errors"] == 0
