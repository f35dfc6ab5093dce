"""Money as integer cents, so that sums never drift."""


def to_cents(amount):
    """Dollars (int or float) to whole cents, rounding half away from zero."""
    return int(round(amount * 100))


def format_cents(cents):
    """1234567 -> '$12,345.67'; negative amounts get a leading minus."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}${cents // 100:,}.{cents % 100:02d}"
