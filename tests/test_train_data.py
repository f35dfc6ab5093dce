"""SFT data checks that need no training: each turn is trained on the context it had at
inference, and datasets built the old way (one fitted trajectory per example) are still named by
``trimmed``."""

from __future__ import annotations


def trajectory(listing: str) -> list[dict]:
    from agent.prompts import add_turn, initial_messages

    messages = initial_messages("1 of 1 tests fail", system_prompt="debug")
    add_turn(messages, "```\ncandidates\n```", listing)
    add_turn(messages, "```\napply c1\n```", "applied c1")
    add_turn(messages, "```\nsubmit\n```", "submitted")
    return messages


def test_every_turn_is_trained_once_on_the_context_inference_gave_it():
    """The listing is the latest observation when ``apply`` answers it (never trimmed then), and
    trimmed by the time ``submit`` answers: fitted once, as the last turn saw it, ``apply`` would
    be trained on an answer to the trim note. Split, it is trained in an example of its own, with
    the listing whole; ``candidates`` and ``submit`` share the other."""
    from agent.prompts import TRIMMED, fit_messages
    from trainers.data import turn_examples

    messages = trajectory("c1  mod.py:2  swap\n" * 40)
    examples = turn_examples(messages, max_chars=300)
    assert len(examples) == 2
    trained = {}
    for example in examples:
        for i, m in enumerate(example):
            assert m["role"] == "assistant" or m["train"] is False  # never an observation
            if m["train"]:
                assert i not in trained  # once
                trained[i] = example
                context = [(x["role"], x["content"]) for x in example[:i]]
                assert context == [(x["role"], x["content"])
                                   for x in fit_messages(messages[:i], 300)]
                assert m["content"] == messages[i]["content"]
    assert sorted(trained) == [2, 4, 6]  # candidates, apply, submit
    assert trained[4][3]["content"] == messages[3]["content"]  # apply saw the listing whole
    assert trained[6][3]["content"] == TRIMMED  # as submit did not
    assert trained[2] is trained[6] and not trained[6][4]["train"]
    assert [m["role"] for m in trained[4]][-1] == "assistant" and len(trained[4]) == 5

    short = trajectory("c1  mod.py:2  swap")  # within the budget: one example, every turn
    (example,) = turn_examples(short, max_chars=300)
    assert [(m["role"], m["content"]) for m in example] == [
        (m["role"], m["content"]) for m in short[:-1]]
    assert [m["train"] for m in example] == [m["role"] == "assistant" for m in short[:-1]]


def test_trimmed_names_old_rows_only():
    """A row fitted once to the budget (as datasets were built before per-turn examples) holds a
    trim note that a trained turn never saw: ``trimmed`` names it. The per-turn examples of the
    same trajectory hold the note too, where it is what the turn saw: not named."""
    from datasets import Dataset

    from agent.prompts import TRIMMED, fit_messages
    from trainers.data import turn_examples
    from trainers.sft import trimmed, untrained_turns

    long = trajectory("c1  mod.py:2  swap\n" * 40)
    old = [{"messages": fit_messages(m[:-1], 300)} for m in (trajectory("c1 swap"), long)]
    assert [m["content"] for m in old[1]["messages"]].count(TRIMMED) == 1
    assert trimmed(Dataset.from_list(old)) == [1]
    assert untrained_turns(Dataset.from_list(old)) == 0
    new = Dataset.from_list([{"messages": m} for m in turn_examples(long, 300)])
    assert any(m["content"] == TRIMMED for row in new for m in row["messages"])
    assert trimmed(new) == [] and untrained_turns(new) == 2  # apply in one, candidates in one
