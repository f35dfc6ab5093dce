"""Expressions reshaped at the line rather than one token substituted: a picked element turned
into a reduction, a slice's bounds or step changed, a unary operator dropped, a value that was
stored but never read put where it was meant to go, the whole value replaced by a local, a
misspelled word in a string literal spelled as the module's own prose spells it.

- ``reduce_subscript``: ``xs[0]`` / ``xs[-1]`` -> ``sum(xs)``, ``max(xs)``, ``min(xs)``,
  ``len(xs)`` (a comprehension becomes a generator: ``[f(x) for x in xs][-1]`` -> ``sum(f(x)
  for x in xs)``): one element picked where the whole collection was meant;
- ``slice_edit``: ``xs[a:b]`` -> ``xs[a:]``, ``xs[:b]``, ``xs[b:a]``, ``xs[-a:b]``,
  ``xs[a:b:-1]``, ``xs[::-s]``: a bound too many, a sign or a direction;
- ``drop_subscript``: ``xs[1:]`` -> ``xs``, ``xs[0]`` -> ``xs``: a subscript too many;
- ``element_as_index``: ``xs[x]`` in ``for x in xs:`` -> ``x`` at every such read of the loop
  (the element used as its own index);
- ``drop_unary``: ``-x`` -> ``x``, ``~x`` -> ``x``, ``+x`` -> ``x`` (``not`` is the mutations'
  ``remove_not``);
- ``inline_dead_store``: ``out = E`` whose name nothing reads, followed by a statement that
  reads another local ``v``: ``v`` -> ``E`` there and the store removed (pyflakes' "assigned but
  never used" is the symptom: the value was computed for the statement after it);
- ``value_to_local``: the whole value of an assignment or return -> a local bound before the
  line, or its negation for a number (``min_sum = min(-i for i in nums)`` -> ``-max_sum``);
- ``literal_spelling``: a word of a string literal -> the closest word (difflib) that the
  module's docstrings, comments or other literals spell (``"Jupyter"`` -> ``"Jupiter"`` where
  the docstring lists the planets);
- ``literal_to_name``: a string literal that spells a local's name -> the local
  (``md5('text')`` -> ``md5(text)``);
- ``call_key``: ``max(xs)`` / ``sorted(xs)`` / ``xs.sort()`` -> ``key=len``, ``key=abs``,
  ``key=str.lower``: ordered by the wrong measure;
- ``compare_regroup``: ``S in A == T in A`` -> ``(S in A) == (T in A)`` (a mixed chain of
  comparisons, parenthesized at each of its operators);
- ``number_literal``: a number -> its negation or another number of the function or module;
- ``exchange_names``: two locals of the line exchanged through the neighbouring statements
  that assign them (fields read the wrong way round, fixed on every line that reads them);
- ``add_return``: ``f(x)`` -> ``return f(x)``; ``return NAME`` after the last statement of a
  function that returns no value anywhere (a result computed, never handed back);
- ``uncomment_string``: a string statement whose text is code (statements commented out by
  quoting them) -> that code;
- ``assign_no_effect``: a statement that only reads a name (``n``) -> ``n = str(n)`` and the
  other conversions: what is left of an assignment;
- ``initialize_local``: a local the function only updates (``c += x``, ``c = c + x``: an
  UnboundLocalError)
  -> ``c = 0`` (``''``, ``[]`` as the update adds) at the function's start or before the
  outermost loop that updates it.
"""

from __future__ import annotations

import ast
import difflib
import io
import re
import textwrap
import tokenize
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache

from agent.repair.deletions import alone_on_lines, block_of
from agent.repair.site import Candidate, Site, indent_of, scope_nodes
from envs.mutations import parsed, walk

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
        for inner in _slice_options(site, node.slice):
            new = f"{value}[{inner}]"
            yield site.candidate(site.replace(node, new), "slice_edit",
                                 f"{site.segment(node)} -> {new}", size=2)


def drop_subscript(site: Site) -> Iterator[Candidate]:
    """``xs[1:]`` -> ``xs``, ``xs[0]`` -> ``xs``, ``d[k][j]`` -> ``d[k]``: a subscript or slice
    too many (excess logic; ``unwrap_call`` does the same for calls)."""
    for node in site.line_nodes():
        if not (isinstance(node, ast.Subscript) and _loaded(node) and _one_line(site, node)):
            continue
        old, new = site.segment(node), site.segment(node.value)
        yield site.candidate(site.replace(node, new), "drop_subscript", f"{old} -> {new}",
                             size=len(old) - len(new))


