"""The declared seams, checked on the source: the evaluation modules import each other without
a cycle (and each imports on its own), no library module imports the suite's maintainer script,
and agent reaches trainers only through the command table."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agent", "envs", "sandboxes", "trainers")


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT)
            if rel.parts[:2] in (("envs", "suite"), ("envs", "seeds")):
                continue  # data: the bundled suite's bases and the seed repos
            out[".".join(rel.with_suffix("").parts).removesuffix(".__init__")] = path
    return out


MODULES = _modules()


def imports_of(path: Path) -> set[str]:
    """Our modules that ``path`` imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def cycles(modules: list[str]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan) among ``modules``."""
    graph = {m: imports_of(MODULES[m]) & set(modules) - {m} for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return out


EVAL = sorted(m for m in MODULES if m.startswith("agent.eval"))


def test_the_evaluation_modules_have_no_import_cycle():
    assert len(EVAL) >= 9
    assert cycles(EVAL) == []
    # Nor through modules outside agent.eval, nor around the suite's loading or the trainers.
    ours = ("agent.eval", "envs.bugspecs", "envs.task", "trainers")
    assert [g for g in cycles(sorted(MODULES)) if any(m.startswith(ours) for m in g)] == []


@pytest.mark.parametrize("module", EVAL)
def test_each_evaluation_module_imports_on_its_own(module):
    proc = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_no_library_module_imports_the_maintainer_script():
    users = [m for m, path in MODULES.items()
             if m != "envs.suite_tools" and "envs.suite_tools" in imports_of(path)]
    assert users == []


def test_agent_reaches_trainers_only_through_the_command_table():
    users = [m for m, path in MODULES.items()
             if m.startswith("agent") and any(i.startswith("trainers") for i in imports_of(path))]
    assert users == []
    table = (ROOT / "agent" / "cli.py").read_text()
    assert table.count('TRAINER_COMMANDS = "trainers.cli"') == 1
