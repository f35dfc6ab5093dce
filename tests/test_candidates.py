"""The copy-free actions in real sandboxes: `candidates` lists the repair engine's candidates,
`apply ID` makes one exactly as the equivalent `edit` would."""

import dataclasses
from pathlib import Path

import pytest

from envs.actions import Edit, format_action
from envs.env import DebugEnv, EnvConfig
from envs.task import load_suite
from sandboxes.config import SandboxConfig

FIXTURES = Path(__file__).parent / "fixtures" / "env_tasks"
SUBMIT = "```\nsubmit\n```"


def act(text: str) -> str:
    return f"```\n{text}\n```"


@pytest.fixture(scope="module")
def tasks():
    return load_suite(FIXTURES)


@pytest.fixture
def make_env(backend, tasks):
    opened = []

    def make(task="env-calc-add", **config):
        env = DebugEnv(EnvConfig(sandbox=SandboxConfig(backend), max_steps=20, **config), tasks)
        opened.append(env)
        env.reset(options={"task": task})
        return env

    yield make
    for env in opened:
        env.close()


# The engine's order is its own (it changes as families and ranking change); 20 listed hold
# calc's fix.
K = 20


def test_the_listing_is_deterministic_and_names_id_site_family_and_new_line(make_env):
    first, second = make_env(candidates_k=K), make_env(candidates_k=K)
    seen = [first.step(act("candidates calc/ops.py:5"))[0],
            first.step(act("candidates calc/ops.py:5"))[0],
            second.step(act("candidates calc/ops.py:5"))[0]]
    assert seen[0] == seen[1] == seen[2]
    listing = first.list_candidates(("calc/ops.py", 5))
    assert list(listing.proposals) == [f"c{i}" for i in range(1, K + 1)]
    key = next(k for k, p in listing.proposals.items() if "- -> +" in p.words)
    entry = seen[0].split(f"\n{key}  ", 1)[1].split("\nc", 1)[0]
    assert entry.startswith("calc/ops.py:5  arith op: - -> +")
    assert "5      result = a + b" in entry  # the line as it would read, numbered


def test_candidates_without_a_line_localizes_first_and_lists_the_top_lines(make_env):
    env = make_env(candidates_k=3)
    observation, reward, _, _, info = env.step(act("candidates"))
    assert info["action"] == "candidates" and not info["format_error"] and reward == 0.0
    assert observation.startswith("(ran localize first)\n3 candidates at the top localized lines")
    # the last line names the answers, so that this turn reads unlike any other
    assert observation.endswith("\nchoose one: apply c1 | apply c2 | apply c3")
    assert env.localization and "localization" in info
    assert all(p.path == "calc/ops.py" for p in env.list_candidates().proposals.values())


def test_apply_is_exactly_the_equivalent_edit(make_env):
    by_apply, by_edit = make_env(candidates_k=K), make_env(candidates_k=K)
    by_apply.step(act("candidates calc/ops.py:5"))
    listing = by_apply.list_candidates(("calc/ops.py", 5))
    key = next(k for k, p in listing.proposals.items() if "- -> +" in p.words)
    observation, reward, _, _, info = by_apply.step(act(f"apply {key}"))
    assert info["action"] == "apply" and not info["format_error"]
    assert observation.startswith(f"applied {key} (arith op: - -> +)\nedited calc/ops.py")
    edit = listing.edits[key]
    assert isinstance(edit, Edit) and edit.path == "calc/ops.py"
    edit_obs, edit_reward, _, _, edit_info = by_edit.step(format_action(edit))
    assert observation.split("\n", 1)[1] == edit_obs
    assert (reward, info["patch"]) == (edit_reward, edit_info["patch"])
    assert "+    result = a + b" in info["patch"]
    assert (by_apply.sandbox.read_file("calc/ops.py")
            == by_edit.sandbox.read_file("calc/ops.py") == listing.proposals[key].text)
    final = [env.step(SUBMIT) for env in (by_apply, by_edit)]
    assert final[0][1] == final[1][1] == 1.0 and final[0][4]["resolved"]


@pytest.mark.parametrize("actions, message", [
    (["apply c1"], "no candidate c1: no `candidates` listing yet"),
    (["candidates calc/ops.py:5", "apply c9"], "no candidate c9 in the latest listing (its ids: "
                                               "c1 .. c8)"),
    (["candidates calc/ops.py:5", "apply c1", "apply c2"], "no candidate c2: the apply of step 2 "
                                                           "changed the files"),
    (["apply c", ], "apply takes one candidate id"),
    (["candidates tests/test_ops.py:3"], "is a test file or not a Python source"),
    (["candidates calc/ops.py:99"], "has 21 lines; line 99 is past the end"),
    (["candidates calc/nope.py:1"], "not a file of the repository"),
])
def test_unknown_stale_or_bad_ids_are_format_errors(make_env, actions, message):
    env = make_env()
    for text in actions:
        observation, reward, terminated, _, info = env.step(act(text))
    assert observation.startswith("error: ") and message in observation
    assert info["format_error"] and reward == env.config.format_penalty and not terminated