def element_as_index(site: Site) -> Iterator[Candidate]:
    """``xs[x]`` inside ``for x in xs:`` -> ``x`` at every such read of the loop: the element
    used as if it were its index (``for x in xs`` where ``for i in range(len(xs))`` was meant
    reads the collection at its own values)."""
    node, loops = site.stmt, []
    while node is not None and node is not site.func:
        node = site.parents.get(node)
        if isinstance(node, (ast.For, ast.AsyncFor)) and isinstance(node.target, ast.Name) \
                and isinstance(node.iter, (ast.Name, ast.Attribute)):
            loops.append(node)
    for loop in loops:
        name, coll = loop.target.id, ast.dump(loop.iter)
        reads = [n for s in loop.body for n in ast.walk(s) if isinstance(n, ast.Subscript)
                 and _loaded(n) and isinstance(n.slice, ast.Name) and n.slice.id == name
                 and ast.dump(n.value) == coll]
        if not any(site.on_line(n) for n in reads):
            continue
        text = site.source
        for a, b in sorted((site.text.span(n) for n in reads), reverse=True):
            text = text[:a] + name + text[b:]
        yield site.candidate(text, "element_as_index", f"{site.segment(reads[0])} -> {name} "
                             f"at its {len(reads)} reads in the loop", size=len(reads))


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
    return name if alone_on_lines(site, stmt) else None


def inline_dead_store(site: Site) -> Iterator[Candidate]:
    stmt = site.stmt
    block = block_of(site, stmt) if stmt is not None else None
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
            if made >= MAX_SPELLINGS:
                return  # nothing more comes out: spare the vocabulary searches
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

MAX_LOCALS = 10
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
    first: dict[str, int] = {}  # where each name is first bound: parameters, then in order
    if site.func is not None:
        first = {a.arg: 0 for a in ast.walk(site.func.args) if isinstance(a, ast.arg)
                 and a.arg not in ("self", "cls")}
    for node in scope_nodes(site.func or site.tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) \
                and node.lineno < stmt.lineno:
            first[node.id] = min(first.get(node.id, node.lineno), node.lineno)
    names = sorted((n for n in first if n not in targets), key=lambda n: first[n])[:MAX_LOCALS]
    old = site.segment(stmt.value)
    for name in names:
        for new in ([name, f"-{name}"] if _numeric(stmt.value) else [name]):
            yield site.candidate(site.replace(stmt.value, new), "value_to_local",
                                 f"{old[:40]} -> {new}", size=len(new))


# -- literal_to_name --------------------------------------------------------------------------

def literal_to_name(site: Site) -> Iterator[Candidate]:
    for node in site.line_nodes():
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and node.value in site.locals \
                and not isinstance(site.parents.get(node), (ast.JoinedStr, ast.Expr)):
            yield site.candidate(site.replace(node, node.value), "literal_to_name",
                                 f"{site.segment(node)} -> {node.value}", size=2)


# -- call_key ---------------------------------------------------------------------------------

KEYS = ("len", "abs", "str.lower")
_KEYED = {"sorted", "min", "max", "sort"}


def call_key(site: Site) -> Iterator[Candidate]:
    """``max(words)`` -> ``max(words, key=len)``: an ordering by the wrong measure (length,
    magnitude, case-blind)."""
    for node in site.line_nodes():
        if not isinstance(node, ast.Call) or any(k.arg == "key" for k in node.keywords) \
                or not _one_line(site, node):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        positional = 0 if isinstance(func, ast.Attribute) and name == "sort" else 1
        if name not in _KEYED or len(node.args) != positional or any(
                isinstance(a, ast.Starred) for a in node.args):
            continue
        a, b = site.text.span(node)
        inside = site.source[a:b - 1].rstrip()
        sep = "" if inside.endswith("(") else ", "
        for key in KEYS:
            new = f"{inside}{sep}key={key})"
            yield site.candidate(site.replace(node, new), "call_key",
                                 f"{site.segment(node)} -> {new}", size=len(key) + 4)


# -- add_return -------------------------------------------------------------------------------

MAX_RETURNED = 4


