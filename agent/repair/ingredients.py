"""Fix ingredients from the program itself (GenProg; "plastic surgery" repair).

Most fixes reuse code that already exists: ``self._count += 1`` in one method suggests the same
statement where another method lacks it. Ingredients are the simple statements (and short
guards) of the same function, class, module and package, adapted by renaming a name that is not
bound at the insertion point to the closest one that is (difflib), and inserted

- before the suspicious statement, after it (or at the start of its block),
- at the end of the enclosing loop body,
- before the function's next ``return``;

or put in place of a statement of the same kind (``ingredient_replace``). A counter update of
another loop (``i -= 1``) is also renamed to a name that a ``while`` loop around the line tests
but never assigns (``div -= 1``). ``expression_ingredient`` does the same for one value of the
line: another expression of the function or module in its place.
"""

from __future__ import annotations

import ast
import difflib
import re
import textwrap
from collections.abc import Iterator
from functools import lru_cache

from agent.repair.site import Candidate, Site, indent_of, parents_of
from envs.mutations import _Text, node_memo, parsed, text_of, walk

_SIMPLE = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.Return, ast.Raise,
           ast.Delete, ast.Continue, ast.Break)
_EXITS = (ast.Return, ast.Raise, ast.Continue, ast.Break)
MAX_INGREDIENTS = 40
MAX_POOL = 2 * MAX_INGREDIENTS
MAX_LINES = 4


def _pool(site: Site) -> list[tuple[int, ast.stmt, str]]:
    """(origin, statement, its source) for the ingredient statements: origin 0 for the same
    function, 1 the same class, 2 the module, 3 another file of the package; the nearest
    ``MAX_POOL`` of them."""
    out, seen = [], set()
    scopes = [(0, site.func), (1, site.cls), (2, site.tree)]
    for origin, scope in scopes:
        if scope is None:
            continue
        for node, text in _statements(scope, site.source):
            if text not in seen:
                seen.add(text)
                out.append((origin, node, text))
    for path, source in sorted(site.package.items()):
        if len(out) >= MAX_POOL:
            break
        if path != site.path:
            for node, text in _file_statements(source):
                if text not in seen:
                    seen.add(text)
                    out.append((3, node, text))
    return out[:MAX_POOL]


@lru_cache(maxsize=1024)
def _file_statements(source: str) -> tuple[tuple[ast.stmt, str], ...]:
    """The ingredient statements of another file (parsed once however many sites ask)."""
    try:
        return tuple(_statements(parsed(source), source))
    except (SyntaxError, ValueError):
        return ()


@lru_cache(maxsize=16)
def _texts(source: str) -> tuple[_Text, list[str]]:
    """The source split once, however many statements and sites read it (``get_source_segment``
    splits the whole module per statement: minutes on a 1500-line module)."""
    return text_of(source), source.split("\n")


@node_memo  # the module's and the class's pools serve every line
def _statements(scope: ast.AST, source: str) -> list[tuple[ast.stmt, str]]:
    out = []
    text_of, rows = _texts(source)
    for node in walk(scope):
        if not (isinstance(node, _SIMPLE) or (isinstance(node, ast.If) and all(
                isinstance(s, _SIMPLE) for s in node.body) and not node.orelse)):
            continue
        if isinstance(node, ast.Expr) and not isinstance(node.value, ast.Call):
            continue  # a docstring or a bare name
        if node.end_lineno - node.lineno >= MAX_LINES:
            continue
        text = (text_of.get(node) if node.lineno == node.end_lineno
                else textwrap.dedent("\n".join(rows[node.lineno - 1: node.end_lineno])))
        out.append((node, text))
    return out


def _unbound(site: Site, node: ast.stmt) -> list[str]:
    stored = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
              and isinstance(n.ctx, ast.Store)}
    return list(dict.fromkeys(n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                              and isinstance(n.ctx, ast.Load) and n.id not in site.bound
                              and n.id not in stored))


