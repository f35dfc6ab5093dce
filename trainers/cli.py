"""The commands that wire the trainers in: `agent data collect`, `agent model init-tiny`,
`agent train sft`, `agent train ppo` and `agent train grpo` (agent/cli.py's command table names them here).

The options of `agent train` are the fields of the trainers' configs: each field's one-line
docstring becomes its `--help` text, so the config class is the one place a hyperparameter is
documented. torch and friends are imported only when a command runs.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import textwrap
import typing
from pathlib import Path
from typing import Any, Callable

import click

from agent.commands.common import sandbox_option
from sandboxes.config import SandboxConfig
from sandboxes.errors import UsageError


def field_docs(cls: type) -> dict[str, str]:
    """The string literal under each field of a dataclass (and of the dataclasses it extends, such
    as trainers.rl.RLConfig): its documentation."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if dataclasses.is_dataclass(klass) and klass is not cls:
            docs |= field_docs(klass)
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    for node, after in zip(body, body[1:]):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)):
            docs[node.target.id] = " ".join(after.value.value.split())
    return docs


def default_sandbox(f: dataclasses.Field) -> SandboxConfig:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default if f.default is not dataclasses.MISSING else SandboxConfig()


def _parse_pairs(values: tuple[str, ...], option: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=option)
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw  # a bare string
    return out


def config_options(cls: type, skip: tuple[str, ...] = ()) -> Callable:
    """A decorator adding one click option per dataclass field (required when it has no default)."""
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)

    def decorate(func: Callable) -> Callable:
        for f in reversed(dataclasses.fields(cls)):
            if f.name in skip:
                continue
            name = "--" + f.name.replace("_", "-")
            kind = hints[f.name]
            has_default = (f.default is not dataclasses.MISSING
                           or f.default_factory is not dataclasses.MISSING)
            default = f.default if f.default is not dataclasses.MISSING else None
            help_text = docs.get(f.name, "")
            origin = typing.get_origin(kind)
            if kind is SandboxConfig:  # --sandbox and --image, the same as every command's
                func = sandbox_option(func, default=default_sandbox(f).backend)
                continue
            if kind is bool:
                flag = f.metadata.get("flag", f"{name}/--no-{f.name.replace('_', '-')}")
                opt = click.option(flag, f.name,
                                   default=default, show_default=True, help=help_text)
            elif kind in (int, float, str):
                opt = click.option(name, f.name, type=kind, default=default,
                                   required=not has_default, show_default=has_default,
                                   help=help_text)
            elif origin is dict or kind == dict[str, Any]:
                opt = click.option(name.removesuffix("s"), f.name, multiple=True,
                                   metavar="KEY=VALUE",
                                   help=help_text + " (repeatable; JSON values)")
            else:  # lists and unions: one string, comma-separated for lists
                shown = ",".join(default) if isinstance(default, list) else default
                if f.default_factory is not dataclasses.MISSING:
                    shown = ",".join(map(str, f.default_factory()))
                opt = click.option(name, f.name, type=str, default=None, show_default=str(shown),
                                   help=help_text)
            func = opt(func)
        return func

    return decorate


def build_config(cls: type, values: dict[str, Any]) -> Any:
    """The dataclass from click's values: None means "the default", lists come comma-separated."""
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in values or values[f.name] is None:
            continue
        value, kind = values[f.name], hints[f.name]
        if typing.get_origin(kind) is dict:
            if not value:
                continue
            value = _parse_pairs(value, "--" + f.name.replace("_", "-").removesuffix("s"))
        elif isinstance(value, str) and kind not in (str, int, float, bool):
            args = typing.get_args(kind)
            if value.lower() in ("true", "latest") and bool in args:
                value = True
            elif any(typing.get_origin(a) is list for a in args) or typing.get_origin(kind) is list:
                if "," in value or typing.get_origin(kind) is list:
                    value = [v.strip() for v in value.split(",") if v.strip()]
        kwargs[f.name] = value
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{cls.__name__}: {exc}") from None