def add_return(site: Site) -> Iterator[Candidate]:
    """A value computed but never handed back: ``helper(x)`` -> ``return helper(x)``, and
    ``return NAME`` appended after the function's last statement when it can fall off its end
    (for the locals it assigns, the last assigned first)."""
    stmt, func = site.stmt, site.func
    if func is None or stmt is None:
        return
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) \
            and isinstance(stmt.value.func, ast.Name) and stmt.value.func.id != "print" \
            and alone_on_lines(site, stmt):  # a method call mutates its owner: no result
        yield site.candidate(site.replace(stmt, f"return {site.segment(stmt)}"), "add_return",
                             f"return {site.segment(stmt)[:40]}", size=7)
    last = func.body[-1]
    if isinstance(last, (ast.Return, ast.Raise)) or any(
            isinstance(n, ast.Return) and n.value is not None for n in scope_nodes(func)) \
            or not last.lineno <= site.line <= last.end_lineno and stmt is not last:
        return  # it returns values already, or the line is not where it ends
    stored = [n.id for n in scope_nodes(func) if isinstance(n, ast.Name)
              and isinstance(n.ctx, ast.Store)]
    indent = site.lines[func.body[0].lineno - 1][: func.body[0].col_offset]
    for name in list(dict.fromkeys(reversed(stored)))[:MAX_RETURNED]:
        yield site.candidate(site.insert(last.end_lineno, [f"return {name}"], indent),
                             "add_return", f"return {name} at the end of {func.name}",
                             size=len(name) + 7)


CONVERSIONS = ("str", "int", "list", "sorted", "set", "len")


def assign_no_effect(site: Site) -> Iterator[Candidate]:
    """A statement that only reads a name (``n`` alone on its line does nothing): what is left
    of an assignment, ``n = str(n)`` and the other conversions of the name."""
    stmt = site.stmt
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Name)) \
            or not alone_on_lines(site, stmt):
        return
    name = stmt.value.id
    for call in CONVERSIONS:
        new = f"{name} = {call}({name})"
        yield site.candidate(site.replace(stmt, new), "assign_no_effect", f"`{name}` -> `{new}`",
                             size=len(call) + 3)


_QUOTES = re.compile(r"""^\s*[rRuU]?(?P<q>'{3}|"{3}|'|")(?P<body>.*)(?P=q)\s*$""", re.DOTALL)


