"""Excess logic: statements that should not be there, more than the one the mutations remove.

The mutation ``remove_statement`` deletes one simple statement. Bugs written elsewhere add a
pair of statements that undo each other's work (``a = f(b); b = f(a)``) or a whole ``if`` /
loop block, which only a wider deletion fixes:

- ``remove_adjacent``: the statement at the line together with the one before or after it (the
  same block, both simple);
- ``remove_block``: the compound statement (``if`` / ``for`` / ``while`` / ``with`` / ``try``)
  whose header is the line, whole; for an ``if`` with an ``else``, the ``else`` branch alone.

Every candidate switches behaviour off (``disables``): away from the fault it is a last resort.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from agent.repair.site import Candidate, Site, indent_of

_SIMPLE = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.Delete, ast.Pass)
_BLOCKS = (ast.If, ast.For, ast.While, ast.With, ast.Try)


def block_of(site: Site, stmt: ast.stmt) -> list[ast.stmt] | None:
    parent = site.parents.get(stmt)
    for name in ("body", "orelse", "finalbody"):
        block = getattr(parent, name, None)
        if isinstance(block, list) and stmt in block:
            return block
    return None


def _without(site: Site, first: ast.stmt, last: ast.stmt, block: list[ast.stmt]) -> str:
    """The source with the statements ``first`` .. ``last`` (whole lines) removed; ``pass``
    in their place when they were the whole block."""
    lines = site.lines
    keep = [] if len(block) > block.index(last) - block.index(first) + 1 else [
        indent_of(lines[first.lineno - 1]) + "pass"]
    return "\n".join(lines[: first.lineno - 1] + keep + lines[last.end_lineno:])


def alone_on_lines(site: Site, stmt: ast.stmt) -> bool:
    """Whether nothing else shares the statement's lines (``a = 1; b = 2`` is left alone)."""
    lines = site.lines
    head = lines[stmt.lineno - 1][: stmt.col_offset].strip()
    tail = lines[stmt.end_lineno - 1][stmt.end_col_offset:].split("#")[0].strip()
    return not head and not tail


def remove_adjacent(site: Site) -> Iterator[Candidate]:
    stmt = site.stmt
    if not isinstance(stmt, _SIMPLE):
        return
    block = block_of(site, stmt)
    if block is None:
        return
    k = block.index(stmt)
    for first, last in ((block[k - 1], stmt) if k > 0 else (None, None),
                        (stmt, block[k + 1]) if k + 1 < len(block) else (None, None)):
        if first is None or not all(isinstance(s, _SIMPLE) and alone_on_lines(site, s)
                                    for s in (first, last)):
            continue
        removed = f"{site.segment(first)}; {site.segment(last)}"
        yield site.candidate(_without(site, first, last, block), "remove_adjacent",
                             f"remove `{removed[:60]}`", size=len(removed), disables=True)


def remove_block(site: Site) -> Iterator[Candidate]:
    stmt = site.stmt
    if not isinstance(stmt, _BLOCKS) or stmt.lineno != site.line or not alone_on_lines(site, stmt):
        return
    block = block_of(site, stmt)
    if block is None:
        return
    header = site.lines[stmt.lineno - 1].strip()
    yield site.candidate(_without(site, stmt, stmt, block), "remove_block",
                         f"remove the block `{header[:60]}`", size=stmt.end_lineno - stmt.lineno + 1,
                         disables=True)
    if isinstance(stmt, ast.If) and stmt.orelse and not (
            len(stmt.orelse) == 1 and isinstance(stmt.orelse[0], ast.If)
            and stmt.orelse[0].lineno == stmt.orelse[0].end_lineno):
        first, last = stmt.orelse[0], stmt.orelse[-1]
        else_row = first.lineno - 2  # the `else:` line (0-based) above the branch's first line
        if site.lines[else_row].strip() == "else:":
            lines = site.lines
            text = "\n".join(lines[:else_row] + lines[last.end_lineno:])
            yield site.candidate(text, "remove_block", f"remove the else branch of `{header[:50]}`",
                                 size=last.end_lineno - else_row, disables=True)


FAMILIES = {
    "remove_adjacent": remove_adjacent,
    "remove_block": remove_block,
}
