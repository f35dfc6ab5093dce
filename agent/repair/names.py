"""Names that do not exist: a misspelled name, attribute or import, replaced by the nearest real one.

What a module "really defines" is read without running the code under repair: a module of the
project is parsed (its top-level bindings), a standard-library module is imported on the host
(it is not the code under repair). Third-party modules that the host lacks are left alone.
Nearness is difflib's ratio.

- ``misspelled_name``: a name read on the line that nothing binds -> the nearest bound name;
- ``misspelled_attribute``: ``module.attr`` / ``self.attr`` that the module or class does not
  define -> the nearest one it does;
- ``misspelled_import``: ``from m import X`` where m lacks X, ``import m`` where m is no module.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import posixpath
import sys
from collections.abc import Iterator
from functools import lru_cache

from agent.repair.site import BUILTIN_NAMES, Candidate, Site, indent_of
from envs.mutations import node_memo, parsed, walk

CUTOFF = 0.6
#: Standard-library modules whose import does something (opens a browser, prints, needs a display).
_NO_IMPORT = {"antigravity", "this", "turtle", "tkinter", "idlelib", "turtledemo"}


def module_bindings(tree: ast.Module) -> set[str]:
    """Every name a module binds anywhere (a superset of its top level, on purpose: a name bound
    in any scope is not reported as undefined)."""
    names = set()
    for node in walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names |= set(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name or isinstance(node, ast.MatchAs) and node.name:
            names.add(node.name)
    return names


@node_memo  # every line of a module asks
def undefined_names(tree: ast.Module) -> list[ast.Name]:
    """Names read that nothing in the module binds and that are not builtins. A star import
    from the standard library binds what that module exports; from anywhere else it may bind
    anything, so then there are none."""
    starred: set[str] = set()
    for node in walk(tree):
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            exported = _star_exports(node.module) if node.module and not node.level else None
            if exported is None:
                return []
            starred |= exported
    bound = module_bindings(tree) | BUILTIN_NAMES | starred | {
        "__file__", "__name__", "__doc__", "__spec__", "__path__", "__builtins__"}
    return [n for n in walk(tree) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load) and n.id not in bound]


def _top_level(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        else:
            names |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                      and isinstance(n.ctx, ast.Store)}
    return names


@lru_cache(maxsize=256)
def _stdlib_names(module: str) -> frozenset[str] | None:
    top = module.split(".")[0]
    if top not in getattr(sys, "stdlib_module_names", ()) or top in _NO_IMPORT:
        return None
    try:
        return frozenset(dir(importlib.import_module(module)))
    except ImportError:
        return None


@lru_cache(maxsize=256)
def _star_exports(module: str) -> frozenset[str] | None:
    """What ``from module import *`` binds, for a standard-library module (None otherwise)."""
    if _stdlib_names(module) is None:
        return None
    found = importlib.import_module(module)
    names = getattr(found, "__all__", None)
    return frozenset(names if names is not None else
                     (n for n in dir(found) if not n.startswith("_")))


def _module_file(site: Site, module: str, level: int = 0) -> str | None:
    """The project file of a module named in an import of the site's file."""
    parts = module.split(".") if module else []
    if level:
        base = posixpath.dirname(site.path)
        for _ in range(level - 1):
            base = posixpath.dirname(base)
        roots = [base]
    else:
        roots = ["", "src"]
    for root in roots:
        stem = posixpath.join(root, *parts) if parts else root
        for path in (stem + ".py", posixpath.join(stem, "__init__.py")):
            path = path.lstrip("/")
            if path in site.package or path == site.path:
                return path
    return None


def defined_by(site: Site, module: str, level: int = 0) -> set[str] | None:
    """The names a module defines (and, for a package, its submodules), or None if unknown."""
    path = _module_file(site, module, level)
    if path is not None:
        text = site.source if path == site.path else site.package[path]
        try:
            names = _top_level(parsed(text))
        except (SyntaxError, ValueError):
            return None
        if path.endswith("__init__.py"):
            folder = posixpath.dirname(path)
            names |= {posixpath.splitext(posixpath.relpath(p, folder))[0].split("/")[0]
                      for p in site.package if p.startswith(folder + "/")}
        return names
    if level == 0:
        names = _stdlib_names(module)
        return set(names) if names is not None else None
    return None


