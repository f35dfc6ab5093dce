"""Calls, attributes and the objects they work on: the value is right, the way it is reached is not.

- ``call_attribute``: ``x.a`` -> ``x.a()`` where the program calls ``.a()`` with no argument
  elsewhere (a method read as if it were a property), and ``x.a()`` -> ``x.a`` where it reads
  ``.a`` uncalled elsewhere;
- ``type_self``: a class of the module named inside a method (``Version``, ``Version(...)``) ->
  ``type(self)``: a subclass instance should build or compare against its own class;
- ``call_to_local``: a call on the line -> a local bound before it to a call of the same
  function (``Parser(format)`` built twice, the first one, ``p``, configured): the object was
  already at hand;
- ``subscript_get``: ``d[k]`` -> ``d.get(k)`` (a missing key reads as None) and back;
- ``compare_like``: ``a < b.m()`` -> ``x.m() < b.m()`` for names ``x`` used near the line
  (``a`` first): both sides of a comparison measured the same way;
- ``drop_parameter``: at a def line that a call's TypeError points at (``f() missing 1
  required positional argument``, ``signature_lines``), a parameter the callers never pass
  removed, its reads renamed to a parameter the body never reads.

Each needs evidence from the program (a call seen elsewhere, a class of the module, a local
built by the same function, a method call on the other side), so each is silent on most lines.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from agent.repair.site import Candidate, Site
from envs.mutations import node_memo, parsed, walk

MAX_NEAR = 8
NEAR_LINES = 3
"""Names used within this many lines of the site come first among those ``compare_like`` tries."""


def _loaded(site: Site, node: ast.AST) -> bool:
    """A value read on the line, whatever its parent (a receiver or an argument alike)."""
    return isinstance(getattr(node, "ctx", ast.Load()), ast.Load) and "\n" not in site.segment(node)


def _callee(site: Site, node: ast.AST) -> bool:
    parent = site.parents.get(node)
    return isinstance(parent, ast.Call) and parent.func is node


@node_memo
def _attribute_uses(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Attribute names the module calls with no argument (``.a()``), and those it reads uncalled
    (once per shared tree)."""
    called, read, props = set(), set(), set()
    callees = {id(n.func) for n in walk(tree) if isinstance(n, ast.Call)}
    for node in walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and not node.args and not node.keywords:
            called.add(node.func.attr)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) \
                and id(node) not in callees:
            read.add(node.attr)
    for cls in walk(tree):  # a method taking only self is called, a property is read
        if isinstance(cls, ast.ClassDef):
            for item in cls.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    if any(isinstance(d, ast.Name) and d.id in ("property", "cached_property")
                           for d in item.decorator_list):
                        props.add(item.name)
                    elif len(item.args.args) == 1 and not item.args.vararg:
                        called.add(item.name)
    return called - props, read | props


def call_attribute(site: Site) -> Iterator[Candidate]:
    called, read = _attribute_uses(site.tree)
    for node in site.line_nodes():
        if not isinstance(node, ast.Attribute) or not _loaded(site, node):
            continue
        parent = site.parents.get(node)
        if _callee(site, node):
            if not parent.args and not parent.keywords and node.attr in read \
                    and node.attr not in called:
                yield site.candidate(site.replace(parent, site.segment(node)), "call_attribute",
                                     f"{site.segment(parent)} -> {site.segment(node)}", size=2)
        elif node.attr in called and not isinstance(parent, ast.Attribute):
            new = f"{site.segment(node)}()"
            yield site.candidate(site.replace(node, new), "call_attribute",
                                 f"{site.segment(node)} -> {new}", size=2)


def _module_classes(site: Site) -> set[str]:
    return {n.name for n in site.tree.body if isinstance(n, ast.ClassDef)}


def type_self(site: Site) -> Iterator[Candidate]:
    func = site.func
    if func is None or not func.args.args or func.args.args[0].arg not in ("self", "cls"):
        return
    first = func.args.args[0].arg
    own = "cls" if first == "cls" else "type(self)"
    classes = _module_classes(site)
    for node in site.line_nodes():
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in classes:
            parent = site.parents.get(node)
            if isinstance(parent, ast.Call) and parent.func is not node \
                    and isinstance(parent.func, ast.Name) and parent.func.id in (
                        "isinstance", "issubclass", "super"):
                continue  # isinstance(x, Base) usually means the base, not the subclass
            yield site.candidate(site.replace(node, own), "type_self", f"{node.id} -> {own}",
                                 size=len(own))


def _bound_calls(site: Site) -> dict[str, str]:
    """Callee text -> the local a statement before the line binds to a call of it (the latest)."""
    out: dict[str, str] = {}
    scope = site.func
    if scope is None or site.stmt is None:
        return out
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call) \
                and node.end_lineno < site.stmt.lineno:
            key = site.segment(node.value.func)
            if key not in out or out[key][0] < node.lineno:
                out[key] = (node.lineno, node.targets[0].id)
    return {k: v[1] for k, v in out.items()}


def call_to_local(site: Site) -> Iterator[Candidate]:
    bound = _bound_calls(site)
    if not bound:
        return
    for node in site.line_nodes():
        if isinstance(node, ast.Call) and _loaded(site, node):
            name = bound.get(site.segment(node.func))
            if name is not None:
                yield site.candidate(site.replace(node, name), "call_to_local",
                                     f"{site.segment(node)[:40]} -> {name}", size=len(name))


