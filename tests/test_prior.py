"""`agent fix --prior ADAPTER`: a tiny model trained here on a search demonstration orders the
search's candidates (local sandbox, real SFT, real loading)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sandboxes.config import SandboxConfig
from sandboxes.errors import UsageError

FIXTURES = Path(__file__).parent / "fixtures" / "env_tasks"


def episode(policy, task, path=None):
    from agent.loop import run_episode
    from envs.env import DebugEnv, EnvConfig

    # 20 listed hold calc's fix (the engine's order changes as families and ranking do)
    with DebugEnv(EnvConfig(sandbox=SandboxConfig("local"), candidates_k=20), [task]) as env:
        return run_episode(policy, env, task, trajectory_path=path)


def test_bad_adapter_directories_are_one_line_errors(tmp_path):
    from agent.policies.prior import check_adapter

    with pytest.raises(UsageError, match="no such adapter directory"):
        check_adapter(tmp_path / "nope")
    with pytest.raises(UsageError, match="not a PEFT adapter"):
        check_adapter(tmp_path)
    (tmp_path / "adapter_config.json").write_text("{not json")
    with pytest.raises(UsageError, match="cannot read adapter_config.json"):
        check_adapter(tmp_path)
    (tmp_path / "adapter_config.json").write_text(json.dumps({"r": 8}))
    with pytest.raises(UsageError, match="names no base model"):
        check_adapter(tmp_path)
    (tmp_path / "adapter_config.json").write_text(
        json.dumps({"base_model_name_or_path": str(tmp_path / "gone")}))
    assert check_adapter(tmp_path) == str(tmp_path / "gone")


def test_cli_refuses_a_bad_prior_before_any_sandbox(tmp_path):
    from agent.cli import main

    repo = FIXTURES / "calc" / "repo"
    assert main(["fix", str(repo), "--prior", str(tmp_path / "nope")]) == 2
    assert main(["fix", str(repo), "--prior", str(tmp_path), "--policy", "openai",
                 "--model", "m"]) == 2


# calc's add with other bugs: the prior can only show itself where the engine does not already
# list the fix first, and which bug that is moves as families and ranking change.
ADD_BUGS = ("result = b - a", "result = a * b", "result = a - -b - b - b")


@pytest.fixture(scope="module")
def demonstration(tmp_path_factory):
    """The search's own episode on a calc whose fix is not the first listed candidate:
    localize, candidates, apply cN (N > 1), run_tests, submit. Returns it, the search's stats
    and the task."""
    from agent.policies.search import SearchPolicy
    from envs.task import load_suite

    for bug in ADD_BUGS:
        suite = tmp_path_factory.mktemp("suite")
        shutil.copytree(FIXTURES / "calc", suite / "calc", ignore=shutil.ignore_patterns("*.patch"))
        ops = suite / "calc" / "repo" / "calc" / "ops.py"
        ops.write_text(ops.read_text().replace("result = a - b", bug))
        task = next(iter(load_suite(suite)))
        path = suite / "trajectory.json"
        policy = SearchPolicy(extra_candidates=0)
        result = episode(policy, task, path)
        assert result.resolved, bug
        trajectory = json.loads(path.read_text())
        if trajectory["steps"][2]["action"] != "```\napply c1\n```":
            return trajectory, policy.stats, task
    pytest.fail(f"the engine lists the fix first for every one of {ADD_BUGS}: add a bug")


@pytest.mark.train
@pytest.mark.slow
def test_a_tiny_adapter_orders_the_search_end_to_end(demonstration, tmp_path):
    from datasets import Dataset

    from agent.cli import main
    from agent.policies.prior import check_adapter, load_prior
    from agent.policies.search import SearchPolicy
    from trainers.data import turn_examples
    from trainers.sft import SFTRunConfig, run_sft
    from trainers.tiny import TinyModelConfig, init_tiny

    trajectory, plain, task = demonstration
    answer = trajectory["steps"][2]["action"]
    assert answer.startswith("```\napply c") and answer != "```\napply c1\n```"
    key = answer.split()[2]
    # A model that learned this one demonstration by heart: it prefers the demonstrated id.
    # A vocabulary of 4096 keeps the episode (system prompt, listing of 20) within the 4096
    # positions, so SFT does not cut the answer off.
    tiny = init_tiny(tmp_path / "tiny", TinyModelConfig(vocab_size=4096, hidden_size=64,
                                                         corpus_mb=0.3))
    rows = [{"messages": m} for m in turn_examples(trajectory["messages"], 24_000)] * 8
    Dataset.from_list(rows).save_to_disk(str(tmp_path / "data"))
    adapter = tmp_path / "adapter"
    run_sft(SFTRunConfig(model=str(tiny), dataset=str(tmp_path / "data"), output_dir=str(adapter),
                         max_steps=40, learning_rate=5e-3, batch_size=4, lora_r=8,
                         warmup_ratio=0.0, max_length=4096, report_to=["none"],
                         # the output layer too: "apply c11" must beat "apply c1" + end of turn
                         lora_args={"modules_to_save": ["lm_head", "norm"]}))
    assert check_adapter(adapter) == str(tiny)
    prior = load_prior(str(adapter))
    assert len(prior.policy.prompt_ids(rows[0]["messages"])) < 4096 - 512

    guided = SearchPolicy(extra_candidates=0, prior=str(adapter))
    assert guided.prior is prior and guided.name == "search+prior"
    result = episode(guided, task)
    assert result.resolved
    assert guided.stats.prior_order[0] == key and sorted(guided.stats.prior_order) == sorted(
        f"c{i}" for i in range(1, 21))
    # The engine validated the fix as its key-th candidate; guided, it is the first.
    assert plain.candidates == int(key[1:]) and guided.stats.candidates == 1

    repo = tmp_path / "calc"
    shutil.copytree(FIXTURES / "calc" / "repo", repo)
    out = tmp_path / "run"
    assert main(["fix", str(repo), "--prior", str(adapter), "--sandbox", "local",
                 "--out", str(out), "--json"]) == 0
    result = json.loads((out / "result.json").read_text())
    # agent fix lists the default 8: the prior orders them all
    assert result["resolved"] and sorted(result["policy_stats"]["prior_order"]) == sorted(
        f"c{i}" for i in range(1, 9))
