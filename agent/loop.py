"""run_episode: the one loop behind `agent fix`, evaluation, data collection and PPO rollouts.

Policy and environment never see each other: the loop turns observations into chat messages with
the one formatter (agent/prompts.py), asks the policy for the next message, hands that text to the
environment, and records every step in a trajectory that is saved after each step.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from agent.patches import edited_lines
from agent.policies.base import Policy
from agent.prompts import add_turn, initial_messages
from agent.trajectory import EpisodeResult, Step, Trajectory
from sandboxes.deadline import Cancelled

log = logging.getLogger("debug_agent.loop")

SUBMIT = "```\nsubmit\n```"


@dataclass
class LoopConfig:
    max_format_errors: int = 3
    """Consecutive malformed actions after which the episode is ended (and scored as it stands)."""

    def __post_init__(self) -> None:
        if self.max_format_errors < 1:
            raise ValueError(f"max_format_errors must be at least 1, got {self.max_format_errors}")


class PolicyError(RuntimeError):
    """The policy itself failed (model server down, generation error); the episode cannot go on."""


def run_episode(
    policy: Policy,
    env: Any,
    *,
    task: Any = None,
    seed: int | None = None,
    config: LoopConfig | None = None,
    trajectory_path: str | Path | None = None,
    on_step: Callable[[Step], None] | None = None,
) -> EpisodeResult:
    """Run one episode of ``policy`` in ``env`` (a DebugEnv, or anything with its interface).

    The environment owns the step and time budgets (it truncates); the loop owns the limit on
    consecutive format errors. A failure of the policy ends the episode with exit status
    "error: ..."; environment errors propagate, since the caller knows whether to retry.
    A cancellation (``Cancelled``, from SIGINT / SIGTERM) saves the trajectory with exit status
    "interrupted", attaches that partial result to the exception as ``partial`` and re-raises.
    """
    config = config or LoopConfig()
    options = {"task": task} if task is not None else None
    started = time.monotonic()
    observation, info = env.reset(seed=seed, options=options)
    task_id = str(info.get("task_id", getattr(task, "id", task)))
    start_episode = getattr(policy, "start_episode", None)
    if start_episode is not None:  # policies that validate against the repo (search) need the task
        start_episode(getattr(getattr(env, "unwrapped", env), "task", task))
    trajectory = Trajectory(task_id=task_id, policy=policy.name)
    trajectory.messages = initial_messages(observation)
    result = EpisodeResult(task_id=task_id, policy=policy.name)
    format_errors = 0
    localization: list[str] = []
    exit_status = ""

    def save() -> None:
        if trajectory_path is not None:
            trajectory.save(trajectory_path)

    save()
    cancelled: Cancelled | None = None
    while True:
        step_started = time.monotonic()
        forced = format_errors >= config.max_format_errors
        try:
            if forced:
                action_text = SUBMIT
            else:
                try:
                    action_text = policy.act([dict(m) for m in trajectory.messages])
                except Exception as exc:  # the policy boundary: any failure ends this episode
                    log.warning("policy %s failed: %s", policy.name, exc)
                    exit_status = f"error: {type(exc).__name__}: {exc}"
                    break
            observation, reward, terminated, truncated, info = env.step(action_text)
        except Cancelled as exc:  # SIGINT / SIGTERM: keep what was found, then let it unwind
            cancelled, exit_status = exc, "interrupted"
            break
        result.patch = info.get("patch", result.patch)
        format_errors = format_errors + 1 if info.get("format_error") else 0
        localization = info.get("localization") or localization
        step = Step(
            action=action_text,
            observation=observation,
            reward=float(reward),
            elapsed_s=round(time.monotonic() - step_started, 3),
            info={k: info[k] for k in ("action", "format_error") if k in info},
        )
        trajectory.steps.append(step)
        add_turn(trajectory.messages, action_text, observation)
        result.tokens += int(info.get("tokens", 0))
        save()
        if on_step is not None:
            on_step(step)
        if terminated or truncated:
            if forced:
                exit_status = "format_errors"
            elif terminated:
                exit_status = "submitted"
            else:
                exit_status = {"steps": "step_limit", "time": "time_limit"}.get(
                    info.get("truncated_reason", ""), "truncated")
            result.truncated = bool(truncated)
            result.resolved = bool(info.get("resolved", False))
            result.reward = float(info.get("reward", reward))
            result.tests = dict(info.get("tests", {}))
            result.patch = info.get("patch", "")
            break

    result.steps = len(trajectory.steps)
    result.elapsed_s = round(time.monotonic() - started, 3)
    result.exit_status = exit_status
    result.localization = list(localization)
    result.edited_lines = edited_lines(result.patch)
    result.trajectory_path = str(trajectory_path) if trajectory_path is not None else None
    tokens = getattr(policy, "tokens_used", None)
    if isinstance(tokens, int):
        result.tokens = tokens
    trajectory.result = result
    save()
    if cancelled is not None:
        cancelled.partial = result
        raise cancelled
    return result
