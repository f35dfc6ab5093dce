"""The repair engine's families and ranking, as pure functions of hand-written source strings.

Each family must propose the fix for a small bug of the kind it is meant for, and stay silent
where it has nothing to do.
"""

from __future__ import annotations

import ast
import textwrap

import pytest

from agent.repair import candidates_at, evidence, problem_locations, rank
from agent.repair.site import Candidate
from agent.repair.syntax import syntax_fixes


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def same(a: str, b: str) -> bool:
    return ast.dump(ast.parse(a)) == ast.dump(ast.parse(b))


def line_of(source: str, needle: str) -> int:
    return next(i for i, line in enumerate(source.split("\n"), 1) if needle in line)


def proposes(family: str, buggy: str, fixed: str, needle: str, package=None) -> bool:
    found = candidates_at("m.py", buggy, line_of(buggy, needle), package, families={family})
    return any(same(c.text, fixed) for c in found)


def silent(family: str, source: str, needle: str) -> bool:
    return not candidates_at("m.py", source, line_of(source, needle), families={family})


# -- ingredients -----------------------------------------------------------------------------

COUNTER = src("""
    class Counter:
        def __init__(self):
            self.items = []
            self._count = 0

        def add(self, x):
            self.items.append(x)
            self._count += 1

        def add_many(self, xs):
            for x in xs:
                self.items.append(x)
            return self
""")


def test_ingredient_insert_reuses_a_statement_of_another_method() -> None:
    fixed = COUNTER.replace("            self.items.append(x)\n        return self",
                            "            self.items.append(x)\n            self._count += 1\n"
                            "        return self")
    assert fixed != COUNTER
    assert proposes("ingredient_insert", COUNTER, fixed, "return self")


def test_ingredient_insert_renames_to_a_name_bound_here() -> None:
    buggy = src("""
        def total(prices):
            result = 0
            for p in prices:
                result += p
            return result

        def total_weight(items):
            result = 0
            for item in items:
                pass
            return result
    """)
    fixed = buggy.replace("        pass", "        result += item\n        pass")
    assert proposes("ingredient_insert", buggy, fixed, "pass")


def test_ingredient_insert_is_silent_without_other_statements() -> None:
    assert silent("ingredient_insert", "def f(x):\n    return x\n", "return")


def test_ingredient_replace_takes_a_statement_of_the_same_kind() -> None:
    buggy = src("""
        class Bag:
            def __init__(self):
                self.items = []

            def clear(self):
                self.items = {}
    """)
    assert proposes("ingredient_replace", buggy, buggy.replace("{}", "[]"), "= {}")
    assert silent("ingredient_replace", "def f(x):\n    return x\n", "return")


# -- expressions -----------------------------------------------------------------------------

def test_replace_name_uses_another_local() -> None:
    buggy = src("""
        def count(values, counts):
            for i, v in enumerate(values):
                counts[v] += 1
            return values
    """)
    assert proposes("replace_name", buggy, buggy.replace("return values", "return counts"),
                    "return values")
    assert silent("replace_name", "def f():\n    return 1\n", "return 1")


def test_plus_minus_one_on_an_index() -> None:
    buggy = src("""
        def lcs(dp, i, j):
            return dp[i - 1][j] + 1
    """)
    assert proposes("plus_minus_one", buggy, buggy.replace("dp[i - 1][j]", "dp[i - 1][j - 1]"),
                    "return")
    assert silent("plus_minus_one", "def f(s):\n    return s.upper()\n", "return")


def test_swap_pair_of_indices() -> None:
    buggy = src("""
        def via(d, i, j, k):
            return d[i, k] + d[j, k]
    """)
    assert proposes("swap_pair", buggy, buggy.replace("d[j, k]", "d[k, j]"), "return")
    assert silent("swap_pair", "def f(a):\n    return a[0]\n", "return")


def test_wrap_call_max_with_zero() -> None:
    buggy = src("""
        def best(xs):
            here = so_far = 0
            for x in xs:
                here = here + x
                so_far = max(so_far, here)
            return so_far
    """)
    assert proposes("wrap_call", buggy, buggy.replace("here = here + x", "here = max(here + x, 0)"),
                    "here = here + x")
    assert silent("wrap_call", "def f():\n    pass\n", "pass")


