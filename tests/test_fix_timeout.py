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
    with deadline.scope(1000.0, since=started) as scoped:
        assert scoped.remaining() == pytest.approx(1000.0 - (time.monotonic() - started), abs=0.5)
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
