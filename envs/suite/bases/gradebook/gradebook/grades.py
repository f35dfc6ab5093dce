"""Statistics over lists of scores (0-100)."""


def average(scores):
    """Mean score, or None when there are no scores."""
    if not scores:
        return None
    return sum(scores) / len(scores)


def letter(score):
    if score >= 90:
        return "A"
    if score >= 80:
        return "B"
    if score >= 70:
        return "C"
    if score >= 60:
        return "D"
    return "F"


def median(scores):
    ordered = sorted(scores)
    n = len(ordered)
    if n == 0:
        raise ValueError("median of no scores")
    mid = n // 2
    if n % 2 == 1:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def drop_lowest(scores, k=1):
    """The scores without the k lowest ones, in ascending order."""
    if k >= len(scores):
        return []
    return sorted(scores)[k:]
