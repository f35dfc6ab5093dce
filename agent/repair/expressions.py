"""Expression repair over the names in scope at a suspicious line.

Families (each yields candidates only for the nodes on the site's line):

- ``replace_name``: a name read -> another local, parameter or ``self`` attribute;
- ``plus_minus_one``: ``e`` -> ``e + 1`` / ``e - 1`` on integer-valued sub-expressions (indices,
  slice bounds, ``range`` and ``len``, operands compared with them);
- ``swap_pair``: ``a[i][j]`` -> ``a[j][i]``, ``a[i, j]`` -> ``a[j, i]``, ``a < b`` -> ``b < a``,
  ``[a, b]`` -> ``[b, a]`` (also the targets of a tuple assignment);
- ``wrap_call``: ``e`` -> ``abs(e)``, ``len(e)``, ``max(e, 0)``, ``min(e, n)``, ``max(e, n)``;
- ``extend_return``: ``return a`` -> ``return a, b``; drop one value of a returned tuple;
- ``aug_assign_form``: ``x = e`` <-> ``x += e`` (and ``-=``, ``*=``);
- ``power``: ``a * b`` <-> ``a ** b``, ``e`` -> ``e ** 2``;
- ``slice_iteration``: ``for x in xs`` -> ``xs[1:]``, ``xs[:-1]``, ``xs[::-1]``, ``reversed(xs)``,
  ``sorted(xs)``; ``range(n)`` -> ``range(1, n)``, ``range(a, b)`` -> ``range(b)`` and backwards;
- ``drop_operand``: ``a - b + c`` -> ``b + c`` / ``a + c``, ``a * b`` -> ``b``, ``x if c else y``
  -> ``y``, ``a and b and c`` -> ``a and c``, ``(1, 2, 3)`` -> ``(1, 3)``;
- ``replace_target``: the name a statement assigns -> another local;
- ``regroup``: ``a * b // c`` -> ``a * (b // c)`` and back (operator precedence);
- ``flow_swap``: ``break`` <-> ``continue``;
- ``string_literal``: ``" "`` <-> ``""``, a literal with its stray outer spaces stripped, a
  repeated character once (``"__"`` -> ``"_"``), the other bracket or sign (``"<"`` -> ``">"``),
  another case, another literal of the function or module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from agent.repair.site import Candidate, Site
from envs.mutations import walk

_VALUE = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.BinOp)
_ATOMIC = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant)
_INT_FUNCS = {"len", "range", "int", "min", "max", "sum", "abs", "round", "enumerate"}


def _paren(site: Site, node: ast.AST) -> str:
    text = site.segment(node)
    return text if isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript,
                                     ast.Constant)) else f"({text})"


def _called(site: Site, node: ast.AST) -> bool:
    parent = site.parents.get(node)
    return isinstance(parent, ast.Call) and parent.func is node


def _stored(node: ast.AST) -> bool:
    return isinstance(getattr(node, "ctx", None), (ast.Store, ast.Del))


def replace_name(site: Site) -> Iterator[Candidate]:
    names = site.value_names()
    for node in site.line_nodes():
        if isinstance(node, ast.Name) and not _stored(node) and not _called(site, node):
            if node.id not in site.locals:
                continue
            options = [n for n in names if n != node.id]
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and node.value.id == "self" and not _stored(node) and not _called(site, node)):
            options = [n for n in names if n != f"self.{node.attr}"]
        else:
            continue
        old = site.segment(node)
        for new in options:
            yield site.candidate(site.replace(node, new), "replace_name", f"{old} -> {new}",
                                 size=len(new))


def replace_target(site: Site) -> Iterator[Candidate]:
    """The name a statement assigns (or a loop binds) -> another local (``max_depth -= 1`` for
    ``depth -= 1``)."""
    stmt = site.stmt
    if isinstance(stmt, ast.AugAssign):
        targets = [stmt.target]
    elif isinstance(stmt, ast.Assign):
        targets = [n for t in stmt.targets for n in ([t] if isinstance(t, ast.Name) else
                                                     getattr(t, "elts", []))]
    elif isinstance(stmt, (ast.For, ast.AsyncFor)):
        targets = [stmt.target] if isinstance(stmt.target, ast.Name) else getattr(
            stmt.target, "elts", [])
    else:
        return
    for node in targets:
        if not isinstance(node, ast.Name):
            continue
        for new in site.locals:
            if new != node.id:
                yield site.candidate(site.replace(node, new), "replace_target",
                                     f"{node.id} = -> {new} =", size=len(new))


def _int_valued(site: Site) -> list[ast.AST]:
    """Sub-expressions on the line that very likely hold integers (and a name the line also
    reads as ``name + k``: ``i not in d and i + 1 not in d`` reads ``i`` as a number)."""
    found = []
    counted = {n.left.id for n in site.line_nodes() if isinstance(n, ast.BinOp)
               and isinstance(n.op, (ast.Add, ast.Sub)) and isinstance(n.left, ast.Name)
               and _looks_int(n.right)}
    for node in site.line_nodes():
        if isinstance(node, ast.Name) and node.id in counted and isinstance(node.ctx, ast.Load) \
                and not (isinstance(site.parents.get(node), ast.BinOp)
                         and site.parents[node].left is node):
            found.append(node)
        if isinstance(node, ast.Subscript) and not isinstance(node.slice, (ast.Slice, ast.Tuple)):
            if not (isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)):
                found.append(node.slice)
        elif isinstance(node, ast.Slice):
            found += [b for b in (node.lower, node.upper) if b is not None]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "range":
                found += node.args
            if node.func.id == "len":
                found.append(node)
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_looks_int(o) or _arith(o) for o in operands):
                found += [o for o in operands if isinstance(o, _VALUE)]
        elif _arith(node):
            found.append(node)  # a sum or difference: the whole may be one off
            if _looks_int(node.left) or _looks_int(node.right):
                found += [o for o in (node.left, node.right) if isinstance(o, _VALUE)]
    return list({id(n): n for n in found}.values())


def _arith(node: ast.AST) -> bool:
    return isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.FloorDiv,
                                                                ast.Mod))


def _looks_int(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return type(node.value) is int
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in _INT_FUNCS)


def plus_minus_one(site: Site) -> Iterator[Candidate]:
    for node in _int_valued(site):
        if isinstance(node, ast.Constant):
            continue  # int_constant (envs.mutations) already moves literals
        old = site.segment(node)
        inner = old if isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)) \
            else f"({old})"
        for delta in ("+ 1", "- 1"):
            new = f"{inner} {delta}"
            yield site.candidate(site.replace(node, new), "plus_minus_one", f"{old} -> {new}",
                                 size=3)


def swap_pair(site: Site) -> Iterator[Candidate]:
    for node in site.line_nodes():
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Subscript)
                and not isinstance(node.slice, ast.Slice)
                and not isinstance(node.value.slice, ast.Slice)):
            i, j = site.segment(node.value.slice), site.segment(node.slice)
            base = site.segment(node.value.value)
            new = f"{base}[{j}][{i}]"
            yield site.candidate(site.replace(node, new), "swap_pair",
                                 f"{site.segment(node)} -> {new}", size=len(i) + len(j))
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple) \
                and len(node.slice.elts) == 2:
            a, b = (site.segment(e) for e in node.slice.elts)
            new = f"{site.segment(node.value)}[{b}, {a}]"
            yield site.candidate(site.replace(node, new), "swap_pair",
                                 f"{site.segment(node)} -> {new}", size=len(a) + len(b))
        elif isinstance(node, (ast.List, ast.Tuple)) and 2 <= len(node.elts) <= 4 and not any(
                isinstance(e, ast.Starred) for e in node.elts):
            yield from _swap_elements(site, node)
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(
                node.ops[0], (ast.Lt, ast.LtE, ast.Gt, ast.GtE)):
            a, b = site.segment(node.left), site.segment(node.comparators[0])
            op = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}[type(node.ops[0])]
            new = f"{b} {op} {a}"
            yield site.candidate(site.replace(node, new), "swap_pair",
                                 f"{site.segment(node)} -> {new}", size=len(a) + len(b))


def _swap_elements(site: Site, node: ast.List | ast.Tuple) -> Iterator[Candidate]:
    """Two neighbouring elements of a list or tuple (``[index, value]`` for ``[value, index]``,
    ``day, month = ...`` for ``month, day = ...``) exchanged."""
    for first, second in zip(node.elts, node.elts[1:]):
        (fa, fb), (sa, sb) = site.text.span(first), site.text.span(second)
        a, b = site.source[fa:fb], site.source[sa:sb]
        if a == b or "\n" in site.source[fa:sb]:
            continue
        new = site.replace_span(fa, sb, b + site.source[fb:sa] + a)
        yield site.candidate(new, "swap_pair", f"swap {a} and {b}", size=len(a) + len(b))


def wrap_call(site: Site) -> Iterator[Candidate]:
    line_names = [n.id for n in site.line_nodes() if isinstance(n, ast.Name)
                  and n.id in site.locals]
    for node in site.line_nodes():
        if not isinstance(node, _VALUE) or _stored(node) or _called(site, node):
            continue
        if isinstance(site.parents.get(node), (ast.Attribute, ast.Subscript)):
            continue  # `len(x).y` and `abs(x)[i]` make no sense; wrap the whole instead
        old = site.segment(node)
        if "\n" in old:
            continue
        wraps = [f"abs({old})", f"max({old}, 0)", f"-{_paren(site, node)}"]
        if isinstance(node, (ast.Name, ast.Attribute, ast.Call)):
            wraps.append(f"len({old})")
        for other in dict.fromkeys(line_names):
            if other != old:
                wraps += [f"min({old}, {other})", f"max({old}, {other})"]
        for new in wraps:
            yield site.candidate(site.replace(node, new), "wrap_call", f"{old} -> {new}",
                                 size=len(new) - len(old))


def extend_return(site: Site) -> Iterator[Candidate]:
    stmt = site.stmt
    if not isinstance(stmt, ast.Return) or stmt.value is None:
        return
    value = stmt.value
    old = site.segment(value)
    if "\n" in old:
        return
    if isinstance(value, ast.Tuple):
        elts = [site.segment(e) for e in value.elts]
        for k in range(len(elts)):
            kept = elts[:k] + elts[k + 1:]
            new = ", ".join(kept) if len(kept) != 1 else kept[0]
            yield site.candidate(site.replace(value, new), "extend_return",
                                 f"return {old} -> return {new}", size=len(elts[k]))
    else:
        elts = [old]
    for name in site.value_names():
        if name not in elts:
            new = ", ".join(elts + [name])
            yield site.candidate(site.replace(value, new), "extend_return",
                                 f"return {old} -> return {new}", size=len(name))


_AUG = {ast.Add: "+=", ast.Sub: "-=", ast.Mult: "*="}


def aug_assign_form(site: Site) -> Iterator[Candidate]:
    stmt = site.stmt
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(
            stmt.targets[0], (ast.Name, ast.Attribute, ast.Subscript)):
        target, value = site.segment(stmt.targets[0]), site.segment(stmt.value)
        for op in _AUG.values():
            new = f"{target} {op} {value}"
            yield site.candidate(site.replace(stmt, new), "aug_assign_form",
                                 f"= -> {op}", size=1)
    elif isinstance(stmt, ast.AugAssign):
        target, value = site.segment(stmt.target), site.segment(stmt.value)
        yield site.candidate(site.replace(stmt, f"{target} = {value}"), "aug_assign_form",
                             f"{_AUG.get(type(stmt.op), 'op=')} -> =", size=1)


def power(site: Site) -> Iterator[Candidate]:
    for node in site.line_nodes():
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Pow)):
            a, b = _paren(site, node.left), _paren(site, node.right)
            op = "**" if isinstance(node.op, ast.Mult) else "*"
            new = f"{a} {op} {b}"
            yield site.candidate(site.replace(node, new), "power",
                                 f"{site.segment(node)} -> {new}", size=2)
        elif isinstance(node, (ast.Name, ast.Attribute)) and not _stored(node) \
                and not _called(site, node) and isinstance(site.parents.get(node), ast.BinOp):
            old = site.segment(node)
            yield site.candidate(site.replace(node, f"{old} ** 2"), "power",
                                 f"{old} -> {old} ** 2", size=4)


def slice_iteration(site: Site) -> Iterator[Candidate]:
    iters = []
    stmt = site.stmt
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        iters.append(stmt.iter)
    for node in site.line_nodes():
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            iters += [g.iter for g in node.generators]
    for it in iters:
        old = site.segment(it)
        if "\n" in old:
            continue
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range":
            args = [site.segment(a) for a in it.args]
            bounds = []
            if len(args) == 1:
                bounds = [f"range(1, {args[0]})"]
            elif len(args) == 2:
                bounds = [f"range({args[1]})", f"range({args[1]} - 1, {args[0]} - 1, -1)"]
            for new in bounds:  # from 1; from 0 again; the same bounds backwards
                yield site.candidate(site.replace(it, new), "slice_iteration",
                                     f"{old} -> {new}", size=3)
        base = _paren(site, it)
        for new in (f"{base}[1:]", f"{base}[:-1]", f"{base}[::-1]", f"reversed({old})",
                    f"sorted({old})"):
            yield site.candidate(site.replace(it, new), "slice_iteration", f"{old} -> {new}",
                                 size=len(new) - len(old))


def drop_operand(site: Site) -> Iterator[Candidate]:
    """One term too many: an operand of an arithmetic or boolean chain, a branch of a
    conditional expression, an element of a literal collection."""
    for node in site.line_nodes():
        if "\n" in site.segment(node):
            continue
        if isinstance(node, ast.BinOp):
            parts = [node.left, node.right]
            if isinstance(node.left, ast.BinOp) and type(node.op) in _OPS \
                    and type(node.left.op) in _OPS:  # a - b + c -> b + c, a + c, a - c
                a, b, c = node.left.left, node.left.right, node.right
                parts += [f"{_paren(site, b)} {_OPS[type(node.op)]} {_paren(site, c)}",
                          f"{_paren(site, a)} {_OPS[type(node.op)]} {_paren(site, c)}",
                          f"{_paren(site, a)} {_OPS[type(node.left.op)]} {_paren(site, c)}"]
        elif isinstance(node, ast.IfExp):
            parts = [node.body, node.orelse]
        elif isinstance(node, ast.BoolOp):
            op = " and " if isinstance(node.op, ast.And) else " or "
            parts = [op.join(_paren(site, v) if isinstance(v, (ast.BoolOp, ast.IfExp))
                             else site.segment(v) for v in node.values if v is not dropped)
                     for dropped in node.values]
        elif isinstance(node, (ast.List, ast.Tuple, ast.Set)) and 2 <= len(node.elts) <= 12 \
                and not isinstance(getattr(node, "ctx", None), ast.Store):
            yield from _drop_element(site, node)
            continue
        else:
            continue
        old = site.segment(node)
        wrap = isinstance(site.parents.get(node), (ast.BinOp, ast.UnaryOp, ast.Compare,
                                                   ast.Attribute, ast.Subscript, ast.BoolOp))
        for part in parts:
            new = part if isinstance(part, str) else site.segment(part)
            if wrap and (isinstance(part, str) or not isinstance(part, _ATOMIC)):
                new = f"({new})"  # parentheses keep the AST right inside another operator
            yield site.candidate(site.replace(node, new), "drop_operand", f"{old} -> {new}",
                                 size=len(old) - len(new),
                                 disables=isinstance(node, ast.BoolOp))  # a removed condition


def _drop_element(site: Site, node: ast.List | ast.Tuple | ast.Set) -> Iterator[Candidate]:
    """``(1, 2, 3, 5)`` -> ``(1, 3, 5)``: an element that should not be there."""
    elts = node.elts
    for k, elt in enumerate(elts):
        a, _ = site.text.span(elt)
        # cut from this element's start to the next one's (the last: from the previous end)
        if k + 1 < len(elts):
            b = site.text.span(elts[k + 1])[0]
        else:
            a, b = site.text.span(elts[k - 1])[1], site.text.span(elt)[1]
        text = site.replace_span(a, b, "")
        yield site.candidate(text, "drop_operand", f"drop {site.segment(elt)} from "
                             f"{site.segment(node)[:40]}", size=b - a)


_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
        ast.Mod: "%", ast.Pow: "**", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^",
        ast.LShift: "<<", ast.RShift: ">>"}


def regroup(site: Site) -> Iterator[Candidate]:
    for node in site.line_nodes():
        if not isinstance(node, ast.BinOp) or type(node.op) not in _OPS:
            continue
        old = site.segment(node)
        if isinstance(node.left, ast.BinOp) and type(node.left.op) in _OPS:
            a, b, c = node.left.left, node.left.right, node.right
            new = (f"{_paren(site, a)} {_OPS[type(node.left.op)]} ({site.segment(b)} "
                   f"{_OPS[type(node.op)]} {_paren(site, c)})")
        elif isinstance(node.right, ast.BinOp) and type(node.right.op) in _OPS:
            a, b, c = node.left, node.right.left, node.right.right
            new = (f"({_paren(site, a)} {_OPS[type(node.op)]} {_paren(site, b)}) "
                   f"{_OPS[type(node.right.op)]} {_paren(site, c)}")
        else:
            continue
        yield site.candidate(site.replace(node, new), "regroup", f"{old} -> {new}", size=2)


def flow_swap(site: Site) -> Iterator[Candidate]:
    stmt = site.stmt
    swap = {ast.Break: "continue", ast.Continue: "break"}
    if type(stmt) in swap:
        new = swap[type(stmt)]
        yield site.candidate(site.replace(stmt, new), "flow_swap",
                             f"{site.segment(stmt)} -> {new}", size=1)


MAX_LITERALS = 8
#: A one-character literal's counterparts: the other side of a bracket, the other bracket kind,
#: the opposite sign or digit.
_MIRRORS = {"<": [">", "("], ">": ["<", ")"], "(": [")", "[", "{", "<"], ")": ["(", "]", "}", ">"],
            "[": ["]", "(", "{"], "]": ["[", ")", "}"], "{": ["}", "(", "["], "}": ["{", ")", "]"],
            "+": ["-"], "-": ["+", "_"], "_": ["-", " "], "0": ["1"], "1": ["0"]}


def _literal_pool(site: Site) -> list[str]:
    """Short one-line string literals of the function, then of the module (not docstrings,
    not parts of f-strings), nearest first."""
    out = []
    scopes = ([site.func] if site.func is not None else []) + [site.tree]
    for scope in scopes:
        for node in walk(scope):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and len(node.value) <= 20 and "\n" not in node.value
                    and not isinstance(site.parents.get(node), (ast.JoinedStr, ast.Expr))):
                out.append(node.value)
    return list(dict.fromkeys(out))[:MAX_LITERALS]


def string_literal(site: Site) -> Iterator[Candidate]:
    pool = None
    for node in site.line_nodes():
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        if isinstance(site.parents.get(node), ast.JoinedStr):
            continue
        value = node.value
        options = []
        if value in ("", " "):
            options.append(" " if value == "" else "")
        elif value != value.strip() and value.strip():
            options.append(value.strip())
        if len(value) > 1 and len(set(value)) == 1:
            options.append(value[0])  # "__" -> "_"
        options += _MIRRORS.get(value, [])
        options += [v for v in (value.upper(), value.lower(), value.swapcase()) if v != value]
        pool = _literal_pool(site) if pool is None else pool
        options += [other for other in pool if other != value]  # "(" -> "[" of the function
        twins = _same_literals(site, node)
        for new_value in dict.fromkeys(options):
            new = repr(new_value)
            yield site.candidate(site.replace(node, new), "string_literal",
                                 f"{site.segment(node)} -> {new}", size=1)
            if len(twins) > 1:  # the same wrong literal written everywhere in the function
                text = site.source
                for a, b in sorted((site.text.span(t) for t in twins), reverse=True):
                    text = text[:a] + new + text[b:]
                yield site.candidate(text, "string_literal", f"every {site.segment(node)} of "
                                     f"the function -> {new}", size=len(twins))


def _same_literals(site: Site, node: ast.Constant) -> list[ast.Constant]:
    if site.func is None:
        return []
    return [n for n in ast.walk(site.func) if isinstance(n, ast.Constant)
            and type(n.value) is str and n.value == node.value
            and not isinstance(site.parents.get(n), (ast.JoinedStr, ast.Expr))]


FAMILIES = {
    "replace_name": replace_name,
    "plus_minus_one": plus_minus_one,
    "swap_pair": swap_pair,
    "wrap_call": wrap_call,
    "extend_return": extend_return,
    "aug_assign_form": aug_assign_form,
    "power": power,
    "slice_iteration": slice_iteration,
    "drop_operand": drop_operand,
    "replace_target": replace_target,
    "regroup": regroup,
    "flow_swap": flow_swap,
    "string_literal": string_literal,
}
