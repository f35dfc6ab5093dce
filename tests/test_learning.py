"""The learning benchmark's statistics (hand-computed values) and, slow, its pipeline end to end."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from trainers.stats import binomial_two_sided, mcnemar_exact, sign_test

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_binomial_two_sided_by_hand():
    assert binomial_two_sided(0, 0) == 1.0
    # 2 of 9: P(X <= 2) = (1 + 9 + 36) / 512, doubled
    assert binomial_two_sided(2, 9) == pytest.approx(92 / 512)
    assert binomial_two_sided(7, 9) == pytest.approx(92 / 512)
    assert binomial_two_sided(0, 10) == pytest.approx(2 / 1024)
    assert binomial_two_sided(2, 4) == 1.0  # the two tails overlap: capped at 1
    with pytest.raises(ValueError, match="0 <= k <= n"):
        binomial_two_sided(5, 4)


def test_mcnemar_counts_only_discordant_pairs():
    # 7 tasks only B resolved, 2 only A, 3 both, 8 neither: p = 2 * P(Bin(9, 1/2) <= 2)
    a = [False] * 7 + [True] * 2 + [True] * 3 + [False] * 8
    b = [True] * 7 + [False] * 2 + [True] * 3 + [False] * 8
    test = mcnemar_exact(a, b)
    assert (test.b_only, test.a_only) == (7, 2)
    assert test.p_value == pytest.approx(0.1796875)
    # 10 to 0 is significant, whatever the concordant pairs
    ten = mcnemar_exact([False] * 10 + [True] * 50, [True] * 10 + [True] * 50)
    assert ten.p_value == pytest.approx(0.001953125)
    assert mcnemar_exact([True, False], [True, False]).p_value == 1.0
    with pytest.raises(ValueError, match="same tasks"):
        mcnemar_exact([True], [True, False])


def test_sign_test_over_seeds():
    assert sign_test([3, 4, 5], [6, 7, 8]).to_json() == {"b_only": 3, "a_only": 0, "p": 0.25}
    tied = sign_test([3, 4, 5], [6, 4, 9])  # the tie drops out: 2 of 2
    assert (tied.b_only, tied.a_only, tied.p_value) == (2, 0, 0.5)
    assert sign_test([5, 5], [1, 9]).p_value == 1.0
    assert sign_test([0] * 6, [1] * 6).p_value == pytest.approx(2 / 64)


def write_task(root: Path, buggy: str, fixed: str) -> Path:
    """One task of the benchmark's shape: mod.py with ``buggy``, a test, ``fixed`` as reference."""
    import difflib

    from envs.task import Task

    (root / "repo").mkdir(parents=True)
    (root / "repo" / "mod.py").write_text(buggy)
    (root / "repo" / "test_mod.py").write_text(
        "from mod import add\n\ndef test_add():\n    assert add(2, 3) == 5\n")
    patch = "".join(difflib.unified_diff(buggy.splitlines(True), fixed.splitlines(True),
                                         "a/mod.py", "b/mod.py", n=0))
    Task(id=root.name, repo=root / "repo", fail_to_pass=("test_mod.py::test_add",),
         pass_to_pass=(), reference_patch=patch).save(root)
    return root


@pytest.mark.parametrize("buggy, verbs", [
    # an operator swap is among the listed candidates: chosen by id
    ("def add(a, b):\n    return a - b\n", ["localize", "candidates", "apply", "submit"]),
    # a lost expression is no candidate: the reference edit is played
    ("def add(a, b):\n    return 0\n", ["localize", "edit", "submit"]),
])
def test_reference_policy_demonstrates_by_candidate_where_listed(tmp_path, buggy, verbs):
    from agent.loop import run_episode
    from agent.policies import make_policy
    from envs.env import DebugEnv, EnvConfig
    from envs.task import Task
    from sandboxes.config import SandboxConfig

    task = Task.load(write_task(tmp_path / "add-0", buggy, "def add(a, b):\n    return a + b\n"))
    seen = []
    policy = make_policy("reference", task=task, candidates=True)
    with DebugEnv(EnvConfig(sandbox=SandboxConfig("local"), max_steps=6), tasks=[task]) as env:
        result = run_episode(policy, env, task=task,
                             on_step=lambda step: seen.append(step.info["action"]))
    assert seen == verbs
    assert result.exit_status == "submitted" and result.resolved


def test_edit_demonstrations_made_from_candidate_ones(tmp_path):
    """The edit style's demonstrations without a second collection: apply ID becomes its edit,
    the listing turns go, the env's words for the edit stay; then minimal_block shortens it."""
    sys.path.insert(0, str(BENCHMARKS))
    from datasets import load_from_disk
    from learning_tasks import edits_from_candidates, minimal_edit_dataset

    from sandboxes.config import SandboxConfig
    from trainers.data import CollectConfig, collect

    fixed = "def add(a, b):\n    return a + b\n"
    write_task(tmp_path / "tasks" / "add-0", "def add(a, b):\n    return a - b\n", fixed)
    write_task(tmp_path / "tasks" / "add-1", "def add(a, b):\n    return 0\n", fixed)
    collect(CollectConfig(tasks=str(tmp_path / "tasks"), out=str(tmp_path / "demos"),
                          policy="reference", policy_options={"candidates": True},
                          sandbox=SandboxConfig("local"), max_steps=6))
    derived = edits_from_candidates(tmp_path / "demos", tmp_path / "edit")
    collected = load_from_disk(str(tmp_path / "demos" / "dataset"))
    before = {r["task_id"]: r["messages"] for r in collected}
    after = {r["task_id"]: r["messages"] for r in load_from_disk(str(derived))}
    assert after["add-1"] == before["add-1"]  # it edited: nothing to change
    said = [m["content"].strip("`\n").split("\n")[0] for m in before["add-0"]
            if m["role"] == "assistant"]
    assert said[:3] == ["localize", "candidates", "apply c" + said[2][-1]]
    roles = [m["role"] for m in after["add-0"]]
    assert len(after["add-0"]) == len(before["add-0"]) - 2 and roles[-1] == "assistant"
    edit, answer = after["add-0"][4:6]
    assert edit["content"].startswith("```\nedit mod.py\n<<<<<<< SEARCH")
    assert answer["content"].startswith("edited mod.py") and "return a + b" in answer["content"]
    shortest = load_from_disk(str(minimal_edit_dataset(tmp_path / "edit", tmp_path / "tasks")))
    row = next(r for r in shortest if r["task_id"] == "add-0")
    assert row["messages"][4]["content"] == (
        "```\nedit mod.py\n<<<<<<< SEARCH\n-\n=======\n+\n>>>>>>> REPLACE\n```")


