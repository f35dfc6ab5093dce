"""The one prompt formatter: how an episode becomes chat messages, at inference and in training.

Every policy sees the same system prompt and the same message list, and the SFT dataset is built
from those very lists, so there is no train / inference skew.
"""

from __future__ import annotations

from envs.actions import USAGE

Message = dict[str, str]
"""{"role": "system" | "user" | "assistant", "content": str}: the chat format at the boundary."""

SYSTEM_PROMPT = f"""\
You are an autonomous debugging agent working in a Python repository whose tests fail.
Find the fault, fix the code (not the tests), check that the tests pass, then submit.
Work one action at a time; after each action you see its result.

{USAGE}

Rules: edit source files only (changes to tests never count); keep the fix small; run the
failing tests after an edit; submit when they pass."""

TRIMMED = "[... earlier output trimmed ...]"


def initial_messages(observation: str, system_prompt: str = SYSTEM_PROMPT) -> list[Message]:
    return [{"role": "system", "content": system_prompt}, {"role": "user", "content": observation}]


def add_turn(messages: list[Message], action_text: str, observation: str) -> None:
    """Append one step: the policy's message, then what the environment answered."""
    messages.append({"role": "assistant", "content": action_text})
    messages.append({"role": "user", "content": observation})


def fit_messages(messages: list[Message], max_chars: int) -> list[Message]:
    """The messages a model with a bounded context sees.

    Keeps the system prompt, the task (first user message) and every assistant message whole;
    older observations are cut to a note, oldest first, until the total fits. Used by the model
    policies at inference and by the SFT dataset, so both see the same text.
    """
    fitted = [dict(m) for m in messages]
    total = sum(len(m["content"]) for m in fitted)
    # Observations after the task, oldest first; the last one is what the policy must answer.
    for i in range(2, len(fitted) - 1):
        if total <= max_chars:
            break
        if fitted[i]["role"] == "user" and fitted[i]["content"] != TRIMMED:
            total -= len(fitted[i]["content"]) - len(TRIMMED)
            fitted[i]["content"] = TRIMMED
    return fitted