def _train_rl(name: str, cls: type, values: dict[str, Any], run: Callable,
              format_metrics: Callable, unit: str, keys: tuple[str, str]) -> None:
    """`agent train ppo|grpo`: the config from the options, the run with a line per iteration or
    step, then the last one's mean reward and resolve rate (under ``keys`` in its metrics)."""
    config = build_config(cls, values)
    result = run(config, log_fn=lambda i, m: click.echo(format_metrics(i, m)))
    last = result.history[-1] if result.history else {}
    reward, rate = (last.get(key, float("nan")) for key in keys)
    click.echo(f"{name}: {getattr(result, unit)} {unit}; last mean reward {reward:.3f}, "
               f"resolve rate {rate:.2f}; adapter in {result.adapter_dir}")


@click.group()
def train() -> None:
    """Fine-tune a policy: QLoRA SFT on demonstrations, then PPO (or TRL's GRPO) on test-pass
    rewards."""


from trainers.sft import SFTRunConfig  # noqa: E402  (no heavy imports at module level)


@train.command("sft")
@config_options(SFTRunConfig)
def sft(**values: Any) -> None:
    """QLoRA SFT with TRL on a chat dataset from `agent data collect`.

    \b
    Example:
      agent train sft --model tiny/ --dataset data/sft --output-dir runs/sft --max-steps 200
      agent fix REPO --policy hf --model tiny/ --adapter runs/sft
    """
    from trainers.sft import run_sft

    config = build_config(SFTRunConfig, values)
    result = run_sft(config)
    first, last = (result.losses[0], result.losses[-1]) if result.losses else (float("nan"),) * 2
    click.echo(f"SFT: {result.steps} steps, loss {first:.4f} -> {last:.4f}; "
               f"adapter in {result.adapter_dir}")


from trainers.ppo import PPOConfig  # noqa: E402


@train.command("ppo")
@config_options(PPOConfig)
def ppo(**values: Any) -> None:
    """PPO on test-pass rewards in DebugEnv, starting from an SFT adapter.

    \b
    Example:
      agent train ppo --model tiny/ --adapter runs/sft --tasks data/train-tasks \\
          --output-dir runs/ppo --iterations 20
    Metrics: tensorboard --logdir runs/ppo/runs. Rerun the same command to resume.
    """
    from trainers.ppo import format_metrics, run_ppo

    _train_rl("PPO", PPOConfig, values, run_ppo, format_metrics, "iterations",
              ("charts/mean_reward", "charts/resolve_rate"))


from trainers.grpo import GRPOConfig  # noqa: E402


@train.command("grpo")
@config_options(GRPOConfig)
def grpo(**values: Any) -> None:
    """GRPO with TRL's GRPOTrainer in DebugEnv: PPO's cross-check, from the same SFT adapter.

    \b
    Each task is sampled --num-generations times per step; each episode's return in the
    environment, less its group's mean, is the advantage of every token the model wrote in it.
    Example:
      agent train grpo --model tiny/ --adapter runs/sft --tasks data/train-tasks \\
          --output-dir runs/grpo --steps 20 --num-generations 4
    Metrics: tensorboard --logdir runs/grpo/runs. Rerun the same command to resume.
    """
    from trainers.grpo import format_metrics, run_grpo

    _train_rl("GRPO", GRPOConfig, values, run_grpo, format_metrics, "steps",
              ("reward", "rollout/resolve_rate"))


@click.group()
def data() -> None:
    """Collect verified demonstrations for training."""


@data.command("collect")
@click.option("--tasks", "tasks_dir", required=True, type=click.Path(path_type=Path),
              help="A task directory or a suite of them (e.g. from `agent bugs generate`).")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Output directory; a rerun skips the tasks already done there.")
@click.option("--policy", default="search", show_default=True,
              help="Demonstrating policy: search (model-free) or reference (replays "
                   "reference.patch).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1),
              help="Episodes run at once, each in its own worker process.")
