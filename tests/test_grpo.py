"""GRPO with TRL's GRPOTrainer: a tiny local model in a real DebugEnv (local sandbox) on two tasks."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from agent.policies.hf import Generation

FIXTURES = Path(__file__).parent / "fixtures" / "eval_tasks"
REPLIES = ["```\nsubmit\n```", "```\nlocalize\n```"]


# -- an episode as one completion (plain lists, no model) -------------------------------------


def test_episode_row_masks_what_the_environment_wrote():
    from trainers.grpo import episode_row

    first = Generation([1, 2, 3], [10, 11, 0], [-0.5, -0.25, -0.1])
    second = Generation([1, 2, 3, 10, 11, 0, 7, 8], [12, 0], [-1.0, -0.2])
    prompt, completion, mask, logprobs = episode_row([first, second], eos_id=0)
    assert prompt == [1, 2, 3]
    assert completion == [10, 11, 0, 7, 8, 12, 0]
    assert mask == [1, 1, 1, 0, 0, 1, 1]
    assert logprobs == [-0.5, -0.25, -0.1, 0.0, 0.0, -1.0, -0.2]
    # An episode whose policy never generated is one masked token, not an empty completion.
    assert episode_row([], eos_id=0) == ([0], [0], [0], [0.0])
    # A prompt that does not extend the sequence would train tokens on a context never seen.
    with pytest.raises(ValueError, match="generation 1's prompt does not extend"):
        episode_row([first, Generation([1, 2, 9], [5], [-1.0])], eos_id=0)


@pytest.mark.parametrize("field, value, message", [
    ("num_generations", 1, "num_generations must be at least 2"),
    ("steps", 0, "steps must be at least 1"),
    ("loss_type", "ppo", "loss_type must be one of"),
    ("scale_rewards", "task", "scale_rewards must be one of"),
    ("beta", -0.1, "beta must be >= 0"),
    ("max_episode_tokens", 100, "max_episode_tokens (100) must leave room"),
])
def test_config_checks_name_the_bad_value(field, value, message, tmp_path):
    from trainers.grpo import GRPOConfig

    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        GRPOConfig(model="m", tasks="t", output_dir=str(tmp_path), **{field: value})


# -- training ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_tasks(tmp_path_factory):
    suite = tmp_path_factory.mktemp("tasks")
    for name in ("calc_add", "text_last"):
        shutil.copytree(FIXTURES / name, suite / name)
    return suite


@pytest.fixture(scope="module")
def acting_tiny(tmp_path_factory, two_tasks):
    """A tiny model taught to answer the tasks' first observations with one of two valid actions,
    so that a group's episodes differ (a random model's are all malformed alike, and GRPO then
    has nothing to compare)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agent.prompts import initial_messages
    from envs.env import DebugEnv, EnvConfig
    from envs.task import load_suite
    from sandboxes.config import SandboxConfig
    from trainers.tiny import TinyModelConfig, init_tiny

    base = init_tiny(tmp_path_factory.mktemp("tiny"),
                     TinyModelConfig(vocab_size=512, hidden_size=64, corpus_mb=0.3))
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    torch.manual_seed(0)
    rows = []
    with DebugEnv(EnvConfig(sandbox=SandboxConfig("local")), load_suite(two_tasks)) as env:
        for task in env.tasks:
            messages = initial_messages(env.reset(options={"task": task.id})[0])
            prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                                   return_dict=True)["input_ids"]
            for reply in REPLIES:
                full = tokenizer.apply_chat_template(
                    messages + [{"role": "assistant", "content": reply}],
                    return_dict=True)["input_ids"]
                labels = [-100] * len(prompt) + full[len(prompt):]
                rows.append((torch.tensor([full]), torch.tensor([labels])))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # on a loaded 2-core machine one thread is several times faster
    try:
        losses: list[float] = []
        for step in range(400):  # until every row is learnt but for the choice between the two
            ids, labels = rows[step % len(rows)]
            loss = model(input_ids=ids, labels=labels).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss))
            if len(losses) >= len(rows) and max(losses[-len(rows):]) < 0.12:
                break
    finally:
        torch.set_num_threads(threads)
    out = tmp_path_factory.mktemp("acting")
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def lora_b(path: Path):
    from safetensors.torch import load_file

    return {k: v for k, v in load_file(str(path / "adapter_model.safetensors")).items()
            if "lora_B" in k}


