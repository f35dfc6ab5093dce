"""`agent fix` end to end: a real repo, a real sandbox, real pytest, real git.

Most tests call the library function ``agent.fix.fix``; a few run the command itself for what
only it does (exit statuses, one-line errors, the printed JSON).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent.fix import FixConfig, apply_to_repo, fix
from agent.patches import patch_files
from envs.task import pytest_args
from sandboxes.config import SandboxConfig
from sandboxes.errors import UsageError

EXAMPLE = Path(__file__).parent.parent / "examples" / "shop"


def agent(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent", *args], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, **(env or {})}, timeout=600)


def tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and ".git" not in p.parts}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    repo = tmp_path / "shop"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    return repo


def git_init(repo: Path) -> None:
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t",
                                                 "commit", "-qm", "buggy"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


# -- bad input: one line, exit status 2, nothing changed ---------------------------------------

BAD = {"missing": "no such directory", "file": "is a file", "no_tests": "no tests found"}


def bad_repo(tmp_path: Path, make: str) -> Path:
    target = tmp_path / "x"
    if make == "file":
        target.write_text("not a dir")
    elif make == "no_tests":
        target.mkdir()
        (target / "mod.py").write_text("def f():\n    return 1\n")
    return target


@pytest.mark.parametrize("make", ["missing", "no_tests"])
def test_bad_repo_gets_one_line_and_status_2(tmp_path: Path, make: str) -> None:
    result = agent("fix", str(bad_repo(tmp_path, make)), "--sandbox", "local")
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert BAD[make] in lines[0]


def test_docker_engine_down_is_one_line(shop: Path) -> None:
    before = tree(shop)
    result = agent("fix", str(shop), "--sandbox", "docker",
                   env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1, result.stderr
    assert tree(shop) == before


@pytest.mark.parametrize("make", ["missing", "file", "no_tests"])
def test_fix_refuses_bad_input(tmp_path: Path, make: str) -> None:
    with pytest.raises(UsageError, match=BAD[make]):
        fix(bad_repo(tmp_path, make), FixConfig(sandbox=SandboxConfig("local")))


def test_nothing_to_fix_runs_the_tests_once(tmp_path: Path) -> None:
    repo = tmp_path / "ok"
    (repo / "tests").mkdir(parents=True)
    (repo / "m.py").write_text("def f():\n    return 1\n")
    (repo / "tests" / "test_m.py").write_text("from m import f\n\n\ndef test_f():\n    assert f() == 1\n")
    result = fix(repo, FixConfig(sandbox=SandboxConfig("local"), out=tmp_path / "run"))
    assert result.nothing_to_fix and result.resolved and result.best is None
    assert result.initial_tests == {"tests/test_m.py::test_f": "passed"}
    assert result.runs == {"sandboxes": 1, "test_runs": 1, "full_test_runs": 1, "coverage_runs": 0}
    payload = result.to_json()
    assert payload["nothing_to_fix"] is True and payload["tests"] == result.initial_tests
    assert json.loads(json.dumps(payload)) == payload


@pytest.fixture
def hard(tmp_path: Path) -> Path:
    """A repo whose failing test no candidate fix can pass."""
    repo = tmp_path / "hard"
    (repo / "tests").mkdir(parents=True)
    (repo / "m.py").write_text("def f():\n    return 1\n")
    (repo / "tests" / "test_m.py").write_text(
        "from m import f\n\n\ndef test_f():\n    assert f() == 'a string no operator makes'\n")
    return repo


def test_unfixable_repo_is_not_resolved_and_changes_nothing(hard: Path, tmp_path: Path) -> None:
    repo = hard
    before = tree(repo)
    result = fix(repo, FixConfig(sandbox=SandboxConfig("local"), apply=True, out=tmp_path / "run"))
    assert not result.resolved and result.applied is None
    assert result.fixed_tests == [] and result.best.exit_status == "submitted"
    assert result.message == "0/1 failing tests fixed, 0 broken"
    assert tree(repo) == before


def test_cli_exits_1_when_not_resolved(hard: Path) -> None:
    result = agent("fix", str(hard), "--sandbox", "local", "--apply")
    assert result.returncode == 1, result.stderr
    assert "not resolved" in result.stderr and "not applied" in result.stderr


def test_test_command_must_be_pytest() -> None:
    assert pytest_args("pytest tests/unit -k fast") == ("tests/unit", "-k", "fast")
    assert pytest_args("python -m pytest") == ()
    with pytest.raises(UsageError, match="must run pytest"):
        pytest_args("make test")
    with pytest.raises(UsageError, match="must run pytest"):
        FixConfig(test_command="make test")


# -- the real thing ----------------------------------------------------------------------------

@pytest.mark.slow
def test_fix_example_without_apply_leaves_repo_alone(shop: Path, tmp_path: Path,
                                                    backend: str) -> None:
    before = tree(shop)
    result = agent("fix", str(shop), "--sandbox", backend, "--json", "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["resolved"] is True
    assert set(payload["fixed_tests"]) == {"tests/test_pricing.py::test_discount_at_threshold",
                                          "tests/test_pricing.py::test_total_with_bulk_discount"}
    assert payload["broken_tests"] == []
    assert "shop/pricing.py" in payload["patch"]
    assert payload["localization"][0].startswith("shop/pricing.py:")
    assert payload["edited_lines"] == {"shop/pricing.py": [9]}
    assert tree(shop) == before
    trajectory = json.loads(Path(payload["trajectory_path"]).read_text())
    assert trajectory["format"] == "debug-agent.trajectory/1"
    assert trajectory["result"]["resolved"] is True
    # The printed patch applies to the untouched repo with real git and makes the tests pass.
    subprocess.run(["git", "apply", "-"], cwd=shop, input=payload["patch"], text=True, check=True)
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                           cwd=shop, capture_output=True, text=True)
    assert tests.returncode == 0, tests.stdout


@pytest.mark.slow
def test_fix_is_one_pass_and_applies_in_a_clean_git_repo(shop: Path, tmp_path: Path) -> None:
    git_init(shop)
    result = fix(shop, FixConfig(sandbox=SandboxConfig("local"), apply=True, out=tmp_path / "run"))
    assert result.resolved and result.applied.how == "git"
    assert result.applied.undo.startswith("git ")
    # One sandbox, one whole-suite run (the env's reset builds the task from it), one coverage
    # run (the env's localize, which the search reuses); the search validates in that sandbox.
    assert result.runs["sandboxes"] == 1
    assert result.runs["full_test_runs"] == 1 and result.runs["coverage_runs"] == 1
    diff = subprocess.run(["git", "-C", str(shop), "diff", "--name-only"], capture_output=True,
                          text=True).stdout.split()
    assert diff == ["shop/pricing.py"]
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                           cwd=shop, capture_output=True, text=True)
    assert tests.returncode == 0, tests.stdout


FIX = (
    "--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -8,3 +8,3 @@\n"
    '     """10% off the subtotal for carts of at least BULK_THRESHOLD items."""\n'
    "-    if cart.count() > BULK_THRESHOLD:\n+    if cart.count() >= BULK_THRESHOLD:\n"
    "         return round(cart.subtotal() * BULK_DISCOUNT, 2)\n"
)


def test_apply_refuses_dirty_git_tree(shop: Path) -> None:
    git_init(shop)
    (shop / "notes.txt").write_text("work in progress\n")
    before = tree(shop)
    with pytest.raises(UsageError, match="uncommitted changes"):
        apply_to_repo(shop, FIX)
    assert tree(shop) == before


def test_apply_outside_git_keeps_a_backup(shop: Path) -> None:
    original = (shop / "shop" / "pricing.py").read_text()
    applied = apply_to_repo(shop, FIX)
    assert applied.how == "backup"
    assert ">= BULK_THRESHOLD" in (shop / "shop" / "pricing.py").read_text()
    backups = list(shop.parent.glob(".shop.debug-agent-backup-*"))
    assert len(backups) == 1
    assert (backups[0] / "shop" / "pricing.py").read_text() == original
    assert patch_files(FIX) == ["shop/pricing.py"]


def test_patch_that_does_not_apply_changes_nothing(shop: Path) -> None:
    before = tree(shop)
    with pytest.raises(UsageError, match="does not apply"):
        apply_to_repo(shop, FIX.replace("> BULK", "< BULK"))
    assert tree(shop) == before
    assert not list(shop.parent.glob(".shop.debug-agent-backup-*"))
