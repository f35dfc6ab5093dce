"""The Policy seam: chat messages in, the next assistant message out."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

Message = dict[str, str]
"""{"role": "system" | "user" | "assistant", "content": str} — the chat format at the boundary."""


@runtime_checkable
class Policy(Protocol):
    name: str
    """Short name recorded in trajectories ("search", "hf:MODEL", "openai:MODEL", ...)."""

    def act(self, messages: list[Message]) -> str:
        """The next assistant message, which holds one action in a fenced block."""
        ...


class ScriptedPolicy:
    """Plays a fixed list of assistant messages, then submits: a real Policy for tests and demos."""

    def __init__(self, replies: list[str], name: str = "scripted") -> None:
        self.replies = list(replies)
        self.name = name
        self._next = 0

    def act(self, messages: list[Message]) -> str:
        if self._next >= len(self.replies):
            return "```\nsubmit\n```"
        reply = self.replies[self._next]
        self._next += 1
        return reply
