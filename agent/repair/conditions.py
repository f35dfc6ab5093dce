"""Condition synthesis in the manner of Nopol and ACS: widen or tighten a condition on the line.

- ``widen_condition``: ``C`` -> ``C or X is None``, ``C or X``, ``C or not X``;
- ``tighten_condition``: ``C`` -> ``C and X``, ``C and X is not None``, ``C and not X``;
  for X among the names in scope, names of the line first;
- ``compare_zero_none``: an operand ``X`` used as a truth value -> ``X is None``, ``X is not
  None``, ``X == 0``, ``X != 0``, ``X > 0``; ``X == 0`` <-> ``X is None``;
- ``symmetric_case``: ``C1 or C2`` -> ``C1 or C2 or C1'`` with two names of C1 exchanged, and
  ``C`` -> ``C or C'`` for a lone comparison;
- ``loop_guard``: a statement inside two ``for`` loops guarded by ``if a == b:`` / ``!=``;
- ``invert_returns``: every ``return True`` <-> ``return False`` of the function at once;
- ``condition_ingredient``: another condition of the same function or module (one whose names
  are all bound here) in place of, in conjunction with, or in disjunction with ``C``.

Widening makes a branch run more often, tightening less; both are how a missing case is added.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from agent.repair.operators import operator_span
from agent.repair.site import Candidate, Site
from envs.mutations import walk

_TRUTH = (ast.Name, ast.Attribute, ast.Call, ast.Subscript)
MAX_NAMES = 8


def conditions(site: Site) -> list[ast.expr]:
    """Conditions on the site's line: tests of if / while / assert / ternaries / comprehension
    filters, and a returned comparison or boolean combination."""
    out = []
    stmt = site.stmt
    if isinstance(stmt, (ast.If, ast.While, ast.Assert)):
        out.append(stmt.test)
    elif isinstance(stmt, ast.Return) and isinstance(stmt.value, (ast.Compare, ast.BoolOp)):
        out.append(stmt.value)
    for node in site.line_nodes():
        if isinstance(node, ast.IfExp):
            out.append(node.test)
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            for generator in node.generators:
                out += generator.ifs
    return [c for c in {id(c): c for c in out}.values() if "\n" not in site.segment(c)]


def _names(site: Site, cond: ast.AST) -> list[str]:
    """Names to combine with: those read on the line, then the rest in scope."""
    on_line = [site.segment(n) for n in site.line_nodes()
               if isinstance(n, ast.Name) and n.id in site.locals
               or (isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
                   and n.value.id == "self")]
    return list(dict.fromkeys(on_line + site.value_names()))[:MAX_NAMES]


def _wrapped(site: Site, cond: ast.AST) -> str:
    text = site.segment(cond)
    return f"({text})" if isinstance(cond, (ast.BoolOp, ast.IfExp, ast.Lambda)) else text


def widen_condition(site: Site) -> Iterator[Candidate]:
    for cond in conditions(site):
        base = _wrapped(site, cond)
        for name in _names(site, cond):
            for extra in (f"{name} is None", name, f"not {name}"):
                new = f"{base} or {extra}"
                yield site.candidate(site.replace(cond, new), "widen_condition",
                                     f"{site.segment(cond)} -> {new}", size=len(extra) + 4)


def tighten_condition(site: Site) -> Iterator[Candidate]:
    for cond in conditions(site):
        base = _wrapped(site, cond)
        for name in _names(site, cond):
            for extra in (name, f"{name} is not None", f"not {name}"):
                new = f"{base} and {extra}"
                yield site.candidate(site.replace(cond, new), "tighten_condition",
                                     f"{site.segment(cond)} -> {new}", size=len(extra) + 5,
                                     disables=True)


def compare_zero_none(site: Site) -> Iterator[Candidate]:
    seen = set()
    for cond in conditions(site):
        atoms = [cond] if isinstance(cond, _TRUTH) else []
        atoms += [v for v in getattr(cond, "values", []) if isinstance(v, _TRUTH)]
        if isinstance(cond, ast.UnaryOp) and isinstance(cond.op, ast.Not) \
                and isinstance(cond.operand, _TRUTH):
            atoms.append(cond)
        for atom in atoms:
            inner = atom.operand if isinstance(atom, ast.UnaryOp) else atom
            old, x = site.segment(atom), site.segment(inner)
            for new in (f"{x} is None", f"{x} is not None", f"{x} == 0", f"{x} != 0",
                        f"{x} > 0"):
                if (id(atom), new) not in seen:
                    seen.add((id(atom), new))
                    yield site.candidate(site.replace(atom, new), "compare_zero_none",
                                         f"{old} -> {new}", size=len(new) - len(old))
    for node in site.line_nodes():
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(
                node.comparators[0], ast.Constant):
            value, op = node.comparators[0].value, node.ops[0]
            swap = {(0, ast.Eq): "is None", (0, ast.NotEq): "is not None",
                    (None, ast.Is): "== 0", (None, ast.IsNot): "!= 0"}
            key = (value if value in (0, None) and value is not False else "x", type(op))
            if key in swap:
                new = f"{site.segment(node.left)} {swap[key]}"
                yield site.candidate(site.replace(node, new), "compare_zero_none",
                                     f"{site.segment(node)} -> {new}", size=4)


def _free_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


_TESTED = (ast.If, ast.While, ast.IfExp, ast.Assert)


def condition_ingredient(site: Site) -> Iterator[Candidate]:
    conds = conditions(site)
    if not conds:
        return
    pool = []
    for scope in ([site.func] if site.func is not None else []) + [site.tree]:
        for node in walk(scope):
            if isinstance(node, _TESTED):
                pool.append(node.test)
    here = {id(c) for c in conds}
    texts = []
    for test in pool:
        if id(test) in here or not _free_names(test) <= site.bound:
            continue
        text = site.segment(test)
        if "\n" not in text and text not in texts:
            texts.append(text)
    for cond in conds:
        old = site.segment(cond)
        base = _wrapped(site, cond)
        for text in texts[:12]:
            if text == old:
                continue
            part = f"({text})" if " or " in text or " and " in text else text
            # a chain of the same operator grows by one operand (``a and b and c``)
            both = old if isinstance(cond, ast.BoolOp) and isinstance(cond.op, ast.And) else base
            either = old if isinstance(cond, ast.BoolOp) and isinstance(cond.op, ast.Or) else base
            for new, disables in ((text, False), (f"{both} and {part}", True),
                                  (f"{either} or {part}", False)):
                yield site.candidate(site.replace(cond, new), "condition_ingredient",
                                     f"{old} -> {new}", size=len(text), disables=disables)


def _swapped(text: str, a: str, b: str) -> str | None:
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in (a, b):
            node.id = b if node.id == a else a
    return ast.unparse(tree)


_BARE = (ast.If, ast.While, ast.IfExp, ast.comprehension, ast.Return, ast.Assert)


def _mirrored(site: Site, cond: ast.Compare) -> Iterator[Candidate]:
    """``C`` -> ``C or C'``, C' the comparison with two of its names exchanged (``x < z < y``
    lacks ``y < z < x``)."""
    old = site.segment(cond)
    names = list(dict.fromkeys(n.id for n in ast.walk(cond) if isinstance(n, ast.Name)))
    mine = ast.dump(cond)
    for i, a in enumerate(names[:4]):
        for b in names[i + 1:4]:
            new = _swapped(old, a, b)
            if new is None or ast.dump(ast.parse(new, mode="eval").body) == mine:
                continue
            text = f"{old} or {new}"
            if not isinstance(site.parents.get(cond), _BARE):
                text = f"({text})"
            yield site.candidate(site.replace(cond, text), "symmetric_case",
                                 f"{old} -> {text}", size=len(new))


def symmetric_case(site: Site) -> Iterator[Candidate]:
    """``C1 or C2`` -> ``C1 or C2 or C1'``, C1' a disjunct with two of its names exchanged
    (``x + y == z or y + z == x`` lacks ``x + z == y``): the case the author forgot among
    several symmetric ones. Conjunctions likewise; a lone comparison ``C`` gets ``or C'``."""
    for cond in conditions(site):
        if isinstance(cond, ast.Compare):
            yield from _mirrored(site, cond)
            continue
        if not isinstance(cond, ast.BoolOp):
            continue
        have = {ast.dump(v) for v in cond.values}
        op = " or " if isinstance(cond.op, ast.Or) else " and "
        made = set()
        for k, value in enumerate(cond.values):
            # right after this operand (past its closing parenthesis): the new case sits
            # next to the one it mirrors
            if k + 1 < len(cond.values):
                at = operator_span(site, value, cond.values[k + 1])[0]
            else:
                at = site.text.span(cond)[1]
            names = list(dict.fromkeys(n.id for n in ast.walk(value) if isinstance(n, ast.Name)))
            for i, a in enumerate(names[:4]):
                for b in names[i + 1:4]:
                    new = _swapped(site.segment(value), a, b)
                    if new is None or new in made or ast.dump(ast.parse(new, mode="eval").body) in have:
                        continue
                    made.add(new)
                    piece = f"{op.strip()} ({new}) " if k + 1 < len(cond.values) else f"{op}({new})"
                    yield site.candidate(site.replace_span(at, at, piece), "symmetric_case",
                                         f"add{op.rstrip()} {new}", size=len(new))


