"""A set of disjoint, sorted intervals kept merged."""

from intervals.interval import Interval


class IntervalSet:
    def __init__(self, intervals=()):
        self.intervals = []
        for interval in intervals:
            self.add(interval)

    def add(self, new):
        if new.is_empty():
            return
        merged = []
        placed = False
        for current in self.intervals:
            if current.touches(new):
                new = current.hull(new)
            elif current.end < new.start:
                merged.append(current)
            else:
                if not placed:
                    merged.append(new)
                    placed = True
                merged.append(current)
        if not placed:
            merged.append(new)
        self.intervals = merged

    def remove(self, cut):
        kept = []
        for current in self.intervals:
            if not current.overlaps(cut):
                kept.append(current)
                continue
            if current.start < cut.start:
                kept.append(Interval(current.start, cut.start))
            if cut.end < current.end:
                kept.append(Interval(cut.end, current.end))
        self.intervals = kept

    def contains(self, x):
        return any(i.contains(x) for i in self.intervals)

    def total_length(self):
        return sum(i.length for i in self.intervals)

    def gaps(self, within):
        """The parts of `within` that no interval covers."""
        result = []
        cursor = within.start
        for current in self.intervals:
            if current.end <= within.start or current.start >= within.end:
                continue
            if current.start > cursor:
                result.append(Interval(cursor, current.start))
            cursor = max(cursor, current.end)
        if cursor < within.end:
            result.append(Interval(cursor, within.end))
        return result

    def __len__(self):
        return len(self.intervals)

    def __repr__(self):
        return "{" + ", ".join(map(repr, self.intervals)) + "}"
