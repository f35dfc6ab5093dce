"""The DebugBench-shaped suite builder (benchmarks/debugbench.py), on a small history written here
in the mirror's shape: real git, real pytest."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from envs.task import load_suite
from envs.validate import validate_task
from sandboxes.config import SandboxConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import debugbench
from test_humanevalfix_bench import _bare, _commit, _git


def record(slug: str, oracle: str, buggy: str, *examples: str) -> dict:
    return {"slug": slug, "oracle_code": oracle, "buggy_code": buggy,
            "examples": list(examples), "explanations": "the bug", "level": "easy"}


KTH = ("class Solution:\n    def kthFactor(self, n: int, k: int) -> int:\n"
       "        found = [i for i in range(1, n + 1) if n % i == 0]\n"
       "        return found[k - 1] if k <= len(found) else -1")
CONDITION = [
    record("the-kth-factor-of-n", KTH, KTH.replace("k <= len", "k < len"),
           "Input: n = 12, k = 3\nOutput: 3\nExplanation: [1,2,3,4,6,12]",
           "Input: n = 4, k = 4\r\nOutput: -1", "Input: n = 7, k = 2\nOutput: 7",
           "Input: root = [1,null,2]\nOutput: [1,2]"),  # not this problem's arguments: dropped
    record("same-tree", "class Solution:\n    def isSameTree(self, p: Optional[TreeNode], "
           "q: Optional[TreeNode]) -> bool:\n        return p == q",
           "class Solution:\n    def isSameTree(self, p, q):\n        return p != q",
           "Input: p = [1,2], q = [1,2]\nOutput: true"),
    record("to-lower", "class Solution:\n    def toLowerCase(self, s: str) -> str:\n"
           "        return s.lower()",
           "class Solution:\n    def toLowerCase(self, s: str) -> str:\n"
           "        return s.lower() if s else s",  # the examples never reach the bug
           'Input: s = "Hello, World = x"\nOutput: "hello, world = x"'),
]
COLON = [record("the-kth-factor-of-n", KTH, KTH.replace("-> int:", "-> int"),
                "Input: n = 12, k = 3\nOutput: 3", "Input: n = 7, k = 2\nOutput: 7"),
         record("the-kth-factor-of-n", KTH, KTH.replace("if n % i", "iff n % i"),
                "Input: n = 12, k = 3\nOutput: 3")]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("debugbench")
    work = root / "work"
    (work / "benchmark").mkdir(parents=True)
    _git(work, "init", "-q")
    _commit(work, {"benchmark/python3_condition error.json": json.dumps(CONDITION),
                   "benchmark/python3_missing colons.json": json.dumps(COLON),
                   # two bugs at once: left out
                   "benchmark/python3_double.json": json.dumps(CONDITION[:1])}, "bugs")
    out = root / "suites" / "db"
    assert debugbench.main(["build", "--mirror", str(_bare(work, root / "db.git")),
                            "--out", str(out), "--split"]) == 0
    return out


def test_build_keeps_real_bugs_and_says_why_it_drops_the_others(built):
    records = [json.loads(line) for line in (built / "manifest.jsonl").read_text().splitlines()]
    why = {r["id"]: (r["kept"], r["reason"]) for r in records}
    assert why["dbench-condition-error-the-kth-factor-of-n"][0]
    assert why["dbench-condition-error-same-tree"] == (
        False, "its arguments are trees, lists or designed classes")
    assert why["dbench-condition-error-to-lower"] == (
        False, "the buggy module passes all 1 examples")
    # a category's second record of one problem gets its own id
    assert why["dbench-missing-colons-the-kth-factor-of-n"][0]
    assert why["dbench-missing-colons-the-kth-factor-of-n-2"][0]
    assert not any("double" in r["category"] for r in records)
    ids = {t.id for t in load_suite(built)}
    assert len(ids) == 3
    # one problem, one half, whatever its category
    half = debugbench.half("the-kth-factor-of-n")
    assert {t.id for t in load_suite(built.with_name(f"db-{half}"))} == ids


def test_each_example_is_a_test_of_the_stated_output(built):
    task = load_suite(built / "dbench-condition-error-the-kth-factor-of-n")[0]
    tests = (task.repo / "test_main.py").read_text()
    assert "assert Solution().kthFactor(n=12, k=3) == 3" in tests
    assert "assert Solution().kthFactor(n=4, k=4) == -1" in tests
    assert "root" not in tests  # an example of other arguments is no test
    assert task.fail_to_pass == ("test_main.py::test_example_3",)
    assert task.pass_to_pass == ("test_main.py::test_example_1", "test_main.py::test_example_2")
    assert task.bug_class == "condition error" and task.source == "debugbench"
    module = (task.repo / "main.py").read_text()
    assert module.startswith(debugbench.PRELUDE) and "k < len(found)" in module
    changed = [ln for ln in task.reference_patch.splitlines()
               if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    assert changed == ["-        return found[k - 1] if k < len(found) else -1",
                       "+        return found[k - 1] if k <= len(found) else -1"]
    syntax = load_suite(built / "dbench-missing-colons-the-kth-factor-of-n")[0]
    assert syntax.fail_to_pass == ("test_main.py",)  # the module does not import


def test_examples_parse_as_python_literals():
    assert debugbench.parse_example('Input: s = "a, b = c", t = true\nOutput: [null,1]') == (
        {"s": "a, b = c", "t": True}, [None, 1])
    assert debugbench.parse_example("Input: grid = [[1,2],[3,4]], k = 1\nOutput: false") == (
        {"grid": [[1, 2], [3, 4]], "k": 1}, False)
    assert debugbench.parse_example("Input: head = [1,2]\nExplanation: none") is None
    assert debugbench.parse_example("Input: n = 3 + x\nOutput: 1") is None


def test_measure_counts_by_category(built, tmp_path, capsys):
    run = {"rows": [{"task": "dbench-condition-error-the-kth-factor-of-n", "resolved": True,
                     "same_program_as_reference": True},
                    {"task": "dbench-missing-colons-the-kth-factor-of-n", "resolved": False,
                     "same_program_as_reference": False}], "median_s": 3.0, "p90_s": 4.0}
    (tmp_path / "run.json").write_text(json.dumps(run))
    assert debugbench.main(["measure", str(tmp_path / "run.json"), "--tasks", str(built)]) == 0
    out = capsys.readouterr().out
    assert "resolved 1/2; the same program as the reference (AST): 1/1" in out
    assert "condition error            1/1" in out and "missing colons             0/1" in out


def test_a_mirror_without_the_files_is_a_one_line_error(tmp_path, capsys):
    work = tmp_path / "work"
    work.mkdir()
    _git(work, "init", "-q")
    _commit(work, {"README.md": "not DebugBench"}, "init")
    assert debugbench.main(["build", "--mirror", str(work), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.startswith("error: ")


@pytest.mark.slow
def test_built_tasks_hold_under_pytest(built):
    """Buggy: the fail_to_pass tests fail, the others pass; the reference makes all pass."""
    for task in load_suite(built):
        check = validate_task(task, SandboxConfig("local"))
        assert check.ok, check.problems
