"""``agent tasks``: check and inspect suites of buggy tasks."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import click

from agent.commands.common import sandbox_option
from sandboxes.config import SandboxConfig


@click.group()
def tasks() -> None:
    """Check and inspect buggy-task suites (a task dir, or a dir of them; 'bundled' names the
    bundled suite)."""


def _suite_arg(f):
    return click.argument("suite", required=False, type=click.Path(path_type=Path))(f)


def _load(suite: Path | None):
    from envs.task import bundled_suite_path, load_suite

    return load_suite(suite if suite is not None else bundled_suite_path())


@tasks.command("list")
@_suite_arg
@click.option("--json", "as_json", is_flag=True, help="One JSON object per task instead.")
def list_tasks(suite: Path | None, as_json: bool) -> None:
    """List the tasks of SUITE [default: the bundled suite]: id, bug class, number of tests."""
    from rich.console import Console
    from rich.table import Table

    loaded = _load(suite)
    if as_json:
        for task in loaded:
            click.echo(json.dumps({"id": task.id, "bug_class": task.bug_class,
                                   "source": task.source, "fail_to_pass": len(task.fail_to_pass),
                                   "pass_to_pass": len(task.pass_to_pass),
                                   "reference_patch": task.reference_patch is not None}))
        return
    table = Table(title=f"{len(loaded)} tasks")
    for column in ("id", "bug class", "source", "fail→pass", "pass→pass", "patch"):
        table.add_column(column, justify="right" if "pass" in column else "left")
    for task in loaded:
        table.add_row(task.id, task.bug_class or "-", task.source or "-",
                      str(len(task.fail_to_pass)), str(len(task.pass_to_pass)),
                      "yes" if task.reference_patch is not None else "no")
    console = Console()
    console.print(table)
    classes = Counter(t.bug_class or "-" for t in loaded)
    console.print(f"{len(classes)} bug classes: "
                  + ", ".join(f"{name} {n}" for name, n in sorted(classes.items())))


@tasks.command()
@_suite_arg
@sandbox_option
@click.option("--only", multiple=True, help="Validate only this task id (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per task instead.")
def validate(suite: Path | None, sandbox: SandboxConfig, only: tuple[str, ...],
             as_json: bool) -> None:
    """Check each task of SUITE [default: the bundled suite] in a sandbox.

    fail_to_pass tests must fail on the buggy repo, pass_to_pass tests must pass, and with the
    reference patch applied (git apply, in a temporary copy) every listed test must pass. Exits
    with status 1 when any task is invalid.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from envs.task import TaskError
    from envs.validate import validate_suite

    loaded = _load(suite)
    if only:
        unknown = sorted(set(only) - {t.id for t in loaded})
        if unknown:
            raise TaskError(f"no task {unknown[0]!r} in the suite; "
                            "`agent tasks list` shows the ids")
        loaded = [t for t in loaded if t.id in only]
    console = Console(stderr=True)
    with Progress(TextColumn("validating"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  disable=as_json) as progress:
        bar = progress.add_task("", total=len(loaded))

        def done(check):
            progress.update(bar, advance=1, description=check.task_id)
            if as_json:
                click.echo(json.dumps(check.to_json()))

        checks = validate_suite(loaded, sandbox, on_done=done)
    bad = [c for c in checks if not c.ok]
    if not as_json:
        table = Table(title=f"validation of {len(checks)} tasks ({sandbox.backend} sandbox)")
        for column in ("id", "bug class", "f→p", "p→p", "buggy", "patched", "s", "problem"):
            table.add_column(column, overflow="fold")
        mark = {True: "[green]ok[/]", False: "[red]bad[/]", None: "-"}
        for c in checks:
            table.add_row(c.task_id, c.bug_class or "-", str(c.n_fail_to_pass),
                          str(c.n_pass_to_pass), mark[c.buggy_ok], mark[c.patched_ok],
                          f"{c.duration_s:.1f}", "; ".join(c.problems))
        out = Console()
        out.print(table)
        classes = len({c.bug_class for c in checks})
        summary = (f"{len(checks) - len(bad)}/{len(checks)} tasks valid, {classes} bug classes, "
                   f"{sum(c.duration_s for c in checks):.0f}s")
        out.print(f"[red]{summary}[/]" if bad else f"[green]{summary}[/]")
    if bad:
        raise SystemExit(1)
