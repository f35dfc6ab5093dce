"""A half-open interval [start, end)."""


class Interval:
    __slots__ = ("start", "end")

    def __init__(self, start, end):
        if end < start:
            raise ValueError(f"interval end {end} is before its start {start}")
        self.start = start
        self.end = end

    @property
    def length(self):
        return self.end - self.start

    def is_empty(self):
        return self.start == self.end

    def contains(self, x):
        return self.start <= x < self.end

    def overlaps(self, other):
        return self.start < other.end and other.start < self.end

    def touches(self, other):
        """Overlapping or adjacent, so that the union is one interval."""
        return self.start <= other.end and other.start <= self.end

    def intersection(self, other):
        start, end = max(self.start, other.start), min(self.end, other.end)
        if start >= end:
            return None
        return Interval(start, end)

    def hull(self, other):
        return Interval(min(self.start, other.start), max(self.end, other.end))

    def shift(self, delta):
        return Interval(self.start + delta, self.end + delta)

    def scale(self, factor):
        """Scaled about the start."""
        if factor < 0:
            raise ValueError(f"scale factor must not be negative, got {factor}")
        return Interval(self.start, self.start + self.length * factor)

    def __eq__(self, other):
        return isinstance(other, Interval) and (self.start, self.end) == (other.start, other.end)

    def __hash__(self):
        return hash((self.start, self.end))

    def __repr__(self):
        return f"[{self.start}, {self.end})"
