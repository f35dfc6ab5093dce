"""The Policy seam: chat messages in, the next assistant message out.

``run_episode`` uses exactly what ``Policy`` declares: ``start_episode`` once after the env's reset,
``act`` once per step, ``tokens_used`` at the end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from agent.prompts import Message

if TYPE_CHECKING:
    from envs.candidates import Listing
    from envs.localize import Suspicious
    from envs.task import Task
    from sandboxes.base import Sandbox, TestReport


class Workspace(Protocol):
    """What a policy may use of the episode besides actions (``DebugEnv`` is one).

    The search policy validates candidate fixes in ``sandbox`` out of band; a policy that does so
    leaves the sandbox's files as it found them.
    """

    @property
    def sandbox(self) -> Sandbox | None:
        """The sandbox the episode runs in."""

    @property
    def initial_report(self) -> TestReport | None:
        """The test run the episode started from."""

    @property
    def localization(self) -> list[Suspicious] | None:
        """The ranking of the latest ``localize`` action, best first; None before one ran."""

    @property
    def time_left_s(self) -> float:
        """Seconds left of the episode's time budget."""

    @property
    def localization_report(self) -> TestReport | None:
        """The test run of that ``localize``: per-test coverage and durations; None before."""

    def list_candidates(self, at: tuple[str, int] | None = None) -> Listing:
        """What a ``candidates`` action (at ``at`` = (PATH, LINE), if given) would list now,
        without taking a step."""


@runtime_checkable
class Policy(Protocol):
    name: str
    """Short name recorded in trajectories ("search", "hf:MODEL", "openai:MODEL", ...)."""
    tokens_used: int
    """Tokens spent since ``start_episode`` (0 for policies without a model)."""

    def start_episode(self, task: Task, workspace: Workspace) -> None:
        """Called once per episode, after the env's reset, before the first ``act``."""
        ...

    def act(self, messages: list[Message]) -> str:
        """The next assistant message, which holds one action in a fenced block."""
        ...


class ScriptedPolicy:
    """Plays a fixed list of assistant messages, then submits: a real Policy for tests and demos."""

    def __init__(self, replies: list[str], name: str = "scripted") -> None:
        self.replies = list(replies)
        self.name = name
        self.tokens_used = 0
        self._next = 0

    def start_episode(self, task: Task, workspace: Workspace) -> None:
        self._next = 0

    def act(self, messages: list[Message]) -> str:
        if self._next >= len(self.replies):
            return "```\nsubmit\n```"
        reply = self.replies[self._next]
        self._next += 1
        return reply
