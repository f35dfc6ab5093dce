"""What the first test run says that the search reuses: per-test limits and per-test coverage.

Pure functions of a run's durations, statuses and coverage, so the search can decide how long a
candidate's test may run and which passing tests can notice an edit in a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

LIMIT_FACTOR = 10.0
"""A test may run this many times the slowest passing test before it counts as hanging."""
LIMIT_FLOOR_S = 1.0
HUNG_CAP_FACTOR = 2.0
"""A test that already timed out before the edit gets only this many times the slowest passing
duration: a fix makes it finish quickly, a non-fix would hang again at full cost."""


def test_limits(durations: Mapping[str, float], statuses: Mapping[str, str],
                ceiling: float) -> dict[str, float]:
    """Seconds each test may run: ``LIMIT_FACTOR`` times the slowest passing duration (at least
    ``LIMIT_FLOOR_S``, at most ``ceiling``); a shorter cap for tests that timed out."""
    passing = [d for t, d in durations.items() if statuses.get(t) == "passed"]
    slowest = max(passing, default=0.1)
    limit = min(max(LIMIT_FLOOR_S, LIMIT_FACTOR * slowest), ceiling)
    hung = min(max(LIMIT_FLOOR_S, HUNG_CAP_FACTOR * slowest), limit)
    return {t: round(hung if statuses.get(t) == "timeout" else limit, 3) for t in statuses}


def tests_by_file(coverage: Mapping[str, Mapping[str, Iterable[int]]], tests: list[str]
                  ) -> dict[str, list[int]]:
    """For each covered file, the indices into ``tests`` of the tests that ran a line of it."""
    out: dict[str, list[int]] = {}
    for i, test in enumerate(tests):
        for path, lines in coverage.get(test, {}).items():
            if lines:
                out.setdefault(path, []).append(i)
    return out


def tests_covering(coverage: Mapping[str, Mapping[str, Iterable[int]]], path: str, line: int
                   ) -> list[str]:
    """The tests that ran ``path:line``."""
    return sorted(t for t, files in coverage.items() if line in set(files.get(path, ())))
