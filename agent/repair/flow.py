"""Control flow reshaped at the line: branches exchanged, statements reordered or moved across a
block's edge, an ``elif`` that should be an ``if`` (and back), a missing ``break``.

- ``swap_branches``: ``if c: A else: B`` -> ``if c: B else: A``; ``x if c else y`` -> ``y if c
  else x`` (the branches' bodies exchanged, where negating the test is the other reading);
- ``swap_tests``: two neighbouring tests of an ``if`` / ``elif`` chain exchanged (each case's
  action under the other's test);
- ``swap_statements``: the statement at the line and its neighbour in the block exchanged (an
  update made before the read it should follow), never moving a statement below an exit;
- ``move_statement``: the last statement of a loop or ``if`` body moved out after the block (a
  ``return`` indented into its loop), or the statement after a block (a loop, ``if``, nested
  function) moved to the block's end;
- ``elif_if``: ``elif c:`` -> ``if c:`` (a case that must be checked on its own) and an ``if``
  right after another ``if`` -> ``elif`` (cases that must exclude each other);
- ``insert_break``: ``break`` after the statement at the line inside a loop (the search went on
  past what it found). It ends a loop early, so it counts as switching behaviour off;
- ``loop_progress``: a ``while`` loop around the line that cannot end (its body never assigns a
  name its test reads, nor leaves the loop) made to progress: ``n -= 1`` / ``n += 1`` for a
  stalled name ``n`` at the end of the body, or a stalled name in the test made to depend on
  what the body does update (``not done(s)`` -> ``not done(s[k:])`` for a body that counts ``k``).
  The failing tests' timeouts point here (``failure.TIMEOUT``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from agent.repair.deletions import alone_on_lines, block_of
from agent.repair.site import Candidate, Site, indent_of

_TIGHT = (ast.BinOp, ast.UnaryOp, ast.Compare, ast.Attribute, ast.Subscript, ast.BoolOp,
          ast.Await)
_EXITS = (ast.Return, ast.Raise, ast.Continue, ast.Break)


def _wrapped(node: ast.AST, text: str) -> str:
    return f"({text})" if isinstance(node, (ast.IfExp, ast.Lambda)) else text


# -- swap_branches ----------------------------------------------------------------------------

def _branching(site: Site) -> list[ast.If]:
    """The ``if`` whose header is the line, or whose branch holds the line's statement."""
    stmt = site.stmt
    out = []
    if isinstance(stmt, ast.If):
        out.append(stmt)
    parent = site.parents.get(stmt)
    if isinstance(parent, ast.If) and (stmt in parent.body or stmt in parent.orelse):
        out.append(parent)
    return out


def swap_branches(site: Site) -> Iterator[Candidate]:
    lines = site.lines
    for node in _branching(site):
        if not node.orelse or lines[node.orelse[0].lineno - 1].lstrip().startswith("elif"):
            continue  # no else, or an elif chain (its branches are the mutations' business)
        b0, b1 = node.body[0].lineno - 1, node.body[-1].end_lineno
        e1 = node.orelse[-1].end_lineno
        heads = [r for r in range(b1, node.orelse[0].lineno - 1)
                 if lines[r].split("#")[0].strip() == "else:"]
        if b0 <= node.lineno - 1 or not heads:
            continue  # a one-line `if c: x` or `else: y`: leave it to the other families
        e0 = heads[-1] + 1  # the else branch's rows, comments above its code included
        text = "\n".join(lines[:b0] + lines[e0:e1] + lines[b1:e0] + lines[b0:b1] + lines[e1:])
        yield site.candidate(text, "swap_branches", f"exchange the branches of "
                             f"`{lines[node.lineno - 1].strip()[:50]}`", size=2)
    for node in site.line_nodes():
        if isinstance(node, ast.IfExp) and "\n" not in site.segment(node):
            body, test, orelse = (site.segment(n) for n in (node.body, node.test, node.orelse))
            new = f"{_wrapped(node.orelse, orelse)} if {test} else {_wrapped(node.body, body)}"
            inside = isinstance(site.parents.get(node), _TIGHT)
            yield site.candidate(site.replace(node, f"({new})" if inside else new), "swap_branches",
                                 f"{site.segment(node)} -> {new}", size=2)


def _elif_of(site: Site, node: ast.If) -> ast.If | None:
    """The ``elif`` right after ``node``'s branch, if its ``else`` is one."""
    if len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If) \
            and site.lines[node.orelse[0].lineno - 1].lstrip().startswith("elif"):
        return node.orelse[0]
    return None


