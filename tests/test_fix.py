"""`agent fix` end to end: a real repo, a real sandbox, real pytest, real git."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent.fix import apply_patch, pytest_args
from agent.patches import patch_files
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

@pytest.mark.parametrize("make", ["missing", "file", "no_tests"])
def test_bad_repo_gets_one_line_and_status_2(tmp_path: Path, make: str) -> None:
    target = tmp_path / "x"
    if make == "file":
        target.write_text("not a dir")
    elif make == "no_tests":
        target.mkdir()
        (target / "mod.py").write_text("def f():\n    return 1\n")
    result = agent("fix", str(target), "--sandbox", "local")
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    expected = {"missing": "no such directory", "file": "is a file",
                "no_tests": "no tests found"}[make]
    assert expected in lines[0]


def test_docker_engine_down_is_one_line(shop: Path) -> None:
    before = tree(shop)
    result = agent("fix", str(shop), "--sandbox", "docker",
                   env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1, result.stderr
    assert tree(shop) == before


def test_nothing_to_fix_exits_0(tmp_path: Path) -> None:
    repo = tmp_path / "ok"
    (repo / "tests").mkdir(parents=True)
    (repo / "m.py").write_text("def f():\n    return 1\n")
    (repo / "tests" / "test_m.py").write_text("from m import f\n\n\ndef test_f():\n    assert f() == 1\n")
    result = agent("fix", str(repo), "--sandbox", "local", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["nothing_to_fix"] is True
    assert payload["tests"] == {"tests/test_m.py::test_f": "passed"}


def test_unfixable_repo_exits_1_and_changes_nothing(tmp_path: Path) -> None:
    repo = tmp_path / "hard"
    (repo / "tests").mkdir(parents=True)
    (repo / "m.py").write_text("def f():\n    return 1\n")
    (repo / "tests" / "test_m.py").write_text(
        "from m import f\n\n\ndef test_f():\n    assert f() == 'a string no operator makes'\n")
    before = tree(repo)
    result = agent("fix", str(repo), "--sandbox", "local", "--apply")
    assert result.returncode == 1, result.stderr
    assert "not resolved" in result.stderr
    assert tree(repo) == before


def test_test_command_must_be_pytest() -> None:
    assert pytest_args("pytest tests/unit -k fast") == ("tests/unit", "-k", "fast")
    assert pytest_args("python -m pytest") == ()
    with pytest.raises(UsageError, match="must run pytest"):
        pytest_args("make test")


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
def test_fix_apply_in_clean_git_repo(shop: Path) -> None:
    git_init(shop)
    result = agent("fix", str(shop), "--sandbox", "local", "--apply")
    assert result.returncode == 0, result.stderr
    assert "to undo: git" in result.stderr
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
        apply_patch(shop, FIX)
    assert tree(shop) == before


def test_apply_outside_git_keeps_a_backup(shop: Path) -> None:
    original = (shop / "shop" / "pricing.py").read_text()
    applied = apply_patch(shop, FIX)
    assert applied.how == "backup"
    assert ">= BULK_THRESHOLD" in (shop / "shop" / "pricing.py").read_text()
    backups = list(shop.parent.glob(".shop.debug-agent-backup-*"))
    assert len(backups) == 1
    assert (backups[0] / "shop" / "pricing.py").read_text() == original
    assert patch_files(FIX) == ["shop/pricing.py"]


def test_patch_that_does_not_apply_changes_nothing(shop: Path) -> None:
    before = tree(shop)
    with pytest.raises(UsageError, match="does not apply"):
        apply_patch(shop, FIX.replace("> BULK", "< BULK"))
    assert tree(shop) == before
    assert not list(shop.parent.glob(".shop.debug-agent-backup-*"))