def _adapted(site: Site, node: ast.stmt, text: str) -> list[tuple[str, str]]:
    """(text, note) for the ingredient as it is, or renamed so that its names are bound here."""
    if "self" in {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} \
            and "self" not in site.bound:
        return []
    if site.func is None and isinstance(node, ast.Return):
        return []
    missing = _unbound(site, node)
    if not missing:
        return [(text, "")]
    if len(missing) > 1 or not site.locals:
        return []
    name = missing[0]
    out = []
    for other in difflib.get_close_matches(name, site.locals, n=3, cutoff=0.0):
        renamed = _rename(text, name, other)
        if renamed is not None:
            out.append((renamed, f" ({name} -> {other})"))
    return out


def _rename(text: str, old: str, new: str) -> str | None:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    pieces = text.split("\n")
    spans = sorted(((n.lineno, n.col_offset) for n in ast.walk(tree)
                    if isinstance(n, ast.Name) and n.id == old), reverse=True)
    for row, col in spans:
        line = pieces[row - 1]
        b = len(line.encode()[:col].decode())
        pieces[row - 1] = line[:b] + new + line[b + len(old):]
    return "\n".join(pieces)


def _points(site: Site) -> list[tuple[int, str, str]]:
    """(0-based row to insert before, indent, where) for the insertion points."""
    stmt, lines = site.stmt, site.lines
    if stmt is None:
        return []
    points = [(stmt.lineno - 1, indent_of(lines[stmt.lineno - 1]), "before")]
    body = getattr(stmt, "body", None)
    if body and isinstance(body, list):
        points.append((body[0].lineno - 1, indent_of(lines[body[0].lineno - 1]), "at block start"))
    else:
        points.append((stmt.end_lineno, indent_of(lines[stmt.lineno - 1]), "after"))
    siblings = getattr(site.parents.get(stmt), "body", None) or []
    if stmt in siblings and siblings.index(stmt) > 0:
        before = siblings[siblings.index(stmt) - 1]
        if isinstance(before, (ast.For, ast.While)):  # a loop just ended: its body's end
            last = before.body[-1]
            points.append((last.end_lineno, indent_of(lines[last.lineno - 1]), "at loop end"))
    node = stmt
    while node is not None and node is not site.func:
        node = site.parents.get(node)
        if isinstance(node, (ast.For, ast.While)):
            last = node.body[-1]
            points.append((last.end_lineno, indent_of(lines[last.lineno - 1]), "at loop end"))
            break
    if site.func is None:
        return list({p[0]: p for p in points}.values())
    returns = sorted((n for n in ast.walk(site.func) if isinstance(n, ast.Return)
                      and n.lineno >= stmt.lineno and n is not stmt), key=lambda n: n.lineno)
    if returns:
        row = returns[0].lineno - 1
        points.append((row, indent_of(lines[row]), "before return"))
    return list({p[0]: p for p in points}.values())


def _near(site: Site, row: int, text: str) -> bool:
    """Whether the statement already sits right there (inserting it twice is rarely a fix)."""
    around = {line.strip() for line in site.lines[max(row - 1, 0): row + 1]}
    return text.split("\n")[0].strip() in around


def _stalled_names(site: Site) -> list[str]:
    """Names a ``while`` loop around the line tests but its body never assigns: the loop
    cannot end, so a counter update of another loop, renamed to them, is the likely fix."""
    node, out = site.stmt, []
    while node is not None and node is not site.func:
        node = site.parents.get(node)
        if isinstance(node, ast.While):
            stored = {n.id for s in node.body for n in ast.walk(s)
                      if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            out += [n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)
                    and n.id in site.locals and n.id not in stored]
    return list(dict.fromkeys(out))


def _counter_renames(site: Site, node: ast.stmt, text: str, stalled: list[str]
                     ) -> list[tuple[str, str]]:
    """``i -= 1`` as ``div -= 1`` for each stalled loop name ``div``."""
    if not (isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name)):
        return []
    out = []
    for name in stalled:
        if name != node.target.id:
            renamed = _rename(text, node.target.id, name)
            if renamed is not None:
                out.append((renamed, f" ({node.target.id} -> {name})"))
    return out


