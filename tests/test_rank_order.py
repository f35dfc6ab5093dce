"""The search's order on real code: what comes first for a given failure (no sandbox)."""

from __future__ import annotations

import itertools
import textwrap
from dataclasses import replace

from agent.repair import failure, rank
from agent.repair.proposals import in_order, naive_order, ordered, propose
from agent.repair.site import Candidate

COUNT = textwrap.dedent('''\
    def count_upper(s):
        count = 0
        for i in range(0, len(s) - 1, 2):
            if s[i] in "AEIOU":
                count += 1
        return count
    ''')
FIX = COUNT.replace("len(s) - 1", "len(s)")

OFF_BY_ONE = '''assert 1 == 2
 +  where 1 = count_upper('dBBEAE')
>       assert count_upper('dBBEAE') == 2
E       assert 1 == 2
test_m.py:4: AssertionError
'''


def _position(files, lines, failures, target_text, path="m.py"):
    target = rank.ast_key(path, target_text)
    for i, (_, cand) in enumerate(in_order(lines, files, {}, failures=failures)):  # node -> output
        if rank.ast_key(path, cand.text) == target:
            return i
    return None


def test_values_that_differ_by_one_point_at_off_by_one_families():
    found = failure.hints([OFF_BY_ONE])
    assert found["off_by_one_bound"] == failure.HINT_BOOST
    assert "compare_negate" not in found


def test_each_kind_of_failure_has_its_families():
    assert "compare_negate" in failure.test_hints("E       assert True == False")
    assert "arith_op" in failure.test_hints("E       assert -3 == 3")
    assert "wrap_convert" in failure.test_hints("E       assert '3' == 3")
    assert "swap_pair" in failure.test_hints("E       assert [2, 1, 3] == [1, 2, 3]")
    assert "slice_iteration" in failure.test_hints("E       assert [1, 2] == [1, 2, 3]")
    assert "subscript_value" in failure.test_hints("E   IndexError: list index out of range")
    assert "loop_guard" in failure.test_hints("timed out after 2.0 s (per-test timeout)")
    assert "compare_negate" in failure.test_hints("E       assert None == 'x'")  # not returned
    assert failure.test_hints("E       assert 11.0 == 8.0") == set()  # says nothing
    assert failure.hints([]) == {}


def test_a_hint_shared_by_half_the_failing_tests_counts_half():
    found = failure.hints([OFF_BY_ONE, "E       assert 'ab' == 'ba'"])
    assert found["off_by_one_bound"] == 1 + (failure.HINT_BOOST - 1) / 2


def test_the_failing_output_brings_the_off_by_one_fix_forward():
    files = {"m.py": COUNT}
    lines = [("m.py", 3), ("m.py", 4), ("m.py", 5)]
    blind = _position(files, lines, {}, FIX)
    told = _position(files, lines, {"test_m.py::test_count": OFF_BY_ONE}, FIX)
    assert told is not None and blind is not None
    assert told <= blind and told < 5
    # Told, the families the off-by-one points at come first: a family it does not name waits.
    def first_unhinted(failures):
        found = in_order(lines, files, {}, failures=failures)
        return next(i for i, (_, c) in enumerate(found) if c.family not in failure.OFF_BY_ONE)
    assert first_unhinted({"test_m.py::test_count": OFF_BY_ONE}) > first_unhinted({})


def test_no_family_floods_a_line():
    files = {"m.py": COUNT}
    first = [c.family for _, c in itertools.islice(in_order([("m.py", 3)], files, {}), 12)]
    assert len(set(first)) >= 5, first
    assert max(first.count(f) for f in set(first)) <= 4, first


def test_naive_order_is_single_mutations_in_file_order():
    files = {"m.py": COUNT, "a.py": "def g(x):\n    return x + 1\n"}
    found = list(naive_order(files))
    assert found[0][1].path == "a.py"  # files sorted, then lines in order
    lines = [(c.path, c.line) for _, c in found]
    assert lines == sorted(lines, key=lambda loc: (loc[0], loc[1]))
    from envs.mutations import FAMILIES
    assert {c.family for _, c in found} <= set(FAMILIES)
    assert any(rank.ast_key("m.py", c.text) == rank.ast_key("m.py", FIX) for _, c in found)
    assert next(naive_order(files, editable=lambda p: p != "a.py"))[1].path == "m.py"


