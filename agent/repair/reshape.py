"""Edits that reshape the code at the line rather than substitute one token: branches exchanged,
a picked element turned into a reduction, a slice's bounds or step changed, a unary operator
dropped, a value that was stored but never read put where it was meant to go, a misspelled word
in a string literal spelled as the module's own prose spells it.

- ``swap_branches``: ``if c: A else: B`` -> ``if c: B else: A``; ``x if c else y`` -> ``y if c
  else x`` (the branches' bodies exchanged, where negating the test is the other reading);
- ``reduce_subscript``: ``xs[0]`` / ``xs[-1]`` -> ``sum(xs)``, ``max(xs)``, ``min(xs)``,
  ``len(xs)`` (a comprehension becomes a generator: ``[f(x) for x in xs][-1]`` -> ``sum(f(x)
  for x in xs)``): one element picked where the whole collection was meant;
- ``slice_edit``: ``xs[a:b]`` -> ``xs[a:]``, ``xs[:b]``, ``xs[b:a]``, ``xs[-a:b]``,
  ``xs[a:b:-1]``; ``xs[::s]`` -> ``xs``, ``xs[::-s]``: a bound too many, a sign or a direction;
- ``drop_unary``: ``-x`` -> ``x``, ``~x`` -> ``x``, ``+x`` -> ``x`` (``not`` is the mutations'
  ``remove_not``);
- ``inline_dead_store``: ``out = E`` whose name nothing reads, followed by a statement that
  reads another local ``v``: ``v`` -> ``E`` there and the store removed (pyflakes' "assigned but
  never used" is the symptom: the value was computed for the statement after it);
- ``literal_spelling``: a word of a string literal -> the closest word (difflib) that the
  module's docstrings, comments or other literals spell (``"Jupyter"`` -> ``"Jupiter"`` where
  the docstring lists the planets).
"""

from __future__ import annotations

import ast
import difflib
import io
import re
import tokenize
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache

from agent.repair.site import Candidate, Site, scope_nodes

_ATOM = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant, ast.List, ast.Tuple,
         ast.ListComp, ast.Dict, ast.Set)
#: Operators around a node that bind tighter than what replaces it: it needs parentheses there.
_TIGHT = (ast.BinOp, ast.UnaryOp, ast.Compare, ast.Attribute, ast.Subscript, ast.BoolOp,
          ast.Await)


def _paren(site: Site, node: ast.AST, text: str | None = None) -> str:
    """``text`` (the node's own by default) as it must be written in the node's place."""
    text = site.segment(node) if text is None else text
    return f"({text})" if isinstance(site.parents.get(node), _TIGHT) else text


def _one_line(site: Site, node: ast.AST) -> bool:
    return "\n" not in site.segment(node)


def _loaded(node: ast.AST) -> bool:
    return not isinstance(getattr(node, "ctx", None), (ast.Store, ast.Del))


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
        if isinstance(node, ast.IfExp) and _one_line(site, node):
            body, test, orelse = (site.segment(n) for n in (node.body, node.test, node.orelse))
            wrap = (lambda n, t: f"({t})" if isinstance(n, (ast.IfExp, ast.Lambda)) else t)
            new = f"{wrap(node.orelse, orelse)} if {test} else {wrap(node.body, body)}"
            yield site.candidate(site.replace(node, _paren(site, node, new)), "swap_branches",
                                 f"{site.segment(node)} -> {new}", size=2)


# -- reduce_subscript -------------------------------------------------------------------------

REDUCERS = ("sum", "max", "min", "len")


def _constant_index(node: ast.Subscript) -> bool:
    index = node.slice
    if isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub):
        index = index.operand
    return isinstance(index, ast.Constant) and type(index.value) is int


def reduce_subscript(site: Site) -> Iterator[Candidate]:
    for node in site.line_nodes():
        if not (isinstance(node, ast.Subscript) and _loaded(node) and _constant_index(node)
                and _one_line(site, node)):
            continue
        collection = node.value
        text = site.segment(collection)
        for reducer in REDUCERS:
            if isinstance(collection, ast.ListComp) and reducer != "len":
                new = f"{reducer}({text[1:-1]})"  # over the generator: no list is built
            else:
                new = f"{reducer}({text})"
            yield site.candidate(site.replace(node, new), "reduce_subscript",
                                 f"{site.segment(node)} -> {new}", size=len(reducer) + 2)


# -- slice_edit -------------------------------------------------------------------------------

def _negated(site: Site, node: ast.AST) -> str:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return site.segment(node.operand)
    text = site.segment(node)
    return f"-{text}" if isinstance(node, (ast.Name, ast.Constant, ast.Attribute, ast.Call,
                                           ast.Subscript)) else f"-({text})"


