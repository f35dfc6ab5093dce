from nested.lists import binary_search, depth, flatten, power_set


def test_flatten():
    assert flatten([1, [2, [3, 4]], (5,), []]) == [1, 2, 3, 4, 5]


def test_depth():
    assert depth(7) == 0
    assert depth([]) == 1
    assert depth([1, [2, [3]], []]) == 3


def test_binary_search_finds_every_item():
    items = [1, 3, 5, 7, 9, 11]
    assert [binary_search(items, x) for x in items] == [0, 1, 2, 3, 4, 5]


def test_binary_search_missing():
    assert binary_search([1, 3, 5], 4) == -1
    assert binary_search([], 1) == -1


def test_power_set():
    assert sorted(power_set([1, 2, 3])) == [[], [1], [1, 2], [1, 2, 3], [1, 3], [2], [2, 3], [3]]
    assert power_set([]) == [[]]
