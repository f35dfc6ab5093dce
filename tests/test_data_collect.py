"""Demonstration collection through run_episode + DebugEnv (local sandbox): resolved episodes only,
a chat dataset on disk built with fit_messages, a manifest, and resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandboxes.config import SandboxConfig

pytestmark = [pytest.mark.train, pytest.mark.slow]  # datasets is a training dependency

TASKS = Path(__file__).parent / "fixtures" / "eval_tasks"  # calc_add, no_reference, text_last


def test_collect_keeps_resolved_builds_dataset_and_resumes(tmp_path):
    from datasets import load_from_disk

    from agent.prompts import SYSTEM_PROMPT
    from trainers.data import CollectConfig, collect

    out = tmp_path / "demos"
    config = CollectConfig(tasks=str(TASKS), out=str(out), policy="reference", workers=2,
                           sandbox=SandboxConfig("local"))
    summary = collect(config)
    assert (summary.attempted, summary.resolved, summary.skipped) == (3, 2, 0)
    assert summary.errors == {}
    assert sorted(p.name for p in (out / "trajectories").glob("*.json")) == [
        "calc_add.json", "text_last.json"]
    assert [p.name for p in (out / "unresolved").glob("*.json")] == ["no_reference.json"]

    dataset = load_from_disk(str(out / "dataset"))
    assert sorted(dataset["task_id"]) == ["calc_add", "text_last"]
    row = dataset[dataset["task_id"].index("calc_add")]
    trajectory = json.loads((out / "trajectories" / "calc_add.json").read_text())
    assert row["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT, "train": False}
    # exactly the trajectory's messages, up to the final action (the last observation is
    # dropped), every action trained (the budget trimmed nothing)
    assert row["messages"] == [{**m, "train": m["role"] == "assistant"}
                               for m in trajectory["messages"][:-1]]
    assert row["messages"][-1] == {"role": "assistant", "content": "```\nsubmit\n```",
                                   "train": True}
    assert row["bug_class"] == "wrong_operator" and row["reward"] == 1.0

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["policy"] == "reference"
    assert manifest["counts"]["resolved"] == 2 and manifest["counts"]["tasks"] == 3
    assert manifest["counts"]["by_bug_class"] == {"wrong_operator": 1, "off_by_one": 1}
    assert {t["id"] for t in manifest["tasks"]} == {"calc_add", "no_reference", "text_last"}

    # Collection is an eval run: its results log is there, and a rerun resumes from it.
    results = (out / "results.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["task_id"] for line in results) == [
        "calc_add", "no_reference", "text_last"]
    again = collect(config)  # resumable: nothing is run twice
    assert (again.attempted, again.skipped, again.resolved) == (0, 3, 2)
    assert (out / "results.jsonl").read_text().splitlines() == results
    assert sorted(p.name for p in (out / "trajectories").glob("*.json")) == [
        "calc_add.json", "text_last.json"]


def test_examples_are_fitted_like_inference():
    """The answer to an observation is trained on it whole, as the policy saw it (the latest
    observation is never trimmed), though the trajectory is past the budget; an earlier one the
    budget trimmed by the next turn is a trim note there, as at inference."""
    from agent.prompts import TRIMMED, add_turn, fit_messages, initial_messages
    from trainers.data import turn_examples

    def strip(ms: list[dict]) -> list[tuple[str, str]]:
        return [(m["role"], m["content"]) for m in ms]

    messages = initial_messages("task")
    add_turn(messages, "```\nopen a.py\n```", "x" * 5000)
    add_turn(messages, "```\nsubmit\n```", "submitted")
    (example,) = turn_examples(messages, max_chars=2000)
    assert strip(example) == strip(messages[:-1]) and example[3]["content"] == "x" * 5000
    assert [m["train"] for m in example] == [False, False, True, False, True]

    add_turn(messages, "```\nopen b.py\n```", "y" * 100)
    messages.append({"role": "assistant", "content": "```\nsubmit\n```"})
    examples = turn_examples(messages, max_chars=2000)
    assert strip(examples[-1][:-1]) == strip(fit_messages(messages[:-1], 2000))
    assert examples[-1][3]["content"] == TRIMMED and examples[0][3]["content"] == "x" * 5000
    # submit 1 alone; the opens and the last submit (whose contexts hold the note) together
    assert [sum(m["train"] for m in e) for e in examples] == [1, 3]


def test_cli_collect(tmp_path):
    from agent.cli import main

    out = tmp_path / "demos"
    code = main(["data", "collect", "--tasks", str(TASKS / "calc_add"), "--out", str(out),
                 "--policy", "reference", "--sandbox", "local"])
    assert code == 0
    assert (out / "dataset" / "dataset_info.json").is_file()


def test_search_policy_demonstration(tmp_path):
    from trainers.data import CollectConfig, collect

    out = tmp_path / "demos"
    summary = collect(CollectConfig(tasks=str(TASKS / "calc_add"), out=str(out),
                                    sandbox=SandboxConfig("local")))
    assert summary.resolved == 1
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["policy"] == "search"


def test_search_demonstrations_teach_both_candidates_apply_and_edit(tmp_path):
    import shutil

    from datasets import load_from_disk

    from trainers.data import CollectConfig, collect

    suite = tmp_path / "suite"
    for name in ("calc", "mean"):  # 20 listed: calc's fix is among them, mean's is not
        shutil.copytree(Path(__file__).parent / "fixtures" / "env_tasks" / name, suite / name)
    out = tmp_path / "demos"
    summary = collect(CollectConfig(tasks=str(suite), out=str(out), workers=2,
                                    sandbox=SandboxConfig("local"), candidates_k=20))
    assert summary.resolved == 2
    rows = load_from_disk(str(out / "dataset"))
    actions = {row["task_id"]: [m["content"].split("\n")[1] for m in row["messages"]
                                if m["role"] == "assistant"] for row in rows}
    assert actions["env-calc-add"][:2] == ["localize", "candidates"]
    assert actions["env-calc-add"][2].startswith("apply c")
    assert actions["env-mean-empty"][:3] == ["localize", "open stats/core.py 1 18",
                                             "edit stats/core.py"]
    assert all(a[-1] == "submit" for a in actions.values())
