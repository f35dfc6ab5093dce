"""Per-test limits from a first run (envs.limits), and the runs that use them."""

from __future__ import annotations

from pathlib import Path

import pytest

from envs.limits import CUT_SHORT, coverage_limits, hung_limits, passing_run_s, statuses_of
from envs.limits import test_limits as limits_of
from sandboxes.base import TestReport, TestResult


def test_limits_from_durations() -> None:
    limits = limits_of({"a": 0.05, "b": 0.4, "c": 20.0},
                         {"a": "passed", "b": "failed", "c": "timeout"}, ceiling=20.0)
    assert limits["a"] == limits["b"] == 4.0  # 10x the slowest test that finished
    assert limits["c"] == 1.0  # hung before the edit: a short cap (2 x 0.4, at least 1 s)
    assert limits_of({"a": 0.001}, {"a": "passed"}, ceiling=20.0)["a"] == 1.0  # floor
    assert limits_of({"a": 5.0}, {"a": "passed"}, ceiling=20.0)["a"] == 20.0  # ceiling
    slow = limits_of({"a": 0.05, "c": 20.0}, {"a": "passed", "c": "timeout"}, ceiling=20.0,
                       slowdown=2.5)
    assert slow == {"a": 1.25, "c": 1.0}  # under coverage: 10 x 0.05 x 2.5; the floor stays


def test_hung_limits_and_the_run_they_make() -> None:
    finished = {"t::a": TestResult("t::a", "passed", 0.1), "t::b": TestResult("t::b", "failed", 0.9)}
    assert hung_limits(None, 30.0) == {}
    assert hung_limits(TestReport(tests=dict(finished)), 30.0) == {}  # nothing hung: no caps
    hung = TestReport(tests={**finished, "t::c": TestResult("t::c", "timeout", 30.0)},
                      duration_s=31.5)
    assert hung_limits(hung, 30.0) == {"t::c": 1.8}  # 2 x the slowest test that finished
    assert hung_limits(hung, 30.0, slowdown=2.5) == {"t::c": 4.5}
    only = TestReport(tests={"t::c": TestResult("t::c", "timeout", 30.0)}, duration_s=30.6)
    assert hung_limits(only, 30.0) == {"t::c": 1.0}


def test_a_coverage_run_caps_every_test_that_timed_out_short() -> None:
    """Known hangs, cut short or not, cost a coverage run a quarter second each: it only ranks
    lines, and a loop has shown them by then."""
    from sandboxes.pytest_runner import CUT_SHORT_NOTE

    first = TestReport(tests={"t::a": TestResult("t::a", "passed", 0.01),
                              "t::c": TestResult("t::c", "timeout", 10.0),
                              "t::d": TestResult("t::d", "timeout", 1.0,
                                                 f"timed out after 1 s {CUT_SHORT_NOTE}")})
    assert coverage_limits(first, 10.0) == {"t::c": 0.25, "t::d": 0.25}
    assert hung_limits(first, 10.0) == {"t::c": 1.0}  # candidates keep at least a second
    slow = TestReport(tests={**first.tests, "t::a": TestResult("t::a", "passed", 0.2)})
    assert coverage_limits(slow, 10.0) == {"t::c": 1.0, "t::d": 1.0}  # 2 x 0.2 x 2.5
    assert coverage_limits(None, 10.0) == {}


def test_what_a_passing_run_costs_leaves_the_hangs_out() -> None:
    """The search sets aside the closing runs of a fix: the hung tests then finish like the
    others, so their hangs are not counted, the slowest finished test's time is."""
    assert passing_run_s(None) == 0.0
    hung = TestReport(tests={"t::a": TestResult("t::a", "passed", 0.1),
                             "t::b": TestResult("t::b", "failed", 0.9),
                             "t::c": TestResult("t::c", "timeout", 10.0),
                             "t::d": TestResult("t::d", "timeout", 1.0)}, duration_s=12.5)
    assert passing_run_s(hung) == pytest.approx(12.5 - 11.0 + 2 * 0.9)
    every = TestReport(tests={f"t::{i}": TestResult(f"t::{i}", "timeout", 10.0 if i == 0 else 1.0)
                              for i in range(14)}, duration_s=24.0)
    assert passing_run_s(every) == pytest.approx(24.0 - 23.0 + 14 * 0.1)  # none finished


@pytest.mark.slow
def test_run_pytest_gives_a_hung_test_its_own_short_limit(make_sandbox, tmp_path: Path) -> None:
    """The plugin stops a test at its own limit while the others keep the run's."""
    from sandboxes import run_pytest

    (tmp_path / "test_h.py").write_text(
        "import time\n\n\ndef test_slow():\n    time.sleep(1.5)\n\n\n"
        "def test_hangs():\n    while True:\n        time.sleep(0.01)\n")
    report = run_pytest(make_sandbox(tmp_path), per_test_timeout=10.0,
                        limits={"test_h.py::test_hangs": 1.0})
    assert report.statuses == {"test_h.py::test_hangs": "timeout", "test_h.py::test_slow": "passed"}
    hung = report.tests["test_h.py::test_hangs"]
    assert "timed out after 1.0 s" in hung.message
    assert hung.duration_s < 3.0  # its own 1 s, not the run's 10 s