def _quoted_code(lines: list[str], stmt: ast.stmt) -> str | None:
    """The code a string statement holds, indented as the statement (None for prose)."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str)):
        return None
    rows = lines[stmt.lineno - 1: stmt.end_lineno]
    match = _QUOTES.match("\n".join(rows))
    if match is None or indent_of(rows[0]) != rows[0][: stmt.col_offset]:
        return None  # not alone on its lines
    code = indent_of(rows[0]) + match["body"].strip(" ")
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return None
    if not any(not isinstance(n, ast.Expr) for n in tree.body):
        return None  # prose, or a lone name: not code
    return code.rstrip()


def quoted_code_lines(source: str) -> list[int]:
    """The first lines of string statements that hold code (statements commented out by quoting
    them, a docstring among them): the code there never runs, and no coverage points at it."""
    try:
        tree = parsed(source)
    except (SyntaxError, ValueError):
        return []
    lines = source.split("\n")
    return [n.lineno for n in walk(tree) if isinstance(n, ast.Expr) and n.lineno != n.end_lineno
            and _quoted_code(lines, n) is not None]


def uncomment_string(site: Site) -> Iterator[Candidate]:
    """A string statement whose text is code (statements commented out by quoting them) ->
    that code, in its place."""
    stmt = site.stmt
    code = _quoted_code(site.lines, stmt) if stmt is not None else None
    if code is None:
        return
    lines = site.lines
    text = "\n".join(lines[: stmt.lineno - 1] + code.split("\n") + lines[stmt.end_lineno:])
    yield site.candidate(text, "uncomment_string", f"the code quoted at line {stmt.lineno} "
                         "uncommented", size=6)


def _update_of(stmt: ast.AST) -> tuple[str, ast.expr] | None:
    """(name, what is added) for ``c += x`` and ``c = c + x`` (``c = x + c``); else None."""
    if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
        return stmt.target.id, stmt.value
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
            and isinstance(stmt.targets[0], ast.Name) and isinstance(stmt.value, ast.BinOp):
        name, value = stmt.targets[0].id, stmt.value
        for mine, other in ((value.left, value.right), (value.right, value.left)):
            if isinstance(mine, ast.Name) and mine.id == name:
                return name, other
    return None


def _first_value(added: ast.expr) -> str:
    if isinstance(added, ast.JoinedStr) or isinstance(added, ast.Constant) and isinstance(
            added.value, str) or isinstance(added, ast.Call) and isinstance(
            added.func, ast.Name) and added.func.id == "str":
        return "''"
    return "[]" if isinstance(added, (ast.List, ast.ListComp)) else "0"


def initialize_local(site: Site) -> Iterator[Candidate]:
    """A local the function only ever updates (``c += x``, ``c = c + x``, never a first value:
    an UnboundLocalError) given a first value of the kind its updates add (``0``, ``''``,
    ``[]``) at the start of the function, or before the outermost loop that updates it."""
    stmt, func = site.stmt, site.func
    update = _update_of(stmt) if func is not None else None
    if update is None:
        return
    name, added = update
    if name in {a.arg for a in ast.walk(func.args) if isinstance(a, ast.arg)}:
        return
    for node in scope_nodes(func):
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store) \
                and _update_of(site.parents.get(node)) is None \
                or isinstance(node, (ast.Global, ast.Nonlocal)) and name in node.names:
            return  # it has a binding that is not an update
    first = _first_value(added)
    body = func.body
    start = body[1] if ast.get_docstring(func) is not None and len(body) > 1 else body[0]
    points = [(start.lineno - 1, indent_of(site.lines[start.lineno - 1]), f"{func.name}'s start")]
    node, loop = stmt, None
    while node is not None and node is not func:
        node = site.parents.get(node)
        if isinstance(node, (ast.For, ast.While)):
            loop = node
    if loop is not None and loop is not start:
        points.append((loop.lineno - 1, indent_of(site.lines[loop.lineno - 1]), "the loop"))
    for row, indent, where in points:
        yield site.candidate(site.insert(row, [f"{name} = {first}"], indent), "initialize_local",
                             f"insert `{name} = {first}` before {where}", size=len(name) + 4)


# -- exchange_names ---------------------------------------------------------------------------

MAX_PAIRS = 6


def _binds_with(stmt: ast.stmt, a: str, b: str) -> bool:
    """Whether the statement mentions both names and assigns one of them (a statement that only
    reads them is where the exchanged values are used: exchanging there too undoes the edit)."""
    names = [n for n in ast.walk(stmt) if isinstance(n, ast.Name)]
    return {a, b} <= {n.id for n in names} and any(
        n.id in (a, b) and isinstance(n.ctx, ast.Store) for n in names)


def exchange_names(site: Site) -> Iterator[Candidate]:
    """Two locals of the line exchanged everywhere in the run of neighbouring statements that
    assign them (``day, month = s.split('-')`` and ``day, month = int(day), int(month)`` read the
    fields the wrong way round: both lines change together, or the second undoes the first)."""
    stmt = site.stmt
    block = block_of(site, stmt) if stmt is not None else None
    if block is None or not alone_on_lines(site, stmt):
        return
    on_line = [n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and n.id in site.locals
               and site.on_line(n)]
    pairs = [(a, b) for i, a in enumerate(dict.fromkeys(on_line))
             for b in list(dict.fromkeys(on_line))[i + 1:]][:MAX_PAIRS]
    k = block.index(stmt)
    for a, b in pairs:
        first = last = k
        if not _binds_with(stmt, a, b):
            continue
        while first > 0 and _binds_with(block[first - 1], a, b):
            first -= 1
        while last + 1 < len(block) and _binds_with(block[last + 1], a, b):
            last += 1
        run = [s for s in block[first: last + 1] if not hasattr(s, "body")]
        if len(run) < 2:
            continue  # one statement: swap_pair and wrong_variable make those edits
        names = sorted((n for s in run for n in ast.walk(s) if isinstance(n, ast.Name)
                        and n.id in (a, b)), key=lambda n: site.text.span(n), reverse=True)
        text = site.source
        for node in names:  # from the end: earlier offsets stay valid
            x, y = site.text.span(node)
            text = text[:x] + (b if node.id == a else a) + text[y:]
        yield site.candidate(text, "exchange_names", f"{a} <-> {b} in lines "
                             f"{run[0].lineno}-{run[-1].end_lineno}", size=2 * len(run))


# -- number_literal ---------------------------------------------------------------------------

MAX_NUMBERS = 6
MAX_NUMBER_EDITS = 12


def _numbers(site: Site) -> list[int | float]:
    """Numbers written in the function, then in the module (not booleans), nearest first."""
    found = []
    for scope in ([site.func] if site.func is not None else []) + [site.tree]:
        for node in walk(scope):
            if isinstance(node, ast.Constant) and type(node.value) in (int, float):
                found.append((scope is site.tree, abs(node.lineno - site.line), node.value))
    found.sort(key=lambda item: item[:2])
    return list(dict.fromkeys(value for *_, value in found))


def number_literal(site: Site) -> Iterator[Candidate]:
    """A number on the line -> its negation, or another number the function or module writes
    (``x % 3`` -> ``x % 10`` where ``10`` is the base used elsewhere): the constants' own
    plastic surgery, past the mutations' one-step ``int_constant``."""
    pool, made = None, 0
    for node in site.line_nodes():
        if not (isinstance(node, ast.Constant) and type(node.value) in (int, float)):
            continue
        pool = _numbers(site) if pool is None else pool
        value, at = node.value, node
        parent = site.parents.get(node)
        if isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.USub):
            value, at = -value, parent  # `-1` is one number (drop_unary leaves constants be)
        options = [-value] if value else []
        options += [v for v in pool if v != value and abs(v - value) != 1][:MAX_NUMBERS]
        for new_value in dict.fromkeys(options):
            if made >= MAX_NUMBER_EDITS:
                return  # a table of numbers: its first ones are enough
            new = repr(new_value)
            if new.startswith("-") and isinstance(site.parents.get(at), _TIGHT):
                new = f"({new})"
            made += 1
            yield site.candidate(site.replace(at, new), "number_literal",
                                 f"{site.segment(at)} -> {new}", size=len(new))


