"""The synthetic bug generator: real pytest runs on real mutants of a small repo."""

import json
import subprocess
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.cli import cli
from envs.bugs import BugConfig, draw_order, generate, source_files, split_by_source
from envs.mutations import FAMILIES, enumerate_mutations
from envs.task import Task, TaskError, load_suite
from envs.validate import validate_task
from sandboxes.config import SandboxConfig

SEEDS = Path(__file__).resolve().parents[1] / "envs" / "seeds"

CODE = textwrap.dedent('''\
    def clamp(x, lo, hi):
        if x < lo:
            return lo
        if x > hi:
            return hi
        return x


    def mean(values):
        if not values:
            raise ValueError("mean of nothing")
        return sum(values) / len(values)
    ''')
TESTS = textwrap.dedent('''\
    import pytest

    from mathy import clamp, mean


    def test_clamp_low():
        assert clamp(-5, 0, 10) == 0


    def test_clamp_high():
        assert clamp(50, 0, 10) == 10


    def test_clamp_inside():
        assert clamp(3, 0, 10) == 3


    def test_mean():
        assert mean([1, 2, 3, 6]) == 3


    def test_mean_empty():
        with pytest.raises(ValueError):
            mean([])
    ''')


def make_repo(root: Path, tests: str = TESTS) -> Path:
    (root / "tests").mkdir(parents=True)
    (root / "mathy.py").write_text(CODE)
    (root / "tests" / "__init__.py").write_text("")
    (root / "tests" / "test_mathy.py").write_text(tests)
    (root / "conftest.py").write_text("")
    return root


def test_source_files_never_include_tests():
    files = source_files(SEEDS / "stacks")
    assert files == ["stacks/__init__.py", "stacks/containers.py", "stacks/uses.py"]
    assert source_files(SEEDS / "textkit") == ["textkit/__init__.py", "textkit/case.py",
                                                "textkit/layout.py"]


def test_draw_order_is_seeded_and_cycles_through_families():
    mutations = enumerate_mutations(CODE, "mathy.py")
    first, again = draw_order(mutations, 1), draw_order(mutations, 1)
    other = draw_order(mutations, 2)
    assert first == again and first != other
    assert sorted(first, key=mutations.index) == mutations  # a permutation
    families = {m.family for m in mutations}
    assert {m.family for m in first[:len(families)]} == families


def _task(task_id: str, source: str | None) -> Task:
    return Task(id=task_id, repo=Path("."), fail_to_pass=("t::a",), source=source)


def test_split_by_source_is_disjoint_and_seeded():
    tasks = [_task(f"{s}-{i}", s) for s in ("a", "b", "c", "d", "e") for i in range(3)]
    train, held = split_by_source(tasks, 0.4, seed=0)
    assert {t.source for t in train}.isdisjoint({t.source for t in held})
    assert len({t.source for t in held}) == 2 and len(train) + len(held) == len(tasks)
    assert split_by_source(tasks, 0.4, seed=0) == (train, held)
    splits = {tuple(sorted({t.source for t in split_by_source(tasks, 0.4, seed=s)[1]}))
              for s in range(10)}
    assert len(splits) > 1
    # never everything in eval, at least one source there
    assert len({t.source for t in split_by_source(tasks, 0.99)[0]}) == 1
    assert len({t.source for t in split_by_source(tasks, 0.01)[1]}) == 1


def test_split_errors():
    with pytest.raises(TaskError, match="at least 2 sources"):
        split_by_source([_task("x", "a"), _task("y", "a")], 0.5)
    with pytest.raises(TaskError, match="has no source"):
        split_by_source([_task("x", None)], 0.5)
    with pytest.raises(TaskError, match="between 0 and 1"):
        split_by_source([_task("x", "a")], 1.5)


@pytest.mark.slow
def test_repo_with_failing_tests_is_refused(tmp_path):
    repo = make_repo(tmp_path / "repo", TESTS.replace("== 3\n", "== 4\n", 1))
    with pytest.raises(TaskError, match="must all pass before mutating.*test_clamp_inside"):
        generate(repo, tmp_path / "out", BugConfig(n=1, sandbox=SandboxConfig("local")))


@pytest.mark.slow
def test_generate_keeps_real_bugs_and_is_deterministic(tmp_path):
    repo = make_repo(tmp_path / "mathy")
    config = BugConfig(n=3, seed=7, sandbox=SandboxConfig("local"), source="mathy-src")
    attempts = []
    first = generate(repo, tmp_path / "one", config, on_attempt=attempts.append)
    second = generate(repo, tmp_path / "two", config)
    assert len(first) == 3
    assert [t.id for t in first] == [t.id for t in second]
    for a, b in zip(load_suite(tmp_path / "one"), load_suite(tmp_path / "two")):
        assert a.to_json() == b.to_json() and a.reference_patch == b.reference_patch
    assert all(a.kept == (a.reason.endswith("failing")) for a in attempts)
    assert len({(t.repo / "mathy.py").read_text() for t in first}) == 3  # no duplicates
    for task in first:
        assert task.source == "mathy-src" and task.bug_class in FAMILIES
        assert task.fail_to_pass and task.pass_to_pass
        assert task.extra["mutation"]["path"] == "mathy.py"
        # tests are never mutated; the patch (git's format) restores the original source
        assert (task.repo / "tests" / "test_mathy.py").read_text() == TESTS
        assert (task.repo / "mathy.py").read_text() != CODE
        subprocess.run(["git", "apply", "-"], cwd=task.repo, input=task.reference_patch,
                       text=True, check=True)
        assert (task.repo / "mathy.py").read_text() == CODE


@pytest.mark.slow
def test_generated_task_validates_and_cli_writes_tasks(tmp_path, backend):
    repo = make_repo(tmp_path / "mathy")
    result = CliRunner().invoke(cli, ["bugs", "generate", "--repo", str(repo), "--out",
                                      str(tmp_path / "out"), "--n", "1", "--seed", "1",
                                      "--sandbox", backend, "--json"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout.strip().splitlines()[-1])
    task = load_suite(tmp_path / "out")[0]
    assert row["id"] == task.id and row["source"] == "mathy"
    check = validate_task(task, SandboxConfig(backend))
    assert check.ok, check.problems
