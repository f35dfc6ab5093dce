"""run_episode's on_step hook in a real DebugEnv: every step is reported, the last one too."""

from pathlib import Path

from agent.loop import run_episode
from agent.policies.base import ScriptedPolicy
from envs.env import DebugEnv, EnvConfig
from envs.task import load_suite
from sandboxes.config import SandboxConfig

FIXTURES = Path(__file__).parent / "fixtures" / "env_tasks"
FIX = ("```\nedit calc/ops.py\n<<<<<<< SEARCH\n    result = a - b\n=======\n    result = a + b\n"
       ">>>>>>> REPLACE\n```")


def test_on_step_sees_every_step_and_the_last_one_carries_the_score(backend):
    task = next(t for t in load_suite(FIXTURES) if t.id == "env-calc-add")
    seen = []
    policy = ScriptedPolicy(["```\nlocalize\n```", "not an action", FIX])
    with DebugEnv(EnvConfig(sandbox=SandboxConfig(backend), max_steps=10), tasks=[task]) as env:
        result = run_episode(policy, env, task=task, on_step=seen.append)
    assert result.resolved and result.steps == 4  # localize, a format error, the edit, submit
    assert [s.info.get("action") for s in seen] == ["localize", None, "edit", "submit"]
    assert seen[-1].reward >= result.reward == 1.0  # the score arrives with the last step
    assert seen[1].info["format_error"]
