"""`agent fix REPO`: the command users come for."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import click
from click.core import ParameterSource

from agent.commands.common import policy_options, sandbox_option


@click.command(context_settings={"show_default": True})
@click.argument("repo", type=click.Path(path_type=Path))
@policy_options
@sandbox_option
@click.option("--max-steps", default=30, type=click.IntRange(min=2), help="Actions per episode.")
@click.option("--timeout", "timeout_s", default=900.0, type=click.FloatRange(min=5),
              help="Wall-clock seconds for the whole run; it ends within a few seconds of it, "
                   "whatever the code under repair does.")
@click.option("--samples", default=1, type=click.IntRange(min=1),
              help="Episodes to draw; the one passing the most tests (then the smallest patch) wins.")
@click.option("--test-command", default=None,
              help="How to run the tests, if not plain pytest from the repo root (e.g. 'pytest tests/unit').")
@click.option("--setup", "setup", multiple=True, metavar="CMD",
              help="A shell command run once in the project's environment image build (as root, "
                   "no network; repeatable), for what detection cannot guess.")
@click.option("--apply", "apply_", is_flag=True,
              help="Write the patch into REPO (needs a clean git tree, or keeps a backup copy).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON result object instead.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Where trajectories go [default: ~/.cache/debug-agent/runs/REPO-TIME].")
@click.option("--prior", default=None, metavar="ADAPTER",
              help="Search policy: a trained adapter directory (agent train sft / ppo; its base "
                   "is the one it names) whose probabilities over the listed candidates order "
                   "their validation.")
@click.option("--engine", type=click.Choice(("full", "naive")), default="full",
              help="Search policy: every repair family at the localized lines, ranked (full), "
                   "or the baseline it is measured against, single mutations in file order "
                   "(naive).")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Search policy: candidates validated at once, each in its own copy of the "
                   "repo in the sandbox, which gets as many CPUs; 1 validates one at a time "
                   "[default: 2, or 1 on a one-core machine].")
def fix(repo, policy, model, adapter, load_4bit, base_url, sandbox, max_steps, timeout_s,
        samples, test_command, setup, apply_, as_json, out, prior, engine, jobs):
    """Find and fix the fault that makes REPO's tests fail.

    Runs the tests in a sandbox, localizes the fault, tries fixes until the tests pass and prints
    the patch. REPO is never changed unless --apply is given. Settings the command line leaves
    out (test command, timeout) come from REPO's [tool.debug-agent] table or .debug-agent.toml.
    Exit status: 0 resolved (or nothing to fix), 1 not resolved (also: the test files themselves
    do not import), 2 bad input, 3 the project's environment could not be set up, 130 / 143
    interrupted (SIGINT / SIGTERM: what was found so far is printed, every sandbox closed).
    """
    from rich.console import Console

    from agent import fix as fixing
    from sandboxes.deadline import Cancelled

    options = {}
    if policy in ("hf", "openai"):
        options = {"model": model, "adapter": adapter, "base_url": base_url}
    if policy == "hf":
        options["load_4bit"] = load_4bit
    if prior is not None:
        from agent.policies.prior import check_adapter
        from sandboxes.errors import UsageError

        if policy != "search":
            raise UsageError(f"--prior orders the search policy's candidates; it does not "
                             f"apply to --policy {policy}")
        check_adapter(prior)  # a bad directory is said before any sandbox starts
        options["prior"] = prior
    if engine != "full":
        from sandboxes.errors import UsageError

        if policy != "search":
            raise UsageError(f"--engine chooses the search policy's candidates; it does not "
                             f"apply to --policy {policy}")
        options |= {"engine": engine, "rounds": 1}  # the baseline: one mutation, one round
    if jobs is not None and policy != "search":
        from sandboxes.errors import UsageError

        raise UsageError(f"--jobs sets how many candidates the search policy validates at "
                         f"once; it does not apply to --policy {policy}")
    # Left to fix() when not given: it reads the repo's own timeout setting, else its default.
    if click.get_current_context().get_parameter_source("timeout_s") is ParameterSource.DEFAULT:
        timeout_s = None
    config = fixing.FixConfig(policy=policy, policy_options=options, sandbox=sandbox,
                              max_steps=max_steps, timeout_s=timeout_s, samples=samples,
                              test_command=test_command, apply=apply_, out=out,
                              setup=tuple(setup), jobs=jobs or fixing.default_jobs(),
                              started_at=(click.get_current_context().obj or {}).get("started"))
    console = Console(stderr=True, quiet=as_json)
    started = time.monotonic()
    try:
        with console.status("starting") as status:
            result = fixing.fix(repo, config, progress=_Progress(console, status))
    except Cancelled as exc:
        _interrupted(exc, as_json, time.monotonic() - started)
        raise
    if as_json:
        click.echo(json.dumps(result.to_json()))
    elif result.nothing_to_fix:
        console.print(f"[green]{result.message}")
    elif result.best is None:  # only test files that do not import themselves
        console.print(f"[red]{result.message}")
    else:
        _report(console, result, apply_)
    click.get_current_context().exit(0 if result.resolved else 1)


class _Progress:
    """fix()'s progress on a rich spinner (status) and as printed lines (notes)."""

    def __init__(self, console, status) -> None:
        self.console, self.spinner = console, status

    def status(self, text: str) -> None:
        self.spinner.update(text)

    def note(self, text: str) -> None:
        self.console.print(text)


