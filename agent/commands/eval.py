"""`agent eval`: run a policy over a suite; `agent eval compare` and `agent eval export`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from agent.commands.common import policy_options, sandbox_option

from sandboxes.errors import UsageError

EVAL_POLICIES = ("search", "hf", "openai", "reference")


def policy_spec(policy: str, *, model: str | None, adapter: str | None, load_4bit: bool,
                base_url: str | None, timeout_s: float,
                extra: dict[str, Any]):
    """The PolicySpec the CLI flags describe (built again inside each worker)."""
    from agent.eval import PolicySpec

    if policy == "search":
        options: dict[str, Any] = {"time_budget_s": timeout_s * 0.8}
    elif policy == "hf":
        options = {"model": model, "adapter": adapter, "load_4bit": load_4bit or None}
    elif policy == "openai":
        options = {"model": model, "base_url": base_url}
    else:
        options = {}
    options.update(extra)
    return PolicySpec(policy, {k: v for k, v in options.items() if v is not None})


def _parse_extra(pairs: tuple[str, ...]) -> dict[str, Any]:
    extra = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--policy-option takes KEY=VALUE, got {pair!r}")
        try:
            extra[key] = json.loads(value)  # numbers, true/false, lists
        except json.JSONDecodeError:
            extra[key] = value
    return extra


class RunProgress:
    """Live display of a run's events: a bar with done / resolved / errors / elapsed / ETA, and a
    line per task (also `agent data collect`'s, which is an eval run)."""

    def __init__(self, console: Any, label: str = "eval") -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console = console
        self.progress = Progress(
            SpinnerColumn(), TextColumn(label), BarColumn(), MofNCompleteColumn(),
            TextColumn("[green]resolved {task.fields[resolved]}"),
            TextColumn("[red]errors {task.fields[errors]}"),
            TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=console, transient=False,
        )
        self.bar = None
        self.latest: dict[str, dict[str, Any]] = {}

    def _update(self, advance: int) -> None:
        rows = self.latest.values()
        self.progress.update(self.bar, advance=advance, resolved=sum(r.resolved for r in rows),
                             errors=sum(r.error_kind is not None for r in rows))

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "start":
            self.console.print(f"{data['total']} tasks: {data['todo']} to run"
                               + (f", {data['skipped']} already done" if data["skipped"] else ""))
            self.progress.start()
            self.bar = self.progress.add_task("eval", total=data["total"],
                                              completed=data["skipped"], resolved=0, errors=0)
        elif kind == "record":
            r = data["record"]
            self.latest[r.task_id] = r
            mark = ("[green]resolved" if r.resolved else
                    "[red]" + r.status_text[:100] if r.error_kind else "[yellow]not resolved")
            self.console.print(f"{r.task_id}: {mark}[/] ({r.result.steps} steps, {r.wall_s:.1f} s)")
            self._update(advance=1)
        elif kind == "retry":
            self.console.print(f"{data['task_id']}: retrying (attempt {data['attempt']})")
            self.latest.pop(data["task_id"], None)
            self._update(advance=-1)
        elif kind == "end":
            self.stop()

    def stop(self) -> None:
        self.progress.stop()


@click.group("eval", invoke_without_command=True,
             context_settings={"show_default": True})
@click.option("--tasks", "tasks_dir", type=click.Path(path_type=Path), default=None,
              help="Suite directory (a directory of task directories), or 'bundled' for the "
                   "bundled suite. Required to run.")
@policy_options(choices=EVAL_POLICIES)
@click.option("--policy-option", "policy_extra", multiple=True, metavar="KEY=VALUE",
              help="Further policy constructor option (repeatable), e.g. temperature=0.2.")
@click.option("--workers", default=1, type=click.IntRange(min=1), help="Tasks run at once.")
@sandbox_option
@click.option("--samples", default=1, type=click.IntRange(min=1),
              help="Episodes per task; the most tests passing, then the smallest patch, is kept.")
@click.option("--max-steps", default=30, type=click.IntRange(min=1), help="Actions per episode.")
@click.option("--timeout", "timeout_s", default=600.0, type=click.FloatRange(min=1),
              help="Wall-clock seconds per episode (the env truncates).")
@click.option("--task-timeout", "task_timeout_s", default=None, type=click.FloatRange(min=1),
              help="Hard limit per task, all samples; past it the worker is killed (infra error) "
                   "[default: 2 x timeout x samples + 120].")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Run directory [default: runs/eval-POLICY-TIME].")
@click.option("--resume", is_flag=True,
              help="Continue the run in --out: skip finished tasks, retry infrastructure errors.")
@click.option("--retries", default=1, type=click.IntRange(min=0),
              help="Extra attempts in this run for a task that hits an infrastructure error.")
@click.option("--only", multiple=True, metavar="TASK_ID", help="Run only these tasks (repeatable).")
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", default=None,
              metavar="[ADDRESS]",
              help="Run tasks as Ray tasks: alone, on a Ray instance started here; with an "
                   "ADDRESS ('auto', 'ray://head:10001'), on that cluster.")
