import pytest

from intervals import Interval


def test_basic_properties():
    i = Interval(2, 5)
    assert i.length == 3 and not i.is_empty()
    assert Interval(3, 3).is_empty()
    assert repr(i) == "[2, 5)"


def test_invalid():
    with pytest.raises(ValueError, match="before its start"):
        Interval(5, 2)


def test_contains_is_half_open():
    i = Interval(0, 10)
    assert i.contains(0) and i.contains(9.99)
    assert not i.contains(10) and not i.contains(-1)


def test_overlap_and_touch():
    a, b, c = Interval(0, 5), Interval(5, 8), Interval(4, 6)
    assert not a.overlaps(b) and a.touches(b)
    assert a.overlaps(c) and c.overlaps(b)
    assert not a.touches(Interval(6, 7))


def test_intersection_and_hull():
    a, b = Interval(0, 5), Interval(3, 9)
    assert a.intersection(b) == Interval(3, 5)
    assert a.intersection(Interval(5, 6)) is None
    assert a.hull(Interval(7, 9)) == Interval(0, 9)


def test_shift_and_scale():
    assert Interval(1, 3).shift(-2) == Interval(-1, 1)
    assert Interval(2, 4).scale(3) == Interval(2, 8)
    with pytest.raises(ValueError):
        Interval(0, 1).scale(-1)


def test_hashable():
    assert len({Interval(0, 1), Interval(0, 1), Interval(0, 2)}) == 2