def test_extend_return_adds_a_value() -> None:
    buggy = src("""
        def split(xs):
            low = [x for x in xs if x < 0]
            high = [x for x in xs if x >= 0]
            return low
    """)
    assert proposes("extend_return", buggy, buggy.replace("return low", "return low, high"),
                    "return low")
    assert silent("extend_return", "def f(x):\n    x.sort()\n", "sort")


def test_aug_assign_form() -> None:
    buggy = src("""
        def total(xs):
            t = 0
            for x in xs:
                t = x
            return t
    """)
    assert proposes("aug_assign_form", buggy, buggy.replace("t = x", "t += x"), "t = x")
    assert silent("aug_assign_form", "def f(x):\n    return x\n", "return")


def test_power_replaces_a_product() -> None:
    buggy = src("""
        def close(x, approx, eps):
            return abs(x - approx * 2) < eps
    """)
    assert proposes("power", buggy, buggy.replace("approx * 2", "approx ** 2"), "return")
    fixed_sq = buggy.replace("approx * 2", "approx ** 2 * 2")
    assert proposes("power", buggy, fixed_sq, "return")
    assert silent("power", "def f(a, b):\n    return a.join(b)\n", "return")


def test_slice_iteration_skips_the_first() -> None:
    buggy = src("""
        def gaps(xs):
            out = []
            for x in xs:
                out.append(x)
            return out
    """)
    assert proposes("slice_iteration", buggy, buggy.replace("in xs:", "in xs[1:]:"), "for x")
    assert silent("slice_iteration", "def f(xs):\n    return xs\n", "return")


def test_mutation_families_still_come_through() -> None:
    buggy = "def ge(a, b):\n    return a > b\n"
    assert proposes("compare_boundary", buggy, "def ge(a, b):\n    return a >= b\n", "return")


# -- conditions ------------------------------------------------------------------------------

LIST_WALK = src("""
    def has_cycle(node):
        hare = node
        while True:
            if hare.next is None:
                return False
            hare = hare.next.next
""")


def test_widen_condition_with_is_none() -> None:
    fixed = LIST_WALK.replace("if hare.next is None:", "if hare.next is None or hare is None:")
    assert proposes("widen_condition", LIST_WALK, fixed, "if hare.next")
    assert silent("widen_condition", LIST_WALK, "hare = hare.next.next")


def test_tighten_condition_is_marked_as_disabling() -> None:
    buggy = src("""
        def pay(amount, coins):
            if amount > 0:
                return 1
            return 0
    """)
    found = candidates_at("m.py", buggy, 2, families={"tighten_condition"})
    assert any(same(c.text, buggy.replace("amount > 0", "amount > 0 and coins")) for c in found)
    assert all(c.disables for c in found)


def test_compare_zero_none() -> None:
    buggy = src("""
        def label(count):
            if count:
                return "some"
            return "none"
    """)
    assert proposes("compare_zero_none", buggy, buggy.replace("if count:", "if count is not None:"),
                    "if count")
    assert silent("compare_zero_none", "def f(a):\n    a.sort()\n", "sort")


def test_condition_ingredient_from_the_module() -> None:
    buggy = src("""
        def first(xs):
            if not xs:
                return None
            return xs[0]

        def last(xs):
            if len(xs) > 100:
                return None
            return xs[-1]
    """)
    fixed = buggy.replace("if len(xs) > 100:", "if len(xs) > 100 or not xs:")
    assert proposes("condition_ingredient", buggy, fixed, "if len(xs)")


# -- names, imports, syntax ------------------------------------------------------------------

def test_misspelled_name_is_replaced_by_the_nearest_bound_one() -> None:
    buggy = src("""
        def area(width, height):
            return widht * height
    """)
    assert proposes("misspelled_name", buggy, buggy.replace("widht", "width"), "return")
    assert problem_locations("m.py", buggy) == [2]
    assert silent("misspelled_name", "def f(a):\n    return a\n", "return")
    # another language's spelling, or a name like nothing that exists where a value stood
    buggy = "def pick(xs):\n    return [x for x in xs if x != null and this - x in xs]\n"
    assert proposes("misspelled_name", buggy, buggy.replace("null", "None"), "return")
    assert proposes("misspelled_name", buggy, buggy.replace("this", "0"), "return")