@click.option("--json", "as_json", is_flag=True, help="Print summary.json to stdout at the end.")
@click.pass_context
def eval_group(ctx, tasks_dir, policy, model, adapter, load_4bit, base_url, policy_extra, workers,
               sandbox, samples, max_steps, timeout_s, task_timeout_s, out, resume,
               retries, only, ray_address, as_json):
    """Run a policy over a suite of tasks, each in its own sandbox, N at a time.

    \b
    agent eval --tasks SUITE [--policy search] [--workers 2] [--out runs/x]
    agent eval --tasks SUITE --out runs/x --resume
    agent eval compare runs/a runs/b
    agent eval export runs/x --out preds.jsonl
    agent eval report runs/x

    Writes OUT/results.jsonl (a line per task as it finishes), then summary.json, report.md and
    report.html. Exit status 0 when the run finished (whatever the resolve rate), 2 on bad input,
    130 / 143 when interrupted (SIGINT / SIGTERM): the tasks in flight are stopped and leave no
    line, so that --resume runs them.
    """
    if ctx.invoked_subcommand is not None:
        return
    if tasks_dir is None:
        raise click.UsageError("missing --tasks DIR (a suite directory); see `agent eval --help`")
    from rich.console import Console

    from agent.eval import EvalConfig, run_eval

    console = Console(stderr=True)
    if out is None:
        out = Path("runs") / f"eval-{policy}-{time.strftime('%Y%m%d-%H%M%S')}"
    if task_timeout_s is None:
        task_timeout_s = 2 * timeout_s * samples + 120
    spec = policy_spec(policy, model=model, adapter=adapter, load_4bit=load_4bit,
                       base_url=base_url, timeout_s=timeout_s,
                       extra=_parse_extra(policy_extra))
    env_options = {"time_budget_s": timeout_s}
    config = EvalConfig(tasks=tasks_dir, out=out, policy=spec, workers=workers, sandbox=sandbox,
                        samples=samples, max_steps=max_steps, resume=resume, retries=retries,
                        task_timeout_s=task_timeout_s, ray_address=ray_address,
                        env_options=env_options, only=tuple(only))
    from sandboxes import prune_orphans
    from sandboxes.deadline import Cancelled

    prune_orphans()  # what killed runs left (never a live run's)
    display = RunProgress(console)
    try:
        summary = run_eval(config, on_event=display)
    except Cancelled:
        display.stop()
        console.print(f"[yellow]interrupted[/]: the finished tasks are in "
                      f"{Path(out) / 'results.jsonl'}; `agent eval --tasks {tasks_dir} --out "
                      f"{out} --resume` runs the rest")
        raise
    finally:
        display.stop()
    _print_summary(console, summary, Path(out))
    if as_json:
        click.echo(json.dumps(summary))


