"""Process-wide counts of sandbox work: how many sandboxes opened and test runs ran.

`agent fix --json` reports them for its one run (``benchmarks/fix_suite.py`` prints them per fix),
so a change that opens a second sandbox or runs the suite twice shows in the figures.
"""

from __future__ import annotations

from collections import Counter

KEYS = ("sandboxes", "test_runs", "full_test_runs", "coverage_runs")

_counts: Counter[str] = Counter()


def count(key: str) -> None:
    if key not in KEYS:
        raise ValueError(f"unknown count {key!r}; one of {', '.join(KEYS)}")
    _counts[key] += 1


def snapshot() -> dict[str, int]:
    """Every count so far (subtract two snapshots for what happened in between)."""
    return {key: _counts[key] for key in KEYS}
