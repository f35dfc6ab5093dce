"""The repair families that reach past the mutation operators, as pure functions of small
hand-written sources: each proposes the fix of the bug it is meant for, and stays silent where
it has nothing to do."""

from __future__ import annotations

from test_repair import line_of, same, src

from agent.repair import candidates_at


def texts(family: str, source: str, needle: str) -> list[str]:
    return [c.text for c in candidates_at("m.py", source, line_of(source, needle),
                                          families={family})]


def proposes(family: str, buggy: str, fixed: str, needle: str) -> bool:
    return any(same(t, fixed) for t in texts(family, buggy, needle))


# -- operators -------------------------------------------------------------------------------

def test_operator_replace_reaches_any_arithmetic_and_comparison_operator() -> None:
    buggy = src("""
        def divisor(n):
            for i in range(n - 1, 0, -1):
                if n - i == 0:
                    return i
    """)
    assert proposes("operator_replace", buggy, buggy.replace("n - i ==", "n % i =="), "if n")
    longest = "def f(s, m):\n    return len(s) > m\n"
    assert proposes("operator_replace", longest, longest.replace(">", "=="), "return")


def test_operator_replace_on_an_augmented_assignment() -> None:
    buggy = src("""
        def digits(x, base):
            out = []
            while x > 0:
                out.append(x % base)
                x -= base
            return out
    """)
    assert proposes("operator_replace", buggy, buggy.replace("x -= base", "x //= base"), "x -=")
    assert not texts("operator_replace", "def f(x):\n    return x.y\n", "return")


def test_bool_op_all_flips_a_whole_chain() -> None:
    buggy = "def f(s, i):\n    return s[i] == s[i+1] and s[i+1] == s[i+2] and s[i] == s[i+2]\n"
    fixed = buggy.replace(" and ", " or ")
    assert proposes("bool_op_all", buggy, fixed, "return")
    assert not texts("bool_op_all", "def f(a, b):\n    return a and b\n", "return")


def test_call_swap_uses_a_sibling_method_or_builtin() -> None:
    buggy = "def f(s):\n    return sum(ord(c) if c.islower() else 0 for c in s)\n"
    assert proposes("call_swap", buggy, buggy.replace("islower", "isupper"), "return")
    assert proposes("call_swap", "def f(xs):\n    return sum(xs)\n",
                    "def f(xs):\n    return max(xs)\n", "return")
    assert not texts("call_swap", "def f(xs):\n    return xs.frobnicate()\n", "return")
    buggy = "import operator\n\ndef f(cs):\n    return reduce(operator.and_, cs)\n"
    assert proposes("call_swap", buggy, buggy.replace("and_", "or_"), "return")
    assert proposes("call_swap", "def f(xs):\n    xs.push(1)\n", "def f(xs):\n    xs.append(1)\n",
                    "push")


# -- wrapping --------------------------------------------------------------------------------

def test_subscript_value_cuts_by_an_unread_parameter() -> None:
    buggy = src("""
        def add_elements(arr, k):
            return sum(elem for elem in arr if len(str(elem)) <= 2)
    """)
    assert proposes("subscript_value", buggy, buggy.replace("in arr", "in arr[:k]"), "return")
    returned = "def f(xs):\n    return [i * x for i, x in enumerate(xs)]\n"
    assert proposes("subscript_value", returned,
                    "def f(xs):\n    return [i * x for i, x in enumerate(xs)][1:]\n", "return")
    assert not texts("subscript_value", "def f():\n    return len\n", "return")


def test_wrap_convert_wraps_a_value_or_both_sides_of_a_comparison() -> None:
    assert proposes("wrap_convert", "def f(s):\n    return len(set(s))\n",
                    "def f(s):\n    return len(set(s.lower()))\n", "return")
    assert proposes("wrap_convert", "def f(a, b):\n    return a == b\n",
                    "def f(a, b):\n    return set(a) == set(b)\n", "return")
    twice = src("""
        def encode(s):
            return s[1:] + s[:1]

        def decode(s):
            return encode(s)
    """)
    assert proposes("wrap_convert", twice, twice.replace("return encode(s)",
                                                         "return encode(encode(s))"), "return encode")
    assert not texts("wrap_convert", "def f():\n    pass\n", "pass")


def test_unwrap_call_drops_a_call_that_returns_none() -> None:
    buggy = "def f(ans):\n    return ans.sort(reverse=True)\n"
    assert proposes("unwrap_call", buggy, "def f(ans):\n    return ans\n", "return")
    assert not texts("unwrap_call", "def f(a):\n    return a + 1\n", "return")