def swap_tests(site: Site) -> Iterator[Candidate]:
    """Two neighbouring tests of an ``if`` / ``elif`` chain exchanged (``if x < p: A elif x ==
    p: B`` -> ``if x == p: A elif x < p: B``): each case's action under the other's test."""
    pairs = []
    for node in _branching(site):
        parent = site.parents.get(node)
        if isinstance(parent, ast.If) and _elif_of(site, parent) is node:
            pairs.append((parent, node))
        after = _elif_of(site, node)
        if after is not None:
            pairs.append((node, after))
    for first, second in dict.fromkeys(pairs):
        a, b = site.segment(first.test), site.segment(second.test)
        if a == b or "\n" in a + b:
            continue
        (a0, a1), (b0, b1) = site.text.span(first.test), site.text.span(second.test)
        text = site.source[:a0] + b + site.source[a1:b0] + a + site.source[b1:]
        yield site.candidate(text, "swap_tests", f"exchange the tests `{a}` and `{b}`",
                             size=len(a) + len(b))


# -- statements moved -------------------------------------------------------------------------

def _reindent(rows: list[str], old: str, new: str) -> list[str]:
    return [new + r[len(old):] if r.startswith(old) else r for r in rows]


def swap_statements(site: Site) -> Iterator[Candidate]:
    """The line's statement and the one after it (or before it) in the same block exchanged:
    an update made before the read it should follow."""
    stmt = site.stmt
    block = block_of(site, stmt) if stmt is not None else None
    if block is None:
        return
    k = block.index(stmt)
    lines = site.lines
    for first, second in ((block[k - 1], stmt) if k > 0 else (None, None),
                          (stmt, block[k + 1]) if k + 1 < len(block) else (None, None)):
        if first is None or not (alone_on_lines(site, first) and alone_on_lines(site, second)) \
                or isinstance(second, _EXITS):
            continue  # a statement moved below an exit would never run
        a0, a1 = first.lineno - 1, first.end_lineno
        b0, b1 = second.lineno - 1, second.end_lineno
        text = "\n".join(lines[:a0] + lines[b0:b1] + lines[a1:b0] + lines[a0:a1] + lines[b1:])
        yield site.candidate(text, "swap_statements", f"`{lines[a0].strip()[:30]}` after "
                             f"`{lines[b0].strip()[:30]}`", size=2)


def move_statement(site: Site) -> Iterator[Candidate]:
    """The line's statement one block out (after the loop or ``if`` it sits in: a ``return``
    indented into a loop), or the statement after a block (a nested function's too: its last
    loop written at the outer function's depth) moved to the block's end."""
    stmt = site.stmt
    block = block_of(site, stmt) if stmt is not None else None
    if block is None or not alone_on_lines(site, stmt):
        return
    lines, parent = site.lines, site.parents.get(stmt)
    rows = lines[stmt.lineno - 1: stmt.end_lineno]
    indent = rows[0][: stmt.col_offset]
    if isinstance(parent, (ast.For, ast.While, ast.If, ast.With)) and len(block) > 1 \
            and stmt is block[-1] and parent.lineno != stmt.lineno:
        outer = lines[parent.lineno - 1][: parent.col_offset]
        end = parent.end_lineno
        moved = _reindent(rows, indent, outer)
        text = "\n".join(lines[: stmt.lineno - 1] + lines[stmt.end_lineno: end] + moved
                         + lines[end:])
        yield site.candidate(text, "move_statement", f"`{rows[0].strip()[:40]}` out of "
                             f"`{lines[parent.lineno - 1].strip()[:30]}`", size=2)
    k = block.index(stmt)
    before = block[k - 1] if k > 0 else None
    if isinstance(before, (ast.For, ast.While, ast.If, ast.With, ast.FunctionDef,
                           ast.AsyncFunctionDef)) and before.body \
            and before.body[-1].lineno != before.lineno:
        last = before.orelse[-1] if getattr(before, "orelse", None) else before.body[-1]
        inner = lines[last.lineno - 1][: last.col_offset]
        if len(inner) > len(indent):
            moved = _reindent(rows, indent, inner)
            text = "\n".join(lines[: stmt.lineno - 1] + lines[stmt.end_lineno:])
            text_lines = text.split("\n")
            at = last.end_lineno
            text = "\n".join(text_lines[:at] + moved + text_lines[at:])
            yield site.candidate(text, "move_statement", f"`{rows[0].strip()[:40]}` into "
                                 f"`{lines[before.lineno - 1].strip()[:30]}`", size=2)



# -- elif_if ----------------------------------------------------------------------------------

def _is_elif(site: Site, node: ast.If) -> bool:
    return site.lines[node.lineno - 1].lstrip().startswith("elif")


def elif_if(site: Site) -> Iterator[Candidate]:
    stmt = site.stmt
    if not isinstance(stmt, ast.If) or stmt.lineno != site.line:
        return
    lines = site.lines
    row = lines[stmt.lineno - 1]
    indent = indent_of(row)
    if _is_elif(site, stmt):
        parent = site.parents.get(stmt)
        if not (isinstance(parent, ast.If) and parent.orelse == [stmt]):
            return
        # `elif c:` -> `if c:` one level out, as a statement after the chain above it
        text = "\n".join(lines[: stmt.lineno - 1] + [indent + row.lstrip()[2:]]
                         + lines[stmt.lineno:])
        yield site.candidate(text, "elif_if", f"elif -> if at line {stmt.lineno}", size=2)
        return
    block = block_of(site, stmt)
    k = block.index(stmt) if block is not None else 0
    before = block[k - 1] if k > 0 else None
    if isinstance(before, ast.If) and not before.orelse and indent_of(
            lines[before.lineno - 1]) == indent:
        text = "\n".join(lines[: stmt.lineno - 1] + [indent + "el" + row.lstrip()]
                         + lines[stmt.lineno:])
        yield site.candidate(text, "elif_if", f"if -> elif at line {stmt.lineno}", size=2)