def _nearest(name: str, options) -> list[str]:
    options = [o for o in set(options) if o != name and not (o.startswith("__") and o.endswith("__"))]
    return difflib.get_close_matches(name, sorted(options), n=3, cutoff=CUTOFF)


def misspelled_name(site: Site) -> Iterator[Candidate]:
    """Each name on the line that nothing binds -> the nearest bound name, its Python spelling
    (``null`` -> ``None``), ``self.name`` where the class has that attribute (a ``self.`` left
    out), or, like nothing that exists, ``0`` / ``None``; at this use, and, where the function
    reads it so more than once, at every one of its uses there at once."""
    undefined = {id(n) for n in undefined_names(site.tree)}
    done = set()
    for node in site.line_nodes():
        if not (isinstance(node, ast.Name) and id(node) in undefined) or node.id in done:
            continue
        done.add(node.id)
        options = _nearest(node.id, site.bound)
        if not options and not (isinstance(site.parents.get(node), ast.Call)
                                and site.parents[node].func is node):
            options = ["0", "None"]  # nothing like it exists: a value stood there
        options = [n for n in FOREIGN.get(node.id, ()) if n in site.bound or n[0].isupper()
                   ] + [n for n in options if n not in FOREIGN.get(node.id, ())]
        if node.id in site.self_attributes and site.func is not None and any(
                a.arg == "self" for a in site.func.args.args[:1]):
            options.append(f"self.{node.id}")
        uses = [n for n in walk(site.func or site.tree) if isinstance(n, ast.Name)
                and id(n) in undefined and n.id == node.id]
        for other in options:
            yield site.candidate(site.replace(node, other), "misspelled_name",
                                 f"{node.id} -> {other}", size=1)
            if len(uses) > 1:
                text = site.source
                for a, b in sorted((site.text.span(n) for n in uses), reverse=True):
                    text = text[:a] + other + text[b:]
                yield site.candidate(text, "misspelled_name",
                                     f"{node.id} -> {other} ({len(uses)} uses)", size=len(uses))


FOREIGN = {"this": ("self",), "null": ("None",), "nil": ("None",), "NULL": ("None",),
           "undefined": ("None",), "none": ("None",), "true": ("True",), "false": ("False",)}
"""Other languages' spellings of Python's names (``this`` for ``self``, ``null``)."""

SIBLING_CUTOFF = 0.5


def defined_by_analogy(site: Site) -> Iterator[Candidate]:
    """A name the line reads that nothing binds, assigned as a like-named local of the function
    is (``dp_col`` read beside ``dp_row``, which only ``dp_row = [...]`` defines): the same
    one-line assignment for it, after its sibling's. A definition left out, not a misspelling."""
    if site.func is None:
        return
    undefined = {id(n) for n in undefined_names(site.tree)}
    wanted = dict.fromkeys(n.id for n in site.line_nodes()
                           if isinstance(n, ast.Name) and id(n) in undefined)
    if not wanted:
        return
    assigns = [s for s in walk(site.func) if isinstance(s, ast.Assign) and len(s.targets) == 1
               and isinstance(s.targets[0], ast.Name) and s.lineno == s.end_lineno
               and s.lineno <= site.line]
    for name in wanted:
        for stmt in assigns:
            sibling = stmt.targets[0].id
            if difflib.SequenceMatcher(None, name, sibling).ratio() < SIBLING_CUTOFF:
                continue
            row = stmt.lineno - 1
            new = f"{name} = {site.segment(stmt.value)}"
            yield site.candidate(site.insert(row + 1, [new], indent_of(site.lines[row])),
                                 "defined_by_analogy", f"insert `{new}` after line {row + 1}",
                                 size=len(new))


