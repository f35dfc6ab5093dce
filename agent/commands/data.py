"""`agent data collect`: verified demonstrations for SFT."""

from __future__ import annotations

import click

from agent.commands.common import sandbox_option
from sandboxes.config import SandboxConfig


@click.group()
def data() -> None:
    """Collect verified demonstrations for training."""


@data.command("collect")
@click.option("--tasks", "tasks_dir", required=True, type=click.Path(exists=True),
              help="A task directory or a suite of them (e.g. from `agent bugs generate`).")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Output directory; a rerun skips the tasks already done there.")
@click.option("--policy", default="search", show_default=True,
              help="Demonstrating policy: search (model-free) or reference (replays "
                   "reference.patch).")
@click.option("--workers", default=1, show_default=True, help="Episodes run at once.")
@click.option("--max-steps", default=30, show_default=True, help="Step budget per episode.")
@click.option("--time-budget", "time_budget_s", default=600.0, show_default=True,
              help="Seconds per episode.")
@click.option("--max-context-chars", default=24_000, show_default=True,
              help="Character budget of the examples; match the hf policy's.")
@sandbox_option
def collect(tasks_dir: str, out: str, policy: str, workers: int, max_steps: int,
            time_budget_s: float, max_context_chars: int, sandbox: SandboxConfig) -> None:
    """Run a policy over tasks; keep the resolved episodes as a chat dataset.

    Writes OUT/trajectories/ (resolved episodes), OUT/unresolved/, OUT/dataset/ (a `datasets`
    dataset with a `messages` column, for `agent train sft --dataset OUT/dataset`) and
    OUT/manifest.json (task ids, bug classes, counts).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from trainers.data import CollectConfig
    from trainers.data import collect as run_collect

    try:
        config = CollectConfig(tasks=tasks_dir, out=out, policy=policy, workers=workers,
                               sandbox=sandbox, max_steps=max_steps,
                               time_budget_s=time_budget_s, max_context_chars=max_context_chars)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), transient=True) as progress:
        bar = progress.add_task("collecting", total=None)
        resolved = 0

        def on_done(task, ok):
            nonlocal resolved
            resolved += bool(ok)
            progress.update(bar, advance=1, description=f"collecting ({resolved} resolved)")

        summary = run_collect(config, on_done=on_done,
                              on_start=lambda n: progress.update(bar, total=n))
    total = summary.attempted + summary.skipped
    click.echo(f"{summary.resolved} resolved demonstrations of {total} tasks "
               f"({summary.attempted} run now, {summary.skipped} done before, "
               f"{len(summary.errors)} errors); {summary.dataset_rows} dataset rows in {out}")
    for task_id, error in summary.errors.items():
        click.echo(f"  {task_id}: {error}", err=True)
