from intervals import Interval, IntervalSet


def test_add_merges_overlapping_and_adjacent():
    s = IntervalSet([Interval(0, 2), Interval(5, 7), Interval(2, 3)])
    assert s.intervals == [Interval(0, 3), Interval(5, 7)]
    s.add(Interval(1, 6))
    assert s.intervals == [Interval(0, 7)]


def test_add_keeps_order():
    s = IntervalSet([Interval(10, 12), Interval(0, 1), Interval(4, 5)])
    assert s.intervals == [Interval(0, 1), Interval(4, 5), Interval(10, 12)]
    assert len(s) == 3


def test_empty_intervals_ignored():
    assert len(IntervalSet([Interval(3, 3)])) == 0


def test_remove_splits():
    s = IntervalSet([Interval(0, 10)])
    s.remove(Interval(3, 5))
    assert s.intervals == [Interval(0, 3), Interval(5, 10)]
    s.remove(Interval(8, 20))
    assert s.intervals == [Interval(0, 3), Interval(5, 8)]


def test_contains_and_total():
    s = IntervalSet([Interval(0, 2), Interval(4, 7)])
    assert s.contains(1) and not s.contains(3) and not s.contains(7)
    assert s.total_length() == 5


def test_gaps():
    s = IntervalSet([Interval(2, 4), Interval(6, 8)])
    assert s.gaps(Interval(0, 10)) == [Interval(0, 2), Interval(4, 6), Interval(8, 10)]
    assert s.gaps(Interval(3, 7)) == [Interval(4, 6)]
    assert IntervalSet().gaps(Interval(1, 2)) == [Interval(1, 2)]
