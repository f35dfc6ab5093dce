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
  ``f(b, 0)`` -> ``f(a, 1)`` and ``f(b, 1)``; a name replaced in both): the same slip, copied;
- ``boundary_all``: every strict ordering of the line made inclusive, or every inclusive one
  strict (both ends of a range off by one);
- ``shift_all``: an integer-valued expression written identically in several places of the
  function, one more or less at every copy;
- ``call_swap_all``: a builtin -> its sibling in the statement and in every statement parallel
  to it (``min`` for ``max`` in four copies of one update);
- ``constant_all``: an integer written twice or more in the statement, one more or less at each;
- ``exchange_reads``: two names exchanged at every read of the statement (three reads or more);
- ``distribute_compare``: ``x == a or b`` -> ``x == a or x == b``.

Parallel statements: same statement kind and the same tree once names and constants are
blanked out, within ``MAX_DISTANCE`` lines; the nearest ``MAX_PARTNERS`` only.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from agent.repair.calls import near_names
from agent.repair.deletions import alone_on_lines
from agent.repair.expressions import _int_valued
from agent.repair.operators import BUILTINS
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
    groups = {k: v for k, v in groups.items() if len(v) >= 2}
    if not groups:
        return
    values = set(site.value_names())
    names = [n for n in near_names(site) if n not in _stored(stmt)]
    for old, nodes in groups.items():
        if old not in values:
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


def partners(site: Site, most: int = MAX_PARTNERS) -> list[ast.stmt]:
    """Statements of the function parallel to the site's (see the module's docstring), nearest
    first, ``most`` of them."""
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
    return found[:most]


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


# -- the same change at every comparison or read of a condition -------------------------------

_RELAX = {ast.Lt: "<=", ast.Gt: ">=", ast.LtE: "<", ast.GtE: ">"}


def _compares(site: Site) -> list[tuple[ast.Compare, int]]:
    """(comparison, index of its operator) for every ordering operator on the line."""
    return [(n, k) for n in site.line_nodes() if isinstance(n, ast.Compare)
            for k, op in enumerate(n.ops) if type(op) in _RELAX]


def _op_span(site: Site, node: ast.Compare, k: int) -> tuple[int, int]:
    """Where the ``k``-th operator of a comparison sits (between its operands)."""
    left = node.left if k == 0 else node.comparators[k - 1]
    a = site.text.span(left)[1]
    b = site.text.span(node.comparators[k])[0]
    gap = site.source[a:b]
    start = a + len(gap) - len(gap.lstrip(" ()"))
    return start, start + len(gap.strip(" ()"))


def boundary_all(site: Site) -> Iterator[Candidate]:
    """Every strict ordering on the line made inclusive at once, or every inclusive one strict
    (``a >= 675 or a <= 100`` -> ``a > 675 or a < 100``): a range whose ends are both off."""
    found = _compares(site)
    for strict in (True, False):
        chosen = [(n, k) for n, k in found if (type(n.ops[k]) in (ast.Lt, ast.Gt)) == strict]
        if len(chosen) < 2:
            continue
        spans = [(*_op_span(site, n, k), _RELAX[type(n.ops[k])]) for n, k in chosen]
        yield site.candidate(_edit(site.source, spans), "boundary_all",
                             f"every {'strict' if strict else 'inclusive'} comparison of the "
                             f"line {'inclusive' if strict else 'strict'}", size=len(chosen))


def exchange_reads(site: Site) -> Iterator[Candidate]:
    """Two names exchanged at every read in the line's statement (``(x < y and y < z) or ...`` ->
    ``(x < z and z < y) or ...``), where they are read three times or more in all (fewer:
    ``swap_pair`` and ``wrong_variable`` make those edits)."""
    stmt = site.stmt
    if stmt is None:
        return
    groups: dict[str, list[ast.AST]] = {}
    for node in _reads(site, stmt):
        if isinstance(node, ast.Name) and node.id in site.locals:
            groups.setdefault(node.id, []).append(node)
    names = list(groups)[:MAX_NAMES]
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if len(groups[a]) + len(groups[b]) < 3:
                continue
            spans = [(*site.text.span(n), b) for n in groups[a]]
            spans += [(*site.text.span(n), a) for n in groups[b]]
            yield site.candidate(_edit(site.source, spans), "exchange_reads",
                                 f"{a} <-> {b} at every read", size=len(spans))


