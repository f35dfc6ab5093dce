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
