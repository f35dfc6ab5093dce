"""The model-free repair engine and its pieces, on real repos with real pytest."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.policies.search import WORKER_SOURCE, _span
from agent.policies.templates import guard_candidates, mutable_default_candidates
from envs.actions import format_action, make_edit, parse_action


def run_worker(repo: Path, request: dict) -> list[dict]:
    encoded = base64.b64encode(json.dumps(request).encode()).decode()
    out = subprocess.run([sys.executable, "-c", WORKER_SOURCE, encoded], cwd=repo,
                         capture_output=True, text=True, timeout=120)
    return [json.loads(line.split(" ", 1)[1]) for line in out.stdout.splitlines()
            if line.startswith("@@RESULT ")]


@pytest.fixture
def calc(tmp_path: Path) -> Path:
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n"
                                      "    return a * b\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_calc.py").write_text(
        "import time\nfrom calc import add, mul\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
        "def test_mul():\n    assert mul(2, 3) == 6\n")
    return tmp_path


def test_worker_validates_candidates_and_restores_files(calc: Path) -> None:
    original = (calc / "calc.py").read_text()
    request = {
        "candidates": [
            {"id": "minus", "files": {"calc.py": {"start": 1, "end": 2, "text": "    return a * b\n"}}},
            {"id": "plus", "files": {"calc.py": {"start": 1, "end": 2, "text": "    return a + b\n"}}},
            {"id": "never", "files": {"calc.py": {"start": 1, "end": 2, "text": "    return 5\n"}}},
        ],
        "f2p": ["tests/test_calc.py::test_add"], "p2p": ["tests/test_calc.py::test_mul"],
        "timeout": 30,
    }
    results = run_worker(calc, request)
    assert [r["id"] for r in results] == ["minus", "plus"]  # stops at the first full pass
    assert results[0]["f2p"] == {"tests/test_calc.py::test_add": "failed"}
    assert results[1]["f2p"] == {"tests/test_calc.py::test_add": "passed"}
    assert results[1]["p2p"] == {"tests/test_calc.py::test_mul": "passed"}
    assert (calc / "calc.py").read_text() == original


def test_worker_kills_a_hanging_candidate(calc: Path) -> None:
    request = {
        "candidates": [{"id": "hang", "files": {"calc.py": {
            "start": 1, "end": 2, "text": "    while True:\n        pass\n"}}}],
        "f2p": ["tests/test_calc.py::test_add"], "p2p": [], "timeout": 2,
    }
    results = run_worker(calc, request)
    assert results[0]["f2p"] == {"tests/test_calc.py::test_add": "timeout"}


def test_a_candidate_that_hangs_costs_one_test_limit_not_one_per_test(calc: Path) -> None:
    """Both failing tests would hang under the candidate: the first one's limit ends it."""
    request = {
        "candidates": [{"id": "hang", "files": {"calc.py": {
            "start": 0, "end": 6, "text": "def add(a, b):\n    while True:\n        pass\n\n\n"
                                          "def mul(a, b):\n    return add(a, b)\n"}}}],
        "f2p": ["tests/test_calc.py::test_add", "tests/test_calc.py::test_mul"], "p2p": [],
        "timeout": 3,
    }
    started = time.monotonic()
    results = run_worker(calc, request)
    assert results[0]["f2p"]["tests/test_calc.py::test_add"] == "timeout"
    assert results[0]["f2p"]["tests/test_calc.py::test_mul"] != "passed"
    assert time.monotonic() - started < 5.5  # 3 s for the first test, not 3 s more for the second


def test_span_turns_old_into_new() -> None:
    for old, new in [("a\nb\nc\n", "a\nB\nc\n"), ("a\nb", "a\nb\nc"), ("x\n", "y\nx\n"),
                     ("a\nb\nc\n", "a\nc\n")]:
        span = _span(old, new)
        lines = old.splitlines(True)
        lines[span["start"]:span["end"]] = [span["text"]]
        assert "".join(lines) == new


def test_make_edit_round_trips_and_applies() -> None:
    old = "def f(a, b):\n    return a - b\n\n\ndef g(a, b):\n    return a - b\n\nx = 1\n"
    new = "def f(a, b):\n    return a + b\n\n\ndef g(a, b):\n    return a - b\n\nx = 2\ny = 3\n"
    edit = make_edit("m.py", old, new)
    assert parse_action(format_action(edit)) == edit
    text = old
    for block in edit.blocks:
        assert text.count(block.search) == 1  # unique, so the env applies it unambiguously
        text = text.replace(block.search, block.replace)
    assert text == new
    assert make_edit("m.py", old, old) is None