@pytest.mark.train
@pytest.mark.slow
def test_grpo_steps_train_on_env_returns_and_save_a_loadable_adapter(acting_tiny, two_tasks,
                                                                     tmp_path):
    from trainers.grpo import GRPOConfig, run_grpo

    out = tmp_path / "grpo"
    config = GRPOConfig(model=str(acting_tiny), tasks=str(two_tasks), output_dir=str(out),
                        steps=2, num_generations=4, num_envs=2, max_steps=2, max_new_tokens=14,
                        max_episode_tokens=2048, learning_rate=5e-3, seed=1,
                        load_4bit=False)  # a 64-wide model in 4 bits forgets its two actions
    result = run_grpo(config)
    assert result.steps == 2 and [h["step"] for h in result.history] == [1, 2]

    # The reward is the environment's: each episode's summed step rewards, as its trajectory
    # recorded them, one group of 4 per task and step.
    for h in result.history:
        episodes = sorted((out / "rollouts" / f"step-{h['step']}").glob("*.json"))
        assert len(episodes) == 4
        returns = [sum(s["reward"] for s in json.loads(p.read_text())["steps"]) for p in episodes]
        assert h["reward"] == pytest.approx(sum(returns) / 4, abs=1e-5)
        assert len({p.name.split("-", 1)[1] for p in episodes}) == 1  # one task per group
    assert any(h["reward_std"] > 0 for h in result.history), result.history
    assert all(h["completions/mean_length"] <= 2 * 14 for h in result.history)  # model tokens
    assert {"kl", "loss", "rollout/resolve_rate", "rollout/truncated_rate"} <= set(
        result.history[-1])

    # A fresh adapter's B matrices start at zero; the group-relative update moved them.
    weights = lora_b(out)
    assert weights and any(float(w.abs().sum()) > 0 for w in weights.values())
    assert not (out / "ref").exists()  # only the policy's adapter is the output

    # Rerun with more steps: it resumes from checkpoint-2 and runs step 3 alone.
    again = run_grpo(dataclasses.replace(config, steps=3))
    assert again.steps == 3 and [h["step"] for h in again.history] == [3]
    assert any(not (lora_b(out)[k] == weights[k]).all() for k in weights)

    # It loads exactly as PPO's does.
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from agent.policies.hf import GenerationSettings, HFPolicy

    loaded = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(acting_tiny), out)
    assert any("lora_B" in n for n, _ in loaded.named_parameters())
    policy = HFPolicy(str(acting_tiny), adapter=str(out), load_4bit=True,
                      generation=GenerationSettings(max_new_tokens=4, do_sample=False))
    assert isinstance(policy.act([{"role": "user", "content": "hi"}]), str)


@pytest.mark.train
@pytest.mark.slow
def test_cli_grpo_prints_each_step_and_rejects_bad_options(acting_tiny, two_tasks, tmp_path,
                                                           capsys):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from agent.cli import main

    start = tmp_path / "start"  # a starting adapter, as `agent train sft` leaves one
    get_peft_model(AutoModelForCausalLM.from_pretrained(acting_tiny),
                   LoraConfig(r=4, lora_alpha=8, target_modules="all-linear",
                              task_type="CAUSAL_LM")).save_pretrained(start)
    out = tmp_path / "cli"
    assert main(["train", "grpo", "--model", str(acting_tiny), "--adapter", str(start),
                 "--tasks", str(two_tasks), "--output-dir", str(out), "--steps", "1",
                 "--num-generations", "2", "--max-steps", "2", "--max-new-tokens", "8",
                 "--max-episode-tokens", "2048"]) == 0  # 4-bit by default, on CPU too
    printed = capsys.readouterr().out
    assert "step 1: reward=" in printed and "kl=" in printed and f"adapter in {out}" in printed
    assert (out / "adapter_model.safetensors").is_file()
    assert not (out / "ref").exists()  # TRL's frozen reference copy is not saved as a 2nd adapter

    for bad, message in [(["--num-generations", "1"], "num_generations must be at least 2"),
                         (["--grpo-arg", "no_such_field=1"], "no_such_field is not a trl")]:
        code = main(["train", "grpo", "--model", str(acting_tiny), "--tasks", str(two_tasks),
                     "--output-dir", str(tmp_path / "bad"), *bad])
        err = capsys.readouterr().err
        assert code == 2 and message in err and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "bad").exists()

    assert main(["train", "grpo", "--help"]) == 0
    help_text = capsys.readouterr().out
    assert "--num-generations" in help_text and "--beta" in help_text


@pytest.mark.train
@pytest.mark.slow
def test_a_trained_output_layer_runs_after_the_qlora_cast(tmp_path):
    """GRPOTrainer casts a 4-bit model's trainable weights to bf16; an SFT adapter that trains
    the output layer and norms (modules_to_save) then fails every CPU forward until
    restore_cpu_dtype puts them back in float32."""
    import torch
    from peft import LoraConfig, get_peft_model

    from trainers.grpo import restore_cpu_dtype
    from trainers.sft import load_base_for_training
    from trainers.tiny import TinyModelConfig, init_tiny

    base = init_tiny(tmp_path / "tiny", TinyModelConfig(vocab_size=512, hidden_size=64,
                                                        corpus_mb=0.3))
    model, _ = load_base_for_training(str(base), load_4bit=True)
    model = get_peft_model(model, LoraConfig(r=8, target_modules="all-linear",
                                             modules_to_save=["lm_head", "norm"],
                                             task_type="CAUSAL_LM"))
    for param in model.parameters():  # what GRPOTrainer does to a quantized model
        if param.requires_grad:
            param.data = param.data.to(torch.bfloat16)
    ids = torch.tensor([[1, 2, 3, 4]])
    with pytest.raises(RuntimeError, match="dtype"):
        model(input_ids=ids)
    assert restore_cpu_dtype(model) > 0
    assert model(input_ids=ids).logits.dtype == torch.float32
    assert restore_cpu_dtype(model) == 0
