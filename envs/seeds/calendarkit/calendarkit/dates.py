"""Dates as (year, month, day) tuples in the proleptic Gregorian calendar."""

_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def is_leap(year):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year, month):
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1..12, got {month}")
    if month == 2 and is_leap(year):
        return 29
    return _DAYS[month - 1]


def validate(year, month, day):
    if not 1 <= day <= days_in_month(year, month):
        raise ValueError(f"{year}-{month:02d} has no day {day}")


def day_of_year(year, month, day):
    validate(year, month, day)
    return sum(days_in_month(year, m) for m in range(1, month)) + day


def ordinal(year, month, day):
    """Days since 0001-01-01, which is day 1."""
    previous = year - 1
    days_before_year = previous * 365 + previous // 4 - previous // 100 + previous // 400
    return days_before_year + day_of_year(year, month, day)


def weekday(year, month, day):
    """0001-01-01 was a Monday."""
    return WEEKDAYS[(ordinal(year, month, day) - 1) % 7]


def add_days(year, month, day, n):
    validate(year, month, day)
    day += n
    while day > days_in_month(year, month):
        day -= days_in_month(year, month)
        month += 1
        if month > 12:
            month, year = 1, year + 1
    while day < 1:
        month -= 1
        if month < 1:
            month, year = 12, year - 1
        day += days_in_month(year, month)
    return year, month, day


def format_date(year, month, day, style="iso"):
    validate(year, month, day)
    if style == "iso":
        return f"{year:04d}-{month:02d}-{day:02d}"
    if style == "us":
        return f"{month}/{day}/{year}"
    raise ValueError(f"unknown style {style!r}; use iso or us")