def loop_guard(site: Site) -> Iterator[Candidate]:
    """A statement of nested loops that lacks its guard: ``if a == b:`` (or ``!=``) over the
    targets of two enclosing ``for`` loops, put around it."""
    stmt = site.stmt
    if stmt is None or hasattr(stmt, "body") or stmt.lineno != stmt.end_lineno:
        return
    targets, node = [], stmt
    while node is not None and node is not site.func:
        node = site.parents.get(node)
        if isinstance(node, (ast.For, ast.AsyncFor)) and isinstance(node.target, ast.Name):
            targets.append(node.target.id)
    row = stmt.lineno - 1
    line = site.lines[row]
    indent = line[: len(line) - len(line.lstrip())]
    for i, a in enumerate(targets):
        for b in targets[i + 1:]:
            for op in ("==", "!="):
                guard = f"if {b} {op} {a}:"
                lines = site.lines[:row] + [indent + guard, "    " + line] + site.lines[row + 1:]
                yield site.candidate("\n".join(lines), "loop_guard", f"guard with `{guard}`",
                                     size=len(guard), disables=True)


def invert_returns(site: Site) -> Iterator[Candidate]:
    """Every ``return True`` of the function -> ``return False`` and back, at once: a predicate
    that answers the opposite question (one flip alone fails on both kinds of input)."""
    func = site.func
    if func is None:
        return
    flips = [n.value for n in ast.walk(func) if isinstance(n, ast.Return)
             and isinstance(n.value, ast.Constant) and type(n.value.value) is bool]
    if len(flips) < 2 or len({f.value for f in flips}) < 2:
        return
    text = site.source
    for node in sorted(flips, key=site.text.span, reverse=True):
        a, b = site.text.span(node)
        text = text[:a] + str(not node.value) + text[b:]
    yield site.candidate(text, "invert_returns", f"every True <-> False returned by {func.name}",
                         size=len(flips))


FAMILIES = {
    "widen_condition": widen_condition,
    "tighten_condition": tighten_condition,
    "compare_zero_none": compare_zero_none,
    "condition_ingredient": condition_ingredient,
    "invert_returns": invert_returns,
    "symmetric_case": symmetric_case,
    "loop_guard": loop_guard,
}
