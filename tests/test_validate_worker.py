"""The search's validation worker in real sandboxes: one pytest import, a fork per candidate."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.policies.search import _span, run_worker

CALC = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
ADD, MUL = "tests/test_calc.py::test_add", "tests/test_calc.py::test_mul"


@pytest.fixture
def calc(tmp_path: Path) -> Path:
    (tmp_path / "calc.py").write_text(CALC)
    (tmp_path / "tests").mkdir()
    # The tests reach the code only through a conftest fixture: the conftest must be honoured,
    # and imported afresh for every candidate (it imports the candidate's module).
    (tmp_path / "tests" / "conftest.py").write_text(
        "import pytest\n\nimport calc\n\n\n@pytest.fixture\ndef ops():\n"
        "    return calc.add, calc.mul\n")
    (tmp_path / "tests" / "test_calc.py").write_text(
        "def test_add(ops):\n    assert ops[0](2, 3) == 5\n\n\n"
        "def test_mul(ops):\n    assert ops[1](2, 3) == 6\n")
    return tmp_path


def candidate(name: str, text: str) -> dict:
    return {"id": name, "files": {"calc.py": _span(CALC, text)}}


def validate(sandbox, candidates, f2p, p2p, limits=None) -> dict[str, dict]:
    request = {"candidates": candidates, "f2p": f2p, "p2p": p2p, "timeout": 10,
               "stop_on_success": True, "p2p_from": 1, "deadline_s": 120}
    _, by_id = run_worker(sandbox, request, {"limits": limits or {}}, timeout=150)
    return by_id


@pytest.mark.slow
def test_conftest_imports_each_candidate_afresh_and_p2p_failures_count(make_sandbox, calc):
    sandbox = make_sandbox(calc)
    results = validate(sandbox, [
        candidate("still_wrong", CALC.replace("a - b", "a - b + 1")),
        candidate("breaks_mul", CALC.replace("a - b", "a + b").replace("a * b", "a + b")),
        candidate("fix", CALC.replace("a - b", "a + b")),
        candidate("never_run", CALC.replace("a - b", "b + a")),
    ], [ADD], [MUL])
    assert list(results) == ["still_wrong", "breaks_mul", "fix"]  # stops at the first fix
    assert results["still_wrong"]["f2p"] == {ADD: "failed"}
    assert "p2p_checked" not in results["still_wrong"]  # no pass-to-pass child for it
    assert results["breaks_mul"]["f2p"] == {ADD: "passed"}
    assert results["breaks_mul"]["p2p"] == {MUL: "failed"}  # fails only in the p2p child
    assert results["fix"]["f2p"] == {ADD: "passed"} and results["fix"]["p2p"] == {MUL: "passed"}
    assert sandbox.read_file("calc.py") == CALC  # every candidate's files put back


@pytest.mark.slow
def test_a_candidate_that_hangs_costs_its_tests_short_limit(make_sandbox, calc):
    """Both failing tests would hang: the first one's 1 s limit ends the candidate's child, and
    the next candidate still runs."""
    sandbox = make_sandbox(calc)
    hang = CALC.replace("    return a - b\n", "    while True:\n        pass\n")
    hang = hang.replace("    return a * b\n", "    return add(a, b)\n")
    results = validate(sandbox, [candidate("hang", hang),
                                 candidate("fix", CALC.replace("a - b", "a + b"))],
                       [ADD, MUL], [], limits={ADD: 1.0, MUL: 1.0})
    assert results["hang"]["f2p"][ADD] == "timeout"
    assert results["hang"]["f2p"][MUL] != "passed"
    assert results["hang"]["elapsed_s"] < 3.5  # 1 s for the first test, not 10 s, nor one more
    assert results["fix"]["f2p"] == {ADD: "passed", MUL: "passed"}
    assert sandbox.read_file("calc.py") == CALC
