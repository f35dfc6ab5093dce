"""The action grammar: parse_action / format_action round trips and the errors policies see."""

import numpy as np
import pytest

from envs.actions import (
    ActionError, Apply, Candidates, Edit, EditBlock, Localize, Open, RunTests, Search, Submit,
    extract_block, format_action, parse_action,
)

ACTIONS = [
    RunTests(),
    RunTests(("tests/test_ops.py::test_add", "tests/test_ops.py::test_sub[1-2]")),
    Open("calc/ops.py"),
    Open("calc/ops.py", 10),
    Open("calc/ops.py", 10, 40),
    Open("dir with space/m.py", 3),
    Search("def add"),
    Search(r"return \w+ - \w+", "calc/"),
    Localize(),
    Submit(),
    Edit("calc/ops.py", (EditBlock("    return a - b", "    return a + b"),)),
    Edit("m.py", (EditBlock("x = 1\ny = 2", "x = 2"), EditBlock("def f():\n    pass", ""))),
    Edit("m.py", (EditBlock("s = '```'", "s = '``'"),)),
    Candidates(),
    Candidates("calc/ops.py", 12),
    Candidates("dir with space/m.py", 3),
    Apply("c1"),
    Apply("c12"),
]


@pytest.mark.parametrize("action", ACTIONS, ids=repr)
def test_format_then_parse_gives_the_same_action(action):
    assert parse_action(format_action(action)) == action


def test_text_around_the_block_is_ignored():
    text = "I think add is wrong.\n```\nopen calc/ops.py 1 20\n```\nThat should show it."
    assert parse_action(text) == Open("calc/ops.py", 1, 20)


def test_an_action_without_fence_is_read_as_it_stands():
    assert parse_action("submit") == Submit()
    assert parse_action("  run_tests tests/test_a.py  \n") == RunTests(("tests/test_a.py",))


def test_a_language_tag_on_the_fence_is_allowed():
    assert parse_action("```bash\nlocalize\n```") == Localize()


def test_edit_block_may_hold_backtick_fences_of_its_own():
    text = "```\nedit README.md\n<<<<<<< SEARCH\n```\nold\n```\n=======\nnew\n>>>>>>> REPLACE\n```"
    action = parse_action(text)
    assert action == Edit("README.md", (EditBlock("```\nold\n```", "new"),))


def test_edit_with_empty_replace_deletes_lines():
    text = "edit m.py\n<<<<<<< SEARCH\nprint('debug')\n=======\n>>>>>>> REPLACE"
    assert parse_action(text) == Edit("m.py", (EditBlock("print('debug')", ""),))


@pytest.mark.parametrize("text, message", [
    ("", "no action found"),
    ("```\n\n```", "no action found"),
    ("```\nsubmit", "not closed"),
    ("fly away", "unknown action 'fly'"),
    ("open", "open takes PATH"),
    ("open a.py x", "whole numbers"),
    ("open a.py 0", "whole numbers"),
    ("open a.py 9 3", "END (3) is before START (9)"),
    ("open a.py 1 2 3", "open takes PATH"),
    ("search", "search takes PATTERN"),
    ("search '(' a.py", "not a valid regular expression"),
    ("search 'unclosed", "cannot read"),
    ("localize now", "takes no arguments"),
    ("submit\nrun_tests", "one action per answer"),
    ("edit", "exactly one PATH"),
    ("edit a.py", "no SEARCH/REPLACE block"),
    ("edit a.py\nreturn 1", "expected a line"),
    ("edit a.py\n<<<<<<< SEARCH\nx\n>>>>>>> REPLACE", "needs `=======`"),
    ("edit a.py\n<<<<<<< SEARCH\n\n=======\ny\n>>>>>>> REPLACE", "SEARCH part is empty"),
    ("candidates calc/ops.py", "one PATH:LINE"),
    ("candidates calc/ops.py:0", "one PATH:LINE"),
    ("candidates a.py:1 b.py:2", "one PATH:LINE"),
    ("apply", "apply takes one candidate id"),
    ("apply 3", "apply takes one candidate id"),
    ("apply c0", "apply takes one candidate id"),
    ("apply c1 c2", "apply takes one candidate id"),
    ("candidates\napply c1", "one action per answer"),
])
def test_malformed_actions_raise_action_error_saying_what_to_do(text, message):
    with pytest.raises(ActionError, match=None) as info:
        parse_action(text)
    assert message in str(info.value)


def test_unknown_action_message_shows_the_usage():
    with pytest.raises(ActionError) as info:
        parse_action("fix it please")
    assert "run_tests [NODE_ID ...]" in str(info.value)


def test_extract_block_spans_first_to_last_fence():
    assert extract_block("a\n```\nx\n```\nb\n```\ny\n```") == "x\n```\nb\n```\ny"


def test_random_text_only_ever_raises_action_error():
    """The env relies on this: anything a policy writes is either an action or an ActionError."""
    from envs.env import CHARSET

    rng = np.random.default_rng(0)
    alphabet = sorted(CHARSET)
    pieces = ["```", "\n", "edit ", "open ", "search ", "'", '"', "<<<<<<< SEARCH\n", "=======\n",
              ">>>>>>> REPLACE\n", "run_tests ", "\x00", " 1 ", "\\"]
    for _ in range(2000):
        parts = [pieces[i] if i < len(pieces) else alphabet[rng.integers(len(alphabet))]
                 for i in rng.integers(0, len(pieces) + 40, size=rng.integers(0, 30))]
        text = "".join(parts)
        try:
            parse_action(text)
        except ActionError:
            pass
