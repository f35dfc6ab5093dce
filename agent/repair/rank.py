"""Which candidates to validate first, which duplicates to skip, and which plausible fix to keep.

Order: a candidate's priority is the chance that its line is the fault (decaying with the
line's rank in the localization), times its family's prior (the share of bugs where the family
proposed something that it fixed, measured on our own suites for the kind of statement at the
line: ``benchmarks/repair_prior.py`` writes ``prior.json``), times what the failing tests'
output says about the kind of fix (``failure.hints``), times a geometric decay with its place
among its family's candidates there (no family floods a line; how fast a family gives way is
measured too: where its fixes sat among its candidates, ``Prior.share``). Our suites' bugs
are mostly inverse mutations, so the measured prior alone would starve the families that fix
other bugs: every family keeps a floor (``OPEN_SHARE``) of the average rate, spread evenly over
its candidates at the line (``Prior.weight``: one floor per family at a line, so that a family
proposing a hundred wrappers there does not get it a hundred times); a family newer than the
measurement takes the median measured family's rate. Edits that switch
behaviour off (``Candidate.disables``) below the top lines are a last resort.

Duplicates: two candidates that parse to the same AST are one; a candidate whose AST is the
original's (a change in a comment or in spacing) is none; one that does not compile never runs.

Choice: among plausible candidates (every test passes), the most local and smallest edit wins:
the best-ranked line first, behaviour-disabling edits last, then the smallest change.
"""

from __future__ import annotations

import ast
import bisect
import json
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from agent.repair.site import Candidate
from envs.mutations import parsed, text_of, walk

PRIOR_PATH = Path(__file__).with_name("prior.json")
TOP_LINES = 3
"""Lines at ranks below this count as "away from the fault" for disabling edits."""
LAST_RESORT = 1e-3
OPEN_SHARE = 0.5
"""Weight of the flat prior in the mixture with the measured one."""
FAMILY_DECAY = 0.5
"""How much each later candidate of one family at one line keeps of the one before it: a
geometric decay, so that a family with a high prior yields its likeliest few edits and then
gives way to the next family instead of flooding the line with hundreds (each family yields its
likelier edits first)."""


@dataclass(frozen=True)
class Prior:
    """Per-family, per-context fix rates (bugs fixed / bugs where the family proposed an edit),
    mixed with a flat prior."""

    rates: dict[str, float]
    """"family" and "family|context" -> smoothed rate."""
    default: float
    decays: dict[str, float] = field(default_factory=dict)
    """family -> how much each later candidate of the family at a line keeps of the one before
    it, from where the fixes it found sat among its candidates (``FAMILY_DECAY`` when not
    measured)."""
    unmeasured: float | None = None
    """The rate of a family the prior has no entry for (one newer than the measurement): the
    median family's, so that it neither comes before the families that fix most nor after the
    ones that fix least (``default`` when None)."""

    def measured(self, family: str, context: str) -> float:
        fallback = self.default if self.unmeasured is None else self.unmeasured
        return self.rates.get(f"{family}|{context}", self.rates.get(family, fallback))

    def rate(self, family: str, context: str) -> float:
        """The family's chance to fix a bug where it proposes something: the measured rate
        mixed with the flat one."""
        return (1 - OPEN_SHARE) * self.measured(family, context) + OPEN_SHARE * self.default

    def weight(self, family: str, context: str, k: int, n: int) -> float:
        """The weight of the family's ``k``-th of its ``n`` candidates at a line: the measured
        rate spread over its places as its fixes were (``share``), the flat part spread evenly
        over its ``n`` candidates (the flat prior knows nothing of places). So the floor that
        keeps an unlikely family from starving is one share per family at a line, not one per
        candidate: a family that proposes 160 wrappers at a line gets 1/160 of it for each,
        where with the floor on every candidate its first dozen came before the likely fixes
        of the families that propose a few."""
        flat = OPEN_SHARE * self.default / ((1 - FAMILY_DECAY) * max(n, 1))
        return (1 - OPEN_SHARE) * self.measured(family, context) * self.share(family, k) + flat

    def decay(self, family: str) -> float:
        return self.decays.get(family, FAMILY_DECAY)

    def share(self, family: str, k: int) -> float:
        """The weight of the family's ``k``-th candidate at a line (0: its first): a geometric
        distribution over its places, ``(1 - d) d^k`` with the family's decay ``d``, scaled so
        that a family with the default decay keeps its first candidate's priority as it is.
        Normalized, a family whose fixes sit deep among its candidates gives way slowly without
        its first candidates gaining on the others."""
        d = self.decay(family)
        return (1 - d) * d ** k / (1 - FAMILY_DECAY)