def _print_summary(console: Any, summary: dict[str, Any], out: Path) -> None:
    from rich.table import Table

    table = Table(title="evaluation", show_header=False)
    table.add_row("resolved", f"{summary['resolved']}/{summary['tasks']} "
                              f"({100 * summary['resolve_rate']:.1f}%)")
    for name, c in summary["per_bug_class"].items():
        table.add_row(f"  {name}", f"{c['resolved']}/{c['tasks']}")
    fl = summary["localization"]
    if fl["tasks"]:
        table.add_row("localization top-1 / top-5 line",
                      f"{100 * fl['top1_line']:.0f}% / {100 * fl['top5_line']:.0f}% "
                      f"of {fl['tasks']}")
    table.add_row("wall s mean / median / p90",
                  "{mean:.1f} / {median:.1f} / {p90:.1f}".format(**summary["wall_s"]))
    table.add_row("infrastructure errors", str(summary["infra_errors"]))
    console.print(table)
    console.print(f"results: {out / 'results.jsonl'}  report: {out / 'report.html'}")
    if summary["infra_errors"]:
        console.print(f"[yellow]{summary['infra_errors']} tasks hit infrastructure errors: "
                      f"`agent eval --tasks ... --out {out} --resume` runs them again")


@eval_group.command("compare")
@click.argument("run_a", type=click.Path(exists=True, path_type=Path))
@click.argument("run_b", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def compare(run_a, run_b, as_json):
    """Which tasks changed outcome from RUN_A to RUN_B, and the change in resolve rate."""
    from rich.console import Console
    from rich.table import Table

    from agent.eval.compare import compare_runs

    result = compare_runs(run_a, run_b)
    if as_json:
        click.echo(json.dumps(result.to_json()))
        return
    console = Console()
    diff = result.rate_b - result.rate_a
    console.print(f"{result.common} tasks in both runs: resolved {result.resolved_a} -> "
                  f"{result.resolved_b} ({100 * result.rate_a:.1f}% -> {100 * result.rate_b:.1f}%, "
                  f"{'+' if diff >= 0 else ''}{100 * diff:.1f} points)")
    if result.changed:
        table = Table("task", "A", "B")
        for row in result.changed:
            table.add_row(row["task_id"], row["a"], row["b"])
        console.print(table)
    else:
        console.print("no task changed outcome")
    for label, ids in (("only in A", result.only_a), ("only in B", result.only_b)):
        if ids:
            console.print(f"{label}: {', '.join(ids)}")


@eval_group.command("export")
@click.argument("run", type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_path", type=click.Path(path_type=Path), default=None,
              help="File to write [default: RUN/predictions.jsonl]; '-' for stdout.")
@click.option("--format", "fmt", type=click.Choice(["json", "jsonl"]), default=None,
              help="JSON list or JSON lines [default: by the file suffix; jsonl for stdout].")
@click.option("--model-name", default=None,
              help="model_name_or_path to record [default: the run's policy name].")
def export(run, out_path, fmt, model_name):
    """Write RUN's patches as SWE-bench predictions (instance_id, model_name_or_path, model_patch)."""
    from agent.eval.compare import predictions, write_predictions

    preds = predictions(run, model_name)
    if str(out_path) == "-":
        if fmt == "json":
            click.echo(json.dumps(preds, indent=1))
        else:
            for p in preds:
                click.echo(json.dumps(p))
        return
    out_path = out_path or Path(run) / "predictions.jsonl"
    write_predictions(preds, out_path, fmt)
    click.echo(f"{len(preds)} predictions written to {out_path}", err=True)


@eval_group.command("report")
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
def report(run):
    """Write summary.json, report.md and report.html of RUN again from its results.jsonl."""
    from agent.eval import rebuild_outputs

    summary = rebuild_outputs(run)
    click.echo(f"{summary['resolved']}/{summary['tasks']} resolved; reports in {run}", err=True)