def test_a_name_used_twice_as_misspelled_and_a_self_left_out() -> None:
    buggy = src("""
        def area(width, height):
            return widht * height + widht
    """)
    assert proposes("misspelled_name", buggy, buggy.replace("widht", "width"), "return")
    buggy = src("""
        class Window:
            def slide(self, xs):
                self.seen = (0, 0)
                for x in xs:
                    self.seen = (seen[1], seen[0] + x)
                return self.seen
    """)
    fixed = buggy.replace("(seen[1], seen[0]", "(self.seen[1], self.seen[0]")
    assert proposes("misspelled_name", buggy, fixed, "self.seen = (seen")
    # and the other way round: an attribute the class never sets, read for a local
    buggy = src("""
        class Counter:
            def total(self, xs):
                count = 0
                for x in xs:
                    count += x
                return self.count
    """)
    assert proposes("misspelled_attribute", buggy, buggy.replace("self.count", "count"),
                    "return")


def test_a_definition_left_out_is_made_as_its_siblings() -> None:
    buggy = src("""
        def seen(rows):
            by_row = [0] * len(rows)
            for i, row in enumerate(rows):
                by_row[i] += sum(row)
                by_col[i] += row[0]
            return by_row, by_col
    """)
    fixed = buggy.replace("    by_row = [0] * len(rows)\n",
                          "    by_row = [0] * len(rows)\n    by_col = [0] * len(rows)\n")
    assert proposes("defined_by_analogy", buggy, fixed, "by_col[i]")
    assert silent("defined_by_analogy", buggy.replace("by_col", "total"), "total[i]")


def test_a_helper_that_exists_nowhere_is_done_in_place_or_its_calls_removed() -> None:
    buggy = src("""
        class Counter:
            def smaller(self, count, nums):
                res = []
                for n in nums:
                    self.log_step()
                    res.append(self.add_up(count[:n]))
                    self.log_step()
                return res
    """)
    fixed = buggy.replace("self.add_up(count[:n])", "sum(count[:n])")
    assert proposes("missing_helper", buggy, fixed, "add_up")
    removed = buggy.replace("            self.log_step()\n", "")
    assert proposes("missing_helper", buggy, removed, "log_step")
    builtin = "class A:\n    def f(self, a, b):\n        return self.min(a, b) + 1\n"
    assert proposes("missing_helper", builtin, builtin.replace("self.min", "min"), "return")
    defined = buggy + "\n    def add_up(self, xs):\n        return sum(xs)\n"
    assert not proposes("missing_helper", defined, defined.replace(
        "self.add_up(count[:n])", "sum(count[:n])"), "add_up")


def test_a_star_import_from_the_standard_library_binds_only_what_it_exports() -> None:
    buggy = "from math import *\n\ndef kth(nums, k):\n    return sort(nums)[-k] + floor(k)\n"
    assert proposes("misspelled_name", buggy, buggy.replace("sort(", "sorted("), "return")
    assert not proposes("misspelled_name", buggy, buggy.replace("floor(", "float("), "return")
    # from anywhere else a star import may bind anything: no name is called undefined
    assert silent("misspelled_name", buggy.replace("from math", "from shapes"), "return")


def test_misspelled_import_from_the_standard_library() -> None:
    buggy = "from collections import Ordereddict\n\nX = Ordereddict()\n"
    fixed = "from collections import OrderedDict\n\nX = Ordereddict()\n"
    assert proposes("misspelled_import", buggy, fixed, "import")
    assert silent("misspelled_import", "from collections import OrderedDict\n", "import")


def test_misspelled_attribute_of_a_project_module() -> None:
    buggy = "import util\n\ndef f(x):\n    return util.normalise(x)\n"
    package = {"util.py": "def normalize(x):\n    return x.strip()\n"}
    assert proposes("misspelled_attribute", buggy, buggy.replace("normalise", "normalize"),
                    "return", package)
    assert not candidates_at("m.py", buggy.replace("normalise", "normalize"), 4, package,
                             families={"misspelled_attribute"})


