"""How long one test may run, from a first run of the suite: a test that hangs costs about a second.

After a first run (a ``TestReport``), a test may run ``FACTOR`` times the slowest test that
finished (passed or failed: a fix may let a failing test run to its end), at least ``FLOOR_S``,
at most the configured ceiling. A test that already ran past its limit in the first run gets only
``HUNG_FACTOR`` times that slowest test, at least ``FLOOR_S``: an edit that fixes it makes it
finish quickly, one that does not makes it hang again, and at the full limit every such hang
would cost as much as dozens of candidates (the HumanEvalFix programs that loop forever spent
their whole budget there). ``slowdown`` scales both for a run that is slower than the first one
(per-test coverage traces every line); the floor stays: a test that hung before and hangs again
under coverage has shown its lines within a second.

Within one run, once a test has hung, the later tests of its file get a short limit too, shorter
once two have hung (``sandboxes._pytest_plugin``); ``statuses_of`` tells those apart (``CUT_SHORT``), since they may
be slow rather than hanging. Every run after the first takes its limits from here: the search's validation
(``agent.policies.search``), the coverage run of ``localize`` (``coverage_limits``: every test
that timed out, cut short or not, the hung cap with a quarter-second floor), and the env's test runs and scoring.
``passing_run_s`` is what a run costs once a fix makes the hung tests finish: what the search
sets aside for the closing runs, rather than a run dominated by hangs.
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
COVERAGE_AFTER_HANG_FLOOR_S = 0.25
"""In a coverage run, the least a test may run once another of its file hung: the run only
ranks lines, and a loop shows its lines at once (a program whose 14 tests all hang spent 14 s
of its 60 there at the default floor)."""
SCORING_SLOWDOWN = 2.0
"""Slack for a test run the episode is judged by (a loaded machine, a cold sandbox)."""

CUT_SHORT = "cut short"
"""The status ``statuses_of`` gives a test stopped at the short limit after another test of its
file hung (``sandboxes._pytest_plugin``): it may be slow rather than hanging, so it keeps the
ordinary limit."""


def test_limits(durations: Mapping[str, float], statuses: Mapping[str, str], ceiling: float,
                *, slowdown: float = 1.0, hung_floor: float = FLOOR_S) -> dict[str, float]:
    """Seconds each test of ``statuses`` may run (see the module docstring); ``durations`` are
    the first run's, in seconds; ``hung_floor``: the least a test that hung may run."""
    finished = [d for t, d in durations.items()
                if statuses.get(t, "timeout") not in ("timeout", CUT_SHORT)]
    slowest = max(finished, default=0.1)
    limit = min(max(FLOOR_S, FACTOR * slowest * slowdown), ceiling)
    hung = min(max(hung_floor, HUNG_FACTOR * slowest * slowdown), limit)
    return {t: round(hung if s == "timeout" else limit, 3) for t, s in statuses.items()}


def statuses_of(first_run) -> dict[str, str]:
    """``first_run.statuses``, with ``CUT_SHORT`` for the tests that were cut short."""
    from sandboxes.pytest_runner import CUT_SHORT_NOTE

    return {t: CUT_SHORT if r.status == "timeout" and CUT_SHORT_NOTE in r.message else r.status
            for t, r in first_run.tests.items()}


def hung_limits(first_run, ceiling: float, *, slowdown: float = 1.0, hung_floor: float = FLOOR_S,
                cut_short_hung: bool = False) -> dict[str, float]:
    """The short caps of the tests that timed out in ``first_run`` (a TestReport or None), for a
    run whose other tests keep ``ceiling``; ``cut_short_hung``: the tests cut short count as
    hung too (else they keep the ordinary limit)."""
    statuses = statuses_of(first_run) if first_run is not None else {}
    if cut_short_hung:
        statuses = {t: "timeout" if s == CUT_SHORT else s for t, s in statuses.items()}
    if "timeout" not in statuses.values():
        return {}
    durations = {t: r.duration_s for t, r in first_run.tests.items()}
    limits = test_limits(durations, statuses, ceiling, slowdown=slowdown, hung_floor=hung_floor)
    return {t: limits[t] for t, s in statuses.items() if s == "timeout"}


def coverage_limits(first_run, ceiling: float) -> dict[str, float]:
    """The caps of a coverage run (``localize``): every test that timed out in ``first_run``,
    cut short or not, may run ``HUNG_FACTOR`` times the slowest finished test (under coverage's
    slowdown), at least ``COVERAGE_AFTER_HANG_FLOOR_S``. The run only ranks lines: a test that
    hangs again has shown its loop's lines (and its frames at the timeout) by then, and one that
    a partial fix repaired finishes like the others."""
    return hung_limits(first_run, ceiling, slowdown=COVERAGE_SLOWDOWN,
                       hung_floor=COVERAGE_AFTER_HANG_FLOOR_S, cut_short_hung=True)


def passing_run_s(first_run) -> float:
    """How long ``first_run`` (a TestReport or None) would have taken had its tests that timed
    out finished like the others: its duration less the seconds they ran, plus the slowest
    finished test's duration for each. What the run of a plausible fix costs (every test
    passes), which the search sets aside for the episode's closing runs: estimated from a run
    that was mostly hanging, it would leave the search nothing."""
    if first_run is None:
        return 0.0
    tests = first_run.tests.values()
    hung = [r.duration_s for r in tests if r.status == "timeout"]
    slowest = max((r.duration_s for r in tests if r.status != "timeout"), default=0.1)
    return max(first_run.duration_s - sum(hung), 0.0) + slowest * len(hung)
