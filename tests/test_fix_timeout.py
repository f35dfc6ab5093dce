"""`agent fix --timeout S` holds from the process's start, whatever the code under repair does."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sandboxes import deadline

ROOT = Path(__file__).resolve().parents[1]
IMPORTED = time.monotonic()  # this pytest process started before its test modules were imported

AT_IMPORT = {
    "loop": "while True:\n    pass\n",
    "fork_bomb": "import os\n\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n"
                 "        pass\n",
}


def test_process_start_is_before_now_and_a_scope_counts_from_it() -> None:
    started = deadline.process_start()
    assert started <= IMPORTED + 0.1  # /proc's clock ticks are 10 ms
    # A fresh interpreter's start is a moment before it asks.
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    age = float(subprocess.run(
        [sys.executable, "-c", "import time; from sandboxes import deadline; "
         "print(time.monotonic() - deadline.process_start())"],
        capture_output=True, text=True, env=env, check=True).stdout)
    assert 0 <= age < 30
    # long enough for any session's age (a whole suite run at high load is past 1000 s)
    with deadline.scope(1e6, since=started) as scoped:
        assert scoped.remaining() == pytest.approx(1e6 - (time.monotonic() - started), abs=0.5)
    with deadline.scope(5.0, since=time.monotonic() - 10.0) as spent:
        assert spent.expired


@pytest.mark.slow
@pytest.mark.docker
@pytest.mark.parametrize("kind", sorted(AT_IMPORT))
def test_code_that_never_lets_collection_finish_ends_on_time(docker_ready, tmp_path, kind):
    """A module that loops (or forks forever) at import: the first run never collects a test.
    The whole command, interpreter start included, ends within 10 s of --timeout with one line
    and exit 1 (the repository's failure, not bad input)."""
    repo = tmp_path / kind
    repo.mkdir()
    (repo / "calc.py").write_text(AT_IMPORT[kind] + "\n\ndef add(a, b):\n    return a - b\n")
    (repo / "test_calc.py").write_text("from calc import add\n\n\ndef test_add():\n"
                                       "    assert add(2, 3) == 5\n")
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "agent", "fix", str(repo), "--sandbox", "docker",
                           "--timeout", "20", "--json", "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, env=env, timeout=120)
    took = time.monotonic() - start
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert took < 30, f"{kind}: {took:.1f} s with --timeout 20"
    assert "were still being collected" in proc.stderr and "Traceback" not in proc.stderr
    assert (repo / "calc.py").read_text().startswith(AT_IMPORT[kind])  # the repo is left alone


WALK = ("def steps_to_reach(start, goal, step):\n    count = 0\n    pos = start\n"
        "    while start < goal:\n        pos += step\n        count += 1\n    return count\n")


def _agent_fix(repo: Path, out: Path, timeout: int) -> tuple[subprocess.CompletedProcess, float]:
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "agent", "fix", str(repo), "--sandbox", "docker",
                           "--timeout", str(timeout), "--json", "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=timeout + 120)
    return proc, time.monotonic() - start


@pytest.mark.slow
@pytest.mark.docker
def test_a_program_whose_every_failing_test_hangs_is_fixed_within_a_small_budget(docker_ready,
                                                                                  tmp_path):
    """Eight tests loop forever on the original code (the loop tests a name its body never
    updates): the first run, the coverage run and the closing runs must leave the search time to
    validate candidates, and the fix (``pos < goal``) is found and scored within --timeout 40."""
    import json

    repo = tmp_path / "walk"
    repo.mkdir()
    (repo / "walk.py").write_text(WALK)
    cases = [(0, 10, 3, 4), (1, 2, 5, 1), (0, 9, 3, 3), (-4, 4, 2, 4), (2, 3, 1, 1),
             (0, 100, 7, 15), (10, 11, 1, 1), (-1, 0, 1, 1)]
    tests = "".join(f"\n\ndef test_walk_{k}():\n    assert steps_to_reach({a}, {b}, {c}) == {n}\n"
                    for k, (a, b, c, n) in enumerate(cases))
    (repo / "test_walk.py").write_text("from walk import steps_to_reach\n\n\n"
                                       "def test_there():\n    assert steps_to_reach(5, 5, 1) == 0\n"
                                       + tests)
    proc, took = _agent_fix(repo, tmp_path / "run", 40)
    result = json.loads(proc.stdout)
    assert result["resolved"], proc.stderr[-2000:]
    assert "while pos < goal" in result["patch"]
    assert result["policy_stats"]["candidates"] >= 1
    assert took < 50, f"{took:.1f} s with --timeout 40"
    assert (repo / "walk.py").read_text() == WALK  # the repo is left alone


@pytest.mark.slow
@pytest.mark.docker
def test_candidates_that_hang_and_swallow_the_timeout_do_not_stretch_the_timeout(docker_ready,
                                                                                 tmp_path):
    """Code that loops forever and swallows every exception (the per-test alarm with them):
    every test and nearly every candidate hangs past its limit until killed. The command still
    ends within 10 s of --timeout, with the repo unchanged."""
    import json

    code = ("def grow(x):\n    while True:\n        try:\n            while True:\n"
            "                x += 1\n        except BaseException:\n            x = 0\n"
            "    return x\n\n\ndef double(x):\n    return 2 * x\n")
    repo = tmp_path / "stubborn"
    repo.mkdir()
    (repo / "grow.py").write_text(code)
    (repo / "test_grow.py").write_text(
        "from grow import double, grow\n\n\ndef test_double():\n    assert double(2) == 4\n"
        + "".join(f"\n\ndef test_grow_{i}():\n    assert grow({i}) == {i + 1}\n" for i in range(4)))
    proc, took = _agent_fix(repo, tmp_path / "run", 30)
    assert took < 40, f"{took:.1f} s with --timeout 30"
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    result = json.loads(proc.stdout)
    assert not result["resolved"]
    assert (repo / "grow.py").read_text() == code
