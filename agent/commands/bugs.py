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


@bugs.command()
@click.argument("repo", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Suite directory the tasks (and mined.jsonl, the log of decisions) go into.")
@click.option("--since", default=None, help="Only commits after this date (e.g. 2020-01-01).")
@click.option("--max", "max_tasks", default=None, type=click.IntRange(min=1),
              help="Stop after keeping this many tasks [default: walk the whole history].")
@click.option("--rev", default="HEAD", show_default=True, help="The history to walk.")
@click.option("--max-source-lines", default=None, type=click.IntRange(min=1),
              help="Skip commits whose source diff changes more lines than this.")
@click.option("--subject", default=None,
              help="Only commits whose subject matches this regular expression "
                   "(case-insensitive; e.g. 'fix').")
@click.option("--source", default=None,
              help="Source name recorded in the tasks [default: the repo directory's name].")
@click.option("--timeout", default=300.0, show_default=True, type=click.FloatRange(min=1),
              help="Seconds one whole-suite run may take.")
@click.option("--retry", is_flag=True,
              help="Try again the commits an earlier run rejected after running their tests.")
@sandbox_option
def mine(repo: Path, out: Path, since: str | None, max_tasks: int | None, rev: str,
         max_source_lines: int | None, subject: str | None, source: str | None, timeout: float,
         retry: bool, sandbox: SandboxConfig) -> None:
    """Turn REPO's git history into tasks: each commit that changes source and tests, whose
    tests fail on the parent's source and pass with the commit's, becomes one.

    The buggy repo is the parent's tree with the commit's tests; the commit's source diff is the
    reference patch. Resumable: commits already decided in OUT/mined.jsonl are skipped, and
    every reject is recorded there with its reason.
    """
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from envs.mine import MineConfig, check_history
    from envs.mine import mine as mine_history

    check_history(repo, rev)  # before the progress display, so a bad path is one line
    config = MineConfig(rev=rev, since=since, max_tasks=max_tasks,
                        max_source_lines=max_source_lines, subject=subject, source=source,
                        retry=retry,
                        sandbox=sandbox, timeout=timeout)
    console = Console(stderr=True)
    counts = Counter()
    with Progress(SpinnerColumn(), TextColumn("{task.fields[kept]} kept · {task.completed} "
                                              "decided · {task.description}"),
                  TimeElapsedColumn(), console=console) as progress:
        bar = progress.add_task("reading the history", kept=0, total=None)

        def on_decision(decision) -> None:
            counts["kept" if decision.kept else "rejected"] += 1
            label = f"{decision.commit.sha[:10]} {'kept' if decision.kept else 'rejected'}: "
            progress.update(bar, advance=1, kept=counts["kept"],
                            description=label + decision.reason[:70])
            if decision.kept or decision.duration_s:  # the ones that ran: worth a line each
                progress.console.print(label + decision.reason, markup=False, highlight=False)

        decisions = mine_history(repo, out, config, on_decision=on_decision)
    reasons = Counter(d.reason.split(":")[0].split(" (")[0] for d in decisions if not d.kept)
    console.print(f"{counts['kept']} tasks kept, {counts['rejected']} commits rejected this run, "
                  f"in {out}" + ("; rejects: " + ", ".join(f"{n} {r}" for r, n in
                                                          reasons.most_common(5))
                                 if reasons else ""), markup=False, highlight=False)
