"""The repair engine end to end: the search policy on small real repos in a real sandbox.

Each repo has a bug that no mutation operator inverts (a missing statement, a misspelled import,
a missing colon); the search must find the fix, and its stats must say how.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agent.loop import run_episode
from agent.policies.search import SearchPolicy
from envs.env import DebugEnv, EnvConfig
from envs.task import Task
from sandboxes.config import SandboxConfig


def make_repo(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def fix_with_search(repo: Path, f2p: list[str], p2p: list[str], backend: str, **options):
    """One episode of the search policy through the real loop; ({path: (old, new)}, stats)."""
    task = Task(id=repo.name, repo=repo, fail_to_pass=tuple(f2p), pass_to_pass=tuple(p2p))
    policy = SearchPolicy(time_budget_s=120, **options)
    with DebugEnv(EnvConfig(SandboxConfig(backend=backend), time_budget_s=200)) as env:
        result = run_episode(policy, env, task)
    assert result.resolved, result.exit_status
    fixed = {}
    for path in result.edited_lines:
        fixed[path] = ((repo / path).read_text(), _patched(repo, result.patch, path))
    return fixed, policy.stats


def _patched(repo: Path, patch: str, path: str) -> str:
    import shutil
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "repo"
        shutil.copytree(repo, copy)
        subprocess.run(["git", "apply", "-"], input=patch, text=True, cwd=copy, check=True)
        return (copy / path).read_text()


COUNTER = '''class Counter:
    def __init__(self):
        self.items = []
        self.count = 0

    def add(self, x):
        self.items.append(x)
        self.count += 1

    def add_many(self, xs):
        for x in xs:
            self.items.append(x)
        return self
'''

COUNTER_TESTS = '''from bag.counter import Counter


def test_add():
    c = Counter()
    c.add(1)
    assert c.count == 1


def test_add_many_counts():
    c = Counter().add_many([1, 2, 3])
    assert c.count == 3
    assert c.items == [1, 2, 3]
'''


@pytest.mark.slow
def test_missing_statement_is_found_among_the_ingredients(tmp_path: Path, backend: str) -> None:
    repo = make_repo(tmp_path / "bag", {
        "bag/__init__.py": "", "bag/counter.py": COUNTER,
        "bag/other.py": "def double(x):\n    return 2 * x\n",
        "tests/test_counter.py": COUNTER_TESTS,
        "tests/test_other.py": "from bag.other import double\n\n\ndef test_double():\n"
                               "    assert double(2) == 4\n",
    })
    fix, stats = fix_with_search(
        repo, ["tests/test_counter.py::test_add_many_counts"],
        ["tests/test_counter.py::test_add", "tests/test_other.py::test_double"], backend)
    assert set(fix) == {"bag/counter.py"}
    _, new = fix["bag/counter.py"]
    assert new.count("self.count += 1") == 2
    assert stats.family == "ingredient_insert"
    assert stats.line.startswith("bag/counter.py:") and stats.line_rank >= 1
    assert "tests/test_counter.py::test_add_many_counts" in stats.covering_tests
    assert stats.families["ingredient_insert"]["plausible"] >= 1
    assert stats.candidates >= 1


@pytest.mark.slow
def test_misspelled_import_and_missing_colon(tmp_path: Path, backend: str) -> None:
    repo = make_repo(tmp_path / "imp", {
        "shapes.py": "from collections import Ordereddict\n\n\ndef registry():\n"
                     "    return OrderedDict(a=1)\n",
        "geometry.py": "def area(w, h)\n    return w * h\n",
        "tests/test_shapes.py": "from shapes import registry\n\n\ndef test_registry():\n"
                                "    assert list(registry()) == ['a']\n",
        "tests/test_geometry.py": "from geometry import area\n\n\ndef test_area():\n"
                                  "    assert area(2, 3) == 6\n",
    })
    fix, stats = fix_with_search(repo, ["tests/test_shapes.py::test_registry"], [], backend)
    assert "OrderedDict" in fix["shapes.py"][1]
    assert stats.family in ("misspelled_import", "misspelled_name")
    fix, stats = fix_with_search(repo, ["tests/test_geometry.py::test_area"], [], backend)
    assert fix["geometry.py"][1].startswith("def area(w, h):\n")
    assert stats.family == "syntax_fix"


@pytest.mark.slow
def test_candidates_that_hang_cost_their_test_limit_not_the_budget(tmp_path: Path,
                                                                   backend: str) -> None:
    """A loop whose exit the mutants break: each hanging candidate stops at the per-test limit
    from the first run's durations, and the search ends well inside its budget."""
    repo = make_repo(tmp_path / "loop", {
        "loop.py": "def countdown(n):\n    out = []\n    while n > 0:\n        out.append(n)\n"
                   "        n -= 1\n    return out[1:]\n",
        "tests/test_loop.py": "from loop import countdown\n\n\ndef test_countdown():\n"
                              "    assert countdown(3) == [3, 2, 1]\n\n\ndef test_zero():\n"
                              "    assert countdown(0) == []\n",
    })
    started = time.monotonic()
    fix, _ = fix_with_search(repo, ["tests/test_loop.py::test_countdown"],
                                 ["tests/test_loop.py::test_zero"], backend)
    namespace: dict = {}
    # several edits are right (`out`, `out[0:]`): run the fixed function, which passed its tests
    exec(fix["loop.py"][1], namespace)  # noqa: S102
    assert namespace["countdown"](3) == [3, 2, 1]
    assert time.monotonic() - started < 100


