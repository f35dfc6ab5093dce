"""The ``agent`` command: the one place that wires sandboxes, envs, policies and trainers.

Subcommands live in ``agent/commands/<name>.py`` (the training ones in ``trainers/cli.py``) and
are imported only when invoked, so that ``agent --help`` and ``agent fix`` with the model-free
policy start without torch.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from sandboxes.errors import DebugAgentError

#: The one arrow from agent to trainers: the training commands live together in trainers/cli.py.
TRAINER_COMMANDS = "trainers.cli"

#: subcommand -> "module:attribute" of its click command.
COMMANDS = {
    "fix": "agent.commands.fix:fix",
    "eval": "agent.commands.eval:eval_group",
    "tasks": "agent.commands.tasks:tasks",
    "bugs": "agent.commands.bugs:bugs",
    "sandbox": "agent.commands.sandbox:sandbox",
    "data": f"{TRAINER_COMMANDS}:data",
    "model": f"{TRAINER_COMMANDS}:model",
    "train": f"{TRAINER_COMMANDS}:train",
    "view": "agent.commands.view:view",
}

HELP = {
    "fix": "Find and fix the fault that makes a repository's tests fail.",
    "eval": "Run a policy over a suite of tasks and report resolve rate, localization, cost, time.",
    "tasks": "Check and inspect buggy-task suites.",
    "bugs": "Synthesize buggy tasks by mutating a repository whose tests pass.",
    "sandbox": "Build the sandbox image, check backends, prune leftovers.",
    "data": "Collect verified demonstrations for training.",
    "model": "Create small local models for tests and experiments.",
    "train": "Fine-tune a policy: QLoRA SFT, then PPO on test-pass rewards.",
    "view": "Write a trajectory, a fix run or an eval run as self-contained HTML pages.",
}

log = logging.getLogger("debug_agent")


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # the subcommand is not written yet
                return None
            raise
        return getattr(module, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help from the table above, so `agent --help` imports no subcommand.
        rows = [(name, HELP[name]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def setup_logging(verbose: int) -> None:
    from rich.logging import RichHandler

    level = logging.WARNING - 10 * min(verbose, 2)
    handler = RichHandler(console=_stderr_console(), show_path=False, show_time=False)
    logging.basicConfig(level=level, handlers=[handler], format="%(message)s", force=True)
    log.setLevel(level)


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(package_name="debug-agent")
def cli(verbose: int) -> None:
    """debug-agent: an autonomous debugging agent for Python repositories.

    \b
    Quick start:
      agent fix path/to/repo            find the fault, print a patch
      agent fix path/to/repo --apply    ... and write it into the repo
    """
    setup_logging(verbose)


def main(argv: list[str] | None = None, started: float | None = None) -> int:
    """Entry point: our errors become one red line and their exit status (2 for bad input),
    never a traceback; SIGINT / SIGTERM stop the command with 130 / 143 (agent.interrupts).
    ``started``: the ``time.monotonic()`` value the command's clock (``agent fix --timeout``)
    counts from; None: now. The process entry points pass the process's start."""
    import time

    from agent.interrupts import handled
    from sandboxes.deadline import Cancelled

    try:
        with handled():
            # Not standalone: click hands back ctx.exit(code) as a return value, not exiting.
            code = cli.main(args=argv, prog_name="agent", standalone_mode=False,
                            obj={"started": time.monotonic() if started is None else started})
    except Cancelled as exc:
        click.echo(f"interrupted ({signal_name(exc.signum)})", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except DebugAgentError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        return exc.exit_status  # 2 for bad input, 3 for a set-up failure (sandboxes/errors.py)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    return code if isinstance(code, int) else 0


def signal_name(signum: int) -> str:
    import signal

    return signal.Signals(signum).name


if __name__ == "__main__":
    sys.exit(main())


def run() -> None:
    """Console-script entry point: ``--timeout`` counts from the process's start."""
    from sandboxes.deadline import process_start

    sys.exit(main(started=process_start()))
