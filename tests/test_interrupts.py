"""Stopping cleanly: SIGINT, SIGTERM and SIGKILL sent to `agent fix` and `agent eval` while a test
run is in flight. Real processes and the real engine: each run has its own session label and its
own temp dir, so that what it leaves behind (containers, temporary copies) can be counted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.test_eval_faults import make_suite

ROOT = Path(__file__).resolve().parents[1]


HANGING_SOURCE = '''def count_up(n):
    while n > 0:
        n = n + 1
    return n


def add(a, b):
    return a - b
'''
HANGING_TESTS = '''from calc import add, count_up


def test_count_up():
    assert count_up(3) == 0


def test_add():
    assert add(2, 3) == 5
'''


# -- the deadline itself, and a sandbox command cancelled by it (fast, real processes) ----------


def test_deadlines_nest_clip_and_cancel():
    from sandboxes.deadline import Cancelled, current, root, scope

    assert current() is root() and not root().bounded
    with scope(10) as outer:
        with scope(None) as inner:
            assert current() is inner and 9 < inner.remaining() <= 10  # the parent's end
            assert inner.clip(60) == pytest.approx(inner.remaining(), abs=0.1)
            assert inner.clip(1.5) == 1.5
            outer.cancel(signal.SIGTERM)
            assert inner.cancelled == signal.SIGTERM and root().cancelled is None
            with pytest.raises(Cancelled) as caught:
                inner.check()
            assert caught.value.exit_code == 143
            assert not isinstance(caught.value, Exception)  # `except Exception` lets it pass
    assert current() is root()
    with scope(0) as spent:
        assert spent.expired


def test_a_cancelled_deadline_stops_a_running_command_within_a_second(tmp_path):
    import threading

    from sandboxes import LocalSandbox
    from sandboxes.deadline import Cancelled, Deadline

    (tmp_path / "t.py").write_text("x = 1\n")
    deadline = Deadline()
    with LocalSandbox(tmp_path, deadline=deadline) as sandbox:
        threading.Timer(0.5, deadline.cancel, args=(signal.SIGINT,)).start()
        start = time.monotonic()
        with pytest.raises(Cancelled):
            sandbox.run("echo $$ > pid; while :; do :; done", timeout=60)
        assert time.monotonic() - start < 1.5
        pid = int(sandbox.read_file("pid"))
        with pytest.raises(Cancelled):
            sandbox.run("true")  # nothing more runs under a cancelled deadline
    state = Path(f"/proc/{pid}/stat")
    assert not state.exists() or state.read_text().split(") ")[1][0] in "ZX"  # killed


def test_a_command_timeout_is_cut_to_the_deadline(tmp_path):
    from sandboxes import LocalSandbox
    from sandboxes.deadline import Deadline

    (tmp_path / "t.py").write_text("x = 1\n")
    with LocalSandbox(tmp_path, deadline=Deadline(1.0)) as sandbox:
        start = time.monotonic()
        result = sandbox.run("sleep 30", timeout=60)
        assert result.timed_out and time.monotonic() - start < 3
        assert sandbox.run("echo no", timeout=60).timed_out  # spent: nothing starts


def test_orphaned_containers_are_those_of_dead_owners_only():
    from sandboxes._common import owner_id
    from sandboxes.docker import EXPIRES_LABEL, OWNER_LABEL, orphaned

    dead = subprocess.Popen(["true"])
    dead_owner = owner_id(dead.pid)
    dead.wait()
    assert not orphaned({OWNER_LABEL: owner_id()}, "running")  # this live process
    assert not orphaned({OWNER_LABEL: owner_id()}, "created")  # live, not started yet
    assert orphaned({OWNER_LABEL: dead_owner}, "running")
    elsewhere = "another-host:4242:12345"
    assert not orphaned({OWNER_LABEL: elsewhere}, "running")  # cannot know: kept
    assert orphaned({OWNER_LABEL: elsewhere, EXPIRES_LABEL: f"{time.time() - 5:.0f}"}, "running")
    assert not orphaned({}, "running") and orphaned({}, "exited")  # made before owner labels


# -- `agent fix` and `agent eval` as real processes, on the real engine --------------------------


def hanging_repo(root: Path) -> Path:
    """A repo whose first test never ends (``while n > 0: n = n + 1``) and whose second fails."""
    repo = root / "hang"
    repo.mkdir()
    (repo / "calc.py").write_text(HANGING_SOURCE)
    (repo / "test_calc.py").write_text(HANGING_TESTS)
    return repo


def tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


class AgentRun:
    """``python -m agent ARGS`` in its own process, session label and temp dir."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.session = f"interrupts-{uuid.uuid4().hex[:10]}"
        self.tmp = tmp_path / "tmp"
        self.tmp.mkdir(exist_ok=True)
        self.out, self.err = tmp_path / f"{self.session}.out", tmp_path / f"{self.session}.err"
        self.env = {**os.environ, "DEBUG_AGENT_SESSION": self.session, "TMPDIR": str(self.tmp),
                    "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "agent", *args], stdout=out,
                                         stderr=err, env=self.env, cwd=tmp_path)

    def containers(self):
        import docker

        client = docker.from_env()
        try:
            for _ in range(5):
                try:
                    return client.containers.list(
                        all=True, filters={"label": f"debug-agent.session={self.session}"})
                except docker.errors.NotFound:  # one went away between the list and its inspect
                    time.sleep(0.1)
            raise AssertionError("containers kept vanishing while being listed")
        finally:
            client.close()

    def tests_in_flight(self) -> bool:
        """Whether one of its sandboxes runs pytest (the suite, or candidate validation)."""
        for container in self.containers():
            try:
                rows = container.top()["Processes"] or []
            except Exception:  # the container went away between list and top
                continue
            if any("pytest" in " ".join(row) for row in rows):
                return True
        return False

    def wait_until(self, condition, timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            assert self.proc.poll() is None, f"ended before {what}: {self.stderr()[-2000:]}"
            if condition():
                return
            time.sleep(0.3)
        raise AssertionError(f"no {what} within {timeout} s: {self.stderr()[-2000:]}")

    def stop_with(self, signum: int, again_after: float | None = None) -> float:
        """Send ``signum`` (twice when ``again_after``); seconds until the process ended."""
        start = time.monotonic()
        self.proc.send_signal(signum)
        if again_after is not None:
            time.sleep(again_after)
            self.proc.send_signal(signum)
        try:
            self.proc.wait(60)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        return time.monotonic() - start

    def stdout(self) -> str:
        return self.out.read_text()

    def stderr(self) -> str:
        return self.err.read_text()

    def temp_copies(self) -> list[str]:
        return sorted(p.name for p in self.tmp.iterdir() if p.name.startswith("debug-agent-"))

    def no_containers_within(self, seconds: float) -> list[str]:
        end = time.monotonic() + seconds
        while time.monotonic() < end and self.containers():
            time.sleep(0.5)
        return [c.name for c in self.containers()]


def fix(tmp_path: Path, repo: Path, *args: str) -> AgentRun:
    return AgentRun(tmp_path, "fix", str(repo), "--sandbox", "docker", "--out",
                    str(tmp_path / "run"), *args)


@pytest.mark.slow
@pytest.mark.docker
def test_sigint_in_the_episode_stops_at_once_prints_the_partial_result_and_cleans_up(
        docker_ready, tmp_path):
    repo = hanging_repo(tmp_path)
    before = tree(repo)
    run = fix(tmp_path, repo, "--timeout", "40", "--json")
    trajectory = tmp_path / "run" / "trajectory.json"  # saved after every step

    def localized() -> bool:
        try:
            return bool(json.loads(trajectory.read_text())["steps"])
        except (OSError, ValueError):  # not there yet, or being written
            return False

    # after the first step (localize), while the search validates candidates
    run.wait_until(lambda: localized() and run.tests_in_flight(), 120, "candidate validation")
    took = run.stop_with(signal.SIGINT)
    assert run.proc.returncode == 130, run.stderr()[-2000:]
    assert took < 15
    payload = json.loads(run.stdout())
    assert payload["interrupted"] is True and payload["signal"] == "SIGINT"
    assert payload["exit_status"] == "interrupted" and payload["resolved"] is False
    assert payload["localization"], payload  # what was found so far
    assert run.no_containers_within(5) == []
    assert run.temp_copies() == []
    assert tree(repo) == before


@pytest.mark.slow
@pytest.mark.docker
def test_sigterm_during_the_first_test_run(docker_ready, tmp_path):
    repo = hanging_repo(tmp_path)
    run = fix(tmp_path, repo, "--timeout", "120")
    run.wait_until(run.tests_in_flight, 120, "test run")
    took = run.stop_with(signal.SIGTERM)
    assert run.proc.returncode == 143, run.stderr()[-2000:]
    assert took < 15
    assert "interrupted by SIGTERM" in run.stderr() and "not changed" in run.stderr()
    assert run.no_containers_within(5) == []
    assert run.temp_copies() == []


@pytest.mark.slow
@pytest.mark.docker
def test_second_sigint_exits_at_once_and_the_keeper_ends_the_container(docker_ready, tmp_path):
    repo = hanging_repo(tmp_path)
    run = fix(tmp_path, repo, "--timeout", "120")
    run.wait_until(run.tests_in_flight, 120, "test run")
    run.stop_with(signal.SIGINT, again_after=0.05)
    assert run.proc.returncode == 130
    assert "exiting now" in run.stderr()
    assert run.no_containers_within(60) == []


@pytest.mark.slow
@pytest.mark.docker
def test_sigkill_leaves_nothing_that_outlives_it(docker_ready, tmp_path, monkeypatch):
    from sandboxes import open_sandbox

    repo = hanging_repo(tmp_path)
    run = fix(tmp_path, repo, "--timeout", "120")
    run.wait_until(run.tests_in_flight, 120, "test run")
    run.stop_with(signal.SIGKILL)
    assert run.no_containers_within(60) == []  # the keeper saw its owner go
    assert run.temp_copies(), "a killed run cannot remove its temporary copy itself"
    # prune removes the dead run's copy, never a live run's sandbox (this process's, labelled
    # with the killed run's session so that the prune below sees it)
    live_dir = tmp_path / "live"
    live_dir.mkdir()
    (live_dir / "t.py").write_text("x = 1\n")
    monkeypatch.setenv("DEBUG_AGENT_SESSION", run.session)
    with open_sandbox(live_dir, backend="docker") as live:
        prune = subprocess.run([sys.executable, "-m", "agent", "sandbox", "prune", "--session",
                                run.session], env=run.env, capture_output=True, text=True,
                               timeout=120)
        assert prune.returncode == 0, prune.stderr
        assert run.temp_copies() == []
        assert live.run("echo alive").output.strip() == "alive"
        assert live.name not in prune.stdout


@pytest.mark.slow
@pytest.mark.docker
def test_sigterm_to_eval_with_two_workers_keeps_whole_lines_and_resumes(docker_ready, tmp_path):
    suite = make_suite(tmp_path, sleep_s=4.0)  # slow_add: each of its test runs takes 4 s
    out = tmp_path / "eval"
    results = out / "results.jsonl"
    args = ["eval", "--tasks", str(suite), "--policy", "reference", "--sandbox", "docker",
            "--workers", "2", "--out", str(out)]
    run = AgentRun(tmp_path, *args)

    def finished() -> int:
        return results.read_text().count("\n") if results.exists() else 0

    run.wait_until(lambda: finished() >= 1 and run.tests_in_flight(), 120,
                   "a finished task and a test run in flight")
    took = run.stop_with(signal.SIGTERM)
    assert run.proc.returncode == 143, run.stderr()[-2000:]
    assert took < 15
    lines = [json.loads(line) for line in results.read_text().splitlines()]  # each line whole
    done = {r["task_id"] for r in lines}
    assert "slow_add" not in done and len(done) == len(lines) < 4
    assert "--resume" in run.stderr()
    assert run.no_containers_within(5) == []
    assert run.temp_copies() == []

    resumed = subprocess.run([sys.executable, "-m", "agent", *args, "--resume"], env=run.env,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    ids = [json.loads(line)["task_id"] for line in results.read_text().splitlines()]
    assert sorted(ids) == ["calc_add", "no_reference", "slow_add", "text_last"]  # each once
    assert json.loads((out / "summary.json").read_text())["tasks"] == 4
