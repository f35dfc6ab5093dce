"""Spectrum-based fault localization: which lines of the code under test look guilty.

Each test covers a set of lines; a line covered mostly by failing tests is suspicious. The score is
Ochiai's (Abreu et al., "On the accuracy of spectrum-based fault localization", TAIC PART 2007)::

    ochiai(s) = failed(s) / sqrt(total_failed * (failed(s) + passed(s)))

where failed(s) / passed(s) count the failing / passing tests that execute line s. Ochiai cannot
tell apart lines that every failing test runs (a function's whole body), so the frames of the
failing tests' tracebacks break the tie: a non-test line named in a traceback gets a boost of
``frame_boost`` times the share of failing tests whose traceback names it (the deepest frame counts
fully, the frames above it half). Test files never appear in the ranking.

``ochiai_scores`` and ``rank`` are pure functions of a hand-made spectrum; ``localize`` gathers the
spectrum by running the task's tests with per-test coverage in a sandbox.
"""

from __future__ import annotations

import math
import posixpath
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

#: A pytest long / short traceback location (``pkg/m.py:5: ZeroDivisionError``, ``pkg/m.py:2: in f``)
#: or a Python one (``File "pkg/m.py", line 5, in g``).
_PYTEST_FRAME = re.compile(r"^(?P<path>[^\s:\"']+\.py):(?P<line>\d+):", re.MULTILINE)
_PYTHON_FRAME = re.compile(r'File "(?P<path>[^"]+\.py)", line (?P<line>\d+)')

Line = tuple[str, int]


@dataclass(frozen=True)
class Suspicious:
    """One ranked line."""

    path: str
    line: int
    score: float
    text: str = ""

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"


def ochiai_scores(
    coverage: Mapping[str, Mapping[str, Iterable[int]]], failed: Iterable[str]
) -> dict[Line, float]:
    """Ochiai score of every line that some failing test covers.

    ``coverage`` maps test node id -> {path: covered line numbers}; ``failed`` names the failing
    tests (every other test in ``coverage`` counts as passing). Lines no failing test covers score
    0 and are left out.
    """
    failed = set(failed)
    total_failed = sum(1 for test in coverage if test in failed)
    if total_failed == 0:
        return {}
    n_failed: dict[Line, int] = defaultdict(int)
    n_passed: dict[Line, int] = defaultdict(int)
    for test, files in coverage.items():
        counts = n_failed if test in failed else n_passed
        for path, lines in files.items():
            for line in set(lines):
                counts[(path, line)] += 1
    return {
        loc: ef / math.sqrt(total_failed * (ef + n_passed.get(loc, 0)))
        for loc, ef in n_failed.items()
    }


def traceback_frames(text: str, workdir: str = "") -> list[Line]:
    """The (path, line) frames named in a failure text, outermost first, paths made repo-relative."""
    found = []
    for match in sorted(
        [*_PYTEST_FRAME.finditer(text), *_PYTHON_FRAME.finditer(text)], key=lambda m: m.start()
    ):
        path = match["path"]
        if workdir and path.startswith(workdir.rstrip("/") + "/"):
            path = path[len(workdir.rstrip("/")) + 1 :]
        path = posixpath.normpath(path)
        if path.startswith(("/", "../")):
            continue  # outside the repo: the standard library, site-packages
        frame = (path, int(match["line"]))
        if not found or found[-1] != frame:
            found.append(frame)
    return found


def rank(
    scores: Mapping[Line, float],
    failure_frames: Iterable[list[Line]] = (),
    *,
    is_test_file: Callable[[str], bool] = lambda path: False,
    frame_boost: float = 0.3,
) -> list[tuple[str, int, float]]:
    """Ochiai scores plus the traceback boost, test files dropped, best first.

    ``failure_frames`` holds one frame list (outermost first) per failing test.
    """
    total: dict[Line, float] = defaultdict(float)
    for loc, score in scores.items():
        if not is_test_file(loc[0]):
            total[loc] += score
    frame_lists = list(failure_frames)
    for frames in frame_lists:
        frames = [f for f in frames if not is_test_file(f[0])]
        weights: dict[Line, float] = {}
        for depth, loc in enumerate(reversed(frames)):
            weights[loc] = max(weights.get(loc, 0.0), 1.0 if depth == 0 else 0.5)
        for loc, weight in weights.items():
            total[loc] += frame_boost * weight / len(frame_lists)
    ranked = [(path, line, score) for (path, line), score in total.items() if score > 0]
    # Ties (a block that every failing test runs) put the later line first: the computation that
    # feeds a wrong result tends to sit near where the block ends. On the bundled suite this took
    # top-1 line accuracy from 7 to 14 of 51 tasks (top-5: 39 to 42) against file order.
    ranked.sort(key=lambda item: (-round(item[2], 12), item[0], -item[1]))
    return ranked