def _slice_options(site: Site, sl: ast.Slice) -> list[str]:
    lo, up, st = (site.segment(p) if p is not None else "" for p in (sl.lower, sl.upper, sl.step))

    def form(a: str, b: str, c: str) -> str:
        return f"{a}:{b}:{c}" if c else f"{a}:{b}"

    out = []
    if lo:
        out += [form("", up, st), form(_negated(site, sl.lower), up, st)]
    if up:
        out += [form(lo, "", st), form(lo, _negated(site, sl.upper), st)]
    if lo and up:
        out.append(form(up, lo, st))
    if st:
        out += [form(lo, up, ""), form(lo, up, _negated(site, sl.step))]
    elif lo or up:
        out.append(form(lo, up, "-1"))
    return out


def slice_edit(site: Site) -> Iterator[Candidate]:
    for node in site.line_nodes():
        if not (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice)
                and _one_line(site, node)):
            continue
        value = site.segment(node.value)
        options = _slice_options(site, node.slice)
        if node.slice.step is not None and node.slice.lower is None \
                and node.slice.upper is None:
            options.append(None)  # xs[::2] -> xs: the whole sequence
        for inner in options:
            new = value if inner is None else f"{value}[{inner}]"
            if new == value and not _loaded(node):
                continue
            yield site.candidate(site.replace(node, new), "slice_edit",
                                 f"{site.segment(node)} -> {new}", size=2)


# -- drop_unary -------------------------------------------------------------------------------

def drop_unary(site: Site) -> Iterator[Candidate]:
    for node in site.line_nodes():
        if not (isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd,
                                                                       ast.Invert))):
            continue
        if isinstance(node.operand, ast.Constant):
            continue  # -1 -> 1 is the constant families' work
        operand = site.segment(node.operand)
        new = operand if isinstance(node.operand, _ATOM) else _paren(site, node, operand)
        yield site.candidate(site.replace(node, new), "drop_unary",
                             f"{site.segment(node)} -> {new}", size=1)


# -- inline_dead_store ------------------------------------------------------------------------

MAX_INLINED = 4


def _block(site: Site, stmt: ast.stmt) -> list[ast.stmt] | None:
    parent = site.parents.get(stmt)
    for name in ("body", "orelse", "finalbody"):
        block = getattr(parent, name, None)
        if isinstance(block, list) and stmt in block:
            return block
    return None


def _dead_store(site: Site, stmt: ast.stmt) -> str | None:
    """The name ``stmt`` assigns when it is ``name = E`` alone on its lines and nothing in the
    function reads the name."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)) or site.func is None:
        return None
    name = stmt.targets[0].id
    if any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)
           for n in scope_nodes(site.func)):
        return None
    row = site.lines[stmt.lineno - 1]
    if row[: stmt.col_offset].strip() or site.lines[stmt.end_lineno - 1][
            stmt.end_col_offset:].split("#")[0].strip():
        return None
    return name


def inline_dead_store(site: Site) -> Iterator[Candidate]:
    stmt = site.stmt
    block = _block(site, stmt) if stmt is not None else None
    if block is None:
        return
    k = block.index(stmt)
    pairs = [(block[k - 1], stmt)] if k > 0 else []
    if k + 1 < len(block):
        pairs.append((stmt, block[k + 1]))
    for store, user in pairs:
        name = _dead_store(site, store)
        if name is None or user.lineno <= store.end_lineno:
            continue
        value = site.segment(store.value)
        last = user.body[0].lineno - 1 if hasattr(user, "body") else user.end_lineno
        reads = [n for n in ast.walk(user) if isinstance(n, ast.Name)
                 and isinstance(n.ctx, ast.Load) and n.id in site.locals and n.id != name
                 and n.lineno <= last]
        for read in list({n.id: n for n in reversed(reads)}.values())[:MAX_INLINED]:
            new = value if isinstance(store.value, _ATOM) else _paren(site, read, value)
            lines = site.replace(read, new).split("\n")
            text = "\n".join(lines[: store.lineno - 1] + lines[store.end_lineno:])
            yield site.candidate(text, "inline_dead_store",
                                 f"{read.id} -> {value[:40]} (the unread {name})",
                                 size=len(value))


# -- literal_spelling -------------------------------------------------------------------------

MAX_SPELLINGS = 6
_WORD = re.compile(r"[A-Za-z]{4,}")


@lru_cache(maxsize=64)
def _prose(source: str) -> Counter:
    """Words (four letters or more) of the module's comments and string literals, counted."""
    words: Counter = Counter()
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in (tokenize.COMMENT, tokenize.STRING):
                words.update(_WORD.findall(token.string))
    except (tokenize.TokenError, SyntaxError):
        pass  # a file that does not tokenize has no prose to learn from: no suggestions
    return words


