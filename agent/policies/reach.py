"""Where the search goes once a round's candidates run dry: further lines, then pairs of edits.

A round validates what its families make at the top ``top_locations`` ranked lines. When that
stream ends with time left and nothing fixed (not even some of the failing tests), the search
goes on (``SearchPolicy._go_on``) with two streams, interleaved:

- ``lines``: the candidates at the next ranked lines of the localization (the env keeps
  ``localization_depth`` of them), whose fault a weak ranking put below the top;
- ``pairs``: two of the round's own candidates at once, at different lines or at different
  spots of one line (``merged``), for faults that need two edits where neither alone makes a
  test pass (``hashlib.md5('text')`` needs the name and the encoding). Pairs of candidates that
  each changed how a failing test fails (its status or crash message: the worker's ``f2p_sig``)
  come first (for a failed assert, what it compared: the first ``RESIGNED`` such candidates
  are validated again with pytest's assert rewriting), then pairs with one such, each tier in the order of the product of the two
  candidates' places in the round's validation order (the engine's priority). A pair in which
  one edit switches behaviour off comes last.

The two interleave in proportion to how strong the localization is: with a top line far more
suspicious than the lines below the top (a fault the ranking pins), pairs of the top lines'
candidates are the likelier fix; with a flat ranking, further lines are (``pair_share``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

from agent.repair import Candidate, rank

MOST_CHANGED = 60
"""Candidates that changed a failing test's outcome taken into pairs (the likeliest first)."""
MOST_OTHERS = 40
"""Candidates that changed nothing paired with those."""
RESIGNED = 40
"""The round's first candidates that failed an assert which are validated again with asserts
rewritten, so that what the assert compared tells whether they moved the output."""
MOST_UNCHANGED = 20
"""Of those, how many are also paired among themselves (last)."""


def changed(signature: dict[str, str] | None, baseline: dict[str, str] | None) -> bool:
    """Whether a candidate moved how the failing tests fail toward passing: some test fails
    otherwise than on the unedited code (another message, values compared, exception) and none
    fails worse (``closeness``: a hang is worse than an exception, which is worse than a
    failed assert). An edit that swaps a wrong value for another wrong one counts; one that
    makes a wrong value crash does not."""
    if not signature or not baseline:
        return False
    moved = False
    for test, sig in signature.items():
        base = baseline.get(test, "")
        if closeness(sig) < closeness(base):
            return False
        moved = moved or sig != base
    return moved


def closeness(sig: str) -> int:
    """How close a test's outcome (the worker's ``f2p_sig``: "status:Type:crc") is to passing."""
    status, _, rest = sig.partition(":")
    if status == "passed":
        return 3
    if status == "failed" and rest.startswith("AssertionError:"):
        return 2
    return 0 if status == "timeout" else 1


def _edit(old: str, new: str) -> tuple[int, int, str]:
    """The one run of characters of ``old`` that ``new`` replaces: (start, end, text)."""
    start, top = 0, min(len(old), len(new))
    while start < top and old[start] == new[start]:
        start += 1
    end_old, end_new = len(old), len(new)
    while end_old > start and end_new > start and old[end_old - 1] == new[end_new - 1]:
        end_old -= 1
        end_new -= 1
    return start, end_old, new[start:end_new]


def merged(current: dict[str, str], a: dict[str, str], b: dict[str, str]
           ) -> dict[str, str] | None:
    """The texts of the files two edits change (each {path: whole text} over ``current``),
    with both made; None where they touch the same characters (or insert at the same spot) or
    one of them changes nothing."""
    out = {p: t for p, t in a.items() if t != current[p]}
    for path, text in b.items():
        if text == current[path]:
            continue
        if path not in out:
            out[path] = text
            continue
        old = current[path]
        one, two = _edit(old, out[path]), _edit(old, text)
        first, second = sorted((one, two))
        if first[1] > second[0] or first[:2] == second[:2]:
            return None
        out[path] = (old[:first[0]] + first[2] + old[first[1]:second[0]] + second[2]
                     + old[second[1]:])
    if not out or out == {p: t for p, t in a.items() if t != current[p]}:
        return None
    return out


