"""Times of day as minutes since midnight."""


def to_minutes(hhmm):
    hours, minutes = hhmm.split(":")
    h, m = int(hours), int(minutes)
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(f"not a time of day: {hhmm!r}")
    return h * 60 + m


def to_hhmm(minutes):
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