@click.option("--max-steps", default=30, show_default=True, help="Step budget per episode.")
@click.option("--time-budget", "time_budget_s", default=600.0, show_default=True,
              help="Seconds per episode.")
@click.option("--max-context-chars", default=24_000, show_default=True,
              help="Character budget of the examples; match the hf policy's.")
@click.option("--retries", default=1, show_default=True, type=click.IntRange(min=0),
              help="Extra attempts for a task that hits an infrastructure error.")
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", default=None,
              metavar="[ADDRESS]", help="Run episodes as Ray tasks (as `agent eval --ray`).")
@sandbox_option
def collect(tasks_dir: Path, out: str, policy: str, workers: int, max_steps: int,
            time_budget_s: float, max_context_chars: int, retries: int, ray_address: str | None,
            sandbox: SandboxConfig) -> None:
    """Run a policy over tasks; keep the resolved episodes as a chat dataset.

    Writes OUT/trajectories/ (resolved episodes), OUT/unresolved/, OUT/dataset/ (a `datasets`
    dataset with a `messages` column, for `agent train sft --dataset OUT/dataset`),
    OUT/manifest.json (task ids, bug classes, counts), and what `agent eval` writes (results.jsonl,
    summary.json, reports): collection is an eval run.
    """
    from rich.console import Console

    from agent.commands.eval import RunProgress
    from trainers.data import CollectConfig
    from trainers.data import collect as run_collect

    try:
        config = CollectConfig(tasks=str(tasks_dir), out=out, policy=policy, workers=workers,
                               sandbox=sandbox, max_steps=max_steps,
                               time_budget_s=time_budget_s, max_context_chars=max_context_chars,
                               retries=retries, ray_address=ray_address)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    display = RunProgress(Console(stderr=True), label="collect")
    try:
        summary = run_collect(config, on_event=display)
    finally:
        display.stop()
    total = summary.attempted + summary.skipped
    click.echo(f"{summary.resolved} resolved demonstrations of {total} tasks "
               f"({summary.attempted} run now, {summary.skipped} done before, "
               f"{len(summary.errors)} errors); {summary.dataset_rows} dataset rows in {out}")
    for task_id, error in summary.errors.items():
        click.echo(f"  {task_id}: {error}", err=True)


@click.group()
def model() -> None:
    """Create small local models for tests and experiments."""


@model.command("init-tiny")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Directory to write.")
@click.option("--seed", default=0, show_default=True, help="Seed for the weight initialisation.")
@click.option("--vocab-size", default=4096, show_default=True, help="BPE vocabulary size.")
@click.option("--hidden-size", default=128, show_default=True, help="Model width (multiple of 64).")
@click.option("--layers", default=2, show_default=True, help="Decoder layers.")
@click.option("--corpus-mb", default=4.0, show_default=True,
              help="Megabytes of Python source to train the tokenizer (and pretraining) on.")
@click.option("--pretrain-steps", default=0, show_default=True,
              help="Full-parameter next-token steps on that source (0: random weights).")
def init_tiny(out: str, seed: int, vocab_size: int, hidden_size: int, layers: int,
              corpus_mb: float, pretrain_steps: int) -> None:
    """Build a tiny Qwen2-style model and a locally trained tokenizer in OUT.

    No model hub is needed: the tokenizer is trained on Python source here; the weights are random,
    or briefly pretrained on the same source with --pretrain-steps (next-token training of every
    weight). Load it with `--model OUT` wherever a model is asked for.
    """
    from trainers.tiny import TinyModelConfig, init_tiny as build

    try:
        config = TinyModelConfig(vocab_size=vocab_size, hidden_size=hidden_size, layers=layers,
                                 seed=seed, corpus_mb=corpus_mb, pretrain_steps=pretrain_steps)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    path = build(out, config)
    click.echo(f"tiny model written to {path}")
