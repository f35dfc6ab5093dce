"""Operators and calls beyond the mutation families' one-step swaps.

The mutation operators (``envs.mutations``) swap an operator for its likeliest neighbour (``<``
for ``<=``, ``-`` for ``+``); bugs written elsewhere use any operator for any other (``n - i``
for ``n % i``, ``x -= b`` for ``x //= b``, ``>`` for ``==``) and any method for its sibling
(``islower`` for ``isupper``).

- ``operator_replace``: an arithmetic, bitwise, comparison or augmented-assignment operator on
  the line -> every other one of its kind;
- ``bool_op_all``: every ``and`` of a boolean chain -> ``or`` at once (and back), where the
  mutation flips one at a time;
- ``call_argument``: an argument dropped, ``reverse=True`` added to a sort, a missing argument
  of a module function filled with a local;
- ``call_swap``: a builtin or method call -> a sibling (``isupper`` / ``islower``, ``strip`` /
  ``lstrip``, ``items`` / ``values``, ``sorted`` / ``reversed``, ``sum`` / ``max``, other
  languages' ``push`` -> ``append``, ...), and an ``operator`` module function -> a sibling
  (``operator.and_`` / ``operator.or_``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from agent.repair.site import Candidate, Site
from envs.mutations import _OPERATOR

ARITH = ("+", "-", "*", "/", "//", "%", "**")
BITWISE = ("&", "|", "^", "<<", ">>")
COMPARE = ("<", "<=", ">", ">=", "==", "!=")

#: Siblings of a method: the same receiver, another meaning a bug often swaps in.
METHODS = {
    "islower": ["isupper"], "isupper": ["islower"], "lower": ["upper", "casefold"],
    "upper": ["lower"], "title": ["capitalize", "upper"], "capitalize": ["title", "upper"],
    "swapcase": ["lower", "upper"], "strip": ["lstrip", "rstrip"], "lstrip": ["strip", "rstrip"],
    "rstrip": ["strip", "lstrip"], "isdigit": ["isalpha", "isnumeric", "isalnum"],
    "isalpha": ["isdigit", "isalnum"], "isalnum": ["isalpha", "isdigit"],
    "isnumeric": ["isdigit"], "isspace": ["isalpha"], "index": ["find", "count"],
    "find": ["index", "rfind"], "rfind": ["find", "rindex"], "count": ["index"],
    "keys": ["values", "items"], "values": ["keys", "items"], "items": ["keys", "values"],
    "append": ["extend", "add"], "extend": ["append", "update"], "add": ["append", "update"],
    "remove": ["pop", "discard"], "pop": ["remove"], "insert": ["append"],
    "startswith": ["endswith"], "endswith": ["startswith"], "split": ["rsplit", "partition"],
    "join": ["split"], "sort": ["reverse"], "reverse": ["sort"],
    "floor": ["ceil", "trunc"], "ceil": ["floor"], "trunc": ["floor", "ceil"],
    "push": ["append"], "unshift": ["insert"], "shift": ["pop"],  # other languages' names
}
#: Siblings of the ``operator`` module's functions (``reduce(operator.and_, ...)``).
OPERATOR_FUNCS = {
    "and_": ["or_", "xor"], "or_": ["and_", "xor"], "xor": ["or_", "and_"],
    "add": ["sub", "mul"], "sub": ["add"], "mul": ["add", "truediv", "floordiv"],
    "truediv": ["floordiv", "mul"], "floordiv": ["truediv", "mod"], "mod": ["floordiv"],
    "lt": ["le", "gt"], "le": ["lt", "ge"], "gt": ["ge", "lt"], "ge": ["gt", "le"],
    "eq": ["ne"], "ne": ["eq"], "neg": ["pos", "abs"], "pos": ["neg"],
}
#: Siblings of a builtin called with the same arguments.
BUILTINS = {
    "min": ["max", "sum"], "max": ["min", "sum"], "sum": ["max", "min", "len"],
    "len": ["sum", "max"], "any": ["all"], "all": ["any"], "sorted": ["reversed", "set", "list"],
    "reversed": ["sorted"], "set": ["list", "sorted"], "list": ["set", "sorted", "tuple"],
    "tuple": ["list"], "int": ["float", "round", "abs"], "float": ["int"],
    "round": ["int", "abs"], "abs": ["int", "round"], "str": ["repr"], "chr": ["ord"],
    "ord": ["chr"], "bin": ["hex", "oct"], "hex": ["bin", "oct"], "filter": ["map"],
    "map": ["filter"],
}
_AUG = {ast.Add: "+=", ast.Sub: "-=", ast.Mult: "*=", ast.Div: "/=", ast.FloorDiv: "//=",
        ast.Mod: "%=", ast.Pow: "**="}
_BIN = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
        ast.Mod: "%", ast.Pow: "**", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^",
        ast.LShift: "<<", ast.RShift: ">>"}


def operator_span(site: Site, left: ast.AST, right: ast.AST) -> tuple[int, int, str] | None:
    """Character offsets and text of the operator token between two operands (past any
    parentheses, spaces and comments), or None."""
    src = site.source
    i, stop = site.text.span(left)[1], site.text.span(right)[0]
    while i < stop:
        if src[i] in " \t\r\n\\()":
            i += 1
        elif src[i] == "#":
            while i < stop and src[i] != "\n":
                i += 1
        else:
            break
    match = _OPERATOR.match(src, i, stop)
    return (match.start(), match.end(), " ".join(match.group().split())) if match else None


def _others(op: str) -> list[str]:
    for kind in (ARITH, BITWISE, COMPARE):
        if op in kind:
            return [o for o in kind if o != op]
    return []


def _swap_at(site: Site, left: ast.AST, right: ast.AST, options=None) -> Iterator[Candidate]:
    found = operator_span(site, left, right)
    if found is None:
        return
    a, b, op = found
    for new in options if options is not None else _others(op):
        yield site.candidate(site.replace_span(a, b, new), "operator_replace",
                             f"{op} -> {new} at line {site.text.position(a)[0]}", size=1)


def operator_replace(site: Site) -> Iterator[Candidate]:
    stmt = site.stmt
    if isinstance(stmt, ast.AugAssign) and type(stmt.op) in _AUG and site.on_line(stmt.value):
        op = _AUG[type(stmt.op)]
        yield from _swap_at(site, stmt.target, stmt.value, [o for o in _AUG.values() if o != op])
    for node in site.line_nodes():
        if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
            yield from _swap_at(site, node.left, node.right)
        elif isinstance(node, ast.Compare):
            for left, right in zip([node.left, *node.comparators], node.comparators):
                yield from _swap_at(site, left, right)


def bool_op_all(site: Site) -> Iterator[Candidate]:
    for node in site.line_nodes():
        if not isinstance(node, ast.BoolOp) or len(node.values) < 3:
            continue  # with two operands the mutation's one flip is the same edit
        new_op = "or" if isinstance(node.op, ast.And) else "and"
        text = site.source
        spans = [operator_span(site, l, r) for l, r in zip(node.values, node.values[1:])]
        if any(s is None for s in spans):
            continue
        for a, b, _ in sorted(spans, reverse=True):  # from the end: earlier offsets stay valid
            text = text[:a] + new_op + text[b:]
        yield site.candidate(text, "bool_op_all", f"every {'and' if new_op == 'or' else 'or'} "
                             f"-> {new_op} in {site.segment(node)}", size=len(spans))


def call_swap(site: Site) -> Iterator[Candidate]:
    for node in site.line_nodes():
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == "operator" and node.attr in OPERATOR_FUNCS:
            for new in OPERATOR_FUNCS[node.attr]:
                yield site.candidate(site.replace(node, f"operator.{new}"), "call_swap",
                                     f"operator.{node.attr} -> operator.{new}", size=1)
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in BUILTINS and func.id not in site.locals:
            for new in BUILTINS[func.id]:
                yield site.candidate(site.replace(func, new), "call_swap",
                                     f"{func.id}() -> {new}()", size=1)
        elif isinstance(func, ast.Attribute) and func.attr in METHODS:
            b = site.text.span(func)[1]
            start = b - len(func.attr)
            for new in METHODS[func.attr]:
                yield site.candidate(site.replace_span(start, b, new), "call_swap",
                                     f".{func.attr}() -> .{new}()", size=1)


_ORDERED = {"sorted", "sort", "min", "max"}
MAX_FILL = 4


def _arity(site: Site) -> dict[str, tuple[int, list[str]]]:
    """Module functions: (the least positional arguments they need, their parameter names)."""
    out = {}
    for node in site.tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            params = [a.arg for a in node.args.posonlyargs + node.args.args]
            out[node.name] = (len(params) - len(node.args.defaults), params)
    return out


def call_argument(site: Site) -> Iterator[Candidate]:
    """An argument too many or too few: one dropped from a call, ``reverse=True`` added to a
    sort, a missing argument of a module function filled with a local (its parameter's name
    first)."""
    arity = _arity(site)
    for node in site.line_nodes():
        if not isinstance(node, ast.Call) or "\n" in site.segment(node):
            continue
        parts = [*node.args, *node.keywords]
        if any(isinstance(p, ast.Starred) or isinstance(p, ast.keyword) and p.arg is None
               for p in parts):
            continue
        texts = [site.segment(p) for p in parts]
        func = site.segment(node.func)
        if len(parts) >= 2 or node.keywords:
            for k in range(len(parts)):
                new = f"{func}({', '.join(texts[:k] + texts[k + 1:])})"
                yield site.candidate(site.replace(node, new), "call_argument",
                                     f"drop {texts[k]} from {func}()", size=len(texts[k]))
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if name in _ORDERED and not any(k.arg == "reverse" for k in node.keywords) \
                and (name != "sorted" or len(node.args) == 1):
            new = f"{func}({', '.join(texts + ['reverse=True'])})"
            yield site.candidate(site.replace(node, new), "call_argument",
                                 f"{func}() sorted in reverse", size=12)
        if isinstance(node.func, ast.Name) and name in arity and not node.keywords \
                and len(node.args) < arity[name][0]:
            wanted = arity[name][1][len(node.args)]
            fills = [wanted] if wanted in site.locals else []
            fills += [n for n in site.locals if n != wanted][:MAX_FILL]
            for fill in fills:
                new = f"{func}({', '.join(texts[:len(node.args)] + [fill])})"
                yield site.candidate(site.replace(node, new), "call_argument",
                                     f"pass {fill} to {func}()", size=len(fill))


FAMILIES = {
    "operator_replace": operator_replace,
    "call_argument": call_argument,
    "bool_op_all": bool_op_all,
    "call_swap": call_swap,
}