BODY_AT_HEADER = """class A:
    def f(self, g):
    for i in range(len(g)):
        g[i].sort()
    n = len(g[0])
    res = 0
    for j in range(n):
        res += max(row.pop() for row in g)
    return res
"""
"""A whole function body written at its header's depth: re-indenting its first block alone
compiles (the next lines read as the class's body), and is not the fix."""

TAIL_AT_CLASS_DEPTH = """class A:
    def f(self, g):
        n = len(g)
        seen = set()
    def test(x):
        return x in seen
    for x in g:
        seen.add(x)
    return [x for x in g if test(x)]
"""
"""The tail of a method written at the class's depth, from the nested function on: only the
`return` at the end is an error."""


@pytest.mark.parametrize("buggy,fixed", [
    ("def f(x)\n    return x\n", "def f(x):\n    return x\n"),
    ("def f(x):\n    return g(x\n\ndef g(y):\n    return y\n",
     "def f(x):\n    return g(x)\n\ndef g(y):\n    return y\n"),
    ("def f():\n    return 'abc\n", "def f():\n    return 'abc'\n"),
    ("def f(x):\n    y = x\n      return y\n", "def f(x):\n    y = x\n    return y\n"),
    ("def f(x):\n    if x = 1:\n        return x\n", "def f(x):\n    if x == 1:\n        return x\n"),
    # the same mistake made several times is one candidate: a chain of token edits, each moving
    # the first error further down
    (("def f(i):\n    if i % 3 = 0 and i % 5 = 0:\n        return 1\n    elif i % 3 = 0:\n"
      "        return 2\n    return 3\n"),
     ("def f(i):\n    if i % 3 == 0 and i % 5 == 0:\n        return 1\n    elif i % 3 == 0:\n"
      "        return 2\n    return 3\n")),
    (("def f(a):\n    if a:\n        a.append(\"Fizz)\n    else:\n        a.append(\"Buzz)\n"
      "    return a\n"),
     ("def f(a):\n    if a:\n        a.append(\"Fizz\")\n    else:\n        a.append(\"Buzz\")\n"
      "    return a\n")),
    ("def f(c, n):\n    return sum(c[:n]\n", "def f(c, n):\n    return sum(c[:n])\n"),
    ("def f(w, m):\n    w[m[0]] += \n    w[m[1]] += \n    return w\n",
     "def f(w, m):\n    w[m[0]] += 1\n    w[m[1]] += 1\n    return w\n"),
    (("class S:\n    def f(self, r):\n        n = r\n    s = 0\n            for i in range(n):\n"
      "                s = s + i\n        return s\n"),
     ("class S:\n    def f(self, r):\n        n = r\n        s = 0\n        for i in range(n):\n"
      "            s = s + i\n        return s\n")),
    # other languages' spellings
    ("def f(x):\n    if x == 0: x = 1\n    else if x == 1: x = 2\n    return x\n",
     "def f(x):\n    if x == 0: x = 1\n    elif x == 1: x = 2\n    return x\n"),
    ("def f(a, b):\n    if a && !b:\n        return a\n",
     "def f(a, b):\n    if a and not b:\n        return a\n"),
    ("def f(n):\n    i = 0\n    while i < n:\n        i++\n    return i\n",
     "def f(n):\n    i = 0\n    while i < n:\n        i += 1\n    return i\n"),
    # a line that does not belong, written in another language
    (("def f(b, n):\n    for i in b:\n        if i == 0: n -= 2\n        else if(i == 1): n -= 1\n"
      "    return n\n"), "def f(b, n):\n    for i in b:\n        if i == 0: n -= 2\n    return n\n"),
    ("def f(b):\n    redefine b:\n        b -= 1\n    return b\n",
     "def f(b):\n    while b:\n        b -= 1\n    return b\n"),
    ("def f(n):\n    x = n // 2 // half of it\n    return x\n",
     "def f(n):\n    x = n // 2\n    return x\n"),
    ("def f(s):\n    return [c for c in s if c = '|']\n",
     "def f(s):\n    return [c for c in s if c == '|']\n"),
    ("def f(xs, n):\n    m = xs[-1] - xs[1] = n + 2\n    return m\n",
     "def f(xs, n):\n    m = xs[-1] - xs[1] - n + 2\n    return m\n"),
    ("def f(s):\n    return [c for c in s if c == '|\"\n",
     "def f(s):\n    return [c for c in s if c == '|']\n"),  # the other quote, then the bracket
    ("def f(xs):\n    return xs[-1) + 1\n", "def f(xs):\n    return xs[-1] + 1\n"),
    ("def f(nums):\n    out = []\n    for n in \n        out.append(n)\n    return out\n",
     "def f(nums):\n    out = []\n    for n in nums:\n        out.append(n)\n    return out\n"),
    ("def f(d, ks):\n    for k in ks:\n        d.update({k: 0}))\n    g(d))\n    return d\n",
     "def f(d, ks):\n    for k in ks:\n        d.update({k: 0})\n    g(d)\n    return d\n"),
    ("def f(xs):\n    for x in xs:\n        if x:\n            //return x\n    return 0\n",
     "def f(xs):\n    for x in xs:\n        if x:\n            return x\n    return 0\n"),
    ("def f(xs):\n    if xs:\n        /*return xs[0]*/\n    return 0\n",
     "def f(xs):\n    if xs:\n        return xs[0]\n    return 0\n"),
    (TAIL_AT_CLASS_DEPTH, TAIL_AT_CLASS_DEPTH.split("    def test")[0] + textwrap.indent(
        "    def test" + TAIL_AT_CLASS_DEPTH.split("    def test")[1], "    ")),
    (BODY_AT_HEADER, "class A:\n    def f(self, g):\n" + textwrap.indent(
        BODY_AT_HEADER.split("\n", 2)[2], "    ", lambda t: t.strip() != "")),
])
def test_syntax_fixes(buggy: str, fixed: str) -> None:
    found = syntax_fixes("m.py", buggy)
    assert any(same(c.text, fixed) for c in found), [c.description for c in found]
    assert all(c.family == "syntax_fix" for c in found)


