"""How long one test may run, from a first run of the suite: a test that hangs costs about a second.

After a first run (a ``TestReport``), a test may run ``FACTOR`` times the slowest test that
finished (passed or failed: a fix may let a failing test run to its end), at least ``FLOOR_S``,
at most the configured ceiling. A test that already ran past its limit in the first run gets only
``HUNG_FACTOR`` times that slowest test, at least ``FLOOR_S``: an edit that fixes it makes it
finish quickly, one that does not makes it hang again, and at the full limit every such hang
would cost as much as dozens of candidates (the HumanEvalFix programs that loop forever spent
their whole budget there). ``slowdown`` scales both for a run that is slower than the first one
(per-test coverage traces every line).

Every run after the first takes its limits from here: the search's validation
(``agent.policies.search``), the coverage run of ``localize``, and the env's test runs and scoring.
"""

from __future__ import annotations

from collections.abc import Mapping

FACTOR = 10.0
"""A test may run this many times the slowest test that finished before it counts as hanging."""
HUNG_FACTOR = 2.0
"""A test that timed out in the first run may run this many times the slowest that finished."""
FLOOR_S = 1.0
COVERAGE_SLOWDOWN = 2.5
"""How much slower a test runs under per-test coverage than in the first run."""
SCORING_SLOWDOWN = 2.0
"""Slack for a test run the episode is judged by (a loaded machine, a cold sandbox)."""


def test_limits(durations: Mapping[str, float], statuses: Mapping[str, str], ceiling: float,
                *, slowdown: float = 1.0) -> dict[str, float]:
    """Seconds each test of ``statuses`` may run (see the module docstring); ``durations`` are
    the first run's, in seconds."""
    finished = [d for t, d in durations.items() if statuses.get(t, "timeout") != "timeout"]
    slowest = max(finished, default=0.1)
    floor = FLOOR_S * slowdown
    limit = min(max(floor, FACTOR * slowest * slowdown), ceiling)
    hung = min(max(floor, HUNG_FACTOR * slowest * slowdown), limit)
    return {t: round(hung if s == "timeout" else limit, 3) for t, s in statuses.items()}


def hung_limits(first_run, ceiling: float, *, slowdown: float = 1.0) -> dict[str, float]:
    """The short caps of the tests that timed out in ``first_run`` (a TestReport or None), for a
    run whose other tests keep ``ceiling``."""
    if first_run is None or "timeout" not in first_run.statuses.values():
        return {}
    durations = {t: r.duration_s for t, r in first_run.tests.items()}
    limits = test_limits(durations, first_run.statuses, ceiling, slowdown=slowdown)
    return {t: limits[t] for t, s in first_run.statuses.items() if s == "timeout"}


def expected_run_s(first_run, limits: Mapping[str, float]) -> float:
    """How long the first run would have taken had its tests had ``limits``: its hung tests at
    their caps instead of the limit they ran into."""
    if first_run is None:
        return 0.0
    saved = sum(max(r.duration_s - limits[t], 0.0) for t, r in first_run.tests.items()
                if r.status == "timeout" and t in limits)
    return max(first_run.duration_s - saved, 0.0)