def _interrupted(exc, as_json: bool, elapsed: float) -> None:
    """What an interrupted run prints: the partial result when the episode had started."""
    result = exc.partial
    name = signal.Signals(exc.signum).name
    if as_json:
        payload = (result.to_json() if result is not None else
                   {"resolved": False, "exit_status": "interrupted"})
        click.echo(json.dumps(payload | {"interrupted": True, "signal": name,
                                         "total_elapsed_s": round(elapsed, 2)}))
        return
    if result is None:
        click.echo(f"interrupted by {name} after {elapsed:.1f} s, before the episode started: "
                   "nothing found yet; the repository was not changed", err=True)
        return
    if result.patch:
        click.echo(result.patch, nl=not result.patch.endswith("\n"))
    click.echo(f"interrupted by {name} after {elapsed:.1f} s and {result.steps} steps: "
               f"{'the patch so far is above (not verified)' if result.patch else 'no patch yet'}"
               "; the repository was not changed", err=True)
    if result.localization:
        click.echo("fault localized at: " + ", ".join(result.localization[:3]), err=True)
    if result.trajectory_path:
        click.echo(f"trajectory: {result.trajectory_path}", err=True)


def _report(console, fixed, apply_) -> None:
    from rich.syntax import Syntax

    result = fixed.best
    if result.patch:
        # The patch itself goes to stdout, so `agent fix repo > fix.patch` works.
        click.echo(result.patch, nl=not result.patch.endswith("\n"))
        if sys.stdout.isatty():
            console.print(Syntax(result.patch, "diff", theme="ansi_dark"))
    verdict = "[green]resolved" if result.resolved else "[red]not resolved"
    console.print(f"{verdict}[/]: {fixed.message}, in {result.steps} steps, "
                  f"{fixed.elapsed_s:.1f} s ({result.exit_status})")
    for test in fixed.fixed_tests:
        console.print(f"  [green]fixed[/]  {test}")
    for test in fixed.broken_tests:
        console.print(f"  [red]broken[/] {test}")
    if fixed.explanation is not None:
        from agent.explain import explanation_lines

        for line in explanation_lines(fixed.explanation):
            console.print(line, highlight=False, soft_wrap=True)
    elif result.localization:
        console.print("fault localized at: " + ", ".join(result.localization[:3]))
    if result.trajectory_path:
        console.print(f"trajectory: {result.trajectory_path}")
    if fixed.applied:
        console.print(f"[green]applied to the repository[/]; to undo: {fixed.applied.undo}")
    elif apply_ and not result.resolved:
        console.print("not applied: the tests do not all pass with this patch")
    elif result.patch:
        console.print("the repository was not changed; rerun with --apply to write the patch")
