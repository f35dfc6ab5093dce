import pytest

from calendarkit.roman import from_roman, to_roman


@pytest.mark.parametrize("number, text", [(1, "I"), (4, "IV"), (9, "IX"), (14, "XIV"),
                                          (40, "XL"), (90, "XC"), (400, "CD"), (1994, "MCMXCIV"),
                                          (3999, "MMMCMXCIX")])
def test_round_trip(number, text):
    assert to_roman(number) == text
    assert from_roman(text) == number


def test_out_of_range():
    for bad in (0, 4000, 2.5):
        with pytest.raises(ValueError):
            to_roman(bad)


def test_from_roman_rejects():
    assert from_roman(" mmxxiv ") == 2024
    for bad in ("", "ABC", "IIII", "VX"):
        with pytest.raises(ValueError):
            from_roman(bad)
