"""The two-point families (``agent.repair.pairs``) on small hand-written sources: one change made
at every place it belongs (every read of a name, two parallel statements), exact texts, and
silence where no second place exists."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_repair import src
from test_repair_calls import assert_agent_fix_finds
from test_repair_families2 import assert_every_family_proposes_valid_edits, texts

from agent.repair import calls, invariants, pairs

DATE = src("""
    def parse(text):
        parts = text.split("-")
        day = int(parts[1])
        month = int(parts[0])
        return day, month
""")


def test_rename_all_replaces_every_read_of_a_name_in_the_statement() -> None:
    buggy = src("""
        def area(w, h):
            side = max(w, h)
            return w * w
    """)
    found = texts("rename_all", buggy, "return")
    assert found == [buggy.replace("return w * w", "return h * h"),  # parameters first
                     buggy.replace("return w * w", "return side * side")]
    assert texts("rename_all", "def f(a, b):\n    return a + b\n", "return") == []


def test_parallel_exchange_swaps_one_differing_leaf_between_parallel_statements() -> None:
    found = texts("parallel_exchange", DATE, "day =")
    assert found == [
        DATE.replace("day = int", "month = int", 1).replace("month = int(parts[0])",
                                                             "day = int(parts[0])"),
        DATE.replace("parts[1]", "parts[@]").replace("parts[0]", "parts[1]")
            .replace("parts[@]", "parts[0]"),
    ]
    assert texts("parallel_exchange", DATE, "month =") != []  # from either line
    assert texts("parallel_exchange", DATE, "return") == []   # nothing parallel to it


def test_consistent_edit_changes_a_shared_leaf_in_both_parallel_statements() -> None:
    buggy = src("""
        def edges(grid, width):
            top = grid.row(0, width)
            bottom = grid.row(0, width)
            return top, bottom
    """)
    found = texts("consistent_edit", buggy, "top =")
    assert buggy.replace("(0, width)", "(1, width)") in found
    assert buggy.replace("(0, width)", "(-1, width)") in found
    assert buggy.replace("(0, width)", "(0, grid)") in found  # a local read by both
    assert all("top = " in t and "bottom = " in t for t in found)
    assert len(found) <= 12
    assert texts("consistent_edit", "def f(a):\n    x = g(a)\n    return x\n", "x =") == []


def test_boundary_all_moves_both_ends_of_a_range_at_once() -> None:
    buggy = "def outside(v):\n    return v >= 675 or v <= 100\n"
    assert texts("boundary_all", buggy, "return") == [
        "def outside(v):\n    return v > 675 or v < 100\n"]
    chain = "def upper(c):\n    return 'A' < c < 'Z'\n"
    assert texts("boundary_all", chain, "return") == ["def upper(c):\n    return 'A' <= c <= 'Z'\n"]
    assert texts("boundary_all", "def f(a, b):\n    return a < b or a == 1\n", "return") == []


def test_exchange_reads_swaps_two_names_at_every_read() -> None:
    buggy = "def between(x, y, z):\n    return (x < y and y < z) or (x > y and y > z)\n"
    found = texts("exchange_reads", buggy, "return")
    assert "def between(x, y, z):\n    return (x < z and z < y) or (x > z and z > y)\n" in found
    assert len(found) == 3  # each pair of the three names once
    assert texts("exchange_reads", "def f(a, b):\n    return a - b\n", "return") == []


def test_distribute_compare_completes_a_bare_operand_of_an_or() -> None:
    buggy = "def special(s):\n    return s == 'ABC316' or 'ABC000'\n"
    assert texts("distribute_compare", buggy, "return") == [
        "def special(s):\n    return s == 'ABC316' or s == 'ABC000'\n"]
    assert texts("distribute_compare", "def f(s):\n    return s or 'x'\n", "return") == []


def test_the_new_families_compile_and_differ_from_the_original() -> None:
    """Every candidate the calls / pairs / invariants families make for a mixed module parses and
    differs from the original (the engine's dedupe would drop it otherwise, so none is wasted)."""
    source = src('''
        class Span:
            def __init__(self, lo, hi):
                self.stats = {}
                self.stats["lo"] = 0
                self.stats["n"] = 0
                self.lo, self.hi = lo, hi

            def grow(self, by):
                self.stats["grown"] = by
                if self.lo >= 0 and self.hi <= 100 and self.lo < self.hi.real():
                    return Span(self.lo - by, self.hi + by)
                assert self.lo <= self.hi
                return self.lo.real * 2 + 2

            def kind(self, other):
                assert self.lo <= self.hi
                kinds = (Span, tuple)
                if isinstance(other, (list, tuple)) or other == 1 or 2:
                    first = int(other[0])
                    second = int(other[1])
                    p = Span(first, second)
                    return Span(first, second).grow(first * first)
                return self.stats[other] if isinstance(other, kinds) else self.stats.get(other)
    ''')
    assert_every_family_proposes_valid_edits(
        source, set(calls.FAMILIES) | set(pairs.FAMILIES) | set(invariants.FAMILIES))


def test_constant_all_moves_every_copy_of_an_integer() -> None:
    buggy = "def both(x, y):\n    return x % 3 == 0 and y % 3 == 0\n"
    assert texts("constant_all", buggy, "return") == [
        "def both(x, y):\n    return x % 4 == 0 and y % 4 == 0\n",
        "def both(x, y):\n    return x % 2 == 0 and y % 2 == 0\n",
        "def both(x, y):\n    return x % 3 == 1 and y % 3 == 1\n"]  # 0 -> -1 is left out
    assert texts("constant_all", "def f(x):\n    return x % 3 == 1\n", "return") == []


def test_shift_all_moves_every_copy_of_an_index_in_the_function() -> None:
    buggy = ("def seen_twice(grid):\n    seen = [False] * len(grid)\n    for row in grid:\n"
             "        if seen[row[0]]:\n            return True\n        seen[row[0]] = True\n"
             "    return False\n")
    found = texts("shift_all", buggy, "if seen")
    assert buggy.replace("[row[0]]", "[row[0] - 1]") in found
    assert len(found) == 2  # + 1 and - 1, once for both copies; `row[0]` alone is read once
    assert texts("shift_all", "def f(xs, i):\n    return xs[i + 1]\n", "return") == []


def test_call_swap_all_changes_a_builtin_in_every_parallel_statement() -> None:
    buggy = ("def spread(a, b, c):\n    ans = 0\n    ans = min(ans, max(a) - min(a))\n"
             "    ans = min(ans, max(b) - min(b))\n    ans = min(ans, max(c) - min(c))\n"
             "    return ans\n")
    fixed = buggy.replace("ans = min(ans", "ans = max(ans")
    assert fixed in texts("call_swap_all", buggy, "max(b)")
    assert texts("call_swap_all", "def f(a):\n    return min(a)\n", "return") == []


# -- end to end ------------------------------------------------------------------------------

GAUGE = '''"""Readings of a gauge whose safe band is 0 to 10, both ends included."""


def alarm(reading):
    return reading >= 10 or reading <= 0


def describe(reading):
    return "alarm" if alarm(reading) else "ok"
'''

GAUGE_TESTS = '''from gauge import alarm, describe


def test_band_ends_are_safe():
    assert [alarm(v) for v in (-1, 0, 10, 11)] == [True, False, False, True]


def test_describe():
    assert describe(5) == "ok" and describe(50) == "alarm"
'''


@pytest.mark.slow
@pytest.mark.docker
def test_agent_fix_moves_both_ends_of_a_band_with_boundary_all(tmp_path: Path,
                                                               docker_ready) -> None:
    """Neither end alone passes the failing test (no partial fix for the search to join):
    `agent fix` in the Docker sandbox needs the two-point boundary_all edit, and finds it."""
    assert_agent_fix_finds(tmp_path, {"gauge.py": GAUGE, "tests/test_gauge.py": GAUGE_TESTS},
                           "boundary_all", "    return reading > 10 or reading < 0")
