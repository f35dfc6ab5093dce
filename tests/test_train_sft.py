"""QLoRA SFT on a tiny local model: the adapter changes, the loss falls, HFPolicy loads it."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.train, pytest.mark.slow]

EDIT = ("```\nedit calc/ops.py\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a + b\n"
        ">>>>>>> REPLACE\n```")


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    from trainers.tiny import TinyModelConfig, init_tiny

    out = tmp_path_factory.mktemp("tiny")
    return init_tiny(out, TinyModelConfig(vocab_size=512, hidden_size=64, corpus_mb=0.3))


@pytest.fixture(scope="module")
def chat_dataset(tmp_path_factory):
    from datasets import Dataset

    from agent.prompts import add_turn, initial_messages

    rows = []
    for i in range(8):
        messages = initial_messages(f"FAILED tests/test_ops.py::test_add{i} - "
                                    f"assert {i} == {i + 1}")
        add_turn(messages, "```\nopen calc/ops.py\n```", "1 def add(a, b):\n2     return a - b")
        add_turn(messages, EDIT, "edited calc/ops.py")
        messages.append({"role": "assistant", "content": "```\nsubmit\n```"})
        rows.append({"messages": messages})
    out = tmp_path_factory.mktemp("data") / "sft"
    Dataset.from_list(rows).save_to_disk(str(out))
    return out


def lora_weights(path):
    from safetensors.torch import load_file

    return load_file(str(path / "adapter_model.safetensors"))


def test_qlora_sft_changes_adapter_and_lowers_loss(tiny_dir, chat_dataset, tmp_path):
    from agent.policies.hf import GenerationSettings, HFPolicy
    from trainers.sft import SFTRunConfig, run_sft

    out = tmp_path / "adapter"
    config = SFTRunConfig(model=str(tiny_dir), dataset=str(chat_dataset), output_dir=str(out),
                          max_steps=8, learning_rate=5e-3, batch_size=4, lora_r=8,
                          warmup_ratio=0.0, save_steps=4, report_to=["tensorboard"])
    assert config.load_4bit  # QLoRA is the default path, on CPU too
    result = run_sft(config)
    assert result.steps == 8
    assert result.losses[-1] < result.losses[0] - 0.3, result.losses
    weights = lora_weights(out)
    b_weights = [w for name, w in weights.items() if "lora_B" in name]
    assert b_weights and any(w.abs().sum() > 0 for w in b_weights)  # B starts at zero
    assert list((out / "runs").rglob("events.out.tfevents.*"))  # tensorboard logs
    assert (out / "checkpoint-4").is_dir()

    policy = HFPolicy(str(tiny_dir), adapter=str(out), load_4bit=True,
                      generation=GenerationSettings(max_new_tokens=8, do_sample=False))
    assert isinstance(policy.act([{"role": "user", "content": "FAILED test_add"}]), str)


def test_resume_from_checkpoint_full_precision(tiny_dir, chat_dataset, tmp_path):
    from trainers.sft import SFTRunConfig, run_sft

    out = tmp_path / "adapter"
    common = dict(model=str(tiny_dir), dataset=str(chat_dataset), output_dir=str(out),
                  batch_size=4, save_steps=2, load_4bit=False, report_to=["none"])
    first = run_sft(SFTRunConfig(max_steps=2, **common))
    result = run_sft(SFTRunConfig(max_steps=4, resume_from_checkpoint=True, **common))
    # The history of steps 1-2 comes back from checkpoint-2; steps 3-4 are new.
    assert result.steps == 4 and result.losses[:2] == first.losses and len(result.losses) == 4


def test_config_checks_name_the_value():
    from trainers.sft import SFTRunConfig

    with pytest.raises(ValueError, match="'step'"):
        SFTRunConfig(model="m", dataset="d", output_dir="o", scheduler="step")
    with pytest.raises(ValueError, match="max_steps"):
        SFTRunConfig(model="m", dataset="d", output_dir="o", max_steps=0)


def test_cli_sft_no_4bit(tiny_dir, chat_dataset, tmp_path):
    from agent.cli import main

    out = tmp_path / "cli"
    assert main(["train", "sft", "--model", str(tiny_dir), "--dataset", str(chat_dataset),
                 "--output-dir", str(out), "--max-steps", "1", "--no-4bit", "--report-to", "none",
                 "--target-modules", "q_proj,v_proj", "--scheduler", "linear",
                 "--sft-arg", "logging_steps=1"]) == 0
    import json

    assert sorted(json.loads((out / "adapter_config.json").read_text())["target_modules"]) == [
        "q_proj", "v_proj"]
    assert main(["train", "sft", "--model", "m", "--dataset", "d", "--output-dir", "o",
                 "--scheduler", "step"]) == 2


def test_per_turn_examples_train_each_turn_on_its_own_context(tiny_dir, tmp_path):
    """A trajectory whose listing the budget trimmed before its last turn: the labels TRL trains
    on cover, in each example, exactly the turns that example trains (``apply`` in the one with
    the listing whole, ``candidates`` and ``submit`` in the other), and an example that trains
    every turn gets the labels TRL's own assistant-only loss gives it."""
    from datasets import Dataset

    from tests.test_train_data import trajectory
    from trainers.data import turn_examples
    from trainers.sft import SFTRunConfig, per_turn_tokens, sft_trainer

    def trained_text(trainer, tokenizer) -> list[str]:
        return [tokenizer.decode([t for t, label in zip(row["input_ids"], row["labels"])
                                  if label != -100]) for row in trainer.train_dataset]

    def config(rows: list[dict], name: str) -> SFTRunConfig:
        Dataset.from_list(rows).save_to_disk(str(tmp_path / name))
        return SFTRunConfig(model=str(tiny_dir), dataset=str(tmp_path / name),
                            output_dir=str(tmp_path / f"{name}-out"), max_steps=2, batch_size=2,
                            lora_r=8, warmup_ratio=0.0, report_to=["none"])

    long = turn_examples(trajectory("c1  mod.py:2  swap\n" * 40), max_chars=300)
    trainer, tokenizer = sft_trainer(config([{"messages": m} for m in long], "split"))
    end = "<|im_end|>"
    assert trained_text(trainer, tokenizer) == [
        f"```\napply c1\n```{end}", f"```\ncandidates\n```{end}```\nsubmit\n```{end}"]
    assert trainer.train().global_step == 2

    (whole,) = turn_examples(trajectory("c1  mod.py:2  swap"), max_chars=300)
    plain = [{"messages": [{"role": m["role"], "content": m["content"]} for m in whole]}]
    ours, _ = sft_trainer(config([{"messages": whole}], "whole"))
    theirs, _ = sft_trainer(config(plain, "plain"))  # TRL's own tokenization and mask
    (row,) = per_turn_tokens(Dataset.from_list([{"messages": whole}]), tokenizer)
    labels = [t if bit else -100 for t, bit in zip(row["input_ids"], row["assistant_masks"])]
    assert [r["labels"] for r in theirs.train_dataset] == [labels]
    assert [r["labels"] for r in ours.train_dataset] == [labels]
    assert trained_text(theirs, tokenizer) == [
        f"```\ncandidates\n```{end}```\napply c1\n```{end}```\nsubmit\n```{end}"]