@pytest.mark.slow
def test_after_one_test_hangs_the_rest_of_its_file_gets_a_short_limit(make_sandbox,
                                                                      tmp_path: Path) -> None:
    """The first hang costs the run's limit, the next one of its file about a second, the
    ones after it a quarter second; a slow test of another file keeps the run's limit."""
    from sandboxes import run_pytest

    loops = "".join(f"\n\ndef test_loop_{i}():\n    while True:\n        time.sleep(0.01)\n"
                    for i in range(3))
    (tmp_path / "test_a.py").write_text("import time\n\n\ndef test_fast():\n    pass\n" + loops)
    (tmp_path / "test_b.py").write_text("import time\n\n\ndef test_slow():\n    time.sleep(1.5)\n")
    report = run_pytest(make_sandbox(tmp_path), per_test_timeout=4.0)
    loops = [report.tests[f"test_a.py::test_loop_{i}"] for i in range(3)]
    assert [r.status for r in loops] == ["timeout"] * 3
    assert loops[0].duration_s >= 3.9
    assert all(r.duration_s < 2.0 for r in loops[1:])  # max(1 s, 10 x the fastest test's time)
    assert loops[1].duration_s >= 0.9
    assert loops[2].duration_s < 0.9  # after two hangs of its file: a quarter second
    assert report.statuses["test_b.py::test_slow"] == "passed"
    assert report.statuses["test_a.py::test_fast"] == "passed"
    # The cut ones may be slow rather than hanging: later runs give them the ordinary limit.
    assert statuses_of(report)["test_a.py::test_loop_1"] == CUT_SHORT
    assert set(hung_limits(report, 4.0)) == {"test_a.py::test_loop_0"}
    # A coverage run ranks lines only: the floor after a hang is shorter there.
    ranked = run_pytest(make_sandbox(tmp_path), per_test_timeout=4.0, after_hang_floor=0.25,
                        limits=hung_limits(report, 4.0))
    assert ranked.tests["test_a.py::test_loop_0"].duration_s < 3.5  # 2 x test_slow's 1.5 s
    assert all(ranked.tests[f"test_a.py::test_loop_{i}"].duration_s < 0.9 for i in (1, 2))
    assert ranked.statuses["test_b.py::test_slow"] == "passed"


@pytest.mark.slow
def test_a_test_that_swallows_its_timeout_keeps_its_coverage_and_says_where_it_was(
        make_sandbox, tmp_path: Path) -> None:
    """A loop that catches the per-test alarm makes the plugin end pytest: the coverage so far
    and the line it was stuck at still come back, so localization has something to rank."""
    from sandboxes import run_pytest

    (tmp_path / "grow.py").write_text(
        "def grow(x):\n    while True:\n        try:\n            while True:\n"
        "                x += 1\n        except BaseException:\n            x = 0\n")
    (tmp_path / "test_grow.py").write_text("from grow import grow\n\n\n"
                                           "def test_grow():\n    assert grow(1) == 2\n")
    report = run_pytest(make_sandbox(tmp_path), per_test_timeout=1.0, coverage=True)
    stuck = report.tests["test_grow.py::test_grow"]
    assert stuck.status == "timeout" and "grow.py\", line " in stuck.message
    assert {2, 4, 5} <= set(report.coverage["test_grow.py::test_grow"]["grow.py"])


@pytest.mark.slow
def test_a_test_that_hoards_memory_fails_alone(make_sandbox, tmp_path: Path) -> None:
    """A test that takes memory until none is left fails with MemoryError in its own process;
    the run goes on and reports the others, with their coverage (before the per-process limit,
    the cgroup's OOM killer ended pytest and every result with it)."""
    from sandboxes import run_pytest

    (tmp_path / "hoard.py").write_text("def hoard():\n    kept = []\n    while True:\n"
                                       "        kept.append(b'x' * 10 ** 7)\n\n\n"
                                       "def add(a, b):\n    return a + b\n")
    (tmp_path / "test_m.py").write_text("from hoard import add, hoard\n\n\n"
                                        "def test_hoard():\n    hoard()\n\n\n"
                                        "def test_add():\n    assert add(2, 3) == 5\n")
    sandbox = make_sandbox(tmp_path, memory_mb=400)
    for coverage in (False, True):
        report = run_pytest(sandbox, per_test_timeout=30.0, coverage=coverage)
        assert report.statuses == {"test_m.py::test_hoard": "failed",
                                   "test_m.py::test_add": "passed"}, report
        assert "MemoryError" in report.tests["test_m.py::test_hoard"].message
        if coverage:
            assert 8 in report.coverage["test_m.py::test_add"]["hoard.py"]
