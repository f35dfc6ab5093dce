"""A closing parenthesis in the wrong place: an operation inside a call that belongs outside it,
or outside one that belongs inside, and an augmented assignment whose reduction covers too little.

- ``paren_shift``: ``f(a, b) op c`` -> ``f(a, b op c)`` (``min(cost, d(t)) + 1`` ->
  ``min(cost, d(t) + 1)``) and ``f(a, b op c)`` -> ``(f(a, b) op c)`` (``pow(a, x, m - 1)`` ->
  ``(pow(a, x, m) - 1)``): the operand stays, the call's closing parenthesis moves over it.
  One edit per call of the line, so a line costs no more candidates than it has calls;
- ``aug_reduce``: ``x op= e % m`` -> ``x = (x op e) % m``: the accumulator is reduced, not only
  the increment (the sum overflows the modulus otherwise); likewise for ``//`` and ``&``.

Both are slips of the hand that no single-token mutation undoes: the tokens are right, their
grouping is not.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from agent.repair.site import Candidate, Site

MAX_SHIFTS = 6
_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
        ast.Mod: "%", ast.Pow: "**", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^",
        ast.LShift: "<<", ast.RShift: ">>"}
_REDUCE = (ast.Mod, ast.FloorDiv, ast.BitAnd)
# A rewritten call that sits inside one of these needs parentheses to keep its new grouping.
_TIGHT = (ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.Attribute, ast.Subscript,
          ast.Await)
_ATOMS = (ast.Name, ast.Constant, ast.Call, ast.Attribute, ast.Subscript, ast.List, ast.Tuple,
          ast.Dict, ast.Set)


def _operand(site: Site, node: ast.expr) -> str:
    """The node's text as an operand: parenthesized unless it is atomic (a segment leaves out
    the parentheses around it)."""
    text = site.segment(node)
    return text if isinstance(node, _ATOMS) else f"({text})"


def _plain(call: ast.AST) -> bool:
    """A call with positional arguments only, the last of them not starred."""
    return (isinstance(call, ast.Call) and bool(call.args) and not call.keywords
            and not isinstance(call.args[-1], ast.Starred))


def _inward(site: Site, node: ast.BinOp) -> str | None:
    """``f(a, b) op c`` -> ``f(a, b op c)``: the new text of ``node``."""
    call, op = node.left, _OPS.get(type(node.op))
    if not _plain(call) or op is None:
        return None
    start, _ = site.text.span(call)
    last_start, _ = site.text.span(call.args[-1])
    return (f"{site.source[start:last_start]}{_operand(site, call.args[-1])} {op} "
            f"{_operand(site, node.right)})")


def _outward(site: Site, call: ast.Call) -> str | None:
    """``f(a, b op c)`` -> ``f(a, b) op c`` (parenthesized where the context binds tighter)."""
    last = call.args[-1] if _plain(call) else None
    if not isinstance(last, ast.BinOp) or type(last.op) not in _OPS:
        return None
    start, _ = site.text.span(call)
    _, left_end = site.text.span(last.left)
    _, last_end = site.text.span(last)
    new = site.source[start:left_end] + ")" + site.source[left_end:last_end]
    return f"({new})" if isinstance(site.parents.get(call), _TIGHT) else new


def paren_shift(site: Site) -> Iterator[Candidate]:
    made = 0
    for node in site.line_nodes():
        if made >= MAX_SHIFTS:
            return
        if isinstance(node, ast.BinOp):
            target, new = node, _inward(site, node)
        elif isinstance(node, ast.Call):
            target, new = node, _outward(site, node)
        else:
            continue
        if new is None:
            continue
        old = site.segment(target)
        if "\n" in old:
            continue  # a call over several lines: its text is not one span to regroup
        made += 1
        yield site.candidate(site.replace(target, new), "paren_shift", f"{old} -> {new}",
                             size=2)


def aug_reduce(site: Site) -> Iterator[Candidate]:
    stmt = site.stmt
    if not isinstance(stmt, ast.AugAssign) or type(stmt.op) not in _OPS:
        return
    value = stmt.value
    if not isinstance(value, ast.BinOp) or not isinstance(value.op, _REDUCE):
        return
    target = site.segment(stmt.target)
    new = (f"{target} = ({target} {_OPS[type(stmt.op)]} {_operand(site, value.left)}) "
           f"{_OPS[type(value.op)]} {_operand(site, value.right)}")
    old = site.segment(stmt)
    yield site.candidate(site.replace(stmt, new), "aug_reduce", f"{old} -> {new}",
                         size=len(target) + 4)


FAMILIES = {
    "paren_shift": paren_shift,
    "aug_reduce": aug_reduce,
}
