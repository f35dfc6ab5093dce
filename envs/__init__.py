"""Tasks, the Gymnasium environment, its tools and reward, and buggy-task generation.

Importing this package registers ``debug_agent/DebugEnv-v0`` with Gymnasium and starts nothing:
the env module and its sandbox are loaded only when the env is made.
"""

import gymnasium

ENV_ID = "debug_agent/DebugEnv-v0"

if ENV_ID not in gymnasium.registry:
    # Test runs time and time-outs make observations vary between identical episodes.
    gymnasium.register(id=ENV_ID, entry_point="envs.env:DebugEnv", nondeterministic=True)

__all__ = ["ENV_ID"]