def literal_spelling(site: Site) -> Iterator[Candidate]:
    prose = None
    made = 0
    for node in site.line_nodes():
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) \
                or isinstance(site.parents.get(node), (ast.JoinedStr, ast.Expr)):
            continue
        prose = _prose(site.source) if prose is None else prose
        old = site.segment(node)
        mine = Counter(_WORD.findall(old))
        for word in dict.fromkeys(_WORD.findall(node.value)):
            if prose[word] > mine[word]:
                continue  # the module spells it so elsewhere too: not a typo
            vocabulary = [w for w, n in prose.items() if n > mine[w] and w != word]
            for fix in difflib.get_close_matches(word, vocabulary, n=2, cutoff=0.8):
                new = re.sub(rf"(?<![A-Za-z\\]){word}(?![A-Za-z])", fix, old)
                if new != old and made < MAX_SPELLINGS:
                    made += 1
                    yield site.candidate(site.replace(node, new), "literal_spelling",
                                         f"{old[:30]} -> {new[:30]}", size=2)


# -- value_to_local ---------------------------------------------------------------------------

MAX_LOCALS = 8
_NUMERIC_CALLS = {"min", "max", "sum", "abs", "len", "round", "int"}


def _numeric(node: ast.AST) -> bool:
    return isinstance(node, (ast.BinOp, ast.UnaryOp)) or (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        and node.func.id in _NUMERIC_CALLS)


def value_to_local(site: Site) -> Iterator[Candidate]:
    """The whole value an assignment or a return computes -> a local bound before the line (or
    its negation, for a number): the right value was already at hand."""
    stmt = site.stmt
    if not isinstance(stmt, (ast.Assign, ast.AugAssign, ast.Return)) or stmt.value is None \
            or isinstance(stmt.value, (ast.Name, ast.Constant)) or not _one_line(site, stmt):
        return
    targets = {n.id for t in getattr(stmt, "targets", [getattr(stmt, "target", None)])
               if t is not None for n in ast.walk(t) if isinstance(n, ast.Name)}
    bound = {n.id for n in scope_nodes(site.func or site.tree) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Store) and n.lineno < stmt.lineno}
    if site.func is not None:
        bound |= {a.arg for a in ast.walk(site.func.args) if isinstance(a, ast.arg)}
    names = [n for n in site.locals if n in bound and n not in targets][:MAX_LOCALS]
    old = site.segment(stmt.value)
    for name in names:
        for new in ([name, f"-{name}"] if _numeric(stmt.value) else [name]):
            yield site.candidate(site.replace(stmt.value, new), "value_to_local",
                                 f"{old[:40]} -> {new}", size=len(new))


# -- statements moved -------------------------------------------------------------------------

def _alone(site: Site, stmt: ast.stmt) -> bool:
    lines = site.lines
    return not lines[stmt.lineno - 1][: stmt.col_offset].strip() and not lines[
        stmt.end_lineno - 1][stmt.end_col_offset:].split("#")[0].strip()


def _reindent(rows: list[str], old: str, new: str) -> list[str]:
    return [new + r[len(old):] if r.startswith(old) else r for r in rows]


def swap_statements(site: Site) -> Iterator[Candidate]:
    """The line's statement and the one after it (or before it) in the same block exchanged:
    an update made before the read it should follow."""
    stmt = site.stmt
    block = _block(site, stmt) if stmt is not None else None
    if block is None:
        return
    k = block.index(stmt)
    lines = site.lines
    for first, second in ((block[k - 1], stmt) if k > 0 else (None, None),
                          (stmt, block[k + 1]) if k + 1 < len(block) else (None, None)):
        if first is None or not (_alone(site, first) and _alone(site, second)) \
                or isinstance(second, (ast.Return, ast.Raise, ast.Continue, ast.Break)):
            continue  # a statement moved below an exit would never run
        a0, a1 = first.lineno - 1, first.end_lineno
        b0, b1 = second.lineno - 1, second.end_lineno
        text = "\n".join(lines[:a0] + lines[b0:b1] + lines[a1:b0] + lines[a0:a1] + lines[b1:])
        yield site.candidate(text, "swap_statements", f"`{lines[a0].strip()[:30]}` after "
                             f"`{lines[b0].strip()[:30]}`", size=2)


def move_statement(site: Site) -> Iterator[Candidate]:
    """The line's statement one block out (after the loop or ``if`` it sits in: a ``return``
    indented into a loop), or the statement after a block moved to the block's end."""
    stmt = site.stmt
    block = _block(site, stmt) if stmt is not None else None
    if block is None or not _alone(site, stmt):
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
    if isinstance(before, (ast.For, ast.While, ast.If, ast.With)) and before.body \
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


FAMILIES = {
    "value_to_local": value_to_local,
    "swap_statements": swap_statements,
    "move_statement": move_statement,
    "swap_branches": swap_branches,
    "reduce_subscript": reduce_subscript,
    "slice_edit": slice_edit,
    "drop_unary": drop_unary,
    "inline_dead_store": inline_dead_store,
    "literal_spelling": literal_spelling,
}
