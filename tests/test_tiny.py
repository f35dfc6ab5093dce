"""The tiny local model: built, saved, loaded back with from_pretrained; a chat template for TRL."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.train

MESSAGES = [
    {"role": "system", "content": "You fix bugs."},
    {"role": "user", "content": "FAILED tests/test_ops.py::test_add - assert 1 == 3"},
    {"role": "assistant", "content": "```\nopen calc/ops.py\n```"},
    {"role": "user", "content": "1 def add(a, b):\n2     return a - b  # ünïcode"},
]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    from trainers.tiny import TinyModelConfig, init_tiny

    out = tmp_path_factory.mktemp("tiny")
    return init_tiny(out, TinyModelConfig(vocab_size=512, hidden_size=64, corpus_mb=0.3))


def test_loads_back_with_auto_classes(tiny_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_dir)
    assert len(tokenizer) == model.config.vocab_size == 512
    assert tokenizer.pad_token == "<|pad|>" and tokenizer.pad_token_id != tokenizer.eos_token_id
    assert model.generation_config.eos_token_id == tokenizer.eos_token_id
    code = "def área(r):\n\treturn 3.14 * r ** 2  # ✓\n"
    # byte-level BPE: any text round-trips
    assert tokenizer.decode(tokenizer(code)["input_ids"]) == code


def test_chat_template_masks_assistant_turns_and_stop_token(tiny_dir):
    from transformers import AutoTokenizer
    from trl.chat_template_utils import is_chat_template_stop_token_trained

    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    out = tokenizer.apply_chat_template(MESSAGES, tokenize=True, return_dict=True,
                                        return_assistant_tokens_mask=True)
    masked = [t for t, m in zip(out["input_ids"], out["assistant_masks"]) if m]
    assert tokenizer.decode(masked) == "```\nopen calc/ops.py\n```<|im_end|>"
    assert is_chat_template_stop_token_trained(tokenizer)
    prompt = tokenizer.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|im_start|>assistant\n")


def test_cli_init_tiny(tmp_path):
    from agent.cli import main

    assert main(["model", "init-tiny", "--out", str(tmp_path / "m"), "--vocab-size", "400",
                 "--hidden-size", "64", "--layers", "1", "--corpus-mb", "0.1"]) == 0
    assert (tmp_path / "m" / "config.json").is_file()
    assert (tmp_path / "m" / "tokenizer.json").is_file()
    assert main(["model", "init-tiny", "--out", str(tmp_path / "p"), "--vocab-size", "400",
                 "--hidden-size", "64", "--layers", "1", "--corpus-mb", "0.1",
                 "--pretrain-steps", "2"]) == 0
    assert (tmp_path / "p" / "model.safetensors").is_file()
    assert main(["model", "init-tiny", "--out", str(tmp_path / "x"), "--hidden-size", "100"]) == 2
    assert main(["model", "init-tiny", "--out", str(tmp_path / "y"), "--pretrain-steps", "-1"]) == 2


def test_pretraining_lowers_the_loss_and_is_saved(tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from trainers.tiny import TinyModelConfig, build_model, init_tiny, pretrain

    config = TinyModelConfig(vocab_size=400, hidden_size=64, layers=1, corpus_mb=0.1,
                             pretrain_steps=40, pretrain_batch=4, pretrain_length=64,
                             pretrain_lr=3e-3)
    out = init_tiny(tmp_path / "pre", config)
    tokenizer = AutoTokenizer.from_pretrained(out)
    random_model = build_model(config, tokenizer)  # same seed: the weights before pretraining
    losses = pretrain(build_model(config, tokenizer), tokenizer, config)
    assert len(losses) == 40 and sum(losses[-5:]) / 5 < losses[0] - 0.5, losses
    saved = AutoModelForCausalLM.from_pretrained(out)
    text = tokenizer("def add(a, b):\n    return a + b\n", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        loss_saved = saved(input_ids=text, labels=text).loss
        loss_random = random_model(input_ids=text, labels=text).loss
    assert loss_saved < loss_random - 0.5


def test_pretraining_config_rejects_bad_values():
    from trainers.tiny import TinyModelConfig

    with pytest.raises(ValueError, match="pretrain_steps"):
        TinyModelConfig(pretrain_steps=-1)
    with pytest.raises(ValueError, match="pretrain_length"):
        TinyModelConfig(pretrain_length=2)
