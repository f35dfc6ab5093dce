"""Scoring: the reward formula, which changes count, and scoring in a real sandbox."""

from pathlib import Path

import pytest

from envs.reward import (
    compute_reward, is_doctest_item, is_test_path, score, shadows_tooling, tampers_with_tests,
    task_test_files,
)
from envs.task import Task

FIXTURES = Path(__file__).parent / "fixtures" / "env_tasks"
FIX = ("    result = a - b", "    result = a + b")


def test_resolved_only_when_every_test_passes():
    assert compute_reward({"f1": True, "f2": True}, {"p1": True}) == (1.0, True)
    assert compute_reward({"f1": True}, {}) == (1.0, True)
    reward, resolved = compute_reward({"f1": True, "f2": True}, {"p1": False, "p2": True})
    assert not resolved and reward < 1.0


@pytest.mark.parametrize("f2p, p2p, expected", [
    ({"f": False}, {"p": True}, 0.0),                               # nothing fixed, nothing broken
    ({"f1": True, "f2": False}, {"p": True}, 0.25),                 # half fixed
    ({"f1": True, "f2": True}, {"p1": False, "p2": True}, 0.2),     # fixed, one of two broken
    ({"f": False}, {"p1": False, "p2": True}, -0.05),               # broke one, fixed nothing
    ({"f": False}, {"p": False}, -0.1),                             # broke everything
])
def test_partial_credit_follows_the_documented_formula(f2p, p2p, expected):
    reward, resolved = compute_reward(f2p, p2p)
    assert not resolved
    assert reward == pytest.approx(expected)


def test_every_regression_costs():
    p2p = {f"p{i}": True for i in range(4)}
    rewards = []
    for broken in range(5):
        case = dict(p2p, **{f"p{i}": False for i in range(broken)})
        rewards.append(compute_reward({"f1": True, "f2": False}, case)[0])
    assert rewards == sorted(rewards, reverse=True) and len(set(rewards)) == 5


@pytest.mark.parametrize("path", [
    "tests/test_ops.py", "tests/helpers.py", "pkg/tests/data.json", "test/x.py", "test_ops.py",
    "pkg/ops_test.py", "conftest.py", "pkg/conftest.py", "pytest.ini", "tox.ini", "setup.cfg",
    "pyproject.toml", "sitecustomize.py", "lib/usercustomize.py", "evil.pth", "./tests/../conftest.py",
    "checks/spec_ops.py",
])
def test_test_files_and_test_config_are_test_paths(path):
    assert is_test_path(path, test_files={"checks/spec_ops.py"})


@pytest.mark.parametrize("path", ["calc/ops.py", "testing_utils.py", "pkg/contest.py",
                                  "latest/ops.py", "README.md"])
def test_source_files_are_not_test_paths(path):
    assert not is_test_path(path)


def test_task_test_files_come_from_node_ids():
    task = Task.load(FIXTURES / "calc")
    assert task_test_files(task) == {"tests/test_ops.py", "tests/test_stats.py"}


def test_doctests_of_source_modules_do_not_make_them_test_files():
    """--doctest-modules collects the code under repair itself (semver.py::semver.compare):
    were semver.py a test file, it could be neither localized in nor fixed."""
    doctests = ("semver.py::semver", "semver.py::semver.VersionInfo.bump_major",
                "src/pkg/mod.py::pkg.mod.f")
    kept = ("tests/test_a.py::test_one[1.2.3]", "check.py::test_x", "README.rst::README.rst",
            "tests/test_a.py::TestA::test_two", "test_semver.py::test_semver.f")
    task = Task(id="t", repo=FIXTURES / "calc", fail_to_pass=kept[:1],
                pass_to_pass=doctests + kept[1:])
    assert [n for n in doctests + kept if is_doctest_item(n)] == list(doctests)
    assert task_test_files(task) == {"tests/test_a.py", "check.py", "README.rst",
                                     "test_semver.py"}


