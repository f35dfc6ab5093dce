"""`agent bugs mine`: a git history built here (real git), its commits run in a real sandbox."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from agent.cli import main
from envs.mine import MineConfig, check_history, default_source, mine
from envs.task import Task, TaskError
from envs.validate import validate_task
from sandboxes.config import SandboxConfig

OPS = '''\
def add(a, b):
    return a + b


def mul(a, b):
    return {mul}


def div(a, b):
    return a / b
'''

TEST_ADD = '''\
from calc.ops import add


def test_add():
    assert add(2, 3) == 5
'''


def _commit(repo: Path, day: int, message: str, files: dict[str, str]) -> str:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    date = f"2020-01-{day:02d}T12:00:00+00:00"
    env = {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date,
           "GIT_CONFIG_GLOBAL": os.devnull}
    for args in (["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@example.com",
                                 "commit", "-q", "-m", message]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True, text=True,
                          capture_output=True).stdout.strip()


@pytest.fixture
def history(tmp_path) -> tuple[Path, dict[str, str]]:
    """calc: a root commit with a wrong mul, then one commit of each kind (newest last)."""
    repo = tmp_path / "calc"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    shas = {}
    shas["root"] = _commit(repo, 1, "calc", {
        "calc/__init__.py": "", "calc/ops.py": OPS.format(mul="a + b"),
        "tests/test_add.py": TEST_ADD})
    shas["fix"] = _commit(repo, 2, "mul: multiply, not add", {
        "calc/ops.py": OPS.format(mul="a * b"),
        "tests/test_mul.py": "from calc.ops import mul\n\n\ndef test_mul():\n"
                             "    assert mul(3, 4) == 12\n",
        "CHANGES.txt": "mul multiplies\n"})
    shas["refactor"] = _commit(repo, 3, "div: name the result", {
        "calc/ops.py": OPS.format(mul="a * b").replace(
            "    return a / b", "    quotient = a / b\n    return quotient"),
        "tests/test_div.py": "from calc.ops import div\n\n\ndef test_div():\n"
                             "    assert div(6, 3) == 2\n"})
    shas["still_failing"] = _commit(repo, 4, "div: try to handle zero", {
        "calc/ops.py": OPS.format(mul="a * b").replace(
            "    return a / b", "    if b == 0:\n        return None\n    return a / b"),
        "tests/test_zero.py": "from calc.ops import div\n\n\ndef test_zero():\n"
                              "    assert div(1, 0) == float('inf')\n"})
    shas["no_test"] = _commit(repo, 5, "add: docstring", {
        "calc/ops.py": (repo / "calc/ops.py").read_text().replace(
            "def add(a, b):\n", 'def add(a, b):\n    """a plus b"""\n')})
    shas["docs"] = _commit(repo, 6, "readme", {"README.md": "calc\n"})
    return repo, shas


def test_a_history_becomes_one_task_and_reasoned_rejects(history, tmp_path, backend):
    repo, shas = history
    out = tmp_path / "mined"
    decisions = mine(repo, out, MineConfig(sandbox=SandboxConfig(backend), source="calc"))
    by_sha = {d.commit.sha: d for d in decisions}
    assert set(by_sha) == set(shas.values()) - {shas["root"]}  # the root has no parent

    assert "changes no test file" in by_sha[shas["docs"]].reason
    assert "changes no test file" in by_sha[shas["no_test"]].reason
    assert "fail after the fix too" in by_sha[shas["still_failing"]].reason
    assert "tests/test_zero.py::test_zero" in by_sha[shas["still_failing"]].reason
    assert "no test fails before the fix" in by_sha[shas["refactor"]].reason
    kept = [d for d in decisions if d.kept]
    assert [d.commit.sha for d in kept] == [shas["fix"]]

    task = Task.load(out / f"calc-{shas['fix'][:10]}")
    assert task.fail_to_pass == ("tests/test_mul.py::test_mul",)
    assert task.pass_to_pass == ("tests/test_add.py::test_add",)
    assert task.source == "calc" and task.extra["commit"] == shas["fix"]
    assert task.extra["source_files"] == ["calc/ops.py"] and task.extra["source_lines"] == 2
    # The buggy repo: the parent's source, the commit's tests, the parent's other files.
    assert "return a + b" in (task.repo / "calc/ops.py").read_text().split("def mul")[1]
    assert (task.repo / "tests/test_mul.py").is_file()
    assert not (task.repo / "CHANGES.txt").exists() and not (task.repo / ".git").exists()
    # The reference patch is the commit's source diff only, and it fixes the task.
    assert "calc/ops.py" in task.reference_patch and "CHANGES" not in task.reference_patch
    assert "+    return a * b" in task.reference_patch
    check = validate_task(task, SandboxConfig(backend))
    assert check.ok, check.problems

    log = [json.loads(line) for line in (out / "mined.jsonl").read_text().splitlines()]
    assert {r["commit"] for r in log} == set(by_sha) and all(r["reason"] for r in log)
    # Resumable: a second run decides nothing again.
    assert mine(repo, out, MineConfig(sandbox=SandboxConfig(backend), source="calc")) == []


def test_max_and_retry(history, tmp_path):
    repo, shas = history
    out = tmp_path / "mined"
    first = mine(repo, out, MineConfig(sandbox=SandboxConfig("local"), max_tasks=1))
    assert [d.kept for d in first][-1] and sum(d.kept for d in first) == 1
    assert first[-1].commit.sha == shas["fix"]  # newest first: it stopped at the one task
    assert first[-1].task.id == f"calc-{shas['fix'][:10]}"  # default source: the dir's name
    # --retry runs again only the rejects that ran tests (refactor, still failing).
    again = mine(repo, out, MineConfig(sandbox=SandboxConfig("local"), retry=True))
    assert {d.commit.sha for d in again} == {shas["refactor"], shas["still_failing"]}


def test_cli_mines_and_says_what_it_did(history, tmp_path, capsys):
    repo, shas = history
    out = tmp_path / "mined"
    code = main(["bugs", "mine", str(repo), "--out", str(out), "--since", "2020-01-04T13:00",
                 "--sandbox", "local"])
    err = capsys.readouterr().err
    assert code == 0
    assert "0 tasks kept, 2 commits rejected" in " ".join(err.split())  # days 5 and 6 only
    assert not list(out.glob("*/task.json"))


def test_subject_filter_leaves_the_others_undecided(history, tmp_path, capsys):
    repo, shas = history
    out = tmp_path / "mined"
    code = main(["bugs", "mine", str(repo), "--out", str(out), "--subject", r"\b(try|readme)\b",
                 "--sandbox", "local"])
    assert code == 0
    log = [json.loads(line) for line in (out / "mined.jsonl").read_text().splitlines()]
    assert {r["commit"] for r in log} == {shas["still_failing"], shas["docs"]}  # case-insensitive
    # the others were not decided: a run without --subject still tries them (and keeps the fix)
    again = mine(repo, out, MineConfig(sandbox=SandboxConfig("local")))
    assert shas["fix"] in {d.commit.sha for d in again if d.kept}
    code = main(["bugs", "mine", str(repo), "--out", str(out), "--subject", "(fix"])
    err = capsys.readouterr().err
    assert code == 2 and "is not a regular expression" in err and "Traceback" not in err


@pytest.mark.parametrize("make, message", [
    (lambda p: p, "is not a git repository"),
    (lambda p: p / "missing", "is not a directory"),
])
def test_cli_bad_input_is_one_line(tmp_path, capsys, make, message):
    code = main(["bugs", "mine", str(make(tmp_path)), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_unknown_rev_and_source_names(history, tmp_path):
    repo, _ = history
    with pytest.raises(TaskError, match="has no commit 'nope'"):
        check_history(repo, "nope")
    assert default_source(tmp_path / "humanize" / "repo") == "humanize"
    assert default_source(tmp_path / "parse.git") == "parse"
    with pytest.raises(TaskError, match="max_tasks must be at least 1"):
        MineConfig(max_tasks=0)


def test_foreign_set_select_and_rebuild(history, tmp_path, capsys):
    """The manifest names commits only; build makes the same task again from the history."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import foreign_set

    repo, shas = history
    mined = tmp_path / "mined"
    mine(repo, mined, MineConfig(sandbox=SandboxConfig("local"), max_tasks=1, source="calc"))
    assert foreign_set.main(["select", str(mined), "--mirror", str(repo)]) == 0
    manifest = json.loads(capsys.readouterr().out)
    [entry] = manifest["tasks"]
    assert entry["commit"] == shas["fix"] and entry["repository"] == "calc"
    assert "2 changed source lines in calc/ops.py" in entry["reason"]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    rebuilt = tmp_path / "rebuilt"
    assert foreign_set.main(["build", "--mirror", str(repo), "--out", str(rebuilt),
                             "--manifest", str(tmp_path / "manifest.json"),
                             "--sandbox", "local"]) == 0
    again, first = Task.load(rebuilt / entry["id"]), Task.load(mined / entry["id"])
    assert (again.fail_to_pass, again.pass_to_pass) == (first.fail_to_pass, first.pass_to_pass)
    assert again.reference_patch == first.reference_patch
