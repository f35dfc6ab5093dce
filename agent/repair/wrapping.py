"""A value on the line wrapped, unwrapped or cut: the call or subscript it lacks, or has too many.

- ``subscript_value``: ``xs`` -> ``xs[1:]``, ``xs[:-1]``, ``xs[::-1]``, ``xs[0]``, ``xs[-1]``,
  and ``xs[k:]``, ``xs[:k]``, ``xs[k]`` for integer-like names ``k`` in scope (a parameter the
  function never reads is one: the fix often is where it is read);
- ``wrap_convert``: ``e`` -> ``set(e)``, ``sorted(e)``, ``list(e)``, ``str(e)``, ``int(e)``,
  ``list(set(e))``, ``e.lower()``, ``e.upper()``, ``e.strip()``, ``'s'.encode()`` for a string
  literal passed to a call (text where bytes are wanted), ``f(e)`` for a one-argument
  function ``f`` called on the line (``f(f(x))``); both sides of a comparison at once (``set(a) == set(b)``);
- ``operand_ingredient``: ``e`` -> ``e % mod``, ``e - 1``, ``e // 2``: an operation the module
  applies elsewhere, the reduction or adjustment this value misses;
- ``unwrap_call``: ``f(e)`` -> ``e``, ``e.m(...)`` -> ``e`` (a call that should not be there, such
  as ``return xs.sort()``); a removed call switches behaviour off, so it is marked so.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from agent.repair.site import Candidate, Site
from envs.mutations import walk

_VALUE = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.ListComp, ast.List, ast.Tuple)
_ATOM = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.List, ast.ListComp, ast.Constant)
MAX_INDEX_NAMES = 6
CONVERTERS = ("set", "sorted", "list", "str", "int")
STRING_METHODS = ("lower", "upper", "strip")
BOTH_SIDES = ("set", "sorted", "len", "abs", "str", "int")


def _loaded(site: Site, node: ast.AST) -> bool:
    """A value read on the line (not a target, not the callee of a call, not an attribute's
    owner, which would change the attribute instead)."""
    parent = site.parents.get(node)
    if isinstance(getattr(node, "ctx", None), (ast.Store, ast.Del)):
        return False
    if isinstance(parent, ast.Call) and parent.func is node:
        return False
    if isinstance(parent, ast.Attribute):
        return False
    return "\n" not in site.segment(node)


def _wrapped(site: Site, node: ast.AST) -> str:
    text = site.segment(node)
    return text if isinstance(node, _ATOM) else f"({text})"


def index_names(site: Site) -> list[str]:
    """Locals that hold integers, as far as the function shows: used as an index, a range bound
    or in arithmetic with an integer, assigned an integer or a length; and parameters it never
    reads."""
    func = site.func
    if func is None:
        return []
    ints, read = set(), set()
    for node in ast.walk(func):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            read.add(node.id)
        if isinstance(node, ast.Subscript):
            for part in ([node.slice.lower, node.slice.upper] if isinstance(node.slice, ast.Slice)
                         else [node.slice]):
                if isinstance(part, ast.Name):
                    ints.add(part.id)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "range":
            ints |= {a.id for a in node.args if isinstance(a, ast.Name)}
        elif isinstance(node, (ast.BinOp, ast.Compare)):
            operands = [node.left, node.right] if isinstance(node, ast.BinOp) \
                else [node.left, *node.comparators]
            if any(isinstance(o, ast.Constant) and type(o.value) is int for o in operands):
                ints |= {o.id for o in operands if isinstance(o, ast.Name)}
        elif isinstance(node, ast.Assign) and (
                isinstance(node.value, ast.Constant) and type(node.value.value) is int
                or isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
                and node.value.func.id in ("len", "int")):
            ints |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    args = func.args
    params = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    ints |= {p for p in params if p not in read and p not in ("self", "cls")}
    return [n for n in site.locals if n in ints][:MAX_INDEX_NAMES]


def subscript_value(site: Site) -> Iterator[Candidate]:
    names = index_names(site)
    for node in site.line_nodes():
        if not isinstance(node, _VALUE) or not _loaded(site, node):
            continue
        if isinstance(node, ast.Name) and node.id not in site.locals:
            continue  # a builtin or a function: not a sequence
        parent = site.parents.get(node)
        if isinstance(parent, ast.Subscript) and parent.value is node:
            continue  # already subscripted: the slice families move its bounds
        old = site.segment(node)
        base = _wrapped(site, node)
        cuts = ["[1:]", "[:-1]", "[::-1]", "[0]", "[-1]"]
        for k in names:
            if k != old:
                cuts += [f"[{k}:]", f"[:{k}]", f"[{k}]"]
        for cut in cuts:
            new = base + cut
            yield site.candidate(site.replace(node, new), "subscript_value", f"{old} -> {new}",
                                 size=len(cut))


def _line_functions(site: Site) -> list[str]:
    """One-argument functions of the module called on the line (``f(f(x))`` is a fix for
    ``f(x)`` when a decoding must undo two encodings)."""
    defined = {n.name for n in site.tree.body if isinstance(n, (ast.FunctionDef,
                                                                ast.AsyncFunctionDef))
               and len(n.args.args) == 1}
    return list(dict.fromkeys(n.func.id for n in site.line_nodes() if isinstance(n, ast.Call)
                              and isinstance(n.func, ast.Name) and n.func.id in defined))


def wrap_convert(site: Site) -> Iterator[Candidate]:
    functions = _line_functions(site)
    for node in site.line_nodes():
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and "\n" not in site.segment(node):
            a, b = site.segment(node.left), site.segment(node.comparators[0])
            gap = site.source[site.text.span(node.left)[1]:site.text.span(node.comparators[0])[0]]
            for f in BOTH_SIDES:
                new = f"{f}({a}){gap}{f}({b})"
                yield site.candidate(site.replace(node, new), "wrap_convert",
                                     f"{site.segment(node)} -> {new}", size=2 * len(f) + 4)
        if _str_argument(site, node):  # text where a call wants bytes: md5('x') -> md5(b)
            old = site.segment(node)
            yield site.candidate(site.replace(node, f"{old}.encode()"), "wrap_convert",
                                 f"{old} -> {old}.encode()", size=len(".encode()"))
        if not isinstance(node, _VALUE) or not _loaded(site, node):
            continue
        if isinstance(node, ast.Name) and node.id not in site.locals:
            continue
        old = site.segment(node)
        wraps = [f"{f}({old})" for f in functions + list(CONVERTERS)]
        wraps += [f"{_wrapped(site, node)}.{m}()" for m in STRING_METHODS]
        wraps.append(f"list(set({old}))")  # duplicates dropped, still a list
        for new in wraps:
            if new != old:
                yield site.candidate(site.replace(node, new), "wrap_convert", f"{old} -> {new}",
                                     size=len(new) - len(old))


def _str_argument(site: Site, node: ast.AST) -> bool:
    """A string literal passed as a call's positional argument (one line)."""
    parent = site.parents.get(node)
    return isinstance(node, ast.Constant) and isinstance(node.value, str) \
        and isinstance(parent, ast.Call) and node in parent.args \
        and "\n" not in site.segment(node)