@pytest.mark.parametrize("path, shadows", [
    ("pytest.py", True), ("_pytest/runner.py", True), ("xml/etree/ElementTree.py", True),
    ("json.py", True), ("coverage/__init__.py", True), ("_debug_agent_pytest_plugin.py", True),
    ("calc/json.py", False), ("calc/pytest.py", False), ("notes.txt", False), ("mymod.py", False),
])
def test_new_top_level_modules_that_shadow_the_test_run(path, shadows):
    assert shadows_tooling(path) is shadows


def test_added_lines_naming_test_machinery_count_as_tampering():
    old = "def add(a, b):\n    return a - b\n"
    assert not tampers_with_tests(old, old.replace("a - b", "a + b"))
    assert tampers_with_tests(old, "import pytest\n" + old)
    assert tampers_with_tests(old, old.replace("return a - b", "import _pytest.runner"))
    assert tampers_with_tests("", "from _pytest import junitxml\n")
    # Mentions already there at the start are not the policy's doing.
    assert not tampers_with_tests("# see conftest\nx = 1\n", "# see conftest\nx = 2\n")


# -- scoring in a real sandbox ----------------------------------------------------------------

@pytest.fixture
def calc():
    from sandboxes import open_sandbox

    task = Task.load(FIXTURES / "calc")
    with open_sandbox(task.repo, backend="local") as sandbox:
        yield task, sandbox


def _edit(sandbox, path, old, new):
    text = sandbox.read_file(path)
    assert old in text
    sandbox.write_file(path, text.replace(old, new))


@pytest.mark.slow
def test_an_honest_fix_scores_one_and_the_state_is_kept(calc):
    task, sandbox = calc
    _edit(sandbox, "calc/ops.py", *FIX)
    _edit(sandbox, "tests/test_ops.py", "== 12", "== 13")  # a test edit the score ignores
    before = sandbox.diff()
    result = score(sandbox, task, timeout=120, per_test_timeout=30)
    assert result.resolved and result.reward == 1.0
    assert result.dropped == ["tests/test_ops.py"]
    assert set(result.tests.values()) == {"passed"}
    assert sandbox.diff() == before  # scoring left the policy's state as it was


@pytest.mark.slow
def test_no_change_scores_zero_and_a_regression_scores_below_zero(calc):
    task, sandbox = calc
    assert score(sandbox, task, timeout=120, per_test_timeout=30).reward == 0.0
    _edit(sandbox, "calc/ops.py", "return a * b", "return a ** b")
    result = score(sandbox, task, timeout=120, per_test_timeout=30)
    assert result.reward < 0.0 and result.pass_to_pass_broken == 1
    assert result.tests["tests/test_ops.py::test_mul"] == "failed"


@pytest.mark.slow
def test_a_fix_with_a_regression_scores_below_the_fix(calc):
    task, sandbox = calc
    _edit(sandbox, "calc/ops.py", *FIX)
    _edit(sandbox, "calc/ops.py", "return a * b", "return a ** b")
    result = score(sandbox, task, timeout=120, per_test_timeout=30)
    assert not result.resolved
    assert 0.0 < result.reward < 0.5


@pytest.mark.slow
def test_unchanged_code_is_scored_by_the_first_run_without_running_it_again(calc):
    """With the run of the start state at hand, a state whose only changes are to tests scores
    as that run did (and runs nothing: identical code would repeat its hangs); a real change
    is run."""
    from sandboxes import counts, run_pytest

    task, sandbox = calc
    first = run_pytest(sandbox, list(task.tests), timeout=120, per_test_timeout=30)
    _edit(sandbox, "tests/test_ops.py", "== 12", "== 13")  # dropped by scoring
    before = counts.snapshot()["test_runs"]
    result = score(sandbox, task, timeout=120, per_test_timeout=30, baseline=first)
    assert counts.snapshot()["test_runs"] == before
    assert result.reward == 0.0 and result.report is first
    assert result.dropped == ["tests/test_ops.py"]
    assert result.tests == {t: first.result(t).status for t in task.tests}
    _edit(sandbox, "calc/ops.py", *FIX)
    fixed = score(sandbox, task, timeout=120, per_test_timeout=30, baseline=first)
    assert fixed.resolved and counts.snapshot()["test_runs"] == before + 1