@lru_cache(maxsize=4)
def load_prior(path: Path = PRIOR_PATH) -> Prior:
    """The stored prior; a flat one (every family alike) when none was measured."""
    if not path.is_file():
        return Prior({}, 0.1)
    data = json.loads(path.read_text())
    return prior_from_counts(data["counts"])


def prior_from_counts(counts: dict[str, dict[str, int]], strength: float = 20.0) -> Prior:
    """Smoothed rates from {"family" or "family|context": {"tried", "fixed"}} counts: a
    context's rate shrinks toward its family's, a family's toward the overall rate, with
    ``strength`` pseudo-candidates (so one lucky fix does not make a family first). A family's
    "depth" (the sum of its fixes' places among its candidates at the line) sets its decay
    (``decay_from_depth``)."""
    families = {k: v for k, v in counts.items() if "|" not in k}
    tried = sum(v["tried"] for v in families.values())
    fixed = sum(v["fixed"] for v in families.values())
    overall = (fixed + 1) / (tried + 10) if tried else 0.1
    rates = {}
    for name, c in families.items():
        rates[name] = (c["fixed"] + strength * overall) / (c["tried"] + strength)
    for key, c in counts.items():
        if "|" in key:
            base = rates.get(key.split("|")[0], overall)
            rates[key] = (c["fixed"] + strength * base) / (c["tried"] + strength)
    decays = {name: decay_from_depth(c["depth"], c["fixed"]) for name, c in families.items()
              if "depth" in c}
    family_rates = sorted(rates[name] for name in families)
    median = family_rates[len(family_rates) // 2] if family_rates else None
    return Prior(rates, overall, decays, median)


DEPTH_STRENGTH = 5.0
"""Pseudo-fixes at the default decay's mean place that a family's measured depth is mixed
with: a family with a few fixes keeps close to ``FAMILY_DECAY``."""


def decay_from_depth(depth: float, fixed: int) -> float:
    """A family's decay from the sum of its fixes' places (``depth``) over ``fixed`` fixes:
    the geometric distribution's ``d = m / (1 + m)`` for the smoothed mean place ``m``."""
    default_mean = FAMILY_DECAY / (1 - FAMILY_DECAY)
    mean = (depth + DEPTH_STRENGTH * default_mean) / (fixed + DEPTH_STRENGTH)
    return mean / (1 + mean)


def context_of(source: str, line: int) -> str:
    """The kind of statement at a line ("If", "Return", "Assign", ...), the prior's context."""
    try:
        tree = parsed(source)
    except (SyntaxError, ValueError):
        return "SyntaxError"
    best = None
    for node in walk(tree):
        if isinstance(node, ast.stmt) and node.lineno <= line <= (node.end_lineno or node.lineno):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                    or node.lineno == line:
                best = node if best is None or node.lineno >= best.lineno else best
    return type(best).__name__ if best is not None else "Module"


def location_weight(rank: float) -> float:
    """How likely the line at this localization rank is the fault (top-1 about a third of the
    time on the bundled suite, top-5 four fifths): a slow decay, so the second line's likely
    fixes still come before the first line's unlikely ones."""
    return 1.0 / (1.0 + rank)


TIE_STEP = 0.25
"""Within lines of equal suspiciousness, how much of a rank each later one loses."""


def tie_ranks(scores: list[float | None]) -> list[float]:
    """Effective ranks for lines in localization order: lines with the same score (a block
    that every failing test runs) share their rank but for a small step each (``TIE_STEP``:
    the ranking's own order within a tie is a weak hint), so that a likely fix at the fourth of
    four tied lines comes before unlikely ones at the first; a line without a score (a
    traceback frame or a line that cannot run, added by the search) is a rank of its own."""
    out: list[float] = []
    level, place, previous = -1, 0, None
    for score in scores:
        if score is not None and previous is not None and abs(score - previous) < 1e-9:
            place += 1
        else:
            level, place = level + 1, 0
        out.append(level + TIE_STEP * place)
        previous = score
    return out


def priority(candidate: Candidate, rank: int, context: str, prior: Prior,
             effective: float | None = None, hints: dict[str, float] | None = None,
             place: tuple[int, int] = (0, 1)) -> float:
    """The candidate's score; ``place`` is (k, n): it is the family's ``k``-th of ``n``
    candidates at its line (``Prior.weight``)."""
    where = rank if effective is None else effective
    score = location_weight(where) * prior.weight(candidate.family, context, *place)
    if hints:
        score *= hints.get(candidate.family, 1.0)
    if candidate.disables and where >= TOP_LINES:  # a tie with the top lines is at the top
        score *= LAST_RESORT
    return score


def order(ranked: Iterable[tuple[int, str, list[Candidate]]], prior: Prior | None = None,
          weights: list[float] | None = None, hints: dict[str, float] | None = None
          ) -> list[tuple[int, Candidate]]:
    """(rank, candidate) pairs, most promising first, from (rank, context, candidates) groups.
    ``weights[rank]``, where given, is the effective rank of the line (``tie_ranks``) that sets
    its location weight; ``hints`` ({family: factor}, ``failure.hints``) raise the families
    that the failing tests' output points at. Ties keep generation order."""
    prior = prior or load_prior()
    scored = []
    for rank, context, candidates in ranked:
        effective = weights[rank] if weights is not None and rank < len(weights) else rank
        sizes = Counter(cand.family for cand in candidates)
        place: dict[str, int] = {}
        for i, cand in enumerate(candidates):
            k = place[cand.family] = place.get(cand.family, -1) + 1
            score = priority(cand, rank, context, prior, effective, hints,
                             (k, sizes[cand.family]))
            scored.append((-score, rank, i, cand))
    scored.sort(key=lambda item: item[:3])
    return [(rank, cand) for _, rank, _, cand in scored]


def ast_key(path: str, text: str, original: str | None = None) -> str | None:
    """The normalized AST of a candidate file, or None when it does not compile.

    With the ``original`` text it edits, an edit inside one top-level statement or one method
    of a top-level class is parsed and compiled on its own, and the key is the original's
    with that statement's part replaced: the same key, at the cost of the statement, not of
    the file (``_piece_key``)."""
    if original is not None:
        key = _piece_key(path, text, original)
        if key is not _WHOLE:
            return key
    try:
        with warnings.catch_warnings():  # a mutant's `x is 1` warns; it is still a candidate
            warnings.simplefilter("ignore")
            tree = ast.parse(text, path)
            compile(tree, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return None
    return ast.dump(tree, annotate_fields=False)


_WHOLE = object()
"""``_piece_key``'s answer where only the whole file can say."""


class _Original:
    """A file's normalized AST and the statements whose part of it a candidate may replace:
    top-level ones and the methods of top-level classes (no function encloses them, so they
    compile alone as they do in the file)."""

    def __init__(self, source: str) -> None:
        self.source = source
        tree = parsed(source)
        self.dump = ast.dump(tree, annotate_fields=False)
        pieces = [(n, 0) for n in tree.body]
        pieces += [(m, 1) for n in tree.body if isinstance(n, ast.ClassDef) for m in n.body
                   if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        self.pieces = sorted(((_first_line(n), n.end_lineno, n, depth) for n, depth in pieces),
                             key=lambda p: (p[0], -p[1]))
        self.tree, self.starts = tree, text_of(source).starts  # the tree keeps its ids its own
        self._where: dict[int, int | None] = {}

    def where(self, node: ast.AST, depth: int, lo: int, hi: int) -> int | None:
        """Where the node's part of the dump begins: where its lines ``lo:hi`` hold it alone
        and its part occurs exactly once in the dump."""
        if id(node) not in self._where:
            part, at = ast.dump(node, annotate_fields=False), None
            chunk = self.source[lo:hi]
            try:
                alone = _parse_piece(chunk, depth)
            except (SyntaxError, ValueError):
                alone = []
            if [ast.dump(n, annotate_fields=False) for n in alone] == [part] \
                    and self.dump.count(part) == 1:
                at = self.dump.index(part)
            self._where[id(node)] = at
        return self._where[id(node)]


def _first_line(node: ast.AST) -> int:
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])


def _parse_piece(chunk: str, depth: int) -> list[ast.stmt]:
    """The statements of a top-level (``depth`` 0) or class-level (1) piece of a module."""
    if not depth:
        return ast.parse(chunk).body
    return ast.parse("if 1:\n" + chunk).body[0].body


def _indent(chunk: str) -> int | None:
    """The indentation of a chunk's first line of code."""
    for line in chunk.split("\n"):
        if line.strip() and not line.lstrip().startswith("#"):
            return len(line) - len(line.lstrip())
    return None


@lru_cache(maxsize=8)
def _original(source: str) -> _Original | None:
    # A future import changes how annotations compile: then only the whole file says.
    return None if "__future__" in source else _Original(source)


def _common(a: str, b: str, backwards: bool = False) -> int:
    """How many characters ``a`` and ``b`` share at their start (end, ``backwards``)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        same = a[len(a) - mid:] == b[len(b) - mid:] if backwards else a[:mid] == b[:mid]
        lo, hi = (mid, hi) if same else (lo, mid - 1)
    return lo


def _piece_key(path: str, text: str, source: str):
    try:
        original = _original(source)
    except (SyntaxError, ValueError):
        return _WHOLE
    if original is None or text == source:
        return _WHOLE
    head = _common(text, source)
    tail = min(_common(text, source, backwards=True), len(source) - head, len(text) - head)
    first = bisect.bisect_right(original.starts, head)  # 1-based line of the first change
    last = bisect.bisect_right(original.starts, max(len(source) - tail - 1, head))
    piece = None
    for start, end, node, depth in original.pieces:  # the innermost that holds the change
        if start > first:
            break
        if end >= last:
            piece = (start, end, node, depth)
    if piece is None:
        return _WHOLE
    start, end, node, depth = piece
    lo, hi = original.starts[start - 1], original.starts[min(end, len(original.starts) - 1)]
    if head < lo or len(source) - tail > hi:
        return _WHOLE
    at = original.where(node, depth, lo, hi)
    chunk = text[lo:len(text) - (len(source) - hi)]
    # A first line indented otherwise would sit elsewhere in the file than in the piece.
    if at is None or _indent(chunk) != _indent(source[lo:hi]):
        return _WHOLE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            body = _parse_piece(chunk, depth)
            compile(ast.Module(body, []), path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return _WHOLE  # the whole file decides (it fails too, as a rule)
    if not body:
        return _WHOLE
    part = ", ".join(ast.dump(n, annotate_fields=False) for n in body)
    old = ast.dump(node, annotate_fields=False)
    return original.dump[:at] + part + original.dump[at + len(old):]

def unique(candidates: Iterable[tuple[int, Candidate]], originals: dict[str, str]
           ) -> Iterator[tuple[int, Candidate]]:
    """The candidates that compile and differ in AST from the original and from each other,
    lazily (only as many as are validated are parsed)."""
    seen: set[tuple[str, str]] = set()
    for rank, cand in candidates:
        if (cand.path, None) not in seen:  # the original's AST, once per file
            seen.add((cand.path, None))
            if cand.path in originals:
                seen.add((cand.path, ast_key(cand.path, originals[cand.path])))
        key = ast_key(cand.path, cand.text, originals.get(cand.path))
        if key is None or (cand.path, key) in seen:
            continue
        seen.add((cand.path, key))
        yield rank, cand


def preference(rank: int, cand: Candidate | None) -> tuple[bool, int, int]:
    """How a plausible fix ranks against others (smaller is better): behaviour switched off
    away from the fault last, then the best-ranked line, then the smallest edit. ``cand=None``
    stands for the best possible one."""
    if cand is None:
        return (False, 0, 1)
    return (cand.disables and rank >= TOP_LINES, rank, cand.size)


def choose(plausible: list[tuple[int, Candidate]]) -> tuple[int, Candidate]:
    """The fix to keep among plausible ones: the best ``preference``, the earliest found."""
    return min(enumerate(plausible), key=lambda item: (preference(*item[1]), item[0]))[1]