def test_syntax_fixes_invent_no_names_and_leave_the_fewest_unbound_first() -> None:
    buggy = "def f(d):\n    pairs = dict(d)  // a table\n    return pairs\n"
    found = [c.text for c in syntax_fixes("m.py", buggy)]
    assert found[0] == buggy.replace("//", "#")  # `// a, table` compiles too, and reads `a`
    assert not any("atable" in text for text in found)  # no word of the source


def test_syntax_fixes_are_silent_on_valid_code() -> None:
    assert syntax_fixes("m.py", "def f():\n    return 1\n") == []
    assert problem_locations("m.py", "def f():\n    return 1\n") == []


# -- ranking ---------------------------------------------------------------------------------

def cand(text: str, family: str = "f", size: int = 1, disables: bool = False) -> Candidate:
    return Candidate("m.py", 1, text, family, "", size, disables)


def test_unique_drops_duplicates_the_original_and_code_that_does_not_compile() -> None:
    original = "x = 1\n"
    items = [(0, cand("x = 1  # same\n")), (0, cand("x = 2\n")), (0, cand("x = (2)\n")),
             (0, cand("x = = 2\n")), (0, cand("return 3\n")), (1, cand("x = 3\n"))]
    kept = [c.text for _, c in rank.unique(iter(items), {"m.py": original})]
    assert kept == ["x = 2\n", "x = 3\n"]


def test_order_puts_the_top_line_and_likely_families_first() -> None:
    prior = rank.prior_from_counts({"good": {"tried": 10, "fixed": 9},
                                    "bad": {"tried": 10, "fixed": 0}})
    groups = [(0, "Return", [cand("a", "bad"), cand("b", "good")]),
              (5, "Return", [cand("c", "good")])]
    order = [c.text for _, c in rank.order(groups, prior)]
    assert order[0] == "b"
    disabled = rank.order([(5, "If", [cand("d", "good", disables=True), cand("e", "bad")])], prior)
    assert [c.text for _, c in disabled] == ["e", "d"]  # disabling away from the fault: last