def subscript_get(site: Site) -> Iterator[Candidate]:
    for node in site.line_nodes():
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) \
                and not isinstance(node.slice, (ast.Slice, ast.Tuple)) \
                and not (isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, int)) \
                and not isinstance(node.slice, (ast.UnaryOp, ast.BinOp)) \
                and "\n" not in site.segment(node):
            new = f"{site.segment(node.value)}.get({site.segment(node.slice)})"
            yield site.candidate(site.replace(node, new), "subscript_get",
                                 f"{site.segment(node)} -> {new}", size=5)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "get" and len(node.args) == 1 and not node.keywords \
                and not isinstance(node.args[0], ast.Starred) and "\n" not in site.segment(node):
            new = f"{site.segment(node.func.value)}[{site.segment(node.args[0])}]"
            yield site.candidate(site.replace(node, new), "subscript_get",
                                 f"{site.segment(node)} -> {new}", size=5)


def near_names(site: Site) -> list[str]:
    """Locals and ``self.X`` read or bound within ``NEAR_LINES`` lines of the site, nearest
    first, then the rest of ``Site.value_names``."""
    values = [n for n in site.value_names() if n not in ("self", "cls")]
    known, place = set(values), {n: i for i, n in reversed(list(enumerate(values)))}
    seen: dict[str, int] = {}
    for node in walk(site.func or site.tree):
        if not hasattr(node, "lineno") or abs(node.lineno - site.line) > NEAR_LINES:
            continue
        text = None
        if isinstance(node, ast.Name):
            text = node.id
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == "self":
            text = f"self.{node.attr}"
        if text in known:
            distance = abs(node.lineno - site.line)
            seen[text] = min(seen.get(text, distance), distance)
    near = sorted(seen, key=lambda n: (seen[n], place[n]))
    return list(dict.fromkeys(near + values))


def compare_like(site: Site) -> Iterator[Candidate]:
    for node in site.line_nodes():
        if not isinstance(node, ast.Compare) or len(node.ops) != 1:
            continue
        sides = [node.left, node.comparators[0]]
        for k, side in enumerate(sides):
            other = sides[1 - k]
            if not (isinstance(other, ast.Call) and isinstance(other.func, ast.Attribute)) \
                    or isinstance(side, (ast.Call, ast.Constant)) or "\n" in site.segment(side):
                continue
            tail = site.segment(other)[len(site.segment(other.func.value)):]  # ".m(...)"
            mine, receiver = site.segment(side), site.segment(other.func.value)
            names = [n for n in near_names(site) if n not in (mine, receiver)]
            for name in [mine] + names[:MAX_NEAR]:
                new = f"{name}{tail}"
                yield site.candidate(site.replace(side, new), "compare_like",
                                     f"{mine} -> {new}", size=len(new))


SIGNATURE = re.compile(r"(?P<name>\w+)\(\) (?:missing \d+ required (?:positional|keyword-only) "
                       r"argument|takes (?:from )?\d+ (?:to \d+ )?positional argument)")
"""A call that does not fit the signature (``f() missing 1 required positional argument``,
``f() takes 2 positional arguments but 3 were given``): the def line is where to look."""


def signature_lines(source: str, texts) -> list[int]:
    """The def lines of the functions of ``source`` that ``texts`` (failing tests' outputs)
    name in a TypeError of a call that does not fit their signature."""
    named = {m["name"] for text in texts for m in SIGNATURE.finditer(text)}
    if not named:
        return []
    try:
        tree = parsed(source)
    except (SyntaxError, ValueError):
        return []
    return sorted(n.lineno for n in walk(tree)
                  if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name in named)


def drop_parameter(site: Site) -> Iterator[Candidate]:
    """At a def line: a parameter without a default removed (its callers never pass it); one the
    body reads, removed with its reads renamed to a parameter the body never reads (an extra
    parameter in front of the one the body should have used)."""
    func = site.func
    if func is None or func.lineno != site.line:
        return
    params = [*func.args.posonlyargs, *func.args.args]
    required = params[: len(params) - len(func.args.defaults)]
    if required and required[0].arg in ("self", "cls") and site.cls is not None:
        required = required[1:]
    reads: dict[str, list[ast.Name]] = {}
    for node in walk(func):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            reads.setdefault(node.id, []).append(node)
    unused = [p.arg for p in required if p.arg not in reads]
    for param in required:
        k = params.index(param)
        a, b = site.text.span(param)
        if k + 1 < len(params):
            b = site.text.span(params[k + 1])[0]
        elif k > 0:
            a = site.text.span(params[k - 1])[1]
        else:
            continue  # the only parameter: nothing left to call it with
        if param.arg not in reads:
            yield site.candidate(site.replace_span(a, b, ""), "drop_parameter",
                                 f"parameter {param.arg} removed", size=1)
            continue
        for other in unused:
            spans = [(a, b, "")] + [(*site.text.span(n), other) for n in reads[param.arg]]
            text = site.source
            for x, y, new in sorted(spans, reverse=True):
                text = text[:x] + new + text[y:]
            yield site.candidate(text, "drop_parameter", f"parameter {param.arg} removed, "
                                 f"its reads -> {other}", size=1 + len(reads[param.arg]))


FAMILIES = {
    "call_attribute": call_attribute,
    "type_self": type_self,
    "call_to_local": call_to_local,
    "subscript_get": subscript_get,
    "compare_like": compare_like,
}
DEF_LINE_FAMILIES = {"drop_parameter": drop_parameter}
"""Families for a function's def line (which no statement holds)."""