def test_templates_propose_guards_and_fresh_defaults() -> None:
    source = ('def add(item, bucket=[]):\n    """Add."""\n    bucket.append(item)\n    return bucket\n\n\n'
              "def mean(xs):\n    return sum(xs) / len(xs)\n")
    fresh = mutable_default_candidates(source, "m.py", 3)
    assert len(fresh) == 1
    namespace: dict = {}
    exec(fresh[0].text, namespace)
    assert namespace["add"](1) == [1] and namespace["add"](2) == [2]
    guards = guard_candidates(source, "m.py", 8)
    fixed = [c for c in guards if "if not xs:\n        return 0" in c.text]
    assert fixed
    exec(fixed[0].text, namespace)
    assert namespace["mean"]([]) == 0


def test_templates_for_own_exceptions_format_specs_and_lookups() -> None:
    from agent.policies.templates import (exception_candidates, format_spec_candidates,
                                          membership_guard_candidates)

    source = ("from bank import InsufficientFunds\n\n\ndef pay(a):\n    try:\n        a.take()\n"
              "    except ValueError:\n        return False\n    return True\n")
    assert [c.description for c in exception_candidates(source, "m.py", 7)] == [
        "except ValueError -> except InsufficientFunds"]
    money = 'def cents(n):\n    return f"{n // 100}.{n % 100:2d}"\n'
    fixed = [c for c in format_spec_candidates(money, "m.py", 2) if ":02d}" in c.text]
    assert len(fixed) == 1
    namespace: dict = {}
    exec(fixed[0].text, namespace)
    assert namespace["cents"](105) == "1.05"
    lookup = ("def path(prev, dist, goal):\n    out = [goal]\n    while out[-1] in prev:\n"
              "        out.append(prev[out[-1]])\n    return dist[goal], out\n")
    guards = membership_guard_candidates(lookup, "m.py", 5)
    assert any("if goal not in dist:\n        return None" in c.text for c in guards)


def test_literal_templates() -> None:
    from agent.policies.templates import format_spec_candidates, literal_candidates

    base_case = "def power_set(xs):\n    if not xs:\n        return []\n    return xs\n"
    assert any("return [[]]" in c.text for c in literal_candidates(base_case, "m.py", 3))
    bump = "def major(v):\n    return V(v.major + 1, v.minor, 0)\n"
    assert any("V(v.major + 1, 0, 0)" in c.text for c in literal_candidates(bump, "m.py", 2))
    receipt = "def line(t):\n    return f\"{'TOTAL':<8}{t:>12}\"\n"
    assert any("{t:>12.2f}" in c.text for c in format_spec_candidates(receipt, "m.py", 2))


def test_missing_value_templates() -> None:
    from agent.policies.templates import missing_value_candidates

    size = ("class Stack:\n    def __init__(self):\n        self._size = 0\n\n"
            "    def __len__(self):\n        return None\n")
    assert any("        return self._size" in c.text for c in missing_value_candidates(size, "m.py", 6))
    pop = "def ok(stack, ch):\n    if stack or stack.pop() != ch:\n        return False\n"
    fixed = [c for c in missing_value_candidates(pop, "m.py", 2) if "if not stack or" in c.text]
    assert len(fixed) == 1


def test_two_partial_fixes_are_merged_unless_they_overlap() -> None:
    from agent.policies.search import _merged

    current = {"a.py": "x = 1\ny = 2\nz = 3\n", "b.py": "w = 0\n"}
    one = {**current, "a.py": "x = 10\ny = 2\nz = 3\n"}
    other_line = {**current, "a.py": "x = 1\ny = 2\nz = 30\n"}
    other_file = {**current, "b.py": "w = 5\n"}
    same_line = {**current, "a.py": "x = 11\ny = 2\nz = 3\n"}
    assert _merged(current, one, other_line)["a.py"] == "x = 10\ny = 2\nz = 30\n"
    assert _merged(current, one, other_file) == {"a.py": one["a.py"], "b.py": "w = 5\n"}
    assert _merged(current, one, same_line) is None
