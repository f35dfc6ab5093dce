"""Choosing one result among several samples of the same task.

``agent eval --samples K`` and ``agent fix --samples K`` both run K episodes and keep one: the one
with the most tests passing, then the smallest patch. Only the tests decide; the reward is not
consulted because it is a function of the same test outcomes.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.trajectory import EpisodeResult, ExitStatus


def tests_passing(result: EpisodeResult) -> int:
    """How many of the task's tests (fail_to_pass and pass_to_pass) passed at the end."""
    return sum(1 for status in result.tests.values() if status == "passed")


def patch_size(patch: str) -> int:
    """Changed lines in a unified diff (added plus removed), headers not counted."""
    return sum(
        1 for line in patch.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++ ", "--- "))
    )


def selection_key(result: EpisodeResult) -> tuple:
    """Sort key, larger is better: resolved, tests passing, smaller patch, no error."""
    return (
        result.resolved,
        tests_passing(result),
        -patch_size(result.patch),
        result.exit_status != ExitStatus.ERROR,
    )


def best_result(results: Sequence[EpisodeResult]) -> EpisodeResult:
    """The best of several episodes of one task; the earliest wins a tie, so runs repeat."""
    if not results:
        raise ValueError("best_result needs at least one result, got none")
    best = results[0]
    for result in results[1:]:
        if selection_key(result) > selection_key(best):
            best = result
    return best
