"""The HumanEvalFix-shaped suite builder (benchmarks/humanevalfix.py) and the differential
behaviour check (benchmarks/behaviour.py), on small histories written here in the mirrors' shape:
real git, real pytest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from envs.task import load_suite
from envs.validate import validate_task
from sandboxes.config import SandboxConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import behaviour
import humanevalfix

GIT_ENV = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}

# N: (buggy solution, check body, canonical solution)
PROGRAMS = {
    0: ("def add(a, b):\n    return a - b\n",
        ("    assert add(1, 2) == 3\n    assert add(0, 0) == 0\n    assert True\n"
         "    for x in range(3):\n        assert add(x, 1) == x + 1\n"),
        "def add(a, b):\n    return a + b\n"),
    1: ("def double(x):\n    return x * 2 if x < 100 else x\n",  # the tests never reach the bug
        "    assert double(2) == 4\n    assert double(0) == 0\n",
        "def double(x):\n    return x * 2\n"),
    2: ("def neg(x):\n    return x\n",  # a "reference" that fails its own tests
        "    assert neg(1) == -1\n",
        "def neg(x):\n    return x + 1\n"),
    3: ("import math\n\n\ndef halve(n):\n    '''Half of n.'''\n    return n // 3\n",
        "    assert halve(4) == 2\n    assert halve(0) == 0\n",
        "import math\n\n\ndef halve(n):\n    '''Half of n.'''\n\n    return n // 2\n"),
}


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, env=GIT_ENV, check=True,
                          capture_output=True, text=True).stdout


def _commit(work: Path, files: dict[str, str | None], message: str) -> None:
    for name, text in files.items():
        if text is None:
            (work / name).unlink(missing_ok=True)
        else:
            (work / name).write_text(text)
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "--allow-empty", "-m", message)


def _bare(work: Path, dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(dest)], env=GIT_ENV,
                   check=True)
    return dest


@pytest.fixture(scope="module")
def mirrors(tmp_path_factory) -> tuple[Path, Path]:
    """(bugs, reference): bare histories shaped like the HumanEvalFix and HumanEvalPack ones."""
    root = tmp_path_factory.mktemp("mirrors")
    bugs, ref = root / "bugs-work", root / "ref-work"
    for work in (bugs, ref):
        work.mkdir()
        _git(work, "init", "-q")
    for n, (buggy, body, solution) in PROGRAMS.items():
        name = buggy.split("def ", 1)[1].split("(", 1)[0]
        check = f"def check({name}):\n{body}"
        # HumanEvalFix runs the example check on import; the builder must cut it out
        _commit(bugs, {"main.py": f"{buggy}{check}check({name})\n", "test.py": None},
                f"Task instance Python/{n}")
        _commit(bugs, {"test.py": f"from main import {name}\n\n\n{check}\ncheck({name})"},
                f"Task instance Python/{n} with tests")
        script = ref / humanevalfix.REFERENCE_PATH.format(n=n)
        script.parent.mkdir(parents=True)
        script.write_text(f"from typing import List\n\n{solution}\n\n{check}\n"
                          f"check({name})\n\nif __name__ == '__main__':\n    check({name})\n")
    _commit(ref, {}, "the canonical solutions")
    return _bare(bugs, root / "bugs.git"), _bare(ref, root / "ref.git")


@pytest.fixture(scope="module")
def built(mirrors, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("suites") / "hefix"
    bugs, ref = mirrors
    assert humanevalfix.main(["build", "--bugs", str(bugs), "--reference", str(ref),
                              "--out", str(out), "--split"]) == 0
    return out


def test_build_keeps_real_bugs_and_says_why_it_drops_the_others(built):
    records = {r["n"]: r for r in map(json.loads, (built / "manifest.jsonl").read_text()
                                      .splitlines())}
    assert {n: r["kept"] for n, r in records.items()} == {0: True, 1: False, 2: False, 3: True}
    assert "buggy module passes all 2 tests" in records[1]["reason"]
    assert "reference fails its tests: test_main.py::test_neg_1 (failed)" in records[2]["reason"]
    assert [r["half"] for r in records.values()] == ["dev", "eval", "dev", "eval"]
    assert [t.id for t in load_suite(built)] == ["hefix-0", "hefix-3"]
    assert [t.id for t in load_suite(built.with_name("hefix-dev"))] == ["hefix-0"]
    assert [t.id for t in load_suite(built.with_name("hefix-eval"))] == ["hefix-3"]


def test_each_assert_is_its_own_test_and_the_harness_is_gone(built):
    task = load_suite(built / "hefix-0")[0]
    module = (task.repo / "main.py").read_text()
    assert module == PROGRAMS[0][0]  # the buggy function verbatim, no check() on import
    tests = (task.repo / "test_main.py").read_text()
    assert "def test_add_3():\n    for x in range(3):\n        assert add(x, 1) == x + 1" in tests
    assert "assert True" not in tests  # asserts nothing: not a test
    assert set(task.fail_to_pass) == {"test_main.py::test_add_1", "test_main.py::test_add_3"}
    assert task.pass_to_pass == ("test_main.py::test_add_2",)
    assert task.extra["entry_point"] == "add" and task.extra["half"] == "dev"
    assert task.extra["probe_calls"] == ["(1, 2)", "(0, 0)"]


def test_the_reference_patch_is_the_fix_without_reformatting(built):
    patch = load_suite(built / "hefix-3")[0].reference_patch
    changed = [ln for ln in patch.splitlines()
               if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    # the canonical text has an extra blank line and an extra import; neither is the fix
    assert changed == ["-    return n // 3", "+    return n // 2"]


@pytest.mark.slow
def test_built_tasks_hold_under_pytest_in_a_sandbox(built):
    """Buggy: the fail_to_pass tests fail, the others pass; the reference makes all pass."""
    for task in load_suite(built):
        check = validate_task(task, SandboxConfig("local"))
        assert check.ok, check.problems


def test_behaviour_flags_a_difference_the_tests_miss_and_accepts_a_rewrite():
    reference = "def add(a, b):\n    return a + b\n"
    calls = behaviour.literal_calls("assert add(1, 2) == 3\nassert add(x, 1) == 2\n", "add")
    assert calls == ["(1, 2)"]  # add(x, 1) has a computed argument
    rewrite = behaviour.compare("def add(a, b):\n    return b + a\n", reference, "add", calls)
    assert rewrite.same and rewrite.probes == len(behaviour.probes(calls)) > 5
    overfit = behaviour.compare("def add(a, b):\n    return abs(a) + b\n", reference, "add",
                                calls)
    assert not overfit.same and overfit.differ >= 1
    assert "add(-1, 2): value 3 -> reference value 1" in overfit.examples


def test_behaviour_compares_exceptions_and_survives_hangs_and_output():
    reference = "def first(xs):\n    return xs[0]\n"
    calls = ["([3, 4],)"]
    same_error = behaviour.compare("def first(xs):\n    print('hi')\n    return xs[:1][0]\n",
                                   reference, "first", calls)
    assert same_error.same  # [] raises IndexError in both
    hangs = behaviour.compare("def first(xs):\n    while not xs:\n        pass\n"
                              "    return xs[0]\n", reference, "first", calls,
                              call_timeout=0.2)
    assert not hangs.same and "timeout" in hangs.examples[0]
    broken = behaviour.compare("def first(xs):\n    return\n  x\n", reference, "first", calls)
    assert broken.error and "the check failed" in broken.error


def test_measure_adds_behaviour_to_a_fix_suite_run(built):
    tasks = {t.id: t for t in load_suite(built)}
    overfit = humanevalfix.unified(PROGRAMS[0][0], "def add(a, b):\n    return abs(a) + b\n")
    run = {"tasks": 2, "resolved": 2, "same_program_as_reference": 1, "rows": [
        {"task": "hefix-0", "resolved": True, "same_program_as_reference": False,
         "patch": overfit},
        {"task": "hefix-3", "resolved": True, "same_program_as_reference": True,
         "patch": tasks["hefix-3"].reference_patch}]}
    summary = humanevalfix.measure(run, tasks)
    assert summary["same_behaviour"] == 1
    assert [r["same"] for r in summary["rows"]] == [False, True]


def test_build_says_what_is_wrong_with_a_history_that_is_not_the_mirror(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    _git(empty, "init", "-q")
    _commit(empty, {"README": "x"}, "something else")
    assert humanevalfix.main(["build", "--bugs", str(empty), "--out", str(tmp_path / "o")]) == 2
    assert "has no 'Task instance Python/N' commit pairs" in capsys.readouterr().err


def test_misses_write_up_the_development_half_only(built, tmp_path):
    runs = tmp_path / "runs"
    for task_id in ("hefix-0", "hefix-3"):  # 0 is a development task, 3 an evaluation task
        (runs / task_id).mkdir(parents=True)
        (runs / task_id / "result.json").write_text(json.dumps({
            "resolved": False, "exit_status": "submitted", "total_elapsed_s": 3.5,
            "localization": ["main.py:2"],
            "policy_stats": {"candidates": 4, "families": {"swap_operands": {"tried": 4}}}}))
    page = humanevalfix.misses(load_suite(built), runs)
    assert "## hefix-0 (`add`)" in page and "swap_operands 4" in page
    assert "-    return a - b\n+    return a + b" in page
    assert "hefix-3" not in page and "halve" not in page


# -- foreign_set.py select --single ---------------------------------------------------------------

CALC = "def area(w, h):\n    return w * h\n\n\ndef perimeter(w, h):\n    return w + h\n"


def _mined(tmp_path: Path, patch: str, subject: str, fail_before: dict, lines: int):
    from envs.task import Task

    repo = tmp_path / "task" / "repo"
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "calc.py").write_text(CALC)
    return Task(id="calc-1", repo=repo, fail_to_pass=tuple(fail_before), reference_patch=patch,
                extra={"source_lines": lines, "subject": subject, "fail_before": fail_before})


FIXED = CALC.replace("return w + h", "return 2 * (w + h)")
ONE = humanevalfix.unified(CALC, FIXED, "calc.py")  # one function
BOTH = humanevalfix.unified(CALC, FIXED.replace("w * h", "h * w"), "calc.py")  # two functions


def test_single_point_finds_the_function_a_patch_changes():
    import foreign_set

    assert foreign_set.changed_old_lines(ONE) == {"calc.py": {6}}
    assert foreign_set.changed_old_lines(BOTH) == {"calc.py": {2, 6}}
    assert foreign_set.enclosing_function(CALC, {6}) == "perimeter"
    assert foreign_set.enclosing_function(CALC, {2, 6}) is None


def test_single_point_wants_one_function_a_real_failure_and_a_fix(tmp_path):
    import foreign_set

    one, both = ONE, BOTH
    failed = {"tests/test_calc.py::test_perimeter": "failed"}
    task = _mined(tmp_path, one, "Fix perimeter of rectangles", failed, 2)
    assert "2 changed source lines in perimeter() of calc.py" in foreign_set.single_point(task, 3)
    assert foreign_set.single_point(_mined(tmp_path, both, "Fix it", failed, 4), 5) is None
    assert foreign_set.single_point(_mined(tmp_path, one, "Add perimeter", failed, 2), 3) is None
    errored = {"tests/test_calc.py::test_perimeter": "error"}  # a name that did not exist yet
    assert foreign_set.single_point(_mined(tmp_path, one, "Fix it", errored, 2), 3) is None
    assert foreign_set.single_point(_mined(tmp_path, one, "Fix it", failed, 4), 3) is None