#: A suite of more tests than this runs ``localize``'s coverage over this many only: the failing
#: tests, the passing tests of their test files, then an even sample of the rest (Ochiai needs
#: passing tests to tell shared lines from guilty ones). On a large suite (mistune's 1,110 tests)
#: the whole coverage run took longer than agent fix's --timeout 60. The validation of a
#: candidate that fixes every failing test still runs every passing test (validate_worker).
COVERAGE_SAMPLE = 300


def coverage_tests(task, most: int = COVERAGE_SAMPLE) -> list[str] | None:
    """The tests ``localize``'s coverage run covers: all of ``task.tests`` (None: the whole
    suite) unless there are more than ``most``; then see COVERAGE_SAMPLE."""
    tests = list(task.tests)
    if len(tests) <= most or not task.fail_to_pass:
        return tests or None
    failing = list(task.fail_to_pass)
    files = {t.split("::", 1)[0] for t in failing}
    near = [t for t in task.pass_to_pass if t.split("::", 1)[0] in files]
    chosen = failing + near[: max(most - len(failing), 0)]
    rest = [t for t in task.pass_to_pass if t.split("::", 1)[0] not in files]
    room = most - len(chosen)
    if room > 0 and rest:
        step = len(rest) / room
        chosen += [rest[int(i * step)] for i in range(min(room, len(rest)))]
    return chosen


def localize(
    sandbox,
    task,
    *,
    top_n: int = 10,
    timeout: float = 300.0,
    per_test_timeout: float = 30.0,
    limits: Mapping[str, float] | None = None,
    frame_boost: float = 0.3,
) -> list[Suspicious]:
    """Run the task's tests with per-test coverage in ``sandbox`` and rank the suspicious lines.

    The test outcomes are the ones of this run (so after a partial fix only the tests that still
    fail point at lines), not the task's labels. ``limits`` gives some tests a limit of their own
    (``envs.limits.hung_limits``: the tests that hung in the first run).
    """
    return localize_report(sandbox, task, top_n=top_n, timeout=timeout,
                           per_test_timeout=per_test_timeout, limits=limits,
                           frame_boost=frame_boost)[0]


def localize_report(sandbox, task, *, top_n: int = 10, timeout: float = 300.0,
                    per_test_timeout: float = 30.0, limits: Mapping[str, float] | None = None,
                    frame_boost: float = 0.3):
    """``localize``'s ranking and the run it came from (a ``TestReport`` whose coverage paths
    are repo-relative), for callers that also need the durations and per-test coverage."""
    from envs.limits import COVERAGE_AFTER_HANG_FLOOR_S
    from envs.reward import is_test_path, task_test_files
    from sandboxes.pytest_runner import run_pytest

    report = run_pytest(sandbox, coverage_tests(task), timeout=timeout,
                        per_test_timeout=per_test_timeout, limits=limits,
                        after_hang_floor=COVERAGE_AFTER_HANG_FLOOR_S, coverage=True)
    workdir = sandbox.workdir.rstrip("/")
    coverage = {
        test: {_relative(path, workdir): lines for path, lines in files.items()}
        for test, files in (report.coverage or {}).items()
    }
    failed = set(report.failing)
    if not failed:
        # The failing tests passed under the tracer (code that behaves differently when traced,
        # as python-dotenv's did): their coverage is still what they ran, so rank by the tests
        # that failed without it rather than find nothing.
        failed = {t for t in task.fail_to_pass if t in coverage}
    frames = [traceback_frames(report.tests[t].message, workdir) for t in sorted(failed)]
    files = set(sandbox.list_files())
    test_files = task_test_files(task)
    ranked = rank(
        ochiai_scores(coverage, failed), frames, frame_boost=frame_boost,
        is_test_file=lambda p: p not in files or is_test_path(p, test_files),
    )[:top_n]
    texts: dict[str, list[str]] = {}
    result = []
    for path, line, score in ranked:
        if path not in texts:
            texts[path] = sandbox.read_file(path).splitlines()
        lines = texts[path]
        text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        result.append(Suspicious(path, line, score, text))
    report.coverage = coverage
    return result, report


def _relative(path: str, workdir: str) -> str:
    if path.startswith(workdir + "/"):
        path = path[len(workdir) + 1 :]
    return posixpath.normpath(path)


def format_ranking(ranking: list[Suspicious]) -> str:
    """The observation for ``localize``: one ``path:line  score  text`` row per line, best first."""
    if not ranking:
        return ("localize found no suspicious lines: no test failed, or the failing tests run no "
                "code outside the test files")
    width = max(len(s.location) for s in ranking)
    rows = [f"{s.location:<{width}}  {s.score:.3f}  {s.text}" for s in ranking]
    return "most suspicious lines (Ochiai over per-test coverage + traceback frames):\n" + "\n".join(rows)