def distribute_compare(site: Site) -> Iterator[Candidate]:
    """``x == a or b`` -> ``x == a or x == b``: a bare constant among ``or`` / ``and`` operands
    next to a comparison gets that comparison's left side and operator."""
    for node in site.line_nodes():
        if not isinstance(node, ast.BoolOp):
            continue
        model = next((v for v in node.values if isinstance(v, ast.Compare)
                      and len(v.ops) == 1), None)
        if model is None:
            continue
        head = site.source[site.text.span(model.left)[0]:site.text.span(model.comparators[0])[0]]
        spans = [(*site.text.span(v), f"{head}{site.segment(v)}") for v in node.values
                 if isinstance(v, ast.Constant)]
        if spans and "\n" not in head:
            yield site.candidate(_edit(site.source, spans), "distribute_compare",
                                 f"{head.strip()} put before {len(spans)} bare operand(s)",
                                 size=len(head) * len(spans))


def constant_all(site: Site) -> Iterator[Candidate]:
    """An integer written twice or more in the line's statement -> one more or one less at every
    copy (``x % 3 == 0 or y % 3 == 0`` -> ``... % 4 ...``): one constant, copied."""
    stmt = site.stmt
    if stmt is None:
        return
    groups: dict[int, list[ast.Constant]] = {}
    for node in sorted((n for n in ast.walk(stmt) if hasattr(n, "lineno")),
                       key=lambda n: (n.lineno, n.col_offset)):  # in reading order
        if isinstance(node, ast.Constant) and type(node.value) is int and site.on_line(node) \
                and not isinstance(site.parents.get(node), ast.UnaryOp):
            groups.setdefault(node.value, []).append(node)
    for value, nodes in groups.items():
        if len(nodes) < 2:
            continue
        for new in (value + 1, value - 1):
            if new < 0:
                continue  # a negative copy is a different edit (``plus_minus_one`` makes it)
            spans = [(*site.text.span(n), str(new)) for n in nodes]
            yield site.candidate(_edit(site.source, spans), "constant_all",
                                 f"{value} -> {new} at its {len(nodes)} copies",
                                 size=len(nodes))


MAX_COPIES = 8


def call_swap_all(site: Site) -> Iterator[Candidate]:
    """A builtin called on the line -> its sibling (``min`` / ``max``, as ``call_swap``) in the
    line's statement and in every statement parallel to it at once (``ans = min(ans, a)`` for
    four values, each needing ``max``): one slip, copied."""
    group = partners(site, most=MAX_COPIES)
    if not group:
        return
    stmt = site.stmt
    order = list(ast.walk(stmt))
    walks = [list(ast.walk(other)) for other in group]
    for k, node in enumerate(order):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in BUILTINS and node.func.id not in site.locals):
            continue
        same = [w[k] for w in walks if isinstance(w[k], ast.Call)
                and isinstance(w[k].func, ast.Name) and w[k].func.id == node.func.id]
        if not same:
            continue
        for new in BUILTINS[node.func.id]:
            spans = [(*site.text.span(n.func), new) for n in [node, *same]]
            yield site.candidate(_edit(site.source, spans), "call_swap_all",
                                 f"{node.func.id}() -> {new}() in {len(spans)} parallel "
                                 "statements", size=len(spans))


def shift_all(site: Site) -> Iterator[Candidate]:
    """An integer-valued expression of the line (an index, a bound, a length) that the function
    writes identically elsewhere too -> one more or one less at every copy (``dp[i][m[i][j]]``
    read and written in four places, each needing ``m[i][j] - 1``): one slip, copied."""
    scope, done = site.func or site.tree, set()
    for node in _int_valued(site):
        if isinstance(node, (ast.Constant, ast.Name)):
            continue  # constant_all; a name read everywhere shifted is its binding changed
        key = ast.dump(node)
        if key in done:
            continue
        done.add(key)
        copies = [n for n in walk(scope) if type(n) is type(node) and ast.dump(n) == key]
        if not 2 <= len(copies) <= MAX_COPIES:
            continue
        old = site.segment(node)
        inner = old if isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)) \
            else f"({old})"
        for delta in ("+ 1", "- 1"):
            spans = [(*site.text.span(n), f"{inner} {delta}" if _alone(site, n)
                      else f"({inner} {delta})") for n in copies]
            yield site.candidate(_edit(site.source, spans), "shift_all",
                                 f"{old} -> {inner} {delta} at its {len(copies)} copies",
                                 size=3 * len(copies))


def _alone(site: Site, node: ast.AST) -> bool:
    """Whether ``node`` stands where a sum needs no parentheses: an index, an argument, a
    comparison's operand, a statement's value (not ``x.real`` or ``2 * x``)."""
    parent = site.parents.get(node)
    return (isinstance(parent, ast.Subscript) and node is parent.slice
            or isinstance(parent, ast.Call) and node in parent.args
            or isinstance(parent, (ast.keyword, ast.Compare, ast.Assign, ast.AugAssign,
                                   ast.Return, ast.Slice)))


FAMILIES |= {
    "shift_all": shift_all,
    "call_swap_all": call_swap_all,
    "constant_all": constant_all,
    "boundary_all": boundary_all,
    "exchange_reads": exchange_reads,
    "distribute_compare": distribute_compare,
}
