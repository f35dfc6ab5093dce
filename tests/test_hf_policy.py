"""The hf policy on a tiny local model: chat template, left truncation, recorded generations."""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.train


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    from trainers.tiny import TinyModelConfig, init_tiny

    out = tmp_path_factory.mktemp("tiny")
    return init_tiny(out, TinyModelConfig(vocab_size=512, hidden_size=64, corpus_mb=0.3))


def messages(observation: str = "FAILED tests/test_ops.py::test_add"):
    from agent.prompts import initial_messages

    return initial_messages(observation)


def test_act_records_ids_and_logprobs(tiny_dir):
    from agent.policies.base import Policy
    from agent.policies.hf import GenerationSettings, HFPolicy

    policy = HFPolicy(str(tiny_dir), generation=GenerationSettings(max_new_tokens=12), record=True,
                      seed=0)
    assert isinstance(policy, Policy) and policy.name.startswith("hf:")
    text = policy.act(messages())
    assert isinstance(text, str)
    gen = policy.generations[0]
    assert 1 <= len(gen.response_ids) <= 12
    assert len(gen.logprobs) == len(gen.response_ids)
    assert all(math.isfinite(x) and x <= 0 for x in gen.logprobs)
    assert policy.tokens_used == len(gen.prompt_ids) + len(gen.response_ids)
    prompt = policy.tokenizer.decode(gen.prompt_ids)
    assert prompt.startswith("<|im_start|>system\n") and prompt.endswith("<|im_start|>assistant\n")


def test_greedy_is_deterministic_and_logprobs_match_a_forward(tiny_dir):
    import torch

    from agent.policies.hf import GenerationSettings, HFPolicy

    policy = HFPolicy(str(tiny_dir), record=True,
                      generation=GenerationSettings(max_new_tokens=6, do_sample=False))
    assert policy.act(messages()) == policy.act(messages())
    gen = policy.generations[0]
    ids = torch.tensor([gen.prompt_ids + gen.response_ids])
    with torch.no_grad():
        logits = policy.model(ids).logits[0, len(gen.prompt_ids) - 1 : -1]
    expected = torch.log_softmax(logits, -1).gather(-1, torch.tensor(gen.response_ids)[:, None])
    assert torch.allclose(expected[:, 0], torch.tensor(gen.logprobs), atol=1e-4)


def test_prompt_is_cut_from_the_left(tiny_dir):
    from agent.policies.hf import GenerationSettings, HFPolicy

    settings = GenerationSettings(max_new_tokens=4, max_prompt_tokens=50, do_sample=False)
    policy = HFPolicy(str(tiny_dir), generation=settings, record=True)
    policy.act(messages("x = 1\n" * 500 + "LAST LINE"))
    prompt = policy.generations[0].prompt_ids
    assert len(prompt) == 50
    assert policy.tokenizer.decode(prompt).endswith("LAST LINE<|im_end|>\n<|im_start|>assistant\n")


def test_4bit_loading_on_cpu(tiny_dir):
    import bitsandbytes as bnb

    from agent.policies.hf import GenerationSettings, HFPolicy

    policy = HFPolicy(str(tiny_dir), load_4bit=True,
                      generation=GenerationSettings(max_new_tokens=4, do_sample=False))
    layers = [m for m in policy.model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert layers and all(m.support_avx512bf16_for_cpu is False for m in layers)
    assert isinstance(policy.act(messages()), str)


def test_settings_are_checked():
    from agent.policies.hf import GenerationSettings

    with pytest.raises(ValueError, match="temperature must be positive"):
        GenerationSettings(temperature=0)
    with pytest.raises(ValueError, match="top_p"):
        GenerationSettings(top_p=1.5)
