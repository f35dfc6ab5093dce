import pytest

from gradebook.grades import average, drop_lowest, letter, median


def test_average():
    assert average([80, 90, 100]) == 90
    assert average([]) is None


@pytest.mark.parametrize("score, expected", [(95, "A"), (90, "A"), (89.9, "B"), (80, "B"),
                                             (70, "C"), (65, "D"), (10, "F")])
def test_letter(score, expected):
    assert letter(score) == expected


def test_median_odd_and_even():
    assert median([3, 1, 2]) == 2
    assert median([4, 1, 3, 2]) == 2.5


def test_median_of_nothing():
    with pytest.raises(ValueError):
        median([])


def test_drop_lowest():
    assert drop_lowest([70, 50, 90, 60]) == [60, 70, 90]
    assert drop_lowest([70, 50, 90, 60], k=2) == [70, 90]
    assert drop_lowest([1, 2], k=5) == []
