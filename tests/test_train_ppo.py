"""One PPO iteration of a tiny local model in a real DebugEnv (local sandbox) on a tiny task."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

pytestmark = [pytest.mark.train, pytest.mark.slow]

TASK = Path(__file__).parent / "fixtures" / "env_tasks" / "calc"


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    from trainers.tiny import TinyModelConfig, init_tiny

    out = tmp_path_factory.mktemp("tiny")
    return init_tiny(out, TinyModelConfig(vocab_size=512, hidden_size=64, corpus_mb=0.3))


def lora_b(path: Path):
    from safetensors.torch import load_file

    return {k: v for k, v in load_file(str(path / "adapter_model.safetensors")).items()
            if "lora_B" in k}


def test_one_iteration_changes_adapter_logs_finite_metrics_and_resumes(tiny_dir, tmp_path):
    from trainers.ppo import PPOConfig, run_ppo

    out = tmp_path / "ppo"
    # max_steps=2: a random model's episodes are cut by the step budget, so the truncation path
    # (score withheld, value bootstrapped) runs too.
    config = PPOConfig(model=str(tiny_dir), tasks=str(TASK), output_dir=str(out), iterations=1,
                       episodes_per_iter=2, num_envs=2, max_steps=2, max_new_tokens=16,
                       learning_rate=1e-3, minibatch_size=2, update_epochs=1,
                       max_context_chars=3000)
    assert config.load_4bit
    result = run_ppo(config)
    metrics = result.history[0]
    names = {"charts/mean_reward", "charts/resolve_rate", "charts/episode_length", "charts/kl_ref",
             "losses/policy_loss", "losses/value_loss", "losses/approx_kl", "losses/clipfrac",
             "losses/entropy", "losses/explained_variance"}
    assert names <= set(metrics)
    finite = [k for k in names if k != "losses/explained_variance"]
    assert all(math.isfinite(metrics[k]) for k in finite), metrics
    assert metrics["charts/truncated_rate"] == 1.0 and metrics["charts/episode_length"] == 2.0
    weights = lora_b(out)  # a fresh adapter's B matrices start at zero
    assert weights and any(float(w.abs().sum()) > 0 for w in weights.values())
    assert list((out / "runs").glob("events.out.tfevents.*"))
    checkpoint = out / "checkpoint-1"
    for name in ("adapter_model.safetensors", "value_head.pt", "optimizer.pt", "state.json"):
        assert (checkpoint / name).is_file()
    assert len(list((out / "rollouts" / "iter-1").glob("*.json"))) == 2

    # Resume: iteration 1 is not run again, iteration 2 starts from checkpoint-1's adapter.
    again = run_ppo(dataclasses.replace(config, iterations=2))  # configs are frozen
    assert [h["iteration"] for h in again.history] == [1, 2]
    assert json.loads((out / "checkpoint-2" / "state.json").read_text())["iteration"] == 2
    after = lora_b(out)
    assert any(not (after[k] == weights[k]).all() for k in weights)

    from agent.policies.hf import GenerationSettings, HFPolicy

    policy = HFPolicy(str(tiny_dir), adapter=str(out), load_4bit=True,
                      generation=GenerationSettings(max_new_tokens=4, do_sample=False))
    assert isinstance(policy.act([{"role": "user", "content": "hi"}]), str)


def test_reference_adapter_is_a_frozen_copy_of_the_starting_adapter(tiny_dir, tmp_path):
    from trainers.ppo import PPOConfig, run_ppo

    common = {"model": str(tiny_dir), "tasks": str(TASK), "episodes_per_iter": 2, "num_envs": 2,
              "max_steps": 2, "max_new_tokens": 16, "learning_rate": 1e-3, "minibatch_size": 2,
              "update_epochs": 1, "max_context_chars": 3000}
    start = tmp_path / "start"
    run_ppo(PPOConfig(output_dir=str(start), iterations=1, **common | {"learning_rate": 1e-2}))

    # Against the base (adapter disabled), the starting adapter is already far away...
    from_base = run_ppo(PPOConfig(output_dir=str(tmp_path / "base"), adapter=str(start),
                                  iterations=1, reference="base", **common))
    assert abs(from_base.history[0]["charts/kl_ref"]) > 1e-4
    # ...against a frozen copy of itself it starts at zero and moves once the policy is updated.
    out = tmp_path / "frozen"
    frozen = run_ppo(PPOConfig(output_dir=str(out), adapter=str(start), iterations=2,
                               reference="adapter", **common))
    first, second = (h["charts/kl_ref"] for h in frozen.history)
    assert abs(first) < 1e-6 and abs(second) > 1e-5, (first, second)
    # Only the policy's adapter is saved: the reference is not written as a second one.
    assert (out / "adapter_model.safetensors").is_file()
    assert not list(out.rglob("reference"))


def test_reference_adapter_needs_an_adapter(tmp_path):
    from trainers.ppo import PPOConfig

    with pytest.raises(ValueError, match="reference=adapter needs an adapter"):
        PPOConfig(model="m", tasks="t", output_dir=str(tmp_path), reference="adapter")
    with pytest.raises(ValueError, match="reference must be base or adapter"):
        PPOConfig(model="m", tasks="t", output_dir=str(tmp_path), adapter="a", reference="sft")


def test_cli_ppo_prints_each_iteration_and_rejects_bad_options(tiny_dir, tmp_path, capsys):
    from agent.cli import main

    out = tmp_path / "cli"
    assert main(["train", "ppo", "--model", str(tiny_dir), "--tasks", str(TASK),
                 "--output-dir", str(out), "--iterations", "1", "--episodes-per-iter", "2",
                 "--samples-per-task", "2", "--baseline", "group", "--max-steps", "2",
                 "--max-new-tokens", "8",
                 "--max-context-chars", "3000"]) == 0
    printed = capsys.readouterr().out
    assert "iter 1: mean_reward=" in printed and "kl_ref=" in printed and "clipfrac=" in printed
    assert f"adapter in {out}" in printed
    assert len(list((out / "rollouts" / "iter-1").glob("*.json"))) == 2

    assert main(["train", "ppo", "--model", str(tiny_dir), "--tasks", str(TASK),
                 "--output-dir", str(tmp_path / "bad"), "--reference", "adapter"]) == 2
    err = capsys.readouterr().err
    assert "reference=adapter needs an adapter" in err and "Traceback" not in err
    assert not (tmp_path / "bad").exists()

    assert main(["train", "ppo", "--help"]) == 0
    help_text = capsys.readouterr().out
    assert "--reference" in help_text and "--samples-per-task" in help_text