STAND_INS = ("sum", "len", "max", "min", "sorted", "set", "list")
"""Builtins that may stand in for a helper that does not exist, called with one argument."""


def _class_defines(cls: ast.ClassDef) -> set[str] | None:
    """What ``self.X`` may read in ``cls`` (None when a base class may define more)."""
    if any(not (isinstance(b, ast.Name) and b.id == "object") for b in cls.bases):
        return None
    defined = {n.attr for n in ast.walk(cls) if isinstance(n, ast.Attribute)
               and isinstance(n.ctx, ast.Store)}
    defined |= {s.name for s in cls.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
    defined |= {n.id for s in cls.body if isinstance(s, ast.Assign)
                for t in s.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return defined


def missing_helper(site: Site) -> Iterator[Candidate]:
    """A call of a helper that exists nowhere (``self.count_all(xs)`` in a class that defines no
    such method, ``helper(xs)`` that nothing binds, with no name near it): the function of that
    name the module has (``self.min(a, b)`` -> ``min(a, b)``), or what it was to compute done in
    place, by its argument itself, a builtin of it (``sum(xs)``) or a list of it (another
    language's ``Array(1)``); as a statement of its own,
    every such call in the function removed."""
    undefined = {id(n) for n in undefined_names(site.tree)}
    defined = _class_defines(site.cls) if site.cls is not None else None
    for node in site.line_nodes():
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and id(func) in undefined \
                and not _nearest(func.id, site.bound):
            name = func.id
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                and func.value.id == "self" and defined is not None and func.attr not in defined:
            name = f"self.{func.attr}"
            if func.attr in site.bound:  # `self.min(a, b)`: the builtin or module function
                yield site.candidate(site.replace(func, func.attr), "missing_helper",
                                     f"{name}() -> {func.attr}()", size=1)
        else:
            continue
        parent = site.parents.get(node)
        if isinstance(parent, ast.Expr):
            calls = [s for s in walk(site.func or site.tree) if isinstance(s, ast.Expr)
                     and isinstance(s.value, ast.Call) and ast.dump(s.value.func) == ast.dump(func)]
            text = site.source
            for s in sorted(calls, key=lambda s: s.lineno, reverse=True):
                if s.lineno == s.end_lineno and site.lines[s.lineno - 1].strip() == site.segment(s):
                    lines = text.split("\n")
                    text = "\n".join(lines[: s.lineno - 1] + lines[s.lineno:])
            if text != site.source:
                yield site.candidate(text, "missing_helper", f"the calls of {name}() removed",
                                     size=len(calls))  # they never ran: nothing switched off
            continue
        if len(node.args) != 1 or node.keywords:
            continue
        arg = site.segment(node.args[0])
        for new in (arg, *(f"{f}({arg})" for f in STAND_INS), f"[{arg}]"):  # `Array(1)`
            yield site.candidate(site.replace(node, new), "missing_helper",
                                 f"{name}({arg}) -> {new}", size=len(new))


def _imported_modules(site: Site) -> dict[str, tuple[str, int]]:
    """Local name -> (module, level) for ``import m`` / ``import m as n`` / ``from . import m``."""
    out = {}
    for node in walk(site.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                out[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0], 0)
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}" if node.module else alias.name
                if _module_file(site, sub, node.level) is not None:
                    out[alias.asname or alias.name] = (sub, node.level)
    return out


def misspelled_attribute(site: Site) -> Iterator[Candidate]:
    modules = _imported_modules(site)
    for node in site.line_nodes():
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
            continue
        owner = node.value.id
        if owner == "self" and site.cls is not None:
            defined = _class_defines(site.cls)
            if defined is None:
                continue  # a base class may define it
            if node.attr in defined:
                continue
            known = defined
            if node.attr in site.locals:  # a local read as an attribute the class never sets
                yield site.candidate(site.replace(node, node.attr), "misspelled_attribute",
                                     f"self.{node.attr} -> {node.attr}", size=1)
        elif owner in modules:
            known = defined_by(site, *modules[owner])
            if known is None or node.attr in known:
                continue
        else:
            continue
        for other in _nearest(node.attr, known):
            text = site.replace(node, f"{owner}.{other}")
            yield site.candidate(text, "misspelled_attribute", f"{owner}.{node.attr} -> "
                                 f"{owner}.{other}", size=1)


def _module_universe(site: Site) -> set[str]:
    names = set(getattr(sys, "stdlib_module_names", ()))
    for path in list(site.package) + [site.path]:
        for root in ("", "src/"):
            if path.startswith(root):
                rel = path[len(root):]
                names.add(rel.split("/")[0].removesuffix(".py"))
    return names


def misspelled_import(site: Site) -> Iterator[Candidate]:
    stmt = site.stmt
    if isinstance(stmt, ast.ImportFrom):
        known = defined_by(site, stmt.module or "", stmt.level)
        if known is None and stmt.level == 0 and stmt.module:
            for other in _nearest(stmt.module.split(".")[0], _module_universe(site)):
                new = site.source.split("\n")[stmt.lineno - 1].replace(
                    stmt.module.split(".")[0], other, 1)
                yield site.candidate(_line_replaced(site, stmt.lineno, new), "misspelled_import",
                                     f"from {stmt.module} -> from {other}", size=1)
            return
        for alias in stmt.names:
            if known is None or alias.name == "*" or alias.name in known:
                continue
            for other in _nearest(alias.name, known):
                line = site.source.split("\n")[stmt.lineno - 1]
                new = _replace_word(line, alias.name, other)
                import_only = _line_replaced(site, stmt.lineno, new)
                if new != line:
                    yield site.candidate(import_only, "misspelled_import",
                                         f"import {alias.name} -> {other}")
                # the module may use the name as it is misspelled: rename every use with it
                everywhere = _renamed_tokens(site.source, alias.name, other)
                if alias.asname is None and everywhere not in (None, site.source, import_only):
                    yield site.candidate(everywhere, "misspelled_import",
                                         f"import {alias.name} -> {other}, and its uses")
    elif isinstance(stmt, ast.Import):
        universe = _module_universe(site)
        for alias in stmt.names:
            top = alias.name.split(".")[0]
            if top in universe or _stdlib_names(alias.name) is not None:
                continue
            for other in _nearest(top, universe):
                line = site.source.split("\n")[stmt.lineno - 1]
                new = _replace_word(line, top, other)
                yield site.candidate(_line_replaced(site, stmt.lineno, new), "misspelled_import",
                                     f"import {top} -> {other}")


def _renamed_tokens(source: str, old: str, new: str) -> str | None:
    """``source`` with every name token ``old`` (not in strings or comments) spelled ``new``;
    None when it does not tokenize."""
    import io
    import tokenize

    lines = source.splitlines(keepends=True)
    try:
        spots = [tok.start for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                 if tok.type == tokenize.NAME and tok.string == old]
    except (tokenize.TokenError, SyntaxError):
        return None
    for row, col in reversed(spots):
        text = lines[row - 1]
        lines[row - 1] = text[:col] + new + text[col + len(old):]
    return "".join(lines)


def _replace_word(line: str, old: str, new: str) -> str:
    import re

    return re.sub(rf"\b{re.escape(old)}\b", new, line, count=1)


def _line_replaced(site: Site, lineno: int, new: str) -> str:
    lines = site.source.split("\n")
    return "\n".join(lines[: lineno - 1] + [new] + lines[lineno:])


def problem_lines(source: str) -> list[int]:
    """Lines with a name that nothing binds: where a NameError waits (best first: module level,
    since it breaks the import)."""
    try:
        tree = parsed(source)
    except (SyntaxError, ValueError):
        return []
    return sorted({n.lineno for n in undefined_names(tree)})


FAMILIES = {
    "misspelled_name": misspelled_name,
    "defined_by_analogy": defined_by_analogy,
    "missing_helper": missing_helper,
    "misspelled_attribute": misspelled_attribute,
    "misspelled_import": misspelled_import,
}