# -- expressions -----------------------------------------------------------------------------

def test_replace_target_assigns_another_local() -> None:
    buggy = src("""
        def depth(s):
            depth, max_depth = 0, 0
            for c in s:
                if c == "(":
                    depth += 1
                    max_depth = max(depth, max_depth)
                else:
                    max_depth -= 1
            return max_depth
    """)
    assert proposes("replace_target", buggy, buggy.replace("max_depth -= 1", "depth -= 1"),
                    "max_depth -= 1")
    assert not texts("replace_target", "def f(x):\n    return x\n", "return")


def test_swap_pair_exchanges_elements_and_tuple_targets() -> None:
    buggy = "def f(arr, m):\n    return [arr.index(m), m]\n"
    assert proposes("swap_pair", buggy, "def f(arr, m):\n    return [m, arr.index(m)]\n",
                    "return")
    dates = "def f(date):\n    day, month, year = date.split('-')\n    return month\n"
    assert proposes("swap_pair", dates, dates.replace("day, month, year =", "month, day, year ="),
                    "split")


def test_drop_operand_drops_a_conjunct_an_element_and_a_middle_factor() -> None:
    assert proposes("drop_operand", "def f(n):\n    return n % 2 == 0 and n >= 8 and n <= 8\n",
                    "def f(n):\n    return n % 2 == 0 and n >= 8\n", "return")
    assert proposes("drop_operand", "def f(d):\n    return d in (1, 2, 3, 5)\n",
                    "def f(d):\n    return d in (1, 3, 5)\n", "return")
    assert proposes("drop_operand", "def f(k):\n    return (-1) ** 2 * k\n",
                    "def f(k):\n    return (-1) ** k\n", "return")
    assert not texts("drop_operand", "def f(x):\n    return x\n", "return")


def test_string_literal_takes_the_other_bracket_a_single_character_or_a_literal_nearby() -> None:
    buggy = src("""
        def balanced(brackets):
            depth = 0
            for b in brackets:
                if b == ">":
                    depth += 1
            return depth
    """)
    assert proposes("string_literal", buggy, buggy.replace('">"', '"<"'), "if b")
    assert proposes("string_literal", "def f(t):\n    return t + '__'\n",
                    "def f(t):\n    return t + '_'\n", "return")
    nearby = "def f(c):\n    if c == 'x':\n        return 'y'\n    return 'z'\n"
    assert proposes("string_literal", nearby, nearby.replace("return 'z'", "return 'x'"),
                    "return 'z'")
    assert not texts("string_literal", "def f(x):\n    return x\n", "return")


# -- conditions and deletions ----------------------------------------------------------------

def test_invert_returns_flips_every_boolean_return_at_once() -> None:
    buggy = src("""
        def below(xs, t):
            for x in xs:
                if x >= t:
                    return True
            return False
    """)
    fixed = buggy.replace("return True", "return @").replace("return False", "return True") \
        .replace("return @", "return False")
    assert proposes("invert_returns", buggy, fixed, "return True")
    assert not texts("invert_returns", "def f(x):\n    return True\n", "return")


def test_remove_adjacent_deletes_a_pair_that_undoes_itself() -> None:
    buggy = src("""
        def largest(xs):
            small = [x for x in xs if x < 0]
            large = [x for x in xs if x > 0]
            large = list(filter(lambda x: x > 0, small))
            small = list(filter(lambda x: x > 0, large))
            return (max(small) if small else None, min(large) if large else None)
    """)
    fixed = "\n".join(line for line in buggy.split("\n") if "filter" not in line)
    assert proposes("remove_adjacent", buggy, fixed, "large = list")
    assert all(c.disables for c in candidates_at("m.py", buggy, line_of(buggy, "large = list"),
                                                 families={"remove_adjacent"}))
    assert not texts("remove_adjacent", "def f(x):\n    return x\n", "return")


def test_remove_block_deletes_an_if_or_its_else() -> None:
    buggy = src("""
        def f(x):
            if x < 0:
                x = -x
            else:
                x = x + 1
            return x
    """)
    assert proposes("remove_block", buggy, "def f(x):\n    return x\n", "if x")
    assert proposes("remove_block", buggy, buggy.replace("    else:\n        x = x + 1\n", ""),
                    "if x")
    assert not texts("remove_block", buggy, "return x")


