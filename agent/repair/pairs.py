"""Two-point edits kept small: one change made consistently wherever it has to be made.

A single-point search cannot reach a fix that changes two places when neither change alone
fixes a test (the search's ``_combine`` joins two partial fixes only when each passes some failing
test). These families pair edits only where the program shows they belong together:

- ``rename_all``: a name read twice or more in the line's statement -> another name at every
  read at once (``x * x`` -> ``y * y``);
- ``parallel_exchange``: two statements of the function with the same shape (``day =
  int(p[0])`` and ``month = int(p[1])``) exchange one leaf where they differ (the fields read the
  wrong way round, in two lines);
- ``consistent_edit``: a leaf the two parallel statements share changed in both (``f(a, 0)`` and
  ``f(b, 0)`` -> ``f(a, 1)`` and ``f(b, 1)``; a name replaced in both): the same slip, copied.

Parallel statements: same statement kind and the same tree once names and constants are
blanked out, within ``MAX_DISTANCE`` lines; the nearest ``MAX_PARTNERS`` only.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from agent.repair.calls import near_names
from agent.repair.deletions import alone_on_lines
from agent.repair.site import Candidate, Site
from envs.mutations import walk

MAX_NAMES = 6
MAX_PARTNERS = 2
MAX_DISTANCE = 8
MAX_CONSISTENT = 12
_SIMPLE = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.Return)


def _edit(source: str, spans: list[tuple[int, int, str]]) -> str:
    """The source with each (start, end, text) span replaced, from the end (offsets stay valid)."""
    for a, b, new in sorted(spans, reverse=True):
        source = source[:a] + new + source[b:]
    return source


def _reads(site: Site, node: ast.AST) -> list[ast.AST]:
    """Names and ``self.X`` read in a node (on the site's line), in source order."""
    out = []
    for n in ast.walk(node):
        if not site.on_line(n) or not isinstance(getattr(n, "ctx", None), ast.Load):
            continue
        if isinstance(n, ast.Name) or (isinstance(n, ast.Attribute)
                                       and isinstance(n.value, ast.Name) and n.value.id == "self"):
            out.append(n)
    return sorted(out, key=lambda n: site.text.span(n))


def _stored(*stmts: ast.stmt) -> set[str]:
    return {n.id for s in stmts for n in ast.walk(s)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def rename_all(site: Site) -> Iterator[Candidate]:
    stmt = site.stmt
    if stmt is None:
        return
    groups: dict[str, list[ast.AST]] = {}
    for node in _reads(site, stmt):
        groups.setdefault(site.segment(node), []).append(node)
    values = set(site.value_names())
    names = [n for n in near_names(site) if n not in _stored(stmt)]
    for old, nodes in groups.items():
        if len(nodes) < 2 or old not in values:
            continue
        for new in [n for n in names if n != old][:MAX_NAMES]:
            spans = [(*site.text.span(n), new) for n in nodes]
            yield site.candidate(_edit(site.source, spans), "rename_all",
                                 f"{old} -> {new} at its {len(nodes)} reads", size=len(new) * 2)


def _leaves(stmt: ast.stmt) -> list[ast.AST]:
    return [n for n in ast.walk(stmt) if isinstance(n, (ast.Name, ast.Constant))]


def _shape(stmt: ast.stmt) -> str:
    """The statement's tree with names and constants blanked out (positions left out)."""
    copy = ast.parse(ast.unparse(stmt)).body[0]
    for node in ast.walk(copy):
        if isinstance(node, ast.Name):
            node.id = "_"
        elif isinstance(node, ast.Constant):
            node.value = type(node.value).__name__
    return ast.dump(copy)


def partners(site: Site) -> list[ast.stmt]:
    """Statements of the function parallel to the site's (see the module's docstring), nearest
    first."""
    stmt = site.stmt
    if not isinstance(stmt, _SIMPLE) or site.func is None or stmt.end_lineno != stmt.lineno \
            or not alone_on_lines(site, stmt) \
            or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
        return []
    shape, mine = _shape(stmt), ast.dump(stmt)
    found = []
    for other in walk(site.func):
        if isinstance(other, type(stmt)) and other is not stmt \
                and abs(other.lineno - stmt.lineno) <= MAX_DISTANCE \
                and other.end_lineno == other.lineno and alone_on_lines(site, other) \
                and ast.dump(other) != mine and _shape(other) == shape:
            found.append(other)
    found.sort(key=lambda o: abs(o.lineno - stmt.lineno))
    return found[:MAX_PARTNERS]


def _text(site: Site, leaf: ast.AST) -> str:
    return site.segment(leaf)


def parallel_exchange(site: Site) -> Iterator[Candidate]:
    stmt = site.stmt
    for other in partners(site):
        pairs = [(a, b) for a, b in zip(_leaves(stmt), _leaves(other))
                 if _text(site, a) != _text(site, b)]
        if len(pairs) < 2:
            continue  # one leaf apart: exchanging it is exchanging the statements
        for a, b in pairs:
            spans = [(*site.text.span(a), _text(site, b)), (*site.text.span(b), _text(site, a))]
            yield site.candidate(_edit(site.source, spans), "parallel_exchange",
                                 f"{_text(site, a)} <-> {_text(site, b)} between lines "
                                 f"{stmt.lineno} and {other.lineno}", size=2)


def _options(site: Site, leaf: ast.AST, stored: set[str]) -> list[str]:
    if isinstance(leaf, ast.Constant):
        if isinstance(leaf.value, int) and not isinstance(leaf.value, bool):
            return [str(leaf.value + 1), str(leaf.value - 1)]
        return []
    if isinstance(getattr(leaf, "ctx", None), ast.Load) and leaf.id in site.locals:
        return [n for n in near_names(site)
                if n != leaf.id and "." not in n and n not in stored][:4]
    return []


def consistent_edit(site: Site) -> Iterator[Candidate]:
    stmt, made = site.stmt, 0
    for other in partners(site):
        for a, b in zip(_leaves(stmt), _leaves(other)):
            if _text(site, a) != _text(site, b):
                continue
            for new in _options(site, a, _stored(stmt, other)):
                if made >= MAX_CONSISTENT:
                    return
                made += 1
                spans = [(*site.text.span(a), new), (*site.text.span(b), new)]
                yield site.candidate(_edit(site.source, spans), "consistent_edit",
                                     f"{_text(site, a)} -> {new} in lines {stmt.lineno} and "
                                     f"{other.lineno}", size=2 * len(new))


FAMILIES = {
    "rename_all": rename_all,
    "parallel_exchange": parallel_exchange,
    "consistent_edit": consistent_edit,
}
