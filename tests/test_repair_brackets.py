"""The misplaced-parenthesis families (``agent.repair.brackets``) on small sources: exact texts,
the grouping kept by parentheses where the context binds tighter, silence where nothing can
move, and a real `agent fix` run that needs one."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_repair import same, src
from test_repair_calls import assert_agent_fix_finds
from test_repair_families2 import assert_every_family_proposes_valid_edits, texts

from agent.repair import brackets

ROUTE = src("""
    def cost(steps, best, M):
        for t in steps:
            best = min(best, step(t))+1
        return (pow(2, best, M * 3-1) // 3) % M


    def total(xs, M):
        s = 0
        for x in xs:
            s += (x * x) % M
        return s
""")


def test_paren_shift_moves_an_operation_into_the_call() -> None:
    fixed = ROUTE.replace("min(best, step(t))+1", "min(best, step(t) + 1)")
    assert fixed in texts("paren_shift", ROUTE, "best = min")


def test_paren_shift_moves_an_operand_out_of_the_call_keeping_its_grouping() -> None:
    found = texts("paren_shift", ROUTE, "return (pow")
    fixed = ROUTE.replace("(pow(2, best, M * 3-1) // 3)", "((pow(2, best, M * 3) - 1) // 3)")
    assert any(same(text, fixed) for text in found)
    # inward, the operation applies to the whole last argument, not to its last operand
    inward = ROUTE.replace("(pow(2, best, M * 3-1) // 3)", "(pow(2, best, (M * 3 - 1) // 3))")
    assert any(same(text, inward) for text in found)


def test_paren_shift_is_silent_without_a_call_to_regroup() -> None:
    assert texts("paren_shift", ROUTE, "s = 0") == []
    starred = "def f(a, b):\n    return g(a, *b) + 1\n"
    assert texts("paren_shift", starred, "return") == []  # a starred last argument stays


def test_aug_reduce_reduces_the_accumulator_not_only_the_increment() -> None:
    fixed = ROUTE.replace("s += (x * x) % M", "s = (s + x * x) % M")
    assert [same(t, fixed) for t in texts("aug_reduce", ROUTE, "s +=")] == [True]
    assert texts("aug_reduce", ROUTE, "s = 0") == []
    plain = "def f(xs):\n    s = 0\n    for x in xs:\n        s += x * 2\n    return s\n"
    assert texts("aug_reduce", plain, "s +=") == []  # no reduction to widen


def test_the_bracket_families_propose_edits_that_parse_and_change_the_source() -> None:
    assert_every_family_proposes_valid_edits(ROUTE, set(brackets.FAMILIES))


COINS = '''def fewest_coins(amount, coins):
    """The fewest coins that make ``amount``, -1 where none do."""
    best = [0] + [amount + 1] * amount
    for a in range(1, amount + 1):
        for c in coins:
            if c <= a:
                best[a] = min(best[a], best[a - c])+1
    return best[amount] if best[amount] <= amount else -1
'''

COINS_TESTS = '''from coins import fewest_coins


def test_eleven():
    assert fewest_coins(11, [5, 2, 1]) == 3


def test_nothing_to_pay():
    assert fewest_coins(0, [1]) == 0


def test_impossible():
    assert fewest_coins(3, [2]) == -1
'''


@pytest.mark.slow
@pytest.mark.docker
def test_agent_fix_moves_the_parenthesis_with_paren_shift(tmp_path: Path, docker_ready) -> None:
    """A coin is counted once per candidate coin instead of once for the chosen one: no
    single-token mutation undoes it; `agent fix` in the Docker sandbox moves the parenthesis."""
    assert_agent_fix_finds(tmp_path, {"coins.py": COINS, "tests/test_coins.py": COINS_TESTS},
                           "paren_shift", "                best[a] = min(best[a], best[a - c] + 1)")


def test_operand_ingredient_takes_the_reduction_an_augmented_assignment_applies() -> None:
    """The module reduces with ``x %= MOD`` only: the unreduced sum gets ``% MOD`` too."""
    buggy = src("""
        MOD = 998244353


        def ways(rows):
            dp = [1, 1]
            for r in rows:
                dp[0] += r
                dp[0] %= MOD
            return sum(dp)
    """)
    assert buggy.replace("return sum(dp)", "return sum(dp) % MOD") in texts(
        "operand_ingredient", buggy, "return sum")
