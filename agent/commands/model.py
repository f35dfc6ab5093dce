"""`agent model`: small local models for tests and experiments."""

from __future__ import annotations

import click


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