def ingredient_insert(site: Site) -> Iterator[Candidate]:
    pool = _pool(site)
    points = _points(site)
    stalled = _stalled_names(site)
    made = 0
    for origin, node, text in pool:
        for adapted, note in _adapted(site, node, text) + _counter_renames(site, node, text,
                                                                          stalled):
            made += 1
            for row, indent, where in points:
                if _near(site, row, adapted):
                    continue
                new = site.insert(row, adapted.split("\n"), indent)
                yield site.candidate(new, "ingredient_insert",
                                     f"insert `{adapted.splitlines()[0]}` {where} line {row + 1}"
                                     f"{note}", size=len(adapted) + 10 * origin,
                                     disables=isinstance(node, (*_EXITS, ast.If)))
        if made >= MAX_INGREDIENTS:
            return


def ingredient_replace(site: Site) -> Iterator[Candidate]:
    stmt = site.stmt
    if not isinstance(stmt, _SIMPLE) or stmt.lineno != stmt.end_lineno:
        return
    old = site.segment(stmt)
    for origin, node, text in _pool(site):
        if type(node) is not type(stmt) or "\n" in text or text == old:
            continue
        for adapted, note in _adapted(site, node, text):
            if adapted != old:
                yield site.candidate(site.replace(stmt, adapted), "ingredient_replace",
                                     f"`{old}` -> `{adapted}`{note}",
                                     size=len(adapted) + 10 * origin)


MAX_EXPRESSIONS = 10
MAX_TARGETS = 8
_EXPRS = (ast.Call, ast.Subscript, ast.BinOp, ast.Attribute)


@node_memo  # the module's serve every line
def _expressions(scope: ast.AST, tree: ast.Module) -> list[tuple[ast.expr, set[str]]]:
    """(expression, the names it reads) for the one-line expressions of ``scope`` that could be
    ingredients (read, not a bare statement), in ``ast.walk`` order."""
    parents = parents_of(tree)
    return [(node, {n.id for n in ast.walk(node) if isinstance(n, ast.Name)})
            for node in walk(scope)
            if isinstance(node, _EXPRS) and node.lineno == node.end_lineno
            and not isinstance(getattr(node, "ctx", None), (ast.Store, ast.Del))
            and not isinstance(parents.get(node), ast.Expr)]


def _expression_pool(site: Site) -> list[str]:
    """Texts of one-line expressions of the function (nearest to the line first), then of the
    module, whose names are all bound at the line."""
    found = []
    for scope in ([site.func] if site.func is not None else []) + [site.tree]:
        for node, names in _expressions(scope, site.tree):
            if names <= site.bound:
                text = site.segment(node)
                if len(text) <= 40:
                    found.append((scope is site.tree, abs(node.lineno - site.line), text))
    found.sort(key=lambda item: item[:2])
    return list(dict.fromkeys(text for *_, text in found))[:MAX_EXPRESSIONS]


def expression_ingredient(site: Site) -> Iterator[Candidate]:
    """A value on the line -> another expression of the function (``ord(ch)`` -> ``ord("a")``,
    ``/ mean`` -> ``/ len(numbers)``): plastic surgery at the expression level."""
    targets = [n for n in site.line_nodes() if (isinstance(n, _EXPRS) or (
        isinstance(n, ast.Name) and n.id in site.locals)) and "\n" not in site.segment(n)
        and not isinstance(getattr(n, "ctx", None), (ast.Store, ast.Del))
        and not (isinstance(site.parents.get(n), ast.Call) and site.parents[n].func is n)]
    if not targets:
        return
    pool = _expression_pool(site)
    for node in targets[:MAX_TARGETS]:
        old = site.segment(node)
        for text in pool:
            if text == old or re.search(rf"(?<![\w.]){re.escape(old)}(?!\w)", text):
                continue  # wrapping the value itself is the wrapping families' work
            new = text if isinstance(node, ast.Name) or not isinstance(
                site.parents.get(node), (ast.BinOp, ast.UnaryOp)) else f"({text})"
            yield site.candidate(site.replace(node, new), "expression_ingredient",
                                 f"{old} -> {text}", size=len(text))


FAMILIES = {
    "expression_ingredient": expression_ingredient,
    "ingredient_insert": ingredient_insert,
    "ingredient_replace": ingredient_replace,
}
