"""Several DebugEnvs at once: Gymnasium's AsyncVectorEnv over Text spaces, in real sandboxes."""

import time
from pathlib import Path

import numpy as np
import pytest

from envs.env import EnvConfig
from envs.task import load_suite
from envs.vector import make_vector_env
from sandboxes.config import SandboxConfig

FIXTURES = Path(__file__).parent / "fixtures" / "env_tasks"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tasks():
    return load_suite(FIXTURES)


def test_vector_env_steps_two_sandboxes_and_reports_per_env(tasks):
    calc = [t for t in tasks if t.id == "env-calc-add"]
    env = make_vector_env(2, EnvConfig(sandbox=SandboxConfig("local")), calc)
    try:
        obs, info = env.reset(seed=0)
        assert isinstance(obs, tuple) and len(obs) == 2
        assert all("2 of 6 tests fail" in o for o in obs)
        assert list(info["task_id"]) == ["env-calc-add", "env-calc-add"]
        fix = ("edit calc/ops.py\n<<<<<<< SEARCH\n    result = a - b\n=======\n"
               "    result = a + b\n>>>>>>> REPLACE")
        obs, reward, terminated, truncated, info = env.step([fix, "open calc/nope.py"])
        assert "result = a + b" in obs[0] and "no file calc/nope.py" in obs[1]
        assert list(info["format_error"]) == [False, True]
        np.testing.assert_allclose(reward, [0.0, -0.05])
        obs, reward, terminated, truncated, info = env.step(["submit", "submit"])
        assert list(terminated) == [True, True] and not truncated.any()
        np.testing.assert_allclose(reward, [1.0, 0.0])
        assert list(info["resolved"]) == [True, False]
        # Gymnasium's default autoreset: the next step starts a new episode in each env.
        obs, reward, terminated, truncated, info = env.step(["submit", "submit"])
        assert all("2 of 6 tests fail" in o for o in obs)
        np.testing.assert_allclose(reward, [0.0, 0.0])
    finally:
        env.close()


def test_parallel_envs_overlap_their_test_runs(tasks):
    """The sleepy task's tests wait 1.5 s per run, so two workers should nearly halve the time."""
    sleepy = [t for t in tasks if t.id == "env-sleepy"]
    timings = {}
    for asynchronous in (False, True):
        env = make_vector_env(2, EnvConfig(sandbox=SandboxConfig("local")), sleepy,
                              asynchronous=asynchronous)
        try:
            started = time.monotonic()
            env.reset(seed=0)
            env.step(["run_tests", "run_tests"])
            timings[asynchronous] = time.monotonic() - started
        finally:
            env.close()
    assert timings[True] < 0.8 * timings[False], timings
