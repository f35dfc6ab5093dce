"""The reshaping repair families (``agent.repair.reshape``, ``agent.repair.flow``) and the dedupe
wrapping, on small hand-written sources: each proposes the exact text of the fix it is meant for, keeps the rest of
the file byte for byte, and stays silent where it has nothing to do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_repair import line_of, same, src

from agent.repair import candidates_at, flow, rank, reshape
from agent.repair.proposals import problem_lines


def texts(family: str, source: str, needle: str) -> list[str]:
    return [c.text for c in candidates_at("m.py", source, line_of(source, needle),
                                          families={family})]


def assert_every_family_proposes_valid_edits(source: str, families: set[str]) -> None:
    """At every line of ``source``, each candidate of ``families`` parses and changes the
    source; and every one of the families proposes at least one candidate somewhere."""
    made = set()
    for line in range(1, source.count("\n") + 1):
        for cand in candidates_at("m.py", source, line, families=families):
            assert rank.ast_key("m.py", cand.text) is not None, cand.description
            assert not same(cand.text, source), cand.description
            made.add(cand.family)
    assert made == families, families - made


# -- swap_branches ---------------------------------------------------------------------------

def test_swap_branches_exchanges_the_bodies_of_an_if_else() -> None:
    buggy = src("""
        def longer(a, b):
            if len(a) <= len(b):
                return b
            else:
                # the first one wins ties
                return a
    """)
    fixed = src("""
        def longer(a, b):
            if len(a) <= len(b):
                # the first one wins ties
                return a
            else:
                return b
    """)
    assert fixed in texts("swap_branches", buggy, "if len")
    assert fixed in texts("swap_branches", buggy, "return b")  # from inside a branch too


def test_swap_branches_on_a_conditional_expression_and_not_on_elif_chains() -> None:
    buggy = "def sign(x):\n    return 1 if x < 0 else -1\n"
    assert texts("swap_branches", buggy, "return") == ["def sign(x):\n    return -1 if x < 0 else 1\n"]
    chain = src("""
        def f(x):
            if x < 0:
                return -1
            elif x > 0:
                return 1
    """)
    assert texts("swap_branches", chain, "if x") == []
    assert texts("swap_branches", "def f(x):\n    if x:\n        return 1\n    return 0\n", "if x") == []


# -- reduce_subscript ------------------------------------------------------------------------

def test_reduce_subscript_turns_a_picked_element_into_a_reduction() -> None:
    buggy = "def digit_sum(n):\n    return [int(d) for d in str(n)][-1]\n"
    found = texts("reduce_subscript", buggy, "return")
    assert "def digit_sum(n):\n    return sum(int(d) for d in str(n))\n" in found
    assert "def digit_sum(n):\n    return len([int(d) for d in str(n)])\n" in found
    assert "def top(xs):\n    return max(xs)\n" in texts(
        "reduce_subscript", "def top(xs):\n    return xs[0]\n", "return")
    assert texts("reduce_subscript", "def f(xs, i):\n    return xs[i]\n", "return") == []


# -- slice_edit ------------------------------------------------------------------------------

def test_slice_edit_drops_negates_exchanges_and_reverses_bounds() -> None:
    found = texts("slice_edit", "def tail(xs, k):\n    return xs[k:]\n", "return")
    assert "def tail(xs, k):\n    return xs[-k:]\n" in found
    assert "def tail(xs, k):\n    return xs[k::-1]\n" in found
    assert "def tail(xs, k):\n    return xs[:]\n" in found
    found = texts("slice_edit", "def f(s):\n    return s[::2]\n", "return")
    assert "def f(s):\n    return s[::-2]\n" in found
    assert "def f(s, a, b):\n    return s[b:a]\n" in texts(
        "slice_edit", "def f(s, a, b):\n    return s[a:b]\n", "return")
    assert texts("slice_edit", "def f(s, i):\n    return s[i]\n", "return") == []


def test_drop_subscript_removes_an_index_or_a_slice() -> None:
    found = texts("drop_subscript", "def f(xs, i):\n    return len(xs[1:]) + xs[i][0]\n", "return")
    assert "def f(xs, i):\n    return len(xs) + xs[i][0]\n" in found
    assert "def f(xs, i):\n    return len(xs[1:]) + xs[i]\n" in found
    assert len(found) == 3
    assert texts("drop_subscript", "def f(xs):\n    xs[0] = 1\n", "xs[0]") == []  # a target


# -- drop_unary ------------------------------------------------------------------------------

def test_drop_unary_removes_a_sign_or_an_inversion() -> None:
    assert texts("drop_unary", "def f(a, b):\n    return -(a - b) * 2\n", "return") == [
        "def f(a, b):\n    return (a - b) * 2\n"]
    assert texts("drop_unary", "def f(m):\n    return ~m & 7\n", "return") == [
        "def f(m):\n    return m & 7\n"]
    assert texts("drop_unary", "def f():\n    return -1\n", "return") == []


# -- inline_dead_store -----------------------------------------------------------------------

def test_inline_dead_store_puts_the_unread_value_where_it_was_meant() -> None:
    buggy = src("""
        def only_ints(values):
            out = [x for x in values if isinstance(x, int)]
            return values
    """)
    fixed = "def only_ints(values):\n    return [x for x in values if isinstance(x, int)]\n"
    assert fixed in texts("inline_dead_store", buggy, "return")
    assert fixed in texts("inline_dead_store", buggy, "out =")
    used = src("""
        def f(values):
            out = sorted(values)
            return out + values
    """)
    assert texts("inline_dead_store", used, "return") == []  # `out` is read: not dead


# -- literal_spelling ------------------------------------------------------------------------

def test_literal_spelling_follows_the_module_prose() -> None:
    buggy = src('''
        def planets():
            """The planets from Mercury to Jupiter."""
            return ("Mercury", "Venus", "Jupyter")
    ''')
    assert texts("literal_spelling", buggy, "return") == [buggy.replace('"Jupyter"', '"Jupiter"')]
    plain = 'def f():\n    """Say hello."""\n    return "hello"\n'
    assert texts("literal_spelling", plain, "return") == []  # spelled as the prose spells it


# -- value_to_local --------------------------------------------------------------------------

def test_value_to_local_uses_a_value_already_at_hand() -> None:
    buggy = src("""
        def spread(nums):
            biggest = max(nums)
            smallest = min(-i for i in nums)
            return smallest
    """)
    found = texts("value_to_local", buggy, "smallest =")
    assert buggy.replace("min(-i for i in nums)", "-biggest") in found
    assert buggy.replace("min(-i for i in nums)", "biggest") in found
    assert texts("value_to_local", "def f(x):\n    return x\n", "return") == []


def test_swap_tests_exchanges_neighbouring_cases_of_an_elif_chain() -> None:
    buggy = src("""
        def split(xs, p):
            lo, mid, hi = [], [], []
            for x in xs:
                if x < p:
                    mid.append(x)
                elif x == p:
                    lo.append(x)
                else:
                    hi.append(x)
            return lo + mid + hi
    """)
    fixed = buggy.replace("if x < p:", "if @:").replace("elif x == p:", "elif x < p:").replace(
        "if @:", "if x == p:")
    assert fixed in texts("swap_tests", buggy, "lo.append")
    assert texts("swap_tests", "def f(x):\n    if x:\n        return 1\n    return 0\n",
                 "if x") == []


def test_element_as_index_reads_the_loop_element_itself() -> None:
    buggy = src("""
        def split(nums, p):
            lo, hi = [], []
            for i in nums:
                if i < p:
                    lo.append(nums[i])
                else:
                    hi.append(nums[i])
            return lo + hi
    """)
    assert buggy.replace("nums[i]", "i") in texts("element_as_index", buggy, "lo.append")
    assert texts("element_as_index", buggy.replace("for i in nums", "for i in range(3)"),
                 "lo.append") == []


# -- what is left of a statement -------------------------------------------------------------

def test_a_name_alone_becomes_its_conversion_and_an_update_gets_a_first_value() -> None:
    buggy = "def digits(n):\n    n\n    return [int(d) for d in n]\n"
    assert buggy.replace("    n\n", "    n = str(n)\n") in texts("assign_no_effect", buggy, "    n")
    assert texts("assign_no_effect", "def f(n):\n    print(n)\n", "print") == []
    buggy = src("""
        def total(xs):
            i = 0
            while i < len(xs):
                c = c + xs[i]
                i += 1
            return c
    """)
    found = texts("initialize_local", buggy, "c = c +")
    assert buggy.replace("    i = 0\n", "    c = 0\n    i = 0\n") in found
    assert buggy.replace("    while", "    c = 0\n    while") in found
    words = "def join(ws):\n    for w in ws:\n        s += f'{w} '\n    return s\n"
    assert words.replace("    for", "    s = ''\n    for") in texts("initialize_local", words, "s +=")
    assert texts("initialize_local", buggy.replace("i += 1", "i += 1\n        c = 0"),
                 "c = c +") == []  # a first value exists: not this fault


def test_code_commented_out_by_quoting_it_is_uncommented() -> None:
    buggy = src('''
        def evens(xs):
            out = []
            \'\'\'for x in xs:
                if x % 2 == 0:
                    out.append(x)\'\'\'
            return out
    ''')
    fixed = buggy.replace("\'\'\'", "")
    assert fixed in texts("uncomment_string", buggy, "for x in xs")
    prose = 'def f(x):\n    \"\"\"Return x, as it is.\"\"\"\n    return x\n'
    assert texts("uncomment_string", prose, "Return x") == []
    # a docstring that holds the function's code never runs, so no coverage points at it
    whole = "def f(xs):\n    \'\'\'out = sorted(xs)\n    return out[0]\'\'\'\n"
    assert problem_lines({"m.py": whole}, []) == [("m.py", 2)]
    assert problem_lines({"m.py": prose + '\n"""Notes:\n    x = 1 is the default."""\n'}, []) == []


# -- signatures ------------------------------------------------------------------------------

def test_a_call_against_the_signature_points_at_the_def_and_drops_a_parameter() -> None:
    buggy = src("""
        class Counter:
            def count(self, extra, xs, ys):
                return sum(1 for x in extra if x in xs)
    """)
    error = "TypeError: Counter.count() missing 1 required positional argument: 'ys'"
    assert problem_lines({"m.py": buggy}, [error]) == [("m.py", 2)]
    assert problem_lines({"m.py": buggy}, ["AssertionError: assert 1 == 2"]) == []
    found = texts("drop_parameter", buggy, "def count")
    # the extra parameter in front, its read renamed to the parameter the body never reads
    assert buggy.replace("self, extra, xs, ys", "self, xs, ys").replace("in extra", "in ys") \
        in found
    assert buggy.replace("self, extra, xs, ys", "self, extra, xs") in found  # ys is not read
    assert texts("drop_parameter", "def f(a, b=1):\n    return a\n", "def f") == []


# -- statements moved ------------------------------------------------------------------------

def test_move_statement_takes_a_return_out_of_its_loop() -> None:
    buggy = src("""
        def total(xs):
            t = 0
            for x in xs:
                t += x
                return t
    """)
    fixed = "def total(xs):\n    t = 0\n    for x in xs:\n        t += x\n    return t\n"
    assert fixed in texts("move_statement", buggy, "return")
    outside = "def f(xs):\n    t = 0\n    for x in xs:\n        t += x\n    t *= 2\n    return t\n"
    assert "def f(xs):\n    t = 0\n    for x in xs:\n        t += x\n        t *= 2\n    return t\n" \
        in texts("move_statement", outside, "t *=")
    nested = src("""
        def paint(grid, starts):
            def fill(i):
                grid[i] = 1
            for d in (-1, 1):
                if 0 <= i + d < len(grid) and not grid[i + d]: fill(i + d)
            for s in starts:
                fill(s)
    """)
    fixed = nested.replace("    for d in (-1, 1):\n        if", "        for d in (-1, 1):\n            if")
    assert fixed in texts("move_statement", nested, "for d in")  # into the nested function


def test_swap_statements_exchanges_neighbours_but_never_past_an_exit() -> None:
    buggy = src("""
        def fib(n):
            a, b = 0, 1
            for _ in range(n):
                b = a + b
                a = b - a
            return a
    """)
    found = texts("swap_statements", buggy, "b = a + b")
    assert buggy.replace("        b = a + b\n        a = b - a\n",
                         "        a = b - a\n        b = a + b\n") in found
    assert all("return a\n    " not in t for t in texts("swap_statements", buggy, "return a"))


# -- list(set(e)) ----------------------------------------------------------------------------

def test_wrap_convert_drops_duplicates_keeping_a_list() -> None:
    buggy = "def unique(l):\n    return sorted(l)\n"
    assert "def unique(l):\n    return sorted(list(set(l)))\n" in texts("wrap_convert", buggy,
                                                                        "return")


def test_wrap_convert_encodes_a_string_literal_passed_to_a_call() -> None:
    buggy = "import hashlib\n\n\ndef h(s):\n    return hashlib.md5('s').hexdigest()\n"
    found = texts("wrap_convert", buggy, "return")
    assert buggy.replace("md5('s')", "md5('s'.encode())") in found
    assert not any("'.encode()" in t for t in texts("wrap_convert", "x = 's'\n", "x ="))


def test_new_families_compile_and_change_only_their_line_region() -> None:
    """Every candidate the new families make for a mixed module parses, and differs from the
    original (the engine's dedupe would drop it otherwise, so none is wasted)."""
    source = src('''
        def f(xs, k):
            """Sum of the first k, the Mercury way."""
            kept = xs[1:k]
            if k > 0:
                total = -sum(kept)
            else:
                total = kept[0]
            label = "Mercurry" if total else "none"
            return total, label


        def g(words, text):
            best = max(words)
            for w in words:
                if w == 'text':
                    best = w
                elif w:
                    print(w)
            size = len(words)
            lo, hi = words[0], words[-1]
            lo, hi = len(lo), len(hi)
            log(best, lo, hi, lo in words == hi in words)


        def h(n):
            i = 0
            while n > 0:
                i += 1
            return i


        def e(n):
            n
            """x = 1"""
            for d in n:
                c += n[d]
            return c
    ''')
    assert_every_family_proposes_valid_edits(source, set(reshape.FAMILIES) | set(flow.FAMILIES))


# -- elif_if ---------------------------------------------------------------------------------

def test_elif_if_separates_or_joins_cases() -> None:
    joined = src("""
        def fizz(n):
            out = ""
            if n % 3 == 0:
                out += "Fizz"
            elif n % 5 == 0:
                out += "Buzz"
            return out
    """)
    assert texts("elif_if", joined, "elif") == [joined.replace("elif n % 5", "if n % 5")]
    separate = "def f(x):\n    if x < 0:\n        x = 0\n    if x < 5:\n        x = 5\n    return x\n"
    assert texts("elif_if", separate, "if x < 5") == [separate.replace("if x < 5", "elif x < 5")]
    assert texts("elif_if", separate, "if x < 0") == []


# -- insert_break ----------------------------------------------------------------------------

def test_insert_break_stops_a_search_at_what_it_found() -> None:
    buggy = src("""
        def first_even(xs):
            found = None
            for x in xs:
                if x % 2 == 0:
                    found = x
            return found
    """)
    fixed = buggy.replace("            found = x\n", "            found = x\n            break\n")
    found = candidates_at("m.py", buggy, line_of(buggy, "found = x"), families={"insert_break"})
    assert [c.text for c in found] == [fixed] and found[0].disables
    assert fixed in texts("insert_break", buggy, "if x % 2")
    assert texts("insert_break", buggy, "return found") == []  # not in a loop
    done = "def f(xs):\n    for x in xs:\n        y = x\n        break\n    return y\n"
    assert texts("insert_break", done, "y = x") == []


# -- loop_progress ---------------------------------------------------------------------------

def test_loop_progress_makes_a_loop_that_cannot_end_count_down() -> None:
    buggy = src("""
        def roman(number):
            res = ''
            while number:
                div = number // 10
                while div:
                    res += 'x'
                number %= 10
            return res
    """)
    fixed = buggy.replace("            res += 'x'\n", "            res += 'x'\n            div -= 1\n")
    assert fixed in texts("loop_progress", buggy, "res += 'x'")
    assert fixed in texts("loop_progress", buggy, "while div")
    # the outer loop changes `number`: it can end, so nothing is proposed for it
    assert not any("number -= 1" in t for t in texts("loop_progress", buggy, "number %= 10"))
    found = candidates_at("m.py", buggy, line_of(buggy, "while div"), families={"loop_progress"})
    assert all(c.family == "loop_progress" and not c.disables for c in found)


def test_loop_progress_makes_the_test_read_what_the_body_counts() -> None:
    buggy = src("""
        def pad(string):
            k = 0
            while not done(string):
                k += 1
            return string + string[:k]
    """)
    assert buggy.replace("not done(string)", "not done(string[k:])") in \
        texts("loop_progress", buggy, "k += 1")
    # a loop that leaves by a break, or whose test reads what the body changes, is left alone
    leaves = buggy.replace("        k += 1\n", "        k += 1\n        break\n")
    assert texts("loop_progress", leaves, "k += 1") == []
    ends = "def f(xs):\n    while xs:\n        xs.pop()\n    return xs\n"
    assert texts("loop_progress", ends, "xs.pop()") == []


def test_a_timeout_points_at_loop_progress() -> None:
    from agent.repair import failure

    assert failure.hints(["E   Failed: timed out after 1.0 s"])["loop_progress"] > 1.0


# -- literal_to_name -------------------------------------------------------------------------

def test_literal_to_name_unquotes_a_local() -> None:
    buggy = "import hashlib\n\n\ndef digest(text):\n    return hashlib.md5('text').hexdigest()\n"
    assert texts("literal_to_name", buggy, "return") == [buggy.replace("'text'", "text")]
    assert texts("literal_to_name", "def f(a):\n    return 'b'\n", "return") == []


# -- end to end ------------------------------------------------------------------------------

CART = '''def total(prices):
    t = 0
    for p in prices:
        t += p
        return t


def count(prices):
    return len(prices)
'''

CART_TESTS = '''from cart import count, total


def test_total():
    assert total([1, 2, 3]) == 6


def test_single():
    assert total([5]) == 5


def test_count():
    assert count([1, 2]) == 2
'''


@pytest.mark.slow
@pytest.mark.docker
def test_agent_fix_moves_a_return_out_of_its_loop(tmp_path: Path, docker_ready) -> None:
    """No mutation operator moves a statement: `agent fix` in the Docker sandbox finds the
    ``return`` that sits one level too deep with move_statement, and says so."""
    repo = tmp_path / "cart"
    (repo / "tests").mkdir(parents=True)
    (repo / "cart.py").write_text(CART)
    (repo / "tests" / "test_cart.py").write_text(CART_TESTS)
    done = subprocess.run([sys.executable, "-m", "agent", "fix", str(repo), "--sandbox", "docker",
                           "--json", "--timeout", "120", "--out", str(tmp_path / "run")],
                          check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    payload = json.loads(done.stdout)
    assert payload["resolved"] is True
    assert payload["policy_stats"]["family"] == "move_statement"
    assert "-        return t\n+    return t\n" in payload["patch"]
    assert (repo / "cart.py").read_text() == CART  # not applied: the repo is left alone


# -- call_key and add_return ---------------------------------------------------------------

def test_call_key_orders_by_another_measure() -> None:
    found = texts("call_key", "def longest(ws):\n    return max(ws)\n", "return")
    assert found == [f"def longest(ws):\n    return max(ws, key={k})\n"
                     for k in ("len", "abs", "str.lower")]
    assert "def f(ws):\n    ws.sort(key=len)\n" in texts("call_key", "def f(ws):\n    ws.sort()\n",
                                                           "sort")
    assert texts("call_key", "def f(ws):\n    return max(ws, key=len)\n", "return") == []
    assert texts("call_key", "def f(a, b):\n    return max(a, b)\n", "return") == []


def test_add_return_hands_back_a_computed_value() -> None:
    buggy = src("""
        def evens(xs):
            out = []
            for x in xs:
                if x % 2 == 0:
                    out.append(x)
    """)
    found = texts("add_return", buggy, "out.append")
    assert buggy + "    return out\n" in [t if t.endswith("\n") else t + "\n" for t in found]
    assert all("return out.append" not in t for t in found)  # a method call has no result
    assert texts("add_return", "def f(x):\n    g(x)\n", "g(x)") == ["def f(x):\n    return g(x)\n"]
    assert texts("add_return", "def f(x):\n    y = x\n    return y\n", "y = x") == []


# -- exchange_names --------------------------------------------------------------------------

def test_exchange_names_through_the_statements_that_read_both() -> None:
    buggy = src("""
        def parse(date):
            day, month, year = date.split('-')
            day, month, year = int(day), int(month), int(year)
            return month <= 12 and day <= 31
    """)
    fixed = src("""
        def parse(date):
            month, day, year = date.split('-')
            month, day, year = int(month), int(day), int(year)
            return month <= 12 and day <= 31
    """)
    assert fixed in texts("exchange_names", buggy, "split")
    assert fixed in texts("exchange_names", buggy, "int(day)")
    alone = "def f(a, b):\n    c = a - b\n    return c\n"
    assert texts("exchange_names", alone, "c =") == []  # one statement: other families' work


# -- comparisons: regrouped chains, the mirrored case ---------------------------------------

def test_compare_regroup_parenthesizes_a_mixed_chain() -> None:
    buggy = "def same_side(s, t, a):\n    return s in a == t in a\n"
    found = texts("compare_regroup", buggy, "return")
    assert "def same_side(s, t, a):\n    return (s in a) == (t in a)\n" in found
    assert len(found) == 3  # each operator once the main one
    assert texts("compare_regroup", "def f(a, b, c):\n    return a < b <= c\n", "return") == []


def test_symmetric_case_mirrors_a_lone_comparison() -> None:
    buggy = "def between(x, y, z):\n    return 'Yes' if x < z < y else 'No'\n"
    found = texts("symmetric_case", buggy, "return")
    assert any(same(t, buggy.replace("x < z < y", "x < z < y or y < z < x")) for t in found)
    assert texts("symmetric_case", "def f(a):\n    return a > 0\n", "return") == []


def test_value_to_local_reaches_the_first_bound_names_of_a_long_script() -> None:
    lines = ["n = int(input())"] + [f"v{i} = n + {i}" for i in range(12)] + ["ans = -1",
                                                                             "print(ans)"]
    buggy = "\n".join(lines) + "\n"
    assert buggy.replace("ans = -1", "ans = n") in texts("value_to_local", buggy, "ans =")


# -- number_literal --------------------------------------------------------------------------

def test_number_literal_negates_or_takes_another_number_of_the_module() -> None:
    buggy = src("""
        BASE = 10


        def digits(n):
            out = []
            while n:
                out.append(n % 3)
                n //= BASE
            return out
    """)
    found = texts("number_literal", buggy, "append")
    assert buggy.replace("n % 3", "n % 10") in found
    assert buggy.replace("n % 3", "n % (-3)") in found
    assert "def f(i):\n    return i * 1\n" in texts("number_literal",
                                                     "def f(i):\n    return i * -1\n", "return")
    table = "def f():\n    return [" + ", ".join(str(10 * k) for k in range(20)) + "]\n"
    assert len(texts("number_literal", table, "return")) <= 12
