"""The bundled suite: its shape (fast), repairability by mutation, and validation (slow)."""

import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.cli import cli
from envs.bugspecs import SpecError, load_specs, materialize
from envs.suite_tools import fixable_by_one_mutation
from envs.task import TaskError, bundled_suite_path, load_suite
from envs.validate import validate_task
from sandboxes import apply_patch
from sandboxes.config import SandboxConfig

SUITE = load_suite(bundled_suite_path())
SPECS = load_specs(bundled_suite_path())


def test_suite_size_and_classes():
    assert len(SUITE) >= 44
    classes = Counter(t.bug_class for t in SUITE)
    assert len(classes) >= 12, classes
    assert all(n >= 3 for n in classes.values()), classes


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def test_materialized_suite_matches_its_specs(tmp_path):
    """A fresh materialization: each task is its base with the bug's diff applied, the listed
    tests of its spec, and a reference patch that turns the repo back into the base exactly."""
    root = materialize(bundled_suite_path(), cache=tmp_path / "cache")
    tasks = load_suite(root)
    assert [t.id for t in tasks] == [s.id for s in SPECS] == [t.id for t in SUITE]
    for spec, task in zip(SPECS, tasks):
        base = _tree(bundled_suite_path() / "bases" / spec.base)
        repo = _tree(task.repo)
        assert sorted(repo) == sorted(base), spec.id
        changed = sorted(rel for rel in repo if repo[rel] != base[rel])
        assert changed == sorted(spec.files) == sorted(task.extra["files"]), spec.id
        assert (task.fail_to_pass, task.pass_to_pass) == (spec.fail_to_pass, spec.pass_to_pass)
        assert (task.bug_class, task.source, task.extra["base"]) == (
            spec.bug_class, spec.source, spec.base)
        fixed = tmp_path / "fixed" / spec.id
        shutil.copytree(task.repo, fixed)
        apply_patch(fixed, task.reference_patch)
        assert _tree(fixed) == base, spec.id


def test_a_changed_spec_materializes_afresh_and_racing_loads_agree(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    suite = tmp_path / "suite"
    shutil.copytree(bundled_suite_path(), suite, ignore=shutil.ignore_patterns("__pycache__"))
    cache = tmp_path / "cache"
    with ThreadPoolExecutor(4) as pool:
        roots = set(pool.map(lambda _: materialize(suite, cache=cache), range(4)))
    assert len(roots) == 1 and [p.name for p in cache.iterdir()] == [roots.pop().name]
    spec = suite / "bugs" / "ledger-withdraw-boundary.json"
    meta = json.loads(spec.read_text())
    meta["pass_to_pass"] = meta["pass_to_pass"][1:]
    spec.write_text(json.dumps(meta))
    task = next(t for t in load_suite(materialize(suite, cache=cache))
                if t.id == "ledger-withdraw-boundary")
    assert list(task.pass_to_pass) == meta["pass_to_pass"] and len(list(cache.iterdir())) == 2
    (suite / "bugs" / "ledger-withdraw-boundary.diff").write_text(
        "diff --git a/ledger/account.py b/ledger/account.py\n--- a/ledger/account.py\n"
        "+++ b/ledger/account.py\n@@ -1,1 +1,1 @@\n-not there\n+x\n")
    with pytest.raises(SpecError, match="ledger-withdraw-boundary: its diff does not"):
        materialize(suite, cache=cache)


def test_an_unwritable_cache_is_a_one_line_error(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    monkeypatch.setenv("DEBUG_AGENT_SUITE_CACHE", str(blocked / "cache"))
    with pytest.raises(SpecError, match="set DEBUG_AGENT_SUITE_CACHE to a writable directory"):
        materialize(bundled_suite_path())


def test_the_bundled_suite_has_names_that_work_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert [t.id for t in load_suite("envs/suite")] == [t.id for t in SUITE]
    assert [t.id for t in load_suite("bundled")] == [t.id for t in SUITE]
    with pytest.raises(TaskError, match="no such task directory: nowhere"):
        load_suite("nowhere")


@pytest.mark.parametrize("task", SUITE, ids=lambda t: t.id)
def test_task_shape(task, tmp_path):
    assert task.source == "bundled" and task.bug_class
    assert task.fail_to_pass and task.pass_to_pass
    assert not set(task.fail_to_pass) & set(task.pass_to_pass)
    assert all("::" in n and n.startswith("tests/") for n in task.tests)
    tests = [p for p in task.repo.rglob("test_*.py")]
    sources = [p for p in task.repo.rglob("*.py")
               if "tests" not in p.relative_to(task.repo).parts and p.name != "__init__.py"]
    assert 1 <= len(sources) <= 4 and tests
    assert 3 <= len(task.tests) <= 15
    # the patch is git's, relative to the repo root, and applies there (checked in a copy)
    assert task.reference_patch.startswith("diff --git a/")
    shutil.copytree(task.repo, tmp_path / "repo")
    proc = subprocess.run(["git", "apply", "--check", "-"], cwd=tmp_path / "repo",
                          input=task.reference_patch, text=True, capture_output=True)
    assert proc.returncode == 0, proc.stderr


def test_some_bugs_span_two_files_and_most_repos_are_packages():
    files = [len(t.extra["files"]) for t in SUITE]
    assert files.count(2) >= 2
    assert len({t.extra["base"] for t in SUITE}) >= 10


def test_mutation_repair_fixes_most_but_not_all():
    fixed = [t.id for t in SUITE if fixable_by_one_mutation(t)]
    share = len(fixed) / len(SUITE)
    assert 0.75 <= share < 1.0, (len(fixed), len(SUITE))


def test_list_command():
    result = CliRunner().invoke(cli, ["tasks", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == len(SUITE) and rows[0]["fail_to_pass"] >= 1


def _copy_task(task, tmp_path: Path) -> Path:
    target = tmp_path / task.id
    shutil.copytree(task.path, target)
    return target


@pytest.mark.slow
def test_validation_catches_a_wrong_listing_and_a_bad_patch(tmp_path, backend):
    task = next(t for t in SUITE if t.id == "nested-depth-base")
    bad = _copy_task(task, tmp_path)
    meta = json.loads((bad / "task.json").read_text())
    meta["fail_to_pass"], meta["pass_to_pass"] = (meta["fail_to_pass"] + meta["pass_to_pass"][:1],
                                                  meta["pass_to_pass"][1:])
    (bad / "task.json").write_text(json.dumps(meta))
    (bad / "reference.patch").write_text(task.reference_patch.replace("return 1", "return 7"))
    check = validate_task(load_suite(bad)[0], SandboxConfig(backend))
    assert not check.ok
    assert any("do not fail on the buggy repo" in p for p in check.problems)
    assert check.patched_ok is False
    assert (bad / "repo" / "nested" / "lists.py").read_text() == \
        (task.repo / "nested" / "lists.py").read_text()  # never patched in place
    result = CliRunner().invoke(cli, ["tasks", "validate", str(bad), "--sandbox", backend,
                                      "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout.splitlines()[-1])["ok"] is False


@pytest.mark.slow
def test_whole_bundled_suite_is_valid():
    from envs.validate import validate_suite

    checks = validate_suite(SUITE, SandboxConfig("local"))
    bad = {c.task_id: c.problems for c in checks if not c.ok}
    assert not bad
    assert len(checks) >= 40 and len({c.bug_class for c in checks}) >= 10
