"""Supervised fine-tuning: QLoRA (Dettmers et al. 2023) with TRL's SFTTrainer on verified demos.

The base model is loaded in 4 bits (NF4, double quantization) and frozen; a LoRA adapter is
trained on the assistant turns only (assistant-only loss: observations are context, not targets).
``SFTRunConfig`` holds the knobs users expect and builds TRL's ``SFTConfig`` and PEFT's
``LoraConfig`` from them; anything else either accepts goes through ``sft_args`` / ``lora_args``
unchanged, so their fields are reused rather than copied. The output directory is an adapter that
``HFPolicy(model=BASE, adapter=DIR)`` loads, with the tokenizer beside it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("debug_agent.trainers.sft")


@dataclass
class SFTRunConfig:
    model: str
    """Base model: a hub id or a local directory (e.g. from `agent model init-tiny`)."""
    dataset: str
    """A `datasets` dataset saved on disk with a `messages` column (`agent data collect`)."""
    output_dir: str
    """Where checkpoints, tensorboard logs and the final adapter go."""
    learning_rate: float = 2e-4
    """Peak learning rate (QLoRA's usual value for small adapters)."""
    scheduler: str = "cosine"
    """Learning-rate decay after warm-up: linear or cosine."""
    warmup_ratio: float = 0.03
    """Fraction of steps spent warming up."""
    epochs: float = 3.0
    """Passes over the dataset (ignored when max_steps is set)."""
    max_steps: int = -1
    """Optimizer steps to run; -1 runs `epochs` epochs."""
    batch_size: int = 4
    """Sequences per device per forward pass."""
    grad_accum: int = 1
    """Forward passes accumulated per optimizer step."""
    lora_r: int = 16
    """LoRA rank."""
    lora_alpha: int = 32
    """LoRA scaling numerator (the update is scaled by alpha / r)."""
    lora_dropout: float = 0.05
    """Dropout on the LoRA input."""
    target_modules: list[str] | str = "all-linear"
    """Modules that get adapters: a list of names, or "all-linear"."""
    max_length: int = 2048
    """Longest tokenized example; longer ones are cut from the right."""
    seed: int = 0
    """Seed for initialisation and data order."""
    load_4bit: bool = field(default=True, metadata={"flag": "--4bit/--no-4bit"})
    """Load the base in 4 bits (QLoRA); False trains LoRA on a full-precision base."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass: less memory, more time."""
    logging_steps: int = 1
    """Log loss and learning rate every this many steps (console and tensorboard)."""
    save_steps: int = 200
    """Save a resumable checkpoint every this many steps."""
    resume_from_checkpoint: str | bool | None = None
    """A checkpoint dir to resume from, or True for the latest in output_dir."""
    report_to: list[str] = field(default_factory=lambda: ["tensorboard"])
    """Where metrics go besides the console: tensorboard, none, ..."""
    sft_args: dict[str, Any] = field(default_factory=dict)
    """Any other `trl.SFTConfig` field, passed through as is."""
    lora_args: dict[str, Any] = field(default_factory=dict)
    """Any other `peft.LoraConfig` field, passed through as is."""

    def __post_init__(self) -> None:
        if self.scheduler not in ("linear", "cosine"):
            raise ValueError(f"scheduler must be 'linear' or 'cosine', got {self.scheduler!r}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")
        if self.max_steps == 0 or self.max_steps < -1:
            raise ValueError(
                f"max_steps must be positive, or -1 to run epochs; got {self.max_steps}")
        if self.max_steps == -1 and self.epochs <= 0:
            raise ValueError(f"epochs must be positive when max_steps is -1, got {self.epochs}")
        for name in ("batch_size", "grad_accum", "lora_r", "max_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.lora_dropout < 1:
            raise ValueError(f"lora_dropout must be in [0, 1), got {self.lora_dropout}")

    def sft_config(self, use_cuda: bool):
        """TRL's SFTConfig for this run."""
        from trl import SFTConfig

        bf16 = False
        if use_cuda:
            import torch

            bf16 = torch.cuda.is_bf16_supported()
        kwargs: dict[str, Any] = dict(
            output_dir=self.output_dir,
            learning_rate=self.learning_rate,
            lr_scheduler_type=self.scheduler,
            warmup_steps=self.warmup_ratio,  # transformers 5: a float below 1 is a ratio
            num_train_epochs=self.epochs,
            max_steps=self.max_steps,
            per_device_train_batch_size=self.batch_size,
            gradient_accumulation_steps=self.grad_accum,
            max_length=self.max_length,
            seed=self.seed,
            assistant_only_loss=True,
            activation_checkpointing=self.gradient_checkpointing,
            logging_steps=self.logging_steps,
            save_steps=self.save_steps,
            report_to=self.report_to,
            # TRL defaults to bf16, which a CPU run must not use (see DESIGN.md).
            use_cpu=not use_cuda,
            bf16=bf16,
            optim="adamw_torch",
            dataloader_pin_memory=use_cuda,
        )
        kwargs.update(self.sft_args)
        return SFTConfig(**kwargs)

    def lora_config(self):
        from peft import LoraConfig

        kwargs: dict[str, Any] = dict(
            r=self.lora_r,
            lora_alpha=self.lora_alpha,
            lora_dropout=self.lora_dropout,
            target_modules=self.target_modules,
            task_type="CAUSAL_LM",
        )
        kwargs.update(self.lora_args)
        return LoraConfig(**kwargs)


@dataclass
class SFTResult:
    adapter_dir: str
    steps: int
    losses: list[float]
    """Training loss at each logging step."""


def load_base_for_training(model_name: str, load_4bit: bool, gradient_checkpointing: bool = False):
    """(model, tokenizer): the frozen base, 4-bit and prepared for k-bit training when asked."""
    from agent.policies.hf import disable_cpu_repacking, load_model

    model, tokenizer = load_model(model_name, load_4bit=load_4bit)
    if load_4bit:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=gradient_checkpointing)
        disable_cpu_repacking(model)
    return model, tokenizer


def overlong(dataset, tokenizer, max_length: int) -> list[int]:
    """Token lengths of the examples (chat template applied) longer than ``max_length``."""
    lengths = (len(tokenizer.apply_chat_template(row["messages"], tokenize=True,
                                                 return_dict=True)["input_ids"])
               for row in dataset)
    return [n for n in lengths if n > max_length]


def trimmed(dataset) -> list[int]:
    """Rows with an observation cut to ``TRIMMED`` and no per-turn ``"train"`` flags: a dataset
    built before ``trainers.data.turn_examples``, whose example is a whole trajectory fitted as its
    last turn's prompt was, so the turn that answered a trimmed observation (it saw it whole at
    inference: the latest one is never trimmed) is trained on an answer to ``TRIMMED`` instead.
    Rows with the flags train each turn on its own context, which may well hold a trim note."""
    from agent.prompts import TRIMMED

    return [i for i, row in enumerate(dataset)
            if any(m["role"] == "user" and m["content"] == TRIMMED for m in row["messages"])
            and not any(m.get("train") is not None for m in row["messages"])]


def untrained_turns(dataset) -> int:
    """Assistant turns flagged ``"train": False`` (``turn_examples``: another example trains
    them, on the context they had); 0 for a dataset without the flags."""
    return sum(m["role"] == "assistant" and m.get("train") is False
               for row in dataset for m in row["messages"])


def per_turn_tokens(dataset, tokenizer):
    """``dataset`` tokenized as TRL's assistant-only loss would (the chat template with
    generation markers), with the mask kept only on the assistant turns flagged ``"train"``:
    a Dataset of ``input_ids`` and ``assistant_masks``, which SFTTrainer takes as is (it builds
    the labels from the mask and truncates to max_length as for any example)."""
    from datasets import Dataset
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    template = (None if has_generation_markers(tokenizer.chat_template)
                else get_training_chat_template(tokenizer))
    rows = []
    for n, row in enumerate(dataset):
        messages = [{"role": m["role"], "content": m["content"]} for m in row["messages"]]
        out = tokenizer.apply_chat_template(messages, chat_template=template, tokenize=True,
                                            return_dict=True, return_assistant_tokens_mask=True)
        mask = list(out["assistant_masks"])
        runs = [i for i, bit in enumerate(mask) if bit and (i == 0 or not mask[i - 1])]
        flags = [m.get("train") is not False for m in row["messages"] if m["role"] == "assistant"]
        if len(runs) != len(flags):
            raise ValueError(f"example {n}: the chat template marks {len(runs)} assistant spans "
                             f"for {len(flags)} assistant messages; per-turn masks need one each")
        for start, keep in zip(runs, flags):
            end = start
            while end < len(mask) and mask[end]:
                mask[end] = int(keep)
                end += 1
        rows.append({"input_ids": list(out["input_ids"]), "assistant_masks": mask})
    return Dataset.from_list(rows)


def sft_trainer(config: SFTRunConfig):
    """(TRL's SFTTrainer, tokenizer) for ``config``: the base loaded, the dataset checked and,
    where some turns are trained in another example, tokenized with per-turn masks."""
    import torch
    from datasets import load_from_disk
    from trl import SFTTrainer

    from agent.prompts import TRIMMED
    from sandboxes.errors import UsageError

    if not Path(config.dataset).exists():
        raise UsageError(f"no dataset at {config.dataset}; build one with `agent data collect`")
    dataset = load_from_disk(config.dataset)
    if "messages" not in dataset.column_names:
        raise UsageError(f"{config.dataset} has no 'messages' column (columns: "
                         f"{dataset.column_names}); build it with `agent data collect`")
    use_cuda = torch.cuda.is_available()
    model, tokenizer = load_base_for_training(config.model, config.load_4bit,
                                              config.gradient_checkpointing)
    cut = overlong(dataset, tokenizer, config.max_length)
    if cut:
        # TRL keeps the start of a long example: its last turns (the fix, submit) are lost.
        log.warning("%d of %d examples are longer than max_length=%d tokens (longest %d): TRL "
                    "cuts their last turns away; raise max_length or lower the character budget",
                    len(cut), len(dataset), config.max_length, max(cut))
    cut_short = trimmed(dataset)
    if cut_short:
        log.warning("%d of %d examples have observations trimmed to the character budget and no "
                    "per-turn flags: the turns that answered them are trained on %r instead of "
                    "what they saw; rebuild the dataset with `agent data collect` (it resumes), "
                    "which trains each turn on its own context", len(cut_short), len(dataset),
                    TRIMMED)
    args = config.sft_config(use_cuda)
    if untrained_turns(dataset):
        # Some turns are trained in another example (turn_examples): TRL's assistant-only loss
        # would train every assistant turn of each, so the masks are made here, per turn.
        log.info("%d of %d examples train only some of their turns (%d turns trained in "
                 "another example, on the context they had)",
                 sum(any(m["role"] == "assistant" and m.get("train") is False
                         for m in row["messages"]) for row in dataset),
                 len(dataset), untrained_turns(dataset))
        dataset = per_turn_tokens(dataset, tokenizer)
        args.assistant_only_loss = False  # the mask is in the tokenized dataset
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset,
                         processing_class=tokenizer, peft_config=config.lora_config())
    from agent.policies.hf import disable_cpu_repacking

    disable_cpu_repacking(trainer.model)
    log.info("SFT on %d examples, %s base, %s", len(dataset),
             "4-bit" if config.load_4bit else "full-precision", "cuda" if use_cuda else "cpu")
    return trainer, tokenizer


def run_sft(config: SFTRunConfig) -> SFTResult:
    trainer, tokenizer = sft_trainer(config)
    trainer.train(resume_from_checkpoint=config.resume_from_checkpoint)
    trainer.save_model(config.output_dir)
    tokenizer.save_pretrained(config.output_dir)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return SFTResult(adapter_dir=config.output_dir, steps=trainer.state.global_step, losses=losses)
