"""What every repair family works from: one suspicious line of one file, parsed once.

A ``Site`` holds the module's AST, the innermost function and statement around the line, and the
names bound there (parameters, locals, module-level names, ``self`` attributes of the class).
``Site.replace`` and ``Site.insert`` turn an edit into a whole new file text that changes only
the edited span, so a diff between the two is the edit and nothing else.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from envs.mutations import _scope_nodes as scope_nodes  # one definition of a function's own nodes
from envs.mutations import _Text, node_memo, parsed, text_of, walk

BUILTIN_NAMES = frozenset(dir(builtins))
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


@dataclass(frozen=True)
class Candidate:
    """One proposed fix: the whole new text of one file."""

    path: str
    line: int
    """The suspicious line it was made for."""
    text: str
    family: str
    description: str
    size: int = 1
    """How big the edit is (characters changed, at least 1): smaller edits are preferred."""
    disables: bool = False
    """Whether it switches behaviour off (a negated guard, a removed call, an early return):
    such edits make failing tests pass by accident, so they come last away from the fault."""


def indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


@node_memo
def parents_of(tree: ast.Module) -> dict[ast.AST, ast.AST]:
    """Each node's parent in a module, mapped once per (shared, never changed) tree."""
    out = {}
    for node in walk(tree):
        for child in ast.iter_child_nodes(node):
            out[child] = node
    return out


@lru_cache(maxsize=16)
def _module_names(source: str) -> tuple[str, ...]:
    names = []
    for node in parsed(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"]
        else:
            names += [n.id for n in ast.walk(node)
                      if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]
    return tuple(dict.fromkeys(names))


def _params(func: ast.AST) -> list[str]:
    args = func.args
    names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    return names


@dataclass
class Site:
    """One suspicious line of one parsed module."""

    path: str
    source: str
    line: int
    tree: ast.Module
    package: dict[str, str] = field(default_factory=dict)
    """Other files of the project (path -> text), where ingredients come from."""

    @classmethod
    def parse(cls, path: str, source: str, line: int, package: dict[str, str] | None = None):
        """The site, or None when the source does not parse (only the syntax family applies)."""
        try:
            tree = parsed(source)
        except (SyntaxError, ValueError):
            return None
        return cls(path, source, line, tree, dict(package or {}))

    # -- where the line sits ------------------------------------------------------------------
    @cached_property
    def text(self) -> _Text:
        return text_of(self.source)

    @cached_property
    def lines(self) -> list[str]:
        return self.source.split("\n")

    @cached_property
    def parents(self) -> dict[ast.AST, ast.AST]:
        return parents_of(self.tree)

    def _innermost(self, kinds) -> ast.AST | None:
        best = None
        for node in walk(self.tree):
            if isinstance(node, kinds) and node.lineno <= self.line <= (node.end_lineno or node.lineno):
                if best is None or (node.lineno, -node.end_lineno) >= (best.lineno, -best.end_lineno):
                    best = node
        return best

    @cached_property
    def func(self) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        return self._innermost(_FUNCS)

    @cached_property
    def stmt(self) -> ast.stmt | None:
        """The innermost statement that contains the line (not a whole function or class)."""
        best = None
        for node in ast.walk(self.func) if self.func is not None else walk(self.tree):
            if (isinstance(node, ast.stmt) and not isinstance(node, _SCOPES + (ast.ClassDef,))
                    and node.lineno <= self.line <= (node.end_lineno or node.lineno)):
                if best is None or node.lineno >= best.lineno:
                    best = node
        return best

    @cached_property
    def cls(self) -> ast.ClassDef | None:
        return self._innermost((ast.ClassDef,))

    def on_line(self, node: ast.AST) -> bool:
        """Whether the node lies wholly on the site's statement line(s) (its header for a
        compound statement)."""
        stmt = self.stmt
        if stmt is None or not hasattr(node, "lineno"):
            return False
        last = stmt.end_lineno if not hasattr(stmt, "body") else (
            stmt.body[0].lineno - 1 if stmt.body else stmt.lineno)
        return stmt.lineno <= node.lineno and node.end_lineno <= max(last, stmt.lineno)

    def line_nodes(self):
        """Expression nodes of the site's statement (the header only, for a compound one)."""
        stmt = self.stmt
        if stmt is None:
            return []
        return [n for n in ast.walk(stmt) if isinstance(n, ast.expr) and self.on_line(n)]

    # -- names in scope -----------------------------------------------------------------------
    @cached_property
    def locals(self) -> list[str]:
        """Parameters, then names the function binds before the line, then the rest it binds
        (at module level: the module's variables, those bound before the line first)."""
        before, after = [], []
        for node in scope_nodes(self.func or self.tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                (before if node.lineno <= self.line else after).append(node.id)
            elif isinstance(node, ast.arg):
                before.append(node.arg)
        names = [n for n in _params(self.func) if n not in ("self", "cls")] if self.func else []
        return list(dict.fromkeys(names + before + after))

    @cached_property
    def module_names(self) -> list[str]:
        """Names bound at module level: functions, classes, assignments, imports."""
        return list(_module_names(self.source))

    @cached_property
    def self_attributes(self) -> list[str]:
        """``self.X`` attributes of the class around the line (assigned or read), and its methods."""
        if self.cls is None:
            return []
        names = [n.attr for n in walk(self.cls) if isinstance(n, ast.Attribute)
                 and isinstance(n.value, ast.Name) and n.value.id == "self"]
        names += [n.name for n in self.cls.body if isinstance(n, _FUNCS)]
        return list(dict.fromkeys(names))

    @cached_property
    def bound(self) -> set[str]:
        """Every name that can be read at the line."""
        names = set(self.locals) | set(self.module_names) | BUILTIN_NAMES
        if self.func is not None:
            names |= set(_params(self.func))
            for node in ast.walk(self.func):  # comprehension variables, nested defs, globals
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.add(node.id)
        return names

    def value_names(self) -> list[str]:
        """Names worth substituting into an expression here: locals, then ``self.X``."""
        out = list(self.locals)
        if self.func is not None and "self" in _params(self.func):
            out += [f"self.{a}" for a in self.self_attributes
                    if not any(isinstance(n, _FUNCS) and n.name == a for n in self.cls.body)]
        return out

    # -- edits --------------------------------------------------------------------------------
    def segment(self, node: ast.AST) -> str:
        return self.text.get(node)

    def replace(self, node: ast.AST, new: str) -> str:
        a, b = self.text.span(node)
        return self.source[:a] + new + self.source[b:]

    def replace_span(self, a: int, b: int, new: str) -> str:
        return self.source[:a] + new + self.source[b:]

    def insert(self, row: int, stmt_lines: list[str], indent: str) -> str:
        """The source with ``stmt_lines`` inserted before 0-based line ``row`` at ``indent``."""
        lines = self.lines
        block = [indent + piece if piece else piece for piece in stmt_lines]
        return "\n".join(lines[:row] + block + lines[row:])

    def candidate(self, text: str, family: str, description: str, size: int = 1,
                  disables: bool = False) -> Candidate:
        return Candidate(self.path, self.line, text, family, description, max(size, 1), disables)
