"""agent eval under faults: a worker killed midway, the coordinating process killed midway, a task
that hangs. No finished result is lost, the log stays whole, resume retries what was cut off."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agent.eval import EvalConfig, PolicySpec, run_eval
from agent.eval.records import ResultsLog
from sandboxes.config import SandboxConfig

LOCAL = SandboxConfig("local")
FIXTURES = Path(__file__).parent / "fixtures" / "eval_tasks"
ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def make_suite(root: Path, sleep_s: float = 2.0) -> Path:
    """The fixture suite plus ``slow_add``: calc_add whose tests take ``sleep_s`` each run."""
    suite = root / "suite"
    shutil.copytree(FIXTURES, suite)
    slow = suite / "slow_add"
    shutil.copytree(suite / "calc_add", slow)
    meta = json.loads((slow / "task.json").read_text())
    (slow / "task.json").write_text(json.dumps({**meta, "id": "slow_add"}))
    test = slow / "repo" / "test_calc.py"
    test.write_text("import time\n" + test.read_text().replace(
        "def test_mul():\n", f"def test_mul():\n    time.sleep({sleep_s})\n"))
    return suite


class KillOnDispatch:
    """Listener that SIGKILLs the worker which gets ``task_id``, ``delay_s`` after it got it."""

    def __init__(self, task_id: str, delay_s: float) -> None:
        self.task_id, self.delay_s = task_id, delay_s
        self.killed: list[int] = []
        self.dispatched: list[str] = []

    def __call__(self, kind: str, data: dict) -> None:
        if kind != "dispatch":
            return
        self.dispatched.append(data["task_id"])
        if data["task_id"] == self.task_id and not self.killed:
            self.killed.append(data["pid"])
            threading.Timer(self.delay_s, os.kill, (data["pid"], signal.SIGKILL)).start()


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]  # every line whole


def test_killed_worker_costs_only_its_task_and_resume_retries_it(tmp_path):
    suite = make_suite(tmp_path)
    out = tmp_path / "run"
    config = dict(tasks=suite, out=out, policy=PolicySpec("reference"), workers=2,
                  sandbox=LOCAL)
    killer = KillOnDispatch("slow_add", delay_s=1.5)
    summary = run_eval(EvalConfig(**config), on_event=killer)
    records = {r["task_id"]: r for r in read_lines(out / "results.jsonl")}
    assert set(records) == {"calc_add", "text_last", "no_reference", "slow_add"}
    slow = records["slow_add"]
    assert slow["error_kind"] == "infra" and slow["exit_status"] == "error"
    assert re.match(r"worker pid \d+ died \(exit code -9\)", slow["error"]) and not slow["resolved"]
    assert records["calc_add"]["resolved"] and records["text_last"]["resolved"]
    assert summary["infra_errors"] == 1 and summary["infra_error_tasks"] == ["slow_add"]
    assert summary["resolve_rate_completed"] == pytest.approx(2 / 3, abs=1e-3)

    resume = KillOnDispatch("none", 0)
    summary = run_eval(EvalConfig(**config, resume=True), on_event=resume)
    assert resume.dispatched == ["slow_add"]  # the finished tasks are not run again
    lines = read_lines(out / "results.jsonl")
    assert len(lines) == 5 and lines[-1]["task_id"] == "slow_add" and lines[-1]["resolved"]
    assert lines[-1]["attempt"] == 2
    assert summary["resolved"] == 3 and summary["infra_errors"] == 0


def test_retries_within_the_run_and_a_task_timeout(tmp_path):
    suite = make_suite(tmp_path)
    out = tmp_path / "run"
    killer = KillOnDispatch("slow_add", delay_s=1.0)
    summary = run_eval(EvalConfig(tasks=suite, out=out, policy=PolicySpec("reference"),
                                  workers=2, sandbox=LOCAL, retries=1, only=("slow_add", "calc_add")),
                       on_event=killer)
    slow = [r for r in read_lines(out / "results.jsonl") if r["task_id"] == "slow_add"]
    assert [r["error_kind"] for r in slow] == ["infra", None] and slow[1]["resolved"]
    assert summary["resolved"] == 2 and summary["infra_errors"] == 0

    summary = run_eval(EvalConfig(tasks=suite, out=tmp_path / "timeout", policy=PolicySpec("reference"),
                                  sandbox=LOCAL, task_timeout_s=1.5, only=("slow_add",)))
    record = read_lines(tmp_path / "timeout" / "results.jsonl")[0]
    assert record["error_kind"] == "infra" and record["error"].startswith("timed out after 1.5 s")
    assert summary["infra_errors"] == 1


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def test_killed_eval_process_loses_no_result_and_resumes(tmp_path):
    suite = make_suite(tmp_path, sleep_s=1.0)
    out = tmp_path / "run"
    results = out / "results.jsonl"
    command = [sys.executable, "-m", "agent", "eval", "--tasks", str(suite), "--policy",
               "reference", "--sandbox", "local", "--workers", "1", "--out", str(out)]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if results.exists() and results.read_text().count("\n") >= 1:
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        workers = _children(proc.pid)
        proc.send_signal(signal.SIGKILL)  # no chance to clean up or flush anything
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    for pid in workers:  # an orphaned worker gets SIGTERM (PR_SET_PDEATHSIG), stops, and exits
        for _ in range(300):
            if not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]:
                break
            time.sleep(0.1)
    finished = {r.task_id for r in ResultsLog(results).read()}
    assert 1 <= len(finished) < 4
    assert not (out / "summary.json").exists()

    events = []
    summary = run_eval(EvalConfig(tasks=suite, out=out, policy=PolicySpec("reference"),
                                  sandbox=LOCAL, resume=True),
                       on_event=lambda kind, data: events.append((kind, data)))
    dispatched = [d["task_id"] for k, d in events if k == "dispatch"]
    assert not set(dispatched) & finished and set(dispatched) | finished == {
        "calc_add", "text_last", "no_reference", "slow_add"}
    assert summary["tasks"] == 4 and summary["resolved"] == 3
    ids = [r["task_id"] for r in read_lines(results)]
    assert sorted(ids) == sorted(set(ids))  # each task once: nothing finished was run again
