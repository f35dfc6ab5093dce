"""Several DebugEnvs at once, through Gymnasium's own vector API.

``gymnasium.vector.AsyncVectorEnv`` handles Text spaces cleanly when shared memory is off: each
sub-env lives in its own worker process with its own sandbox, observations come back as a tuple of
strings, actions go in as a sequence of strings, and infos are merged per key into arrays with a
``_key`` mask. Sandbox work is mostly waiting on pytest (in a container or a child process), so
N workers overlap their test runs even on few cores.

Sub-env ``i`` is reset with ``seed + i``, so the N envs draw different tasks. By Gymnasium's default
(``AutoresetMode.NEXT_STEP``) a sub-env whose episode ended is reset by the *next* ``step`` call,
which ignores that env's action and returns its new intro with reward 0; pass
``autoreset_mode=AutoresetMode.SAME_STEP`` to reset within the ending step instead (the final
observation and info then sit in ``info["final_obs"]`` / ``info["final_info"]``).
"""

from __future__ import annotations

from functools import partial
from typing import Sequence

from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv, VectorEnv

from envs.env import DebugEnv, EnvConfig
from envs.task import Task


def make_vector_env(
    n: int,
    config: EnvConfig | None = None,
    tasks: Sequence[Task] | None = None,
    *,
    asynchronous: bool = True,
    autoreset_mode: AutoresetMode = AutoresetMode.NEXT_STEP,
) -> VectorEnv:
    """``n`` DebugEnvs stepped together: in worker processes, or in turn when not ``asynchronous``."""
    if n < 1:
        raise ValueError(f"make_vector_env needs n >= 1, got {n}")
    env_fns = [partial(DebugEnv, config, list(tasks or [])) for _ in range(n)]
    if not asynchronous:
        return SyncVectorEnv(env_fns, autoreset_mode=autoreset_mode)
    return AsyncVectorEnv(env_fns, shared_memory=False, autoreset_mode=autoreset_mode)
