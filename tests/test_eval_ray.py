"""agent eval --ray: tasks as Ray tasks on a local Ray instance started by the test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.eval import EvalConfig, PolicySpec, run_eval
from agent.trajectory import Trajectory
from sandboxes.config import SandboxConfig

ray = pytest.importorskip("ray")

LOCAL = SandboxConfig("local")
FIXTURES = Path(__file__).parent / "fixtures" / "eval_tasks"

pytestmark = pytest.mark.slow


def test_cli_ray_flag_starts_and_stops_its_own_instance(tmp_path, capsys):
    from agent.cli import main

    assert not ray.is_initialized()
    code = main(["eval", "--tasks", str(FIXTURES), "--ray", "--policy", "reference", "--sandbox",
                 "local", "--only", "calc_add", "--out", str(tmp_path / "run"), "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["resolved"] == 1 and summary["run"]["ray"] == "local"
    assert not ray.is_initialized()


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_run_matches_a_local_run(local_ray, tmp_path):
    out = tmp_path / "run"
    events = []
    summary = run_eval(EvalConfig(tasks=FIXTURES, out=out, policy=PolicySpec("reference"),
                                  workers=2, sandbox=LOCAL, ray_address="local"),
                       on_event=lambda kind, data: events.append((kind, data)))
    assert ray.is_initialized()  # an instance the caller started is left running
    records = {r["task_id"]: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}
    assert set(records) == {"calc_add", "text_last", "no_reference"}
    assert records["calc_add"]["resolved"] and records["text_last"]["resolved"]
    assert summary["resolved"] == 2 and summary["localization"]["top1_line"] == 1.0
    # Trajectories travel back from the node and land in the run directory.
    path = Path(records["calc_add"]["trajectory_path"])
    assert path.parent == out / "trajectories" and Trajectory.load(path).result.resolved
    assert [d["worker"] for k, d in events if k == "dispatch"] == ["ray"] * 3


def test_ray_task_timeout_is_an_infra_error_and_resume_retries(local_ray, tmp_path):
    out = tmp_path / "run"
    config = dict(tasks=FIXTURES, out=out, policy=PolicySpec("reference"), sandbox=LOCAL,
                  ray_address="local", only=("calc_add",))
    summary = run_eval(EvalConfig(**config, task_timeout_s=0.5))
    record = json.loads((out / "results.jsonl").read_text())
    assert record["error_kind"] == "infra" and record["error"].startswith("timed out after 0.5 s")
    assert summary["infra_errors"] == 1
    summary = run_eval(EvalConfig(**config, resume=True))
    assert summary["resolved"] == 1 and summary["infra_errors"] == 0
