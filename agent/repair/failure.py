"""What the failing tests' output says about the kind of fix: families to try earlier.

A failing assertion shows the value the code computed and the one the test expected
(``assert 4 == 5``, ``At index 3 diff: 11.0 != 8.0``), and an error names its type
(``IndexError``, ``TypeError``) or the test timed out. Each says something about the edit that
is missing, the way a developer reads it: values that differ by one point at an off-by-one;
values of opposite sign at an operator or operand order; values of different types at a missing
conversion or call; booleans at a condition; None where a value was wanted at a return never
reached; a sequence one item too long or short at a bound
or a slice; the same items in another order at a swap or a sort's direction; an IndexError at a
bound or a subscript; a TypeError at a call or conversion; a timeout at a loop's progress.

``hints`` turns the outputs (one per failing test) into {family: factor >= 1}:
``1 + (HINT_BOOST - 1)`` times the share of
failing tests whose output points at the family. ``rank.order`` multiplies a candidate's
priority by its family's factor. Pure functions of the text; families unknown here get none.
"""

from __future__ import annotations

import ast
import re
from collections import Counter

HINT_BOOST = 2.0
"""How much a family that every failing test's output points at gains in priority."""

OFF_BY_ONE = ("off_by_one_bound", "plus_minus_one", "int_constant", "compare_boundary",
              "slice_iteration", "aug_assign")
SIGN = ("arith_op", "swap_operands", "operator_replace", "drop_operand", "aug_assign",
        "int_constant")
CONVERT = ("wrap_convert", "wrap_call", "unwrap_call", "arith_op", "operator_replace")
CONDITION = ("compare_negate", "compare_direction", "compare_boundary", "bool_op", "bool_op_all",
             "negate_condition", "remove_not", "insert_not", "invert_returns", "bool_constant",
             "widen_condition", "tighten_condition", "is_eq", "compare_zero_none")
ORDER = ("swap_pair", "swap_operands", "swap_arguments", "compare_direction", "api_swap",
         "call_swap", "slice_iteration", "bool_constant")
LENGTH = ("off_by_one_bound", "plus_minus_one", "compare_boundary", "slice_iteration",
          "int_constant", "compare_direction", "tighten_condition", "widen_condition")
NOTHING = ("compare_negate", "compare_direction", "compare_boundary", "operator_replace", "bool_op",
           "widen_condition", "tighten_condition", "return_name", "extend_return", "is_eq")
"""A function that returned None where a value was wanted: a return never reached (its
condition is wrong) or missing."""
STRING = ("string_literal", "symmetric_case", "slice_iteration", "subscript_value", "api_swap")
ERRORS = {
    "IndexError": ("off_by_one_bound", "plus_minus_one", "shift_all", "subscript_value",
                   "slice_iteration", "compare_boundary", "int_constant"),
    "KeyError": ("wrong_key", "string_literal", "subscript_value", "insert_guard"),
    "TypeError": ("wrap_convert", "wrap_call", "unwrap_call", "swap_arguments", "call_argument",
                  "arith_op", "operator_replace", "drop_parameter"),
    "ValueError": ("wrap_convert", "string_literal", "subscript_value", "insert_guard"),
    "ZeroDivisionError": ("insert_guard", "off_by_one_bound", "plus_minus_one", "int_constant"),
    "AttributeError": ("wrong_attribute", "misspelled_attribute", "missing_helper",
                       "replace_name", "api_swap"),
    "NameError": ("misspelled_name", "defined_by_analogy", "replace_name", "misspelled_import"),
    "ImportError": ("misspelled_import", "misspelled_name"),
    "RecursionError": ("loop_guard", "plus_minus_one", "off_by_one_bound", "insert_guard",
                       "int_constant"),
    "UnboundLocalError": ("initialize_local", "ingredient_insert", "replace_name",
                          "wrong_variable"),
}
TIMEOUT = ("loop_progress", "loop_guard", "aug_assign", "plus_minus_one", "off_by_one_bound",
           "subscript_value", "slice_iteration", "wrong_variable", "compare_boundary")

_ASSERT = re.compile(r"^(?:E\s+)?(?:AssertionError: )?assert (.+?) == (.+)$", re.MULTILINE)
_INDEX_DIFF = re.compile(r"At index \d+ diff: (.+?) != (.+)$", re.MULTILINE)
_ERROR = re.compile(r"\b([A-Z]\w*Error)\b")
_TIMEOUT = re.compile(r"timed out after|\bTIMEOUT\b|Timeout", re.IGNORECASE)


def _value(text: str):
    """A literal value pytest printed, or a marker that it is not one."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _NOT_LITERAL


_NOT_LITERAL = object()


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def compared(actual, expected) -> set[str]:
    """Families a wrong value points at: ``actual`` computed where ``expected`` was wanted."""
    out: set[str] = set()
    if actual is _NOT_LITERAL or expected is _NOT_LITERAL or expected is None:
        return out
    if actual is None:
        return set(NOTHING)
    if isinstance(actual, bool) and isinstance(expected, bool):
        return set(CONDITION)
    if _number(actual) and _number(expected):
        if abs(actual - expected) == 1:
            out |= set(OFF_BY_ONE)
        if actual * expected < 0 or (actual == -expected and actual != 0):
            out |= set(SIGN)
        if type(actual) is not type(expected):
            out |= set(CONVERT)
        return out
    if type(actual) is not type(expected):
        return set(CONVERT)
    if isinstance(actual, str):
        out |= set(STRING)
    if isinstance(actual, (str, list, tuple)):
        if abs(len(actual) - len(expected)) == 1:
            out |= set(LENGTH)
        try:
            if len(actual) == len(expected) and sorted(actual) == sorted(expected):
                out |= set(ORDER)
        except TypeError:  # items that do not sort
            pass
    return out


def test_hints(text: str) -> set[str]:
    """Families that one failing test's output points at."""
    out: set[str] = set()
    for match in [*_ASSERT.finditer(text), *_INDEX_DIFF.finditer(text)]:
        out |= compared(_value(match[1]), _value(match[2]))
    for error in set(_ERROR.findall(text)):
        out |= set(ERRORS.get(error, ()))
    if _TIMEOUT.search(text):
        out |= set(TIMEOUT)
    return out


def hints(pieces: list[str]) -> dict[str, float]:
    """{family: factor >= 1} from the failing tests' outputs, one text per test (see the
    module docstring); a test's name is not part of its output (``test_timeout`` hints no
    hang)."""
    pieces = [p for p in pieces if p.strip()]
    if not pieces:
        return {}
    counts = Counter(f for piece in pieces for f in test_hints(piece))
    return {family: 1.0 + (HINT_BOOST - 1.0) * n / len(pieces) for family, n in counts.items()}
