"""Mutation operators: each family fires, edits stay inside one span, order is deterministic."""

import ast
import textwrap

import pytest

from envs.mutations import FAMILIES, Mutation, MutationError, apply, enumerate_mutations, inverse

SOURCE = textwrap.dedent('''\
    """A module that exercises every operator."""


    class Account:
        def __init__(self, owner, balance=0):
            self.owner = owner
            self.balance = balance
            self.history = []

        def deposit(self, amount):
            if amount <= 0 or amount is None:
                raise ValueError("amount must be positive")
            self.balance += amount
            self.history.append(amount)
            return self.balance

        def last(self, n):
            if not self.history:
                return []
            return self.history[len(self.history) - n:]


    def summary(accounts, limit):
        totals = {"count": 0, "sum": 0}
        for i in range(len(accounts) - 1):
            totals["count"] = totals["count"] + 1
            totals["sum"] = totals.get("sum") - accounts[i].balance * 2
        ok = totals["sum"] == limit
        try:
            return max(totals["sum"], limit) // 3, ok
        except KeyError:
            return True
    ''')


def muts(**kw):
    return enumerate_mutations(SOURCE, "bank.py", **kw)


def test_every_family_fires():
    families = {m.family for m in muts()}
    assert set(FAMILIES) == families


def test_each_mutant_parses_changes_one_span_and_inverts():
    for m in muts():
        mutant = apply(SOURCE, m)
        assert mutant != SOURCE
        ast.parse(mutant)
        lines_before = SOURCE.splitlines()
        # text outside the span is untouched
        prefix = "".join(SOURCE.splitlines(keepends=True)[: m.start[0] - 1]) + \
            lines_before[m.start[0] - 1][: m.start[1]]
        assert mutant.startswith(prefix)
        assert apply(mutant, inverse(SOURCE, m)) == SOURCE


@pytest.mark.parametrize("family, old, new", [
    ("arith_op", "-", "+"),
    ("aug_assign", "+=", "-="),
    ("compare_boundary", "<=", "<"),
    ("compare_direction", "<=", ">="),
    ("compare_negate", "==", "!="),
    ("is_eq", "is", "=="),
    ("bool_op", "or", "and"),
    ("int_constant", "2", "3"),
    ("off_by_one_bound", "len(accounts) - 1", "len(accounts)"),
    ("swap_operands", "len(self.history) - n", "n - len(self.history)"),
    ("remove_not", "not self.history", "self.history"),
    ("return_value", "self.balance", "None"),
    ("bool_constant", "True", "False"),
    ("swap_arguments", 'totals["sum"], limit', 'limit, totals["sum"]'),
    ("wrong_key", '"count"', '"sum"'),
    ("wrong_attribute", "balance", "history"),
    ("api_swap", "max", "min"),
    ("api_swap", "append", "extend"),
    ("exception_type", "KeyError", "ValueError"),
    ("wrong_variable", "amount", "self"),
])
def test_expected_mutations_exist(family, old, new):
    found = [(m.old_text, m.new_text) for m in muts() if m.family == family]
    if new == "self":  # self is never a replacement
        assert all(n != "self" for _, n in found)
        return
    assert (old, new) in found, found[:20]


def test_remove_statement_keeps_blocks_valid():
    removed = [m for m in muts() if m.family == "remove_statement"]
    raise_line = next(m for m in removed if "raise ValueError" in m.old_text)
    assert raise_line.new_text.strip() == "pass"  # the only statement of its block
    append = next(m for m in removed if "append" in m.old_text)
    assert append.new_text == ""
    assert not any('"""' in m.old_text for m in removed)  # docstrings stay


def test_conditions_negated_and_dropped():
    at_11 = [m for m in muts(lines=[11]) if m.family in ("negate_condition", "remove_condition")]
    news = {m.new_text for m in at_11}
    assert "not (amount <= 0 or amount is None)" in news
    assert "amount <= 0" in news and "amount is None" in news


def test_lines_filter_and_order_are_deterministic():
    all_m = muts()
    assert all_m == muts()
    assert all_m == sorted(
        all_m, key=lambda m: (m.start, m.end, FAMILIES.index(m.family), m.new_text))
    only = muts(lines=[13])
    assert only and all(13 in m.lines for m in only)
    assert set(only) <= set(all_m)


def test_columns_count_characters_not_bytes():
    src = 'def f(x):\n    s = "héllo wörld"; return x < 3\n'
    m = next(m for m in enumerate_mutations(src, "u.py") if m.family == "compare_boundary")
    assert m.old_text == "<"
    assert apply(src, m) == 'def f(x):\n    s = "héllo wörld"; return x <= 3\n'


def test_errors_say_what_failed():
    with pytest.raises(MutationError, match="cannot parse line 1"):
        enumerate_mutations("def (:\n", "bad.py")
    m = Mutation("x.py", (1, 0), (1, 1), "y", "z", "arith_op", "test")
    with pytest.raises(MutationError, match="expected 'y'"):
        apply("x = 1\n", m)


def test_exception_tuples_popleft_and_module_wide_attributes():
    src = textwrap.dedent('''\
        def f(queue, item, meeting):
            try:
                x = queue.pop()
            except (ValueError, KeyError):
                x = None
            return max(meeting.start, item.end), x
        ''')
    pairs = {(m.family, m.old_text, m.new_text) for m in enumerate_mutations(src, "f.py")}
    assert ("exception_type", "KeyError", "IndexError") in pairs
    assert ("api_swap", "pop", "popleft") in pairs
    assert ("wrong_attribute", "start", "end") in pairs  # 'end' is read on another name