def unwrap_call(site: Site) -> Iterator[Candidate]:
    for node in site.line_nodes():
        if not isinstance(node, ast.Call) or "\n" in site.segment(node):
            continue
        inner = []
        if isinstance(node.func, ast.Attribute):
            inner.append(node.func.value)
        if len(node.args) == 1 and not node.keywords and not isinstance(node.args[0], ast.Starred):
            inner.append(node.args[0])
        old = site.segment(node)
        for part in inner:
            if isinstance(part, (ast.GeneratorExp, ast.Starred)):
                continue
            new = site.segment(part)
            if not isinstance(part, _ATOM) and isinstance(site.parents.get(node), (
                    ast.BinOp, ast.UnaryOp, ast.Attribute, ast.Subscript, ast.Compare)):
                new = f"({new})"
            yield site.candidate(site.replace(node, new), "unwrap_call", f"{old} -> {new}",
                                 size=len(old) - len(new), disables=True)  # a removed call


MAX_TAILS = 8
_TAIL_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.FloorDiv: "//", ast.Mod: "%",
             ast.Div: "/"}


def _tails(site: Site) -> list[str]:
    """``op R`` endings of the module's arithmetic, R a name or a number (``% mod``, ``- 1``,
    ``// 2``, also from ``x %= mod``): the function first, the most frequent first."""
    counts: dict[str, float] = {}
    for scope, weight in ((site.func, 2.0), (site.tree, 1.0)):
        for node in walk(scope) if scope is not None else ():
            # ``x %= mod`` reduces as ``x % mod`` does: an augmented operation is a tail too
            right = node.right if isinstance(node, ast.BinOp) else getattr(node, "value", None)
            if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _TAIL_OPS and (
                    isinstance(right, ast.Name) and right.id in site.bound
                    or isinstance(right, ast.Constant) and type(right.value) is int):
                tail = f"{_TAIL_OPS[type(node.op)]} {site.segment(right)}"
                counts[tail] = counts.get(tail, 0.0) + weight
    return sorted(counts, key=lambda t: -counts[t])[:MAX_TAILS]


def operand_ingredient(site: Site) -> Iterator[Candidate]:
    """``e`` -> ``e % mod`` (or ``- 1``, ``// 2``, ...) with an operation the module applies
    elsewhere: the reduction or adjustment this value misses."""
    tails = _tails(site)
    if not tails:
        return
    for node in site.line_nodes():
        if not isinstance(node, (*_VALUE, ast.BinOp)) or not _loaded(site, node):
            continue
        if isinstance(node, ast.Name) and node.id not in site.locals:
            continue
        parent = site.parents.get(node)
        old = site.segment(node)
        for tail in tails:
            if old.replace(" ", "").endswith(tail.replace(" ", "")):
                continue  # it already ends so
            new = f"{_wrapped(site, node)} {tail}"
            if isinstance(parent, (ast.BinOp, ast.UnaryOp, ast.Subscript, ast.Attribute)):
                new = f"({new})"
            yield site.candidate(site.replace(node, new), "operand_ingredient",
                                 f"{old} -> {new}", size=len(tail))


FAMILIES = {
    "operand_ingredient": operand_ingredient,
    "subscript_value": subscript_value,
    "wrap_convert": wrap_convert,
    "unwrap_call": unwrap_call,
}