def pair_order(outcomes: list, bases: list[dict[str, str] | None]) -> list[tuple]:
    """Pairs (i, j) of the round's outcomes (in validation order) worth trying together,
    likeliest first (see the module docstring); ``bases[i]``: the signature of the unedited
    code that outcome ``i``'s is compared with."""
    moved = [i for i, o in enumerate(outcomes)
             if changed(o.signature, bases[i])][:MOST_CHANGED]
    kept = set(moved)
    others = [i for i in range(len(outcomes)) if i not in kept][:MOST_OTHERS]
    scored = []
    for x, i in enumerate(moved):
        for tier, js in ((0, moved[x + 1:]), (1, others)):
            for j in js:
                last = 2 if _disabling(outcomes[i]) or _disabling(outcomes[j]) else 0
                scored.append((tier + last, (i + 1) * (j + 1), min(i, j), max(i, j)))
    rest = others[:MOST_UNCHANGED]  # where no edit changes a thing, the likeliest pairs still
    for x, i in enumerate(rest):
        for j in rest[x + 1:]:
            last = 2 if _disabling(outcomes[i]) or _disabling(outcomes[j]) else 0
            scored.append((4 + last, (i + 1) * (j + 1), i, j))
    scored.sort()
    return [(i, j) for _, _, i, j in scored]


def _disabling(outcome) -> bool:
    return outcome.candidate is not None and outcome.candidate.disables


def pairs(outcomes: list, bases: list[dict[str, str] | None], current: dict[str, str]
          ) -> Iterator[tuple[int, Candidate, dict[str, str], str]]:
    """(rank, candidate, files, description) for each pair that ``pair_order`` gives and that compiles;
    the candidate stands for both (its path and line are the better-ranked one's, its family
    "a+b", its size the sum, disabling where either is)."""
    for i, j in pair_order(outcomes, bases):
        a, b = outcomes[i], outcomes[j]
        if a.candidate is None or b.candidate is None:
            continue
        files = merged(current, a.files, b.files)
        if files is None or any(rank.ast_key(p, t) is None for p, t in files.items()):
            continue
        first, second = sorted((a, b), key=lambda o: o.rank)
        cand = replace(first.candidate,
                       family=f"{first.candidate.family}+{second.candidate.family}",
                       description=f"{first.candidate.description}; and at "
                                   f"{second.candidate.path}:{second.candidate.line}: "
                                   f"{second.candidate.description}",
                       size=first.candidate.size + second.candidate.size,
                       disables=first.candidate.disables or second.candidate.disables)
        yield first.rank, cand, files, f"{first.description}; {second.description}"


def singles(items: Iterable[tuple[int, Candidate]], offset: int
            ) -> Iterator[tuple[int, Candidate, dict[str, str], str]]:
    """Candidates at further lines as (rank in the whole ranking, candidate, files,
    description)."""
    for index, cand in items:
        yield (index + offset, cand, {cand.path: cand.text},
               f"{cand.family} at {cand.path}:{cand.line}: {cand.description}")


def pair_share(scores: list[float | None], top: int) -> float:
    """The share of candidates pairs take: the ranking's top score against the best score
    below the top lines (1 when nothing ranks below them, 1/2 when they are as suspicious)."""
    below = [s for s in scores[top:] if s is not None]
    head = [s for s in scores[:top] if s is not None]
    if not below:
        return 1.0
    if not head or max(head) <= 0:
        return 0.5
    ratio = max(below) / max(head)  # 1: the lines below are as suspicious as the top
    return min(max(1.0 - ratio / 2, 0.5), 0.9)


def interleave(lines: Iterator, pairs: Iterator, share: float) -> Iterator[tuple[str, tuple]]:
    """("lines" or "pairs", item) from both streams, ``share`` of them pairs while both last."""
    streams = {"lines": lines, "pairs": pairs}
    taken = {"lines": 0, "pairs": 0}
    while streams:
        if len(streams) == 1:
            name = next(iter(streams))
        else:
            total = taken["lines"] + taken["pairs"] + 1
            name = "pairs" if taken["pairs"] < share * total else "lines"
        item = next(streams[name], None)
        if item is None:
            del streams[name]
            continue
        taken[name] += 1
        yield name, item