def test_tied_lines_share_their_rank_so_a_likely_fix_at_the_last_comes_early() -> None:
    assert rank.tie_ranks([0.9, 0.9, 0.9, 0.5, None, None]) == [0, 0.25, 0.5, 1, 2, 3]
    # One candidate a line each: the flat share (the same for both families) is whole on it,
    # so the measured rates must differ enough to tell the lines apart (19/20 against 0/20).
    prior = rank.prior_from_counts({"good": {"tried": 20, "fixed": 19},
                                    "bad": {"tried": 20, "fixed": 0}})
    groups = [(r, "Return", [cand(f"bad{r}", "bad")]) for r in range(3)]
    groups.append((3, "Return", [cand("good3", "good")]))
    by_position = [c.text for _, c in rank.order(groups, prior)]
    tied = [c.text for _, c in rank.order(groups, prior, weights=rank.tie_ranks([0.7] * 4))]
    assert tied.index("good3") <= 1 < by_position.index("good3")


def test_choose_prefers_the_local_small_edit_that_keeps_behaviour() -> None:
    far_off = (6, cand("x", "remove_statement", size=1, disables=True))
    local_big = (0, cand("y", "ingredient_insert", size=20))
    local_small = (0, cand("z", "compare_boundary", size=1))
    assert rank.choose([far_off, local_big, local_small])[1].text == "z"
    assert rank.choose([far_off, local_big])[1].text == "y"


def test_context_of_a_line() -> None:
    source = "def f(x):\n    if x:\n        return 1\n    return 2\n"
    assert [rank.context_of(source, n) for n in (2, 3)] == ["If", "Return"]


# -- evidence --------------------------------------------------------------------------------

def test_tests_by_file_and_covering() -> None:
    coverage = {"t1": {"m.py": {1, 2}}, "t2": {"n.py": {3}}, "t3": {"m.py": {2}}}
    assert evidence.tests_by_file(coverage, ["t1", "t2", "t3"]) == {"m.py": [0, 2], "n.py": [1]}
    assert evidence.tests_covering(coverage, "m.py", 2) == ["t1", "t3"]


def test_drop_operand_and_branch() -> None:
    buggy = "def f(p, q, d):\n    return p - q + d\n"
    assert proposes("drop_operand", buggy, "def f(p, q, d):\n    return q + d\n", "return")
    buggy = "def f(s, g, k):\n    return g if s & 1 else k\n"
    assert proposes("drop_operand", buggy, "def f(s, g, k):\n    return k\n", "return")
    assert silent("drop_operand", "def f(a):\n    return a\n", "return")


def test_regroup_changes_precedence() -> None:
    buggy = "def f(p, k):\n    return p * abs(k) // 2\n"
    assert proposes("regroup", buggy, "def f(p, k):\n    return p * (abs(k) // 2)\n", "return")
    assert silent("regroup", "def f(a, b):\n    return a + b\n", "return")


def test_flow_swap_and_string_literal() -> None:
    buggy = "def f(xs):\n    for x in xs:\n        if x:\n            break\n    return x\n"
    assert proposes("flow_swap", buggy, buggy.replace("break", "continue"), "break")
    assert silent("flow_swap", buggy, "return")
    buggy = "def f(xs):\n    return ' '.join(xs)\n"
    assert proposes("string_literal", buggy, "def f(xs):\n    return ''.join(xs)\n", "return")
    assert proposes("string_literal", "def f(s):\n    return s == 'GBD '\n",
                    "def f(s):\n    return s == 'GBD'\n", "return")
    assert silent("string_literal", "def f(s):\n    return s == '%'\n", "return")


def test_plus_minus_one_on_a_sum_and_a_compared_name() -> None:
    buggy = "def f(v, i, j, n):\n    return v[0] + v[1], i + j == n\n"
    assert proposes("plus_minus_one", buggy, "def f(v, i, j, n):\n    return v[0] + v[1] + 1, i + j == n\n",
                    "return")
    assert proposes("plus_minus_one", buggy, "def f(v, i, j, n):\n    return v[0] + v[1], i + j == n - 1\n",
                    "return")


def test_plus_minus_one_on_a_name_the_line_also_counts_from() -> None:
    buggy = "def lonely(d, i):\n    return i not in d and i + 1 not in d\n"
    assert proposes("plus_minus_one", buggy, buggy.replace("i not in d and", "i - 1 not in d and"),
                    "return")


def test_range_from_one() -> None:
    buggy = "def f(n):\n    for j in range(n):\n        print(j)\n"
    assert proposes("slice_iteration", buggy, buggy.replace("range(n)", "range(1, n)"), "for j")
