"""SFT data checks that need no training: examples whose observations were trimmed are found."""

from __future__ import annotations


def test_trimmed_finds_examples_whose_observations_the_budget_cut():
    """A trajectory longer than the character budget is fitted as its last turn's prompt would
    be, so an earlier observation becomes TRIMMED; ``trimmed`` names that row and not one that
    fits."""
    from datasets import Dataset

    from agent.prompts import TRIMMED, add_turn, initial_messages
    from trainers.data import example_messages
    from trainers.sft import trimmed

    def trajectory(listing: str) -> list[dict]:
        messages = initial_messages("1 of 1 tests fail", system_prompt="debug")
        add_turn(messages, "```\ncandidates\n```", listing)
        add_turn(messages, "```\napply c1\n```", "applied c1")
        add_turn(messages, "```\nsubmit\n```", "submitted")
        return messages

    short, long = trajectory("c1  mod.py:2  swap"), trajectory("c1  mod.py:2  swap\n" * 40)
    rows = [{"messages": example_messages(m, max_chars=300)} for m in (short, long)]
    assert [m["content"] for m in rows[1]["messages"]].count(TRIMMED) == 1
    assert TRIMMED not in [m["content"] for m in rows[0]["messages"]]
    assert trimmed(Dataset.from_list(rows)) == [1]