# -- insert_break -----------------------------------------------------------------------------

def _in_loop(site: Site, stmt: ast.stmt) -> bool:
    node = site.parents.get(stmt)
    while node is not None and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                     ast.ClassDef, ast.Lambda)):
        if isinstance(node, (ast.For, ast.While)):
            return True
        node = site.parents.get(node)
    return False


def insert_break(site: Site) -> Iterator[Candidate]:
    stmt = site.stmt
    if stmt is None or isinstance(stmt, (*_EXITS, ast.For, ast.While)) \
            or not _in_loop(site, stmt) or not alone_on_lines(site, stmt):
        return
    block = block_of(site, stmt)
    if block is None:
        return
    k = block.index(stmt)
    if k + 1 < len(block) and isinstance(block[k + 1], _EXITS):
        return  # an exit follows already
    lines = site.lines
    if isinstance(stmt, (ast.If, ast.With)):  # a compound statement: at the end of its body
        last = stmt.body[-1]
        if isinstance(last, _EXITS) or last.lineno == stmt.lineno:
            return
        row, indent = last.end_lineno, indent_of(lines[last.lineno - 1])
        where = f"at the end of `{lines[stmt.lineno - 1].strip()[:40]}`"
    elif hasattr(stmt, "body"):
        return  # a try or match: where to stop is not clear
    else:
        row, indent = stmt.end_lineno, indent_of(lines[stmt.lineno - 1])
        where = f"after `{site.segment(stmt)[:40]}`"
    yield site.candidate(site.insert(row, ["break"], indent), "insert_break", f"break {where}",
                         size=5, disables=True)


# -- loop_progress ---------------------------------------------------------------------------

def _stalled_loops(site: Site) -> Iterator[tuple[ast.While, list[ast.Name], list[str]]]:
    """The ``while`` loops at or around the line that cannot end, innermost first, each with the
    test's reads of names the loop never changes and the local names its body does assign."""
    node = site.stmt
    while node is not None and node is not site.func:
        if isinstance(node, ast.While):
            inner = [n for s in node.body for n in ast.walk(s)]
            if not any(isinstance(n, (*_EXITS, ast.Global, ast.Nonlocal, ast.Yield, ast.Await))
                       for n in inner):
                assigned, changed = {}, set()  # assigned: the names stored, in order
                for n in inner:
                    written = isinstance(getattr(n, "ctx", None), (ast.Store, ast.Del))
                    if isinstance(n, ast.Name) and written:
                        changed.add(n.id)
                        if isinstance(n.ctx, ast.Store):
                            assigned[n.id] = None
                    elif isinstance(n, (ast.Attribute, ast.Subscript)) and written and \
                            isinstance(n.value, ast.Name):
                        changed.add(n.value.id)  # x.a = ..., x[i] = ...: x changes
                    elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and \
                            isinstance(n.func.value, ast.Name):
                        changed.add(n.func.value.id)  # x.pop(): x may change
                reads = [n for n in ast.walk(node.test) if isinstance(n, ast.Name)
                         and isinstance(n.ctx, ast.Load) and n.id in site.locals]
                if reads and not any(n.id in changed for n in reads):
                    yield node, reads, [name for name in assigned if name in site.locals]
        node = site.parents.get(node)


def loop_progress(site: Site) -> Iterator[Candidate]:
    lines = site.lines
    for loop, reads, updated in _stalled_loops(site):
        last = loop.body[-1]
        row, indent = last.end_lineno, indent_of(lines[last.lineno - 1])
        for name in dict.fromkeys(n.id for n in reads):
            for op in ("-=", "+="):
                yield site.candidate(site.insert(row, [f"{name} {op} 1"], indent),
                                     "loop_progress", f"`{name} {op} 1` at the end of the loop "
                                     f"at line {loop.lineno}", size=6)
        for read in reads:
            for k in updated:
                if k == read.id:
                    continue
                for new in (f"{read.id}[{k}:]", f"{read.id}[:{k}]", f"({read.id} - {k})"):
                    yield site.candidate(site.replace(read, new), "loop_progress",
                                         f"`{read.id}` -> `{new}` in the test of the loop at "
                                         f"line {loop.lineno}", size=len(new))


FAMILIES = {
    "swap_branches": swap_branches,
    "swap_tests": swap_tests,
    "swap_statements": swap_statements,
    "move_statement": move_statement,
    "elif_if": elif_if,
    "insert_break": insert_break,
    "loop_progress": loop_progress,
}
