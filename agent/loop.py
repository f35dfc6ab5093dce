"""run_episode: the one loop behind `agent fix`, evaluation, data collection and PPO rollouts.

Policy and environment never see each other's internals: the loop turns observations into chat
messages with the one formatter (agent/prompts.py), asks the policy for the next message, hands
that text to the environment, and records every step in a trajectory that is saved after each
step. How the episode ends (submitted, a budget spent, too many format errors, the policy failed)
travels as an ``EpisodeOver`` exception raised where it is noticed and caught in one place, which
builds the EpisodeResult once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from agent.patches import edited_lines
from agent.policies.base import Policy
from agent.prompts import add_turn, initial_messages
from agent.trajectory import EpisodeResult, ExitStatus, Step, Trajectory
from sandboxes.deadline import Cancelled

if TYPE_CHECKING:
    from envs.env import DebugEnv
    from envs.task import Task

log = logging.getLogger("debug_agent.loop")

SUBMIT = "```\nsubmit\n```"
_TRUNCATED = {"steps": ExitStatus.STEP_LIMIT, "time": ExitStatus.TIME_LIMIT}


@dataclass
class LoopConfig:
    max_format_errors: int = 3
    """Consecutive malformed actions after which the episode is ended (and scored as it stands)."""

    def __post_init__(self) -> None:
        if self.max_format_errors < 1:
            raise ValueError(f"max_format_errors must be at least 1, got {self.max_format_errors}")


class EpisodeOver(Exception):
    """Ends the episode: raised by the step that noticed, caught once by ``play_episode``."""

    def __init__(self, status: ExitStatus, final_info: dict[str, Any] | None = None,
                 error: str = "", step: Step | None = None) -> None:
        super().__init__(status.value)
        self.status = status
        self.final_info = final_info or {}
        """The env's info of the step that ended the episode (scores, tests, patch); empty when
        the env did not end it."""
        self.error = error
        self.step = step
        """The step that ended the episode (its reward carries the score); None when no step did."""


@dataclass
class _Episode:
    """The loop's running state."""

    trajectory: Trajectory
    format_errors: int = 0
    localization: list[str] = field(default_factory=list)
    patch: str = ""
    """The env's diff after the latest step: what an interrupted episode hands back."""


def run_episode(
    policy: Policy,
    env: DebugEnv,
    task: Task | None = None,
    *,
    seed: int | None = None,
    config: LoopConfig | None = None,
    trajectory_path: str | Path | None = None,
    on_step: Callable[[Step], None] | None = None,
) -> EpisodeResult:
    """Reset ``env`` to ``task`` (or one the env draws) and run one episode of ``policy`` in it.

    The environment owns the step and time budgets (it truncates); the loop owns the limit on
    consecutive format errors. A failure of the policy ends the episode with ExitStatus.ERROR;
    environment errors propagate, since the caller knows whether to retry.
    """
    observation, info = env.reset(seed=seed, options={"task": task} if task is not None else None)
    return play_episode(policy, env, observation, info, config=config,
                        trajectory_path=trajectory_path, on_step=on_step)


def play_episode(
    policy: Policy,
    env: DebugEnv,
    observation: str,
    info: dict[str, Any],
    *,
    config: LoopConfig | None = None,
    trajectory_path: str | Path | None = None,
    on_step: Callable[[Step], None] | None = None,
) -> EpisodeResult:
    """Run ``policy`` in ``env``, which was just reset to ``(observation, info)``.

    For callers that look at the starting state before they spend a policy on it (`agent fix`
    stops when no test fails); ``run_episode`` is reset + this. A cancellation (``Cancelled``,
    from SIGINT / SIGTERM) saves the trajectory with ExitStatus.INTERRUPTED, attaches that
    partial result to the exception as ``partial`` and re-raises it.
    """
    config = config or LoopConfig()
    started = time.monotonic()
    base = env.unwrapped
    policy.start_episode(base.task, base)
    episode = _Episode(Trajectory(task_id=str(info["task_id"]), policy=policy.name,
                                  messages=initial_messages(observation)))

    def save() -> None:
        if trajectory_path is not None:
            episode.trajectory.save(trajectory_path)

    save()
    try:
        while True:
            step = _step(policy, env, episode, config)
            save()
            if on_step is not None:
                on_step(step)
    except EpisodeOver as over:
        if over.step is not None and on_step is not None:
            on_step(over.step)  # the last step too: its reward is the episode's score
        result = _result(policy, episode, over, started, trajectory_path)
    except Cancelled as cancelled:  # keep what was found, then let it unwind (sandboxes close)
        over = EpisodeOver(ExitStatus.INTERRUPTED, {"patch": episode.patch})
        cancelled.partial = _result(policy, episode, over, started, trajectory_path)
        episode.trajectory.result = cancelled.partial
        save()
        raise
    episode.trajectory.result = result
    save()
    return result


def _step(policy: Policy, env: DebugEnv, episode: _Episode, config: LoopConfig) -> Step:
    """One action and its observation; raises EpisodeOver when the episode ends with it."""
    step_started = time.monotonic()
    forced = episode.format_errors >= config.max_format_errors
    if forced:
        action_text = SUBMIT
    else:
        try:
            action_text = policy.act([dict(m) for m in episode.trajectory.messages])
        except Exception as exc:  # the policy boundary: any failure of the policy ends the episode
            log.warning("policy %s failed: %s", policy.name, exc)
            raise EpisodeOver(ExitStatus.ERROR, error=f"{type(exc).__name__}: {exc}") from exc
    observation, reward, terminated, truncated, info = env.step(action_text)
    episode.format_errors = episode.format_errors + 1 if info.get("format_error") else 0
    episode.patch = info.get("patch", episode.patch)
    if info.get("localization"):
        episode.localization = [s.location for s in info["localization"]]
    step = Step(
        action=action_text,
        observation=observation,
        reward=float(reward),
        elapsed_s=round(time.monotonic() - step_started, 3),
        info={k: info[k] for k in ("action", "format_error", "edit") if k in info},
    )
    episode.trajectory.steps.append(step)
    add_turn(episode.trajectory.messages, action_text, observation)
    if forced:
        raise EpisodeOver(ExitStatus.FORMAT_ERRORS, info, step=step)
    if terminated:
        raise EpisodeOver(ExitStatus.SUBMITTED, info, step=step)
    if truncated:
        raise EpisodeOver(_TRUNCATED[info["truncated_reason"]], info, step=step)
    return step


def _result(policy: Policy, episode: _Episode, over: EpisodeOver, started: float,
            trajectory_path: str | Path | None) -> EpisodeResult:
    """The EpisodeResult, built once from how the episode ended."""
    final = over.final_info
    patch = final.get("patch", "")
    return EpisodeResult(
        task_id=episode.trajectory.task_id,
        policy=policy.name,
        resolved=bool(final.get("resolved", False)),
        reward=float(final.get("reward", 0.0)),
        patch=patch,
        tests=dict(final.get("tests", {})),
        steps=len(episode.trajectory.steps),
        elapsed_s=round(time.monotonic() - started, 3),
        exit_status=over.status,
        error=over.error,
        truncated=over.status in (ExitStatus.STEP_LIMIT, ExitStatus.TIME_LIMIT),
        localization=episode.localization,
        edited_lines=edited_lines(patch),
        trajectory_path=str(trajectory_path) if trajectory_path is not None else None,
        tokens=policy.tokens_used,
    )
