"""What the first test run says that the search reuses: per-test coverage.

Pure functions of a run's coverage, so the search can decide which passing tests can notice an
edit in a file (how long a candidate's test may run is ``envs.limits``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


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