@pytest.mark.slow
def test_two_faults_in_two_files_are_joined_in_one_round(tmp_path: Path, backend: str) -> None:
    """Each fault makes its own test fail: the two partial fixes found in the first round are
    tried together before a second round (and its coverage run) is spent on the second one."""
    repo = make_repo(tmp_path / "two", {
        "ops/__init__.py": "",
        "ops/add.py": "def add(a, b):\n    return a - b\n",
        "ops/scale.py": "def halve(x):\n    return x // 3\n",
        "tests/test_add.py": "from ops.add import add\n\n\ndef test_add():\n"
                             "    assert add(2, 3) == 5\n",
        "tests/test_scale.py": "from ops.scale import halve\n\n\ndef test_halve():\n"
                               "    assert halve(8) == 4\n\n\ndef test_zero():\n"
                               "    assert halve(0) == 0\n",
    })
    fix, stats = fix_with_search(repo, ["tests/test_add.py::test_add",
                                        "tests/test_scale.py::test_halve"],
                                 ["tests/test_scale.py::test_zero"], backend)
    assert set(fix) == {"ops/add.py", "ops/scale.py"}
    assert "a + b" in fix["ops/add.py"][1] and "x // 2" in fix["ops/scale.py"][1]
    assert stats.rounds == 1 and len(stats.history) == 1


@pytest.mark.slow
def test_the_time_budget_ends_the_search_unless_a_candidate_cap_is_given(tmp_path: Path) -> None:
    """No edit of one or two points makes the test pass: with ``max_candidates`` the search
    stops at exactly that many; without it (the default) it goes on past that point, until its
    time budget is spent or the candidates run out, and still ends within the budget."""
    repo = make_repo(tmp_path / "far", {
        "far.py": "def digest(words):\n    out = []\n    for w in words:\n"
                  "        out.append(w.upper())\n    return '-'.join(out)\n",
        "test_far.py": "from far import digest\n\n\ndef test_digest():\n"
                       "    assert digest(['a', 'b']) == 'q7#zz'\n\n\ndef test_empty():\n"
                       "    assert digest([]) == ''\n",
    })
    task = Task(id="far", repo=repo, fail_to_pass=("test_far.py::test_digest",),
                pass_to_pass=("test_far.py::test_empty",))
    for cap in (12, None):
        policy = SearchPolicy(time_budget_s=15, max_candidates=cap)
        started = time.monotonic()
        with DebugEnv(EnvConfig(SandboxConfig(backend="local"), time_budget_s=60)) as env:
            result = run_episode(policy, env, task)
        assert not result.resolved
        if cap is not None:
            assert policy.stats.candidates == cap
        else:
            assert policy.stats.candidates > 12 * 5, policy.stats.candidates
            assert time.monotonic() - started < 15 + 20