def test_the_ceiling_counts_tasks_a_listed_candidate_resolves(tmp_path):
    """The ceiling of choosing among candidates: in-process test runs agree with the fix, and a
    fixed id is credited only where it resolves."""
    sys.path.insert(0, str(BENCHMARKS))
    from learning import ceiling_figures
    from learning_tasks import passes

    tests = "from mod import add\n\ndef test_a():\n    assert add(2, 3) == 5\n"
    assert passes("def add(a, b):\n    return a + b\n", tests)
    assert not passes("def add(a, b):\n    return a - b\n", tests)
    assert not passes("def add(a, b:\n", tests)  # does not load: fails, as its pytest run would
    figures = ceiling_figures({"t1": {"listed": 8, "resolving": ["c3"]},
                               "t2": {"listed": 8, "resolving": []},
                               "t3": {"listed": 8, "resolving": ["c1", "c3"]}}, k=8)
    assert (figures["any_resolving"], figures["tasks"]) == (2, 3)
    assert figures["best_fixed_id"] == "c3" and figures["best_fixed_id_rate"] == 0.6667
    assert figures["resolving_by_id"]["c1"] == 1 and figures["resolving_by_id"]["c2"] == 0


@pytest.mark.slow
def test_learning_quick_two_seeds(tmp_path, capsys):
    """The whole benchmark at toy size: base, demonstrations, SFT and PPO per seed, the paired
    tests; a rerun resumes from WORK without training or evaluating again."""
    sys.path.insert(0, str(BENCHMARKS))
    import learning

    work = tmp_path / "work"
    argv = ["--quick", "--seeds", "2", "--styles", "edit", "--stages", "sft,ppo",
            "--work", str(work)]
    assert learning.main(argv) == 0
    results = json.loads((work / "results.json").read_text())
    assert results["seeds"] == [0, 1]
    summary = results["summary"]["edit"]
    assert set(summary) == {"base", "sft", "ppo"}
    assert len(summary["ppo"]["resolve_rate"]["per_seed"]) == 2
    assert set(results["tests"]) == {"edit: sft vs base", "edit: ppo vs sft"}
    assert results["tests"]["edit: ppo vs sft"]["seeds"] == 2
    for seed in ("0", "1"):
        assert (work / f"seed-{seed}" / "edit" / "ppo" / "adapter_model.safetensors").is_file()
        assert results["runs"]["edit"]["ppo"][seed]["episodes"] == len(results["eval_tasks"])
    out = capsys.readouterr().out
    assert "pooled McNemar" in out and "edit: ppo vs sft" in out

    logs = sorted(work.rglob("results.jsonl"))
    lines = {p: p.read_text() for p in logs}
    adapters = {p: p.stat().st_mtime_ns for p in work.rglob("adapter_model.safetensors")}
    assert learning.main(argv) == 0  # everything cached: nothing trained or run again
    again = json.loads((work / "results.json").read_text())
    assert again["runs"] == results["runs"]
    assert {p: p.read_text() for p in logs} == lines
    assert {p: p.stat().st_mtime_ns for p in adapters} == adapters


def test_choices_read_the_id_applied_from_the_plain_listing(tmp_path):
    """The id an episode applied is read from the listing made before any edit (the one the
    ceiling judges); an apply after an edit, or from a listing at a given line, is not counted."""
    sys.path.insert(0, str(BENCHMARKS))
    from learning import applied_ids, choice_figures

    def step(verb, action):
        return {"action": f"```\n{action}\n```", "info": {"action": verb}}

    episodes = {
        "a": [step("localize", "localize"), step("candidates", "candidates"),
              step("apply", "apply c2"), step("submit", "submit")],
        "b": [step("candidates", "candidates mod.py:3"), step("apply", "apply c1")],
        "c": [step("edit", "edit mod.py"), step("candidates", "candidates"),
              step("apply", "apply c4")],
        "d": [step("candidates", "candidates"), step("candidates", "candidates"),
              step(None, "apply"), step("apply", "apply c3"), step("apply", "apply c1")],
    }
    for task_id, steps in episodes.items():
        (tmp_path / f"{task_id}.json").write_text(json.dumps({"steps": steps}))
    applied = applied_ids(tmp_path, ["a", "b", "c", "d", "missing"])
    assert applied == {"a": "c2", "b": None, "c": None, "d": "c3", "missing": None}
    rows = {t: {"listed": 8, "resolving": r} for t, r in
            {"a": ["c2"], "b": ["c1"], "c": [], "d": ["c1", "c5"], "missing": ["c1"]}.items()}
    assert choice_figures(applied, rows) == {"applied": 2, "resolving": 1,
                                             "by_id": {"c2": 1, "c3": 1}}
