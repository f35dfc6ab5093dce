import pytest

from calc.lexer import tokenize


def test_numbers_and_operators():
    assert tokenize("12 + 3.5*(2)") == [("num", 12.0), ("op", "+"), ("num", 3.5), ("op", "*"),
                                        ("op", "("), ("num", 2.0), ("op", ")")]


def test_bad_character_reports_column():
    with pytest.raises(ValueError, match="unexpected character '\\$' at column 4"):
        tokenize("1 + $2")
