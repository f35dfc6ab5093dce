"""Recursion over nested lists and sorted sequences."""


def flatten(items):
    """[1, [2, [3, 4]], (5,)] -> [1, 2, 3, 4, 5]."""
    result = []
    for item in items:
        if isinstance(item, (list, tuple)):
            result.extend(flatten(item))
        else:
            result.append(item)
    return result


def depth(value):
    """How deeply lists nest: 0 for a non-list, 1 for [] or [1, 2], 2 for [[1]]."""
    if not isinstance(value, (list, tuple)):
        return 0
    if not value:
        return 1
    return 1 + max(depth(v) for v in value)


def binary_search(items, target):
    """Index of target in the sorted list items, or -1."""

    def search(lo, hi):
        if lo > hi:
            return -1
        mid = (lo + hi) // 2
        if items[mid] == target:
            return mid
        if items[mid] < target:
            return search(mid + 1, hi)
        return search(lo, mid - 1)

    return search(0, len(items) - 1)


def power_set(items):
    """Every subset of items, each in the original order."""
    if not items:
        return [[]]
    rest = power_set(items[1:])
    return rest + [[items[0]] + subset for subset in rest]
