"""The repair engine as the env's proposer: what the ``candidates`` action lists.

``propose`` is what ``envs.candidates`` calls (``EnvConfig.proposer``): the engine's candidates at
the ranked lines, in the order the search validates them (``candidate_groups`` then
``rank.order`` and ``rank.unique``, as ``SearchPolicy.candidates`` does), lines where code cannot
run at all first, the first ``limit`` of them as ``envs.candidates.Proposal``. The failing tests'
outputs cross the seam as they are, one per test (node id -> output), so the listing and the
search read the same evidence and give it the same weight.
"""

from __future__ import annotations

import itertools
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping

from agent.repair import failure, rank
from agent.repair.calls import signature_lines
from agent.repair.engine import candidates_at, mutation_candidates, problem_locations
from agent.repair.reshape import quoted_code_lines
from agent.repair.site import Candidate
from agent.repair.syntax import syntax_error
from envs.candidates import Proposal

log = logging.getLogger("debug_agent.repair")

Location = tuple[str, int]
TOP_LINES = 20
"""Ranked lines that get candidates (the search's ``SearchConfig.top_locations`` default)."""
LISTING_TIME_S = 20.0
"""Most seconds a listing (``propose``) spends making candidates: a huge module ends it early,
with the lines done by then."""
_AT_LINE = re.compile(r" at (?:return )?line \d+$")


def candidate_groups(ranking: list[Location], files: dict[str, str],
                     time_limit_s: float | None = None) -> list[tuple[int, str, list[Candidate]]]:
    """(rank of the line, its statement kind, its candidates) for each ranked line, what
    ``rank.order`` takes. Making candidates is pure CPU (each line costs its neighbourhood, a
    file's own analysis is made once per text); with ``time_limit_s`` it ends once that is
    spent, between lines and between the families of a line, with the lines done so far."""
    groups = []
    deadline = None if time_limit_s is None else time.monotonic() + time_limit_s
    for index, (path, line) in enumerate(ranking):
        if deadline is not None and time.monotonic() > deadline:
            log.info("candidates made for the top %d lines only", len(groups))
            break
        source = files[path]
        groups.append((index, rank.context_of(source, line),
                       candidates_at(path, source, line, files, deadline=deadline)))
    return groups


def ordered(ranking: list[Location], files: dict[str, str],
            failures: Mapping[str, str] | None = None, errors: Iterable[str] = (),
            top_lines: int = TOP_LINES, editable: Callable[[str], bool] | None = None,
            scores: dict[Location, float] | None = None, time_limit_s: float | None = None
            ) -> Iterator[tuple[int, Candidate]]:
    """The candidates at the lines where code cannot run at all (a SyntaxError; a name nothing
    binds, when a failing test's output or a collection error mentions a NameError), then at
    ``ranking``, most promising first, without duplicates or code that does not compile; only
    in files that ``editable`` accepts. ``failures`` maps each failing test's node id to its
    output, ``errors`` are the collection errors. ``scores`` (the localization's
    suspiciousness) lets tied lines share a rank (``rank.tie_ranks``), as in the search."""
    failures = dict(failures or {})
    lines = [loc for loc in dict.fromkeys(problem_lines(files, [*failures.values(), *errors])
                                          + list(ranking))
             if loc[0] in files and (editable is None or editable(loc[0]))]
    return in_order(lines[:top_lines], files, scores or {}, time_limit_s=time_limit_s,
                    failures=failures)


def problem_lines(files: dict[str, str], texts: Iterable[str]) -> list[Location]:
    """Lines where code cannot run at all: in a file with a SyntaxError, or in every file when
    one of the ``texts`` (failing tests' outputs, collection errors) mentions a NameError (a
    name nothing binds); the def lines of functions those texts say were called against
    their signature (``calls.signature_lines``); and code quoted into a string statement,
    which never runs (``reshape.quoted_code_lines``)."""
    texts = list(texts)
    named = any("NameError" in text for text in texts)
    out = []
    for path, text in files.items():
        if named or syntax_error(text, path) is not None:
            out += [(path, line) for line in problem_locations(path, text)]
        out += [(path, line) for line in signature_lines(text, texts)]
        out += [(path, line) for line in quoted_code_lines(text)]
    return out


def in_order(lines: list[Location], files: dict[str, str], scores: dict[Location, float],
             time_limit_s: float | None = None, failures: Mapping[str, str] | None = None
             ) -> Iterator[tuple[int, Candidate]]:
    """The candidates at ``lines`` (ranked, most suspicious first), most promising first,
    without duplicates or code that does not compile; tied ``scores`` share a rank; the
    failing tests' outputs (node id -> output) raise the families they point at."""
    weights = rank.tie_ranks([scores.get(loc) for loc in lines])
    groups = candidate_groups(lines, files, time_limit_s=time_limit_s)
    hints = failure.hints(list((failures or {}).values()))
    return rank.unique(rank.order(groups, weights=weights, hints=hints), files)


def naive_order(files: dict[str, str], editable: Callable[[str], bool] | None = None
                ) -> Iterator[tuple[int, Candidate]]:
    """The baseline a repair engine is compared with: every single mutation of every source
    file (``envs.mutations``, whose inverses fix our own bugs), in file order, line after line,
    without localization or ranking; (the line's place in that order, candidate), without
    duplicates or code that does not compile."""
    def stream() -> Iterator[tuple[int, Candidate]]:
        place = 0
        for path in sorted(p for p in files if editable is None or editable(p)):
            found = mutation_candidates(path, files[path])  # in file order
            for _, group in itertools.groupby(found, key=lambda c: c.line):
                yield from ((place, cand) for cand in group)
                place += 1
    return rank.unique(stream(), files)


def words(candidate: Candidate) -> str:
    """The family and the edit in words: "arith op: - -> +"."""
    return f"{candidate.family.replace('_', ' ')}: {_AT_LINE.sub('', candidate.description)}"


def propose(files: dict[str, str], ranking: list[Location], *, limit: int,
            failures: Mapping[str, str] | None = None, errors: Iterable[str] = (),
            editable: Callable[[str], bool] | None = None,
            scores: dict[Location, float] | None = None) -> list[Proposal]:
    """The first ``limit`` candidates at ``ranking`` (see ``ordered``) as proposals."""
    found = ordered(ranking, files, failures, errors, editable=editable, scores=scores,
                    time_limit_s=LISTING_TIME_S)
    return [Proposal(c.path, c.line, c.text, c.family, words(c))
            for _, c in itertools.islice(found, limit)]
