import pytest

from calc.parser import evaluate, evaluate_all


def test_precedence():
    assert evaluate("2 + 3 * 4") == 14
    assert evaluate("(2 + 3) * 4") == 20


def test_subtraction_and_division_are_left_associative():
    assert evaluate("10 - 4 - 3") == 3
    assert evaluate("64 / 4 / 2") == 8


def test_power_is_right_associative():
    assert evaluate("2 ^ 3 ^ 2") == 512


def test_unary_minus():
    assert evaluate("-3 + 5") == 2
    assert evaluate("--4") == 4


def test_nested_parentheses():
    assert evaluate("((1 + 2) * (3 + 4))") == 21


def test_errors():
    with pytest.raises(ValueError, match="expected '\\)'"):
        evaluate("(1 + 2")
    with pytest.raises(ValueError, match="after a complete expression"):
        evaluate("1 2")


def test_evaluate_all_reports_errors():
    assert evaluate_all(["1 + 1", "4 / 0", "2 *"]) == [
        2, "error: division by zero in expression", "error: unexpected token None"]
