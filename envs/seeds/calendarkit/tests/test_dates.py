import pytest

from calendarkit.dates import (add_days, day_of_year, days_in_month, format_date, is_leap,
                               ordinal, weekday)


def test_leap_years():
    assert [is_leap(y) for y in (1900, 2000, 2023, 2024)] == [False, True, False, True]


def test_days_in_month():
    assert days_in_month(2024, 2) == 29
    assert days_in_month(2023, 2) == 28
    assert days_in_month(2023, 12) == 31
    with pytest.raises(ValueError):
        days_in_month(2023, 13)


def test_day_of_year():
    assert day_of_year(2023, 1, 1) == 1
    assert day_of_year(2024, 3, 1) == 61
    assert day_of_year(2023, 12, 31) == 365


def test_invalid_day():
    with pytest.raises(ValueError, match="2023-02 has no day 29"):
        day_of_year(2023, 2, 29)


def test_ordinal_and_weekday():
    assert ordinal(1, 1, 1) == 1
    assert ordinal(2, 1, 1) == 366
    assert weekday(2024, 7, 4) == "Thursday"
    assert weekday(2000, 1, 1) == "Saturday"


def test_add_days_across_months_and_years():
    assert add_days(2023, 12, 30, 3) == (2024, 1, 2)
    assert add_days(2024, 2, 28, 1) == (2024, 2, 29)
    assert add_days(2024, 3, 1, -1) == (2024, 2, 29)
    assert add_days(2024, 1, 1, -1) == (2023, 12, 31)


def test_format_date():
    assert format_date(2024, 7, 4) == "2024-07-04"
    assert format_date(2024, 7, 4, "us") == "7/4/2024"
    with pytest.raises(ValueError, match="unknown style"):
        format_date(2024, 7, 4, "eu")
