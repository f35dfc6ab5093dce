"""Spectrum-based fault localization: Ochiai on hand-made spectra, traceback frames, ranking."""

import math
from pathlib import Path

import pytest

from envs.localize import (
    COVERAGE_SAMPLE, Suspicious, coverage_tests, format_ranking, localize, localize_report,
    ochiai_scores, rank, traceback_frames,
)
from envs.reward import is_test_path
from envs.task import Task

FIXTURES = Path(__file__).parent / "fixtures" / "env_tasks"


def test_ochiai_matches_the_formula_on_a_hand_made_spectrum():
    coverage = {
        "t1": {"m.py": [1, 2, 3]},
        "t2": {"m.py": [1, 2]},
        "t3": {"m.py": [1, 4]},
    }
    scores = ochiai_scores(coverage, failed={"t1", "t2"})
    # line 1: ef=2 ep=1 -> 2/sqrt(2*3); line 2: ef=2 ep=0 -> 1; line 3: ef=1 ep=0 -> 1/sqrt(2)
    assert scores[("m.py", 1)] == pytest.approx(2 / math.sqrt(6))
    assert scores[("m.py", 2)] == pytest.approx(1.0)
    assert scores[("m.py", 3)] == pytest.approx(1 / math.sqrt(2))
    assert ("m.py", 4) not in scores  # covered only by a passing test


def test_ochiai_is_empty_without_failures_and_counts_repeated_lines_once():
    assert ochiai_scores({"t1": {"m.py": [1]}}, failed=set()) == {}
    scores = ochiai_scores({"t1": {"m.py": [5, 5, 5]}}, failed={"t1"})
    assert scores == {("m.py", 5): pytest.approx(1.0)}


def test_ochiai_ignores_failed_names_with_no_coverage_entry():
    # A test that failed without coverage data does not inflate total_failed.
    scores = ochiai_scores({"t1": {"m.py": [1]}}, failed={"t1", "ghost"})
    assert scores[("m.py", 1)] == pytest.approx(1.0)


REAL_FAILURE = """\
def test_a():
>       assert f(0) == 1
               ^^^^

tests/test_m.py:4: 
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ 
pkg/m.py:2: in f
    return g(x)
           ^^^^
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ 

x = 0

    def g(x):
>       return 1/x
               ^^^
E       ZeroDivisionError: division by zero

pkg/m.py:5: ZeroDivisionError"""


def test_traceback_frames_reads_pytest_long_tracebacks_outermost_first():
    assert traceback_frames(REAL_FAILURE) == [("tests/test_m.py", 4), ("pkg/m.py", 2), ("pkg/m.py", 5)]


def test_traceback_frames_reads_python_tracebacks_and_strips_the_workdir():
    text = ('Traceback (most recent call last):\n'
            '  File "/work/repo/pkg/m.py", line 7, in main\n'
            '  File "/usr/lib/python3.11/json/__init__.py", line 346, in loads\n'
            '  File "pkg/util.py", line 3, in helper\n')
    assert traceback_frames(text, "/work/repo") == [("pkg/m.py", 7), ("pkg/util.py", 3)]


def test_rank_boosts_the_deepest_traceback_frame_and_drops_test_files():
    scores = {("pkg/m.py", 2): 1.0, ("pkg/m.py", 5): 1.0, ("tests/test_m.py", 4): 1.0}
    frames = [[("tests/test_m.py", 4), ("pkg/m.py", 2), ("pkg/m.py", 5)]]
    ranked = rank(scores, frames, is_test_file=is_test_path, frame_boost=0.3)
    assert [(p, n) for p, n, _ in ranked] == [("pkg/m.py", 5), ("pkg/m.py", 2)]
    assert ranked[0][2] == pytest.approx(1.3)
    assert ranked[1][2] == pytest.approx(1.15)


def test_rank_lists_a_traceback_line_without_coverage_and_breaks_ties_later_line_first():
    ranked = rank({("a.py", 1): 0.5, ("a.py", 2): 0.5}, [[("b.py", 9)]], frame_boost=0.2)
    assert [(p, n) for p, n, _ in ranked] == [("a.py", 2), ("a.py", 1), ("b.py", 9)]


def test_rank_averages_the_boost_over_failing_tests():
    ranked = rank({}, [[("a.py", 1)], [("a.py", 2)]], frame_boost=0.4)
    assert dict(((p, n), s) for p, n, s in ranked) == {
        ("a.py", 1): pytest.approx(0.2), ("a.py", 2): pytest.approx(0.2)}


def test_format_ranking_shows_location_score_and_text():
    text = format_ranking([Suspicious("calc/ops.py", 5, 0.9, "result = a - b")])
    assert "calc/ops.py:5  0.900  result = a - b" in text
    assert "no suspicious lines" in format_ranking([])