# -- compare_regroup --------------------------------------------------------------------------

_ORDERING = ({ast.Lt, ast.LtE}, {ast.Gt, ast.GtE})
_CMP = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
        ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}


def _chain(operands: list[str], ops: list[str], lo: int, hi: int) -> str:
    """Operands ``lo`` .. ``hi`` with the operators between, parenthesized when more than one."""
    text = operands[lo] + "".join(f" {ops[i]} {operands[i + 1]}" for i in range(lo, hi))
    return f"({text})" if hi > lo else text


def compare_regroup(site: Site) -> Iterator[Candidate]:
    """``S in A == T in A`` -> ``(S in A) == (T in A)``: Python chains comparisons, so a mixed
    chain compares more than its author meant. Each operator in turn becomes the main one, its
    two sides parenthesized. Ascending or descending chains (``a < b <= c``) are meant so."""
    for node in site.line_nodes():
        if not isinstance(node, ast.Compare) or len(node.ops) < 2 or not _one_line(site, node) \
                or any({type(o) for o in node.ops} <= kind for kind in _ORDERING):
            continue
        operands = [site.segment(o) for o in (node.left, *node.comparators)]
        ops = [_CMP[type(o)] for o in node.ops]
        for m in range(len(ops)):
            new = (f"{_chain(operands, ops, 0, m)} {ops[m]} "
                   f"{_chain(operands, ops, m + 1, len(ops))}")
            yield site.candidate(site.replace(node, _paren(site, node, new)), "compare_regroup",
                                 f"{site.segment(node)} -> {new}", size=2)


FAMILIES = {
    "uncomment_string": uncomment_string,
    "element_as_index": element_as_index,
    "assign_no_effect": assign_no_effect,
    "initialize_local": initialize_local,
    "drop_subscript": drop_subscript,
    "compare_regroup": compare_regroup,
    "number_literal": number_literal,
    "exchange_names": exchange_names,
    "call_key": call_key,
    "add_return": add_return,
    "literal_to_name": literal_to_name,
    "value_to_local": value_to_local,
    "reduce_subscript": reduce_subscript,
    "slice_edit": slice_edit,
    "drop_unary": drop_unary,
    "inline_dead_store": inline_dead_store,
    "literal_spelling": literal_spelling,
}
