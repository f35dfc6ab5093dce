"""`agent fix REPO`: the command users come for."""

from __future__ import annotations

import itertools
import json
import sys
import time
from pathlib import Path

import click

from agent.commands.common import policy_options, sandbox_option


@click.command(context_settings={"show_default": True})
@click.argument("repo", type=click.Path(path_type=Path))
@policy_options
@sandbox_option
@click.option("--max-steps", default=30, type=click.IntRange(min=2), help="Actions per episode.")
@click.option("--timeout", "timeout_s", default=900.0, type=click.FloatRange(min=1),
              help="Wall-clock seconds per episode.")
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
def fix(repo, policy, model, adapter, load_4bit, base_url, sandbox, image, max_steps, timeout_s,
        samples, test_command, setup, apply_, as_json, out):
    """Find and fix the fault that makes REPO's tests fail.

    Runs the tests in a sandbox, localizes the fault, tries fixes until the tests pass and prints
    the patch. REPO is never changed unless --apply is given. Exit status: 0 resolved (or nothing
    to fix), 1 not resolved (also: the test files themselves do not import), 2 bad input,
    3 the project's environment could not be set up.
    """
    from rich.console import Console

    from agent import fix as fixing
    from agent.loop import run_episode
    from agent.policies import make_policy
    from agent.selection import best_result
    from envs.env import DebugEnv, EnvConfig

    console = Console(stderr=True, quiet=as_json)
    started = time.monotonic()
    repo = fixing.check_repo(repo)
    with console.status(f"setting up the environment of {repo.name}") as status:
        image = fixing.prepare_environment(repo, backend=sandbox, image=image, setup=setup,
                                           progress=status.update)
    with console.status(f"running the tests of {repo.name} in a {sandbox} sandbox"):
        detected = fixing.detect(repo, backend=sandbox, image=image, test_command=test_command,
                                 timeout=min(timeout_s, 300))
    broken = [f"{node}: {why}" for node, why in detected.broken_tests.items()]
    if not detected.failing:
        if broken:
            message = ("the test files themselves do not import, and debug-agent fixes the code "
                       "under test, not its tests:\n  " + "\n  ".join(broken))
        else:
            message = f"all {len(detected.passing)} tests pass: nothing to fix"
        if as_json:
            click.echo(json.dumps({"resolved": not broken, "nothing_to_fix": not broken,
                                   "broken_test_files": detected.broken_tests,
                                   "message": message, "tests": detected.report.statuses}))
        else:
            console.print(f"[red]{message}" if broken else f"[green]{message}")
        click.get_current_context().exit(1 if broken else 0)
    if broken:
        console.print("[yellow]left alone, the test files themselves do not import:[/]\n  "
                      + "\n  ".join(broken))
    task = fixing.make_task(repo, detected, test_command)
    console.print(f"{len(detected.failing)} failing, {len(detected.passing)} passing tests; "
                  f"fixing with the [bold]{policy}[/] policy")
    out = out or fixing.default_out_dir(repo)
    options = {"model": model, "adapter": adapter, "base_url": base_url}
    if policy == "search":
        options = {"backend": sandbox, "image": image, "time_budget_s": timeout_s * 0.8}
    elif policy == "hf":
        options["load_4bit"] = load_4bit
    config = EnvConfig(backend=sandbox, image=image, max_steps=max_steps, time_budget_s=timeout_s)
    results = []
    with DebugEnv(config, tasks=[task]) as env:
        for k in range(samples):
            agent_policy = make_policy(policy, task=task, **options)
            label = f"sample {k + 1}/{samples}: " if samples > 1 else ""
            trajectory = out / (f"trajectory-{k}.json" if samples > 1 else "trajectory.json")
            with console.status(f"{label}localizing and trying fixes") as status:
                steps_done = itertools.count(1)

                def on_step(step, status=status, label=label, steps_done=steps_done):
                    verb = step.info.get("action") or "?"
                    status.update(f"{label}step {next(steps_done)} done: {verb}")

                result = run_episode(agent_policy, env, task=task, trajectory_path=trajectory,
                                     on_step=on_step)
            results.append(result)
            if result.resolved:
                break
    best = best_result(results)
    fixed = [t for t in task.fail_to_pass if best.tests.get(t) == "passed"]
    broken = [t for t in task.pass_to_pass if best.tests.get(t) not in (None, "passed")]
    applied = None
    if apply_ and best.resolved:
        applied = fixing.apply_patch(repo, best.patch)
    elapsed = round(time.monotonic() - started, 2)
    if as_json:
        payload = best.to_json() | {
            "repo": str(repo), "fixed_tests": fixed, "broken_tests": broken,
            "total_elapsed_s": elapsed, "samples": len(results),
            "applied": applied.how if applied else None, "undo": applied.undo if applied else None,
        }
        click.echo(json.dumps(payload))
    else:
        _report(console, best, task, fixed, broken, elapsed, applied, apply_)
    click.get_current_context().exit(0 if best.resolved else 1)


def _report(console, result, task, fixed, broken, elapsed, applied, apply_) -> None:
    from rich.syntax import Syntax

    out = console if not console.quiet else None
    if out is None:
        return
    if result.patch:
        # The patch itself goes to stdout, so `agent fix repo > fix.patch` works.
        click.echo(result.patch, nl=not result.patch.endswith("\n"))
        if sys.stdout.isatty():
            out.print(Syntax(result.patch, "diff", theme="ansi_dark"))
    verdict = "[green]resolved" if result.resolved else "[red]not resolved"
    out.print(f"{verdict}[/]: {len(fixed)}/{len(task.fail_to_pass)} failing tests fixed, "
              f"{len(broken)} broken, in {result.steps} steps, {elapsed:.1f} s "
              f"({result.exit_status})")
    for test in fixed:
        out.print(f"  [green]fixed[/]  {test}")
    for test in broken:
        out.print(f"  [red]broken[/] {test}")
    if result.localization:
        out.print("fault localized at: " + ", ".join(result.localization[:3]))
    if result.edited_lines:
        out.print("edited: " + ", ".join(f"{p}:{','.join(map(str, ls))}"
                                         for p, ls in result.edited_lines.items()))
    if result.trajectory_path:
        out.print(f"trajectory: {result.trajectory_path}")
    if applied:
        out.print(f"[green]applied to the repository[/]; to undo: {applied.undo}")
    elif apply_ and not result.resolved:
        out.print("not applied: the tests do not all pass with this patch")
    elif result.patch:
        out.print("the repository was not changed; rerun with --apply to write the patch")