def test_the_listing_and_the_search_read_the_same_per_test_outputs_in_the_same_order():
    # The env's listing (``propose``) and the search (``in_order``) get each failing test's
    # output by node id, as the run reported it: both weigh each test once, so the listing's
    # ids are in the order the search validates. A test's name is not its output: a test
    # called test_timeout whose assertion fails hints no hang.
    outputs = {"test_m.py::test_timeout": OFF_BY_ONE,
               "test_m.py::test_sign": "E       assert -3 == 3"}
    assert "loop_guard" not in failure.hints(list(outputs.values()))
    files = {"m.py": COUNT}
    lines = [("m.py", 3), ("m.py", 4), ("m.py", 5)]
    listed = propose(files, lines, limit=15, failures=outputs)
    searched = [c for _, c in itertools.islice(in_order(lines, files, {}, failures=outputs), 15)]
    assert [(p.path, p.line, p.text) for p in listed] == [(c.path, c.line, c.text) for c in searched]
    blind = [c.text for _, c in itertools.islice(in_order(lines, files, {}), 15)]
    assert [p.text for p in listed] != blind  # the outputs did reach the order


def test_a_name_error_in_a_collection_error_puts_the_unbound_name_first():
    files = {"m.py": "def f(x):\n    z = x - 1\n    return y + z\n"}
    told = ordered([("m.py", 2)], files, errors=["E   NameError: name 'y' is not defined"])
    assert next(told)[1].line == 3
    assert next(ordered([("m.py", 2)], files))[1].line == 2


def test_a_family_whose_fixes_sit_deep_gives_way_slowly_but_starts_no_higher():
    # "deep" found its 20 fixes at place 10 on average among its candidates at the line,
    # "shallow" its 20 at its first: at one rate, shallow's first candidate leads, and deep's
    # twelfth comes before shallow's fourth.
    prior = rank.prior_from_counts({"deep": {"tried": 40, "fixed": 20, "depth": 200},
                                    "shallow": {"tried": 40, "fixed": 20, "depth": 0}})
    assert prior.decay("deep") > rank.FAMILY_DECAY > prior.decay("shallow")
    assert prior.decay("unmeasured") == rank.FAMILY_DECAY
    assert rank.decay_from_depth(0, 0) == rank.FAMILY_DECAY  # no fixes: the default
    assert prior.share("unmeasured", 3) == rank.FAMILY_DECAY ** 3
    site = Candidate("m.py", 1, "", "", "")
    groups = [(0, "Return", [replace(site, text=f"d{k}", family="deep") for k in range(15)]
               + [replace(site, text=f"s{k}", family="shallow") for k in range(15)])]
    found = [c.text for _, c in rank.order(groups, prior)]
    assert found[0] == "s0"
    assert found.index("d11") < found.index("s3")


def test_a_family_the_prior_never_measured_ranks_with_the_median_family() -> None:
    # A family newer than prior.json must neither flood a line (above the best) nor be buried
    # (below the worst): it takes the median measured family's rate.
    prior = rank.prior_from_counts({"best": {"tried": 40, "fixed": 30},
                                    "middle": {"tried": 40, "fixed": 4},
                                    "worst": {"tried": 40, "fixed": 0}})
    rates = {f: prior.rate(f, "Return") for f in ("best", "middle", "worst", "brand_new")}
    assert rates["worst"] < rates["brand_new"] < rates["best"]
    assert rates["brand_new"] == rates["middle"]
    groups = [(0, "Return", [Candidate("m.py", 1, "w", "worst", ""),
                             Candidate("m.py", 1, "n", "brand_new", ""),
                             Candidate("m.py", 1, "b", "best", "")])]
    assert [c.text for _, c in rank.order(groups, prior)] == ["b", "n", "w"]


def test_the_flat_share_is_one_per_family_at_a_line_not_one_per_candidate() -> None:
    # Two families the prior rates alike: one proposes 100 edits at the line (as wrap_convert
    # does), the other 2. The floor that keeps unlikely families alive is spread over a family's
    # candidates, so the few come before the flood's second; a family the prior rates far
    # higher still leads with its first candidate however many it proposes.
    prior = rank.prior_from_counts({"many": {"tried": 40, "fixed": 4},
                                    "few": {"tried": 40, "fixed": 4},
                                    "likely": {"tried": 40, "fixed": 30}})
    site = Candidate("m.py", 1, "", "", "")
    flood = [replace(site, text=f"m{k}", family="many") for k in range(100)]
    few = [replace(site, text=f"f{k}", family="few") for k in range(2)]
    found = [c.text for _, c in rank.order([(0, "Return", flood + few)], prior)]
    assert found.index("f1") < found.index("m1"), found[:6]
    assert found.index("f0") < found.index("m0")
    likely = [replace(site, text=f"l{k}", family="likely") for k in range(100)]
    found = [c.text for _, c in rank.order([(0, "Return", likely + few)], prior)]
    assert found[0] == "l0", found[:6]