def test_slice_iteration_moves_range_bounds() -> None:
    buggy = "def f(l):\n    for i in range(1, len(l)):\n        print(l[i])\n"
    assert proposes("slice_iteration", buggy, buggy.replace("range(1, len(l))", "range(len(l))"),
                    "for i")


def test_string_literal_replaces_every_copy_of_a_wrong_literal() -> None:
    buggy = src("""
        def closest(word):
            if len(word) < 3:
                return " "
            return " "
    """)
    assert proposes("string_literal", buggy, buggy.replace('" "', '""'), 'return " "')


# -- ingredients -----------------------------------------------------------------------------

def test_expression_ingredient_takes_another_expression_of_the_function() -> None:
    buggy = src("""
        def deviation(numbers):
            mean = sum(numbers) / len(numbers)
            return sum(abs(x - mean) for x in numbers) / mean
    """)
    fixed = buggy.replace("numbers) / mean", "numbers) / len(numbers)")
    assert proposes("expression_ingredient", buggy, fixed, "return")
    shift = 'def f(s):\n    return "".join(chr((ord(c) - ord("a")) % 26 + ord(c)) for c in s)\n'
    assert proposes("expression_ingredient", shift, shift.replace('+ ord(c)', '+ ord("a")'),
                    "return")
    assert not texts("expression_ingredient", "def f():\n    pass\n", "pass")


def test_ingredient_insert_renames_a_counter_update_to_a_stalled_loop_name() -> None:
    buggy = src("""
        def roman(number):
            res, i = "", 12
            while number:
                div = number // 10
                while div:
                    res += "x"
                i -= 1
            return res
    """)
    fixed = buggy.replace('            res += "x"\n', '            res += "x"\n            div -= 1\n')
    assert proposes("ingredient_insert", buggy, fixed, 'res += "x"')


def test_operand_ingredient_applies_the_modulus_the_module_uses() -> None:
    buggy = src("""
        def count(n, m):
            a = 1
            for i in range(n):
                a = a * 2 % m
            return a + n
    """)
    assert proposes("operand_ingredient", buggy, buggy.replace("return a + n",
                                                               "return (a + n) % m"), "return")
    assert not texts("operand_ingredient", "def f(x):\n    return x\n", "return")


def test_replace_target_of_a_loop() -> None:
    buggy = "def f(n, a):\n    for b in range(n):\n        a += 1\n    return a\n"
    assert proposes("replace_target", buggy, buggy.replace("for b in", "for a in"), "for b")


def test_call_argument_drops_adds_and_fills_arguments() -> None:
    assert proposes("call_argument", "def f(xs):\n    return sorted(xs)\n",
                    "def f(xs):\n    return sorted(xs, reverse=True)\n", "return")
    assert proposes("call_argument", "def f(s):\n    return s.split(' ', 1)\n",
                    "def f(s):\n    return s.split(' ')\n", "return")
    missing = src("""
        def scale(x, factor):
            return x * factor

        def run(xs, factor):
            return [scale(x) for x in xs]
    """)
    assert proposes("call_argument", missing, missing.replace("scale(x)", "scale(x, factor)"),
                    "return [")
    assert not texts("call_argument", "def f(x):\n    return len(x)\n", "return")


def test_removed_calls_and_conditions_are_marked_as_disabling() -> None:
    found = candidates_at("m.py", "def f(a, b):\n    return a and b and g(a)\n", 2,
                          families={"drop_operand", "unwrap_call"})
    assert found and all(c.disables for c in found)


def test_symmetric_case_adds_the_forgotten_permutation() -> None:
    buggy = "def f(x, y, z):\n    if (x + y == z) or (y + z == x):\n        return True\n"
    found = texts("symmetric_case", buggy, "if (")
    assert any(same(t, buggy.replace("or (y + z", "or (x + z == y) or (y + z"))
               for t in found)
    assert not texts("symmetric_case", "def f(x):\n    if x:\n        return 1\n", "if x")


def test_loop_guard_compares_the_targets_of_two_loops() -> None:
    buggy = src("""
        def common(l1, l2):
            ret = set()
            for e1 in l1:
                for e2 in l2:
                    ret.add(e1)
            return ret
    """)
    fixed = buggy.replace("            ret.add(e1)", "            if e1 == e2:\n"
                          "                ret.add(e1)")
    assert proposes("loop_guard", buggy, fixed, "ret.add")
    assert not texts("loop_guard", buggy, "return ret")
