"""The foreign development set: real bug fixes from public projects' histories, rebuilt from mirrors.

Code and bugs written elsewhere, for developing the repair engine on something it was not built
from. Nothing fetched is committed: ``benchmarks/foreign_set.json`` names the chosen commits (ids
and shas, and why each was chosen), and ``build`` turns them back into tasks from mirrors of the
projects' histories given on the command line (``fetch github:lepture/mistune`` and the like
bring one; a plain ``git clone`` is as good).

    # choose: from histories mined with `agent bugs mine`, the small single fixes
    python benchmarks/foreign_set.py select MINED_DIR... --mirror DIR... > benchmarks/foreign_set.json
    # rebuild: one task per manifest entry, into a flat suite
    python benchmarks/foreign_set.py build --mirror DIR [--mirror DIR ...] --out SUITE

A task is chosen when its source diff is small (``--max-source-lines``, 10 by default: one bug,
not a feature) and at least one of its fail_to_pass tests fails by running, not only because a
name the test imports did not exist yet (that is a new feature, not a bug).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from envs.mine import MineConfig, check_history, default_source, load_commit, try_commit
from envs.task import Task, TaskError, load_suite
from sandboxes.config import SandboxConfig

MANIFEST = Path(__file__).with_name("foreign_set.json")
FORMAT = "debug-agent.foreign-set/1"


def has_commit(mirror: Path, sha: str) -> bool:
    import subprocess

    return subprocess.run(["git", "-C", str(mirror), "cat-file", "-e", sha + "^{commit}"],
                          capture_output=True).returncode == 0


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


def select(mined: list[Path], mirrors: list[Path], max_source_lines: int, per_project: int
           ) -> dict:
    entries = []
    for directory in mined:
        tasks = sorted(load_suite(directory), key=lambda t: t.extra.get("date", ""), reverse=True)
        taken = 0
        for task in tasks:
            reason = chosen(task, max_source_lines)
            if reason is None or taken >= per_project:
                continue
            sha = task.extra["commit"]
            repo = next((repository_name(m) for m in mirrors if has_commit(m, sha)), None)
            entries.append({"id": task.id, "project": task.source, "repository": repo,
                            "commit": sha, "source_lines": task.extra["source_lines"],
                            "fail_to_pass": len(task.fail_to_pass), "reason": reason})
            taken += 1
    return {"format": FORMAT, "max_source_lines": max_source_lines, "tasks": entries}


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
    pick.add_argument("--max-source-lines", type=int, default=10)
    pick.add_argument("--per-project", type=int, default=8)
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
            print(json.dumps(select(args.mined, mirrors, args.max_source_lines,
                                    args.per_project), indent=1))
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
