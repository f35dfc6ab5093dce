"""The foreign development set: real bug fixes from public projects, rebuilt from mirrors.

Code and bugs written elsewhere, for developing the repair engine on something it was not built
from. Nothing fetched is committed: ``benchmarks/foreign_set.json`` names the chosen commits (ids
and shas, and why each was chosen), and ``build`` turns them back into tasks from mirrors of the
projects' histories given on the command line (``fetch github:lepture/mistune`` and the like
bring one; a plain ``git clone`` is as good).

    # choose: from histories mined with `agent bugs mine`, the small single fixes
    python benchmarks/foreign_set.py select MINED... --mirror DIR... > benchmarks/foreign_set.json
    # rebuild: one task per manifest entry, into a flat suite
    python benchmarks/foreign_set.py build --mirror DIR [--mirror DIR ...] --out SUITE

A task is chosen when its source diff is small (``--max-source-lines``, 10 by default: one bug,
not a feature) and at least one of its fail_to_pass tests fails by running, not only because a
name the test imports did not exist yet (that is a new feature, not a bug).

``select --single`` is stricter, for single-point bugs (most picks of the default were feature
changes): at most 3 changed source lines (unless ``--max-source-lines`` says otherwise), all in
one function of one file, every fail_to_pass test failing by an assertion or an exception (none
by a module that does not import), and a commit subject that says it fixes something.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from collections import Counter
from pathlib import Path

from envs.mine import (MineConfig, check_history, default_source, has_commit, load_commit,
                       try_commit)
from envs.task import Task, TaskError, load_suite
from sandboxes.config import SandboxConfig

MANIFEST = Path(__file__).with_name("foreign_set.json")
FORMAT = "debug-agent.foreign-set/1"


def repository_name(mirror: Path) -> str:
    """owner/name from a mirror's directory (``owner+name/repo``), else the directory's name."""
    return default_source(mirror).replace("+", "/", 1)


def chosen(task: Task, max_source_lines: int) -> str | None:
    """Why ``task`` belongs in the set, or None when it does not."""
    lines = task.extra.get("source_lines", 0)
    before = task.extra.get("fail_before", {})
    ran = [n for n, status in before.items() if status != "error"]
    if not 0 < lines <= max_source_lines or not ran:
        return None
    return (f"{len(task.fail_to_pass)} fail_to_pass ({len(ran)} failing by assertion or "
            f"exception), {lines} changed source lines in "
            f"{', '.join(task.extra.get('source_files', []))}")


#: Words of a commit subject that say it fixes something (not a feature or a refactoring).
FIX_WORDS = re.compile(r"\b(fix\w*|bug\w*|correct\w*|wrong|error|regression|broken|crash\w*|"
                       r"typo|issue|handle|prevent\w*|incorrect\w*|off.by.one)\b", re.IGNORECASE)
HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")


def changed_old_lines(patch: str) -> dict[str, set[int]]:
    """Per file of a unified diff, the lines of the old version it removes, or, for a hunk that
    only adds, the old line it adds after."""
    changed: dict[str, set[int]] = {}
    path, line = None, 0
    for text in patch.splitlines():
        if text.startswith("--- "):
            path = None
        elif text.startswith("+++ "):
            path = text[4:].removeprefix("b/")
            changed.setdefault(path, set())
        elif (match := HUNK.match(text)) and path:
            line = int(match[1])
        elif path and text.startswith("-"):
            changed[path].add(line)
            line += 1
        elif path and text.startswith("+"):
            changed[path].add(max(line - 1, 1))
        elif path and text.startswith(" "):
            line += 1
    return changed


def enclosing_function(source: str, lines: set[int]) -> str | None:
    """The name of the innermost function that holds every one of ``lines``, or None."""
    best = None
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                and all(node.lineno <= n <= node.end_lineno for n in lines)
                and (best is None or node.lineno >= best.lineno)):
            best = node
    return best.name if best else None


def single_point(task: Task, max_source_lines: int) -> str | None:
    """Why ``task`` is a single-point bug fix (see ``select --single``), or None."""
    lines = task.extra.get("source_lines", 0)
    before = task.extra.get("fail_before", {})
    subject = task.extra.get("subject", "")
    if not 0 < lines <= max_source_lines or not FIX_WORDS.search(subject):
        return None
    if not before or any(status == "error" for status in before.values()):
        return None
    changed = changed_old_lines(task.reference_patch or "")
    if len(changed) != 1:
        return None
    [(path, where)] = changed.items()
    try:
        function = enclosing_function((task.repo / path).read_text(), where)
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    if function is None:
        return None
    return (f"{len(task.fail_to_pass)} fail_to_pass (all failing by assertion or exception), "
            f"{lines} changed source lines in {function}() of {path}; subject {subject!r}")


def select(mined: list[Path], mirrors: list[Path], max_source_lines: int, per_project: int,
           single: bool = False) -> dict:
    entries = []
    for directory in mined:
        tasks = sorted(load_suite(directory), key=lambda t: t.extra.get("date", ""), reverse=True)
        taken = 0
        for task in tasks:
            reason = (single_point(task, max_source_lines) if single
                      else chosen(task, max_source_lines))
            if reason is None or taken >= per_project:
                continue
            sha = task.extra["commit"]
            repo = next((repository_name(m) for m in mirrors if has_commit(m, sha)), None)
            entries.append({"id": task.id, "project": task.source, "repository": repo,
                            "commit": sha, "source_lines": task.extra["source_lines"],
                            "fail_to_pass": len(task.fail_to_pass), "reason": reason})
            taken += 1
    return {"format": FORMAT, "max_source_lines": max_source_lines, "single": single,
            "tasks": entries}


def build(manifest: dict, mirrors: list[Path], out: Path, config: MineConfig) -> Counter:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=True)
    counts: Counter = Counter()
    out.mkdir(parents=True, exist_ok=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=console) as progress:
        bar = progress.add_task("foreign set", total=len(manifest["tasks"]))
        for entry in manifest["tasks"]:
            progress.update(bar, description=entry["id"])
            mirror = next((m for m in mirrors if has_commit(m, entry["commit"])), None)
            if (out / entry["id"] / "task.json").is_file():
                counts["already built"] += 1
            elif mirror is None:
                counts["no mirror"] += 1
                progress.console.print(f"{entry['id']}: no --mirror has commit "
                                       f"{entry['commit'][:12]} (fetch {entry['repository']})")
            else:
                decision = try_commit(mirror, load_commit(mirror, entry["commit"]), out, config,
                                      entry["project"])
                counts["built" if decision.kept else "rejected now"] += 1
                if not decision.kept:
                    progress.console.print(f"{entry['id']}: no longer a task here: "
                                           f"{decision.reason}", markup=False)
            progress.advance(bar)
    console.print(", ".join(f"{n} {what}" for what, n in counts.items()) + f" in {out}")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    pick = sub.add_parser("select", help="Choose tasks from mined suites; print the manifest.")
    pick.add_argument("mined", nargs="+", type=Path, help="Output dirs of `agent bugs mine`.")
    pick.add_argument("--mirror", action="append", type=Path, default=[],
                      help="The histories they were mined from (names the repositories).")
    pick.add_argument("--max-source-lines", type=int, default=None,
                      help="At most this many changed source lines [default: 10; 3 with "
                           "--single].")
    pick.add_argument("--per-project", type=int, default=8)
    pick.add_argument("--single", action="store_true",
                      help="Only single-point bug fixes: one function, failing by assertion or "
                           "exception, a subject that says it fixes something.")
    make = sub.add_parser("build", help="Rebuild the manifest's tasks from mirrors.")
    make.add_argument("--mirror", action="append", type=Path, required=True,
                      help="A git history (bare mirror or clone) of one of the projects.")
    make.add_argument("--out", type=Path, required=True, help="Suite directory to write.")
    make.add_argument("--manifest", type=Path, default=MANIFEST)
    make.add_argument("--sandbox", default="auto", choices=["auto", "docker", "local"])
    make.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    try:
        mirrors = [check_history(m) for m in args.mirror]
        if args.command == "select":
            limit = args.max_source_lines or (3 if args.single else 10)
            print(json.dumps(select(args.mined, mirrors, limit, args.per_project, args.single),
                             indent=1))
            return 0
        manifest = json.loads(args.manifest.read_text())
        if manifest.get("format") != FORMAT:
            raise TaskError(f"{args.manifest} is not a foreign-set manifest ({FORMAT})")
        counts = build(manifest, mirrors, args.out,
                       MineConfig(sandbox=SandboxConfig(args.sandbox), timeout=args.timeout))
    except (TaskError, OSError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0 if counts["built"] + counts["already built"] == len(manifest["tasks"]) else 1


if __name__ == "__main__":
    sys.exit(main())