def test_an_edit_makes_the_ids_stale(make_env):
    env = make_env()
    env.step(act("candidates calc/ops.py:5"))
    env.step("```\nedit calc/ops.py\n<<<<<<< SEARCH\n    return a * b\n=======\n"
             "    return b * a\n>>>>>>> REPLACE\n```")
    observation, *_, info = env.step(act("apply c1"))
    assert "the edit of step 2 changed the files; run `candidates`" in observation
    assert info["format_error"]
    # A failed edit changes nothing, so the listing holds.
    env.step(act("candidates calc/ops.py:5"))
    env.step("```\nedit calc/ops.py\n<<<<<<< SEARCH\nnot there\n=======\nx\n>>>>>>> REPLACE\n```")
    assert not env.step(act("apply c1"))[4]["format_error"]


def test_files_left_alone_get_no_candidates(backend, tasks):
    task = next(t for t in tasks if t.id == "env-calc-add")
    task = dataclasses.replace(task, leave_alone=("calc/ops.py",))
    with DebugEnv(EnvConfig(sandbox=SandboxConfig(backend)), [task]) as env:
        env.reset(options={"task": task})
        env.step(act("localize"))
        assert any(s.path == "calc/ops.py" for s in env.localization)
        listing = env.list_candidates()
        assert all(p.path != "calc/ops.py" for p in listing.proposals.values())
        observation, *_, info = env.step(act("candidates calc/ops.py:5"))
        assert "calc/ops.py is left alone" in observation and info["format_error"]


def test_a_proposer_that_does_not_load_is_a_format_error_not_a_crash(make_env):
    env = make_env(proposer="no_such_module_here:propose")
    observation, *_, info = env.step(act("candidates calc/ops.py:5"))
    assert "candidates are not available here" in observation and info["format_error"]
    with pytest.raises(ValueError, match="EnvConfig.proposer must be an import path"):
        EnvConfig(proposer="agent.repair.proposals")


def test_search_demonstrates_candidates_and_apply_and_the_viewer_replays_them(backend, tasks,
                                                                           tmp_path):
    """With 20 listed, calc's fix is one of them."""
    from agent.loop import run_episode
    from agent.policies.search import SearchPolicy
    from agent.view.model import trajectory_view

    task = next(t for t in tasks if t.id == "env-calc-add")
    path = tmp_path / "trajectory.json"
    with DebugEnv(EnvConfig(sandbox=SandboxConfig(backend), candidates_k=K), [task]) as env:
        result = run_episode(SearchPolicy(), env, task, trajectory_path=path)
    assert result.resolved
    view = trajectory_view(path, repo=Path(task.repo))
    assert [s.verb for s in view.steps] == ["localize", "candidates", "apply", "run_tests",
                                            "submit"]
    apply = view.steps[2]
    assert apply.action.startswith("```\napply c") and apply.edit.startswith("```\nedit calc/ops.py")
    assert view.diffs_note == "" and apply.diff_changed and "+    result = a + b" in apply.diff


def test_search_demonstrates_an_edit_when_its_fix_is_not_listed(tasks, tmp_path):
    import json

    from agent.loop import run_episode
    from agent.policies.search import SearchPolicy

    # env-mean-empty's fix (a guard inserted) is not among the top two listed candidates
    # (env-calc-add's operator swap is listed first since the flat prior is one per family).
    task = next(t for t in tasks if t.id == "env-mean-empty")
    policy, path = SearchPolicy(), tmp_path / "trajectory.json"
    with DebugEnv(EnvConfig(sandbox=SandboxConfig("local"), candidates_k=2), [task]) as env:
        result = run_episode(policy, env, task, trajectory_path=path)
    assert result.resolved and policy.stats.family == "insert_guard"
    verbs = [s["info"]["action"] for s in json.loads(path.read_text())["steps"]]
    assert verbs == ["localize", "open", "edit", "run_tests", "submit"]


def test_an_openai_style_model_fixes_by_choosing_from_the_listing(tasks, monkeypatch):
    """A chat endpoint that reads the listing and answers an id: no text copied from the file."""
    import re

    from agent.loop import run_episode
    from agent.policies import make_policy
    from tests.test_openai_policy import ChatServer, completion

    def answer(body):
        last = body["messages"][-1]["content"]
        if "candidates at" in last:  # the listing: choose the operator swap by its words
            key = re.search(r"^(c\d+) .* - -> \+$", last, re.M)[1]
            return 200, completion(f"```\napply {key}\n```")
        if len(body["messages"]) < 4:
            return 200, completion("```\ncandidates calc/ops.py:5\n```")
        return 200, completion("```\nsubmit\n```")

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    task = next(t for t in tasks if t.id == "env-calc-add")
    with ChatServer(answer) as server, \
            DebugEnv(EnvConfig(sandbox=SandboxConfig("local")), [task]) as env:
        policy = make_policy("openai", model="chooser", base_url=server.url)
        result = run_episode(policy, env, task)
    assert result.resolved and result.steps == 3 and len(server.requests) == 3
    assert server.requests[2]["messages"][-2]["content"].startswith("```\napply c")
    assert server.requests[2]["messages"][-1]["content"].startswith("applied c")
