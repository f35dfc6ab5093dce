"""``agent bugs``: synthesize buggy tasks by mutating repositories whose tests pass."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import click

from agent.commands.common import sandbox_option
from sandboxes.config import SandboxConfig


@click.group()
def bugs() -> None:
    """Synthesize buggy tasks (training and evaluation data) by mutation."""


@bugs.command()
@click.argument("more_repos", nargs=-1, metavar="[REPOS]...",
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--repo", "repos", multiple=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A repository whose tests pass (repeatable; repos may also be given as "
                   "arguments, e.g. envs/seeds/*).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Suite directory the tasks are written into.")
@click.option("--n", default=20, show_default=True, type=click.IntRange(min=1),
              help="Tasks to keep per repository.")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Seed of the draw; the same seed gives the same tasks.")
@click.option("--source", default=None,
              help="Source name recorded in the tasks [default: the repo directory's name]; "
                   "only with a single --repo.")
@click.option("--max-tries", default=None, type=click.IntRange(min=1),
              help="Mutants to test per repository at most [default: 10 x n].")
@sandbox_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON line per kept task.")
def generate(more_repos: tuple[Path, ...], repos: tuple[Path, ...], out: Path, n: int, seed: int,
             source: str | None, max_tries: int | None, sandbox: SandboxConfig,
             as_json: bool) -> None:
    """Mutate each --repo's source files (never its tests) and keep the mutants that make at
    least one test fail while at least one still passes.

    Each kept mutant becomes a task in OUT: the buggy repo, fail_to_pass / pass_to_pass from the
    test run, the inverse edit as reference.patch, the mutation family as bug_class.
    """
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn)

    from envs.bugs import BugConfig
    from envs.bugs import generate as generate_bugs
    from envs.task import TaskError

    repos = tuple(dict.fromkeys(repos + more_repos))
    if not repos:
        raise TaskError("no repository given; pass --repo DIR (or the repo dirs as arguments)")
    if source is not None and len(repos) > 1:
        raise TaskError(f"--source names one repository's tasks, but {len(repos)} repos were "
                        "given; leave it out to use each repo's directory name")
    console = Console(stderr=True)
    made = []
    with Progress(TextColumn("{task.fields[repo]}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("kept · {task.fields[tries]} tried · {task.description}"),
                  TimeElapsedColumn(), console=console) as progress:
        for repo in repos:
            bar = progress.add_task("", total=n, repo=repo.name, tries=0)
            tried = [0]

            def on_attempt(attempt, bar=bar, tried=tried):
                tried[0] += 1
                m = attempt.mutation
                label = f"{m.family} {m.path}:{m.line}: {attempt.reason}"
                progress.update(bar, advance=1 if attempt.kept else 0, tries=tried[0],
                                description=label)
                if attempt.kept and as_json:
                    click.echo(json.dumps({"id": attempt.task.id, "bug_class": m.family,
                                           "source": attempt.task.source,
                                           "fail_to_pass": len(attempt.task.fail_to_pass)}))

            config = BugConfig(n=n, seed=seed, source=source, sandbox=sandbox, max_tries=max_tries)
            made += generate_bugs(repo, out, config, on_attempt=on_attempt)
    if not as_json:
        classes = Counter(t.bug_class for t in made)
        console.print(f"{len(made)} tasks from {len(repos)} repositories in {out}, "
                      f"{len(classes)} bug classes: "
                      + ", ".join(f"{c} {k}" for c, k in sorted(classes.items())))


@bugs.command()
@click.argument("suite", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--eval-fraction", default=0.2, show_default=True, type=click.FloatRange(0, 1),
              help="Share of source repositories held out for evaluation.")
@click.option("--seed", default=0, show_default=True, type=int)
def split(suite: Path, eval_fraction: float, seed: int) -> None:
    """Print a train / eval split of SUITE's task ids, disjoint by source repository (JSON)."""
    from envs.bugs import split_by_source
    from envs.task import load_suite

    train, held_out = split_by_source(load_suite(suite), eval_fraction, seed)
    click.echo(json.dumps({
        "train": {"sources": sorted({t.source for t in train}), "tasks": [t.id for t in train]},
        "eval": {"sources": sorted({t.source for t in held_out}),
                 "tasks": [t.id for t in held_out]},
    }, indent=2))