@pytest.mark.slow
def test_localize_ranks_the_faulty_line_first_in_a_real_sandbox():
    from sandboxes import open_sandbox

    task = Task.load(FIXTURES / "calc")
    with open_sandbox(task.repo, backend="local") as sandbox:
        ranking = localize(sandbox, task, top_n=5, timeout=120, per_test_timeout=30)
    # The two lines of add() tie (both run by exactly the failing tests); nothing else scores.
    assert [s.location for s in ranking] == ["calc/ops.py:6", "calc/ops.py:5"]
    assert ranking[1].text == "result = a - b" and ranking[1].score == pytest.approx(1.0)
    assert not any(s.path.startswith("tests/") for s in ranking)


@pytest.mark.slow
def test_localize_uses_the_traceback_for_an_exception_bug():
    from sandboxes import open_sandbox

    task = Task.load(FIXTURES / "mean")
    with open_sandbox(task.repo, backend="local") as sandbox:
        ranking = localize(sandbox, task, top_n=5, timeout=120, per_test_timeout=30)
    assert ranking[0].location == "stats/core.py:3"


def test_coverage_of_a_large_suite_is_the_failing_tests_their_files_and_a_sample():
    small = Task(id="s", repo=FIXTURES / "calc", fail_to_pass=("t/test_a.py::f",),
                 pass_to_pass=("t/test_b.py::g",))
    assert coverage_tests(small) == ["t/test_a.py::f", "t/test_b.py::g"]
    others = tuple(f"t/test_o{i}.py::x" for i in range(100))
    big = Task(id="b", repo=FIXTURES / "calc", fail_to_pass=("t/test_a.py::f",),
               pass_to_pass=("t/test_a.py::g", *others, "t/test_a.py::h"))
    chosen = coverage_tests(big, most=11)
    assert chosen[:3] == ["t/test_a.py::f", "t/test_a.py::g", "t/test_a.py::h"]
    assert len(chosen) == len(set(chosen)) == 11
    assert chosen[3:] == [others[i * 100 // 8] for i in range(8)]  # spread over the others


@pytest.mark.slow
def test_localize_on_a_large_suite_covers_a_sample_and_still_finds_the_fault(tmp_path):
    from sandboxes import open_sandbox

    (tmp_path / "calc").mkdir()
    (tmp_path / "calc/__init__.py").write_text("")
    (tmp_path / "calc/ops.py").write_text(
        "def norm(x):\n    return abs(x)\n\n\ndef half(x):\n    return norm(x) * 2\n")
    (tmp_path / "test_many.py").write_text(
        "import pytest\nfrom calc.ops import half, norm\n\n\n"
        f"@pytest.mark.parametrize('x', range({COVERAGE_SAMPLE + 100}))\n"
        "def test_norm(x):\n    assert norm(-x) == x\n")
    (tmp_path / "test_half.py").write_text(
        "from calc.ops import half\n\n\ndef test_half():\n    assert half(4) == 2\n\n\n"
        "def test_half_zero():\n    assert half(0) == 0\n")
    many = tuple(f"test_many.py::test_norm[{x}]" for x in range(COVERAGE_SAMPLE + 100))
    task = Task(id="big", repo=tmp_path, fail_to_pass=("test_half.py::test_half",),
                pass_to_pass=("test_half.py::test_half_zero", *many))
    with open_sandbox(task.repo, backend="local") as sandbox:
        ranking, report = localize_report(sandbox, task, top_n=3, timeout=120)
    assert len(report.tests) == COVERAGE_SAMPLE
    assert ranking[0].location == "calc/ops.py:6"  # half() alone: norm() is run by passing tests


@pytest.mark.slow
def test_tests_that_pass_only_under_the_tracer_still_point_at_their_lines(tmp_path):
    from sandboxes import open_sandbox

    # traced() is true under coverage's tracer only: the test fails in a plain run and passes in
    # the coverage run, which then has no failing test of its own.
    (tmp_path / "env.py").write_text(
        "import sys\n\n\ndef traced():\n    return sys.gettrace() is not None\n\n\n"
        "def plain():\n    return 1\n")
    (tmp_path / "test_env.py").write_text(
        "from env import plain, traced\n\n\ndef test_traced():\n    assert traced()\n\n\n"
        "def test_plain():\n    assert plain() == 1\n")
    task = Task(id="traced", repo=tmp_path, fail_to_pass=("test_env.py::test_traced",),
                pass_to_pass=("test_env.py::test_plain",))
    with open_sandbox(task.repo, backend="local") as sandbox:
        ranking, report = localize_report(sandbox, task, top_n=3, timeout=120)
    assert not report.failing  # the tracer made it pass
    assert ranking[0].location == "env.py:5"
