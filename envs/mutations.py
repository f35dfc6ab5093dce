"""Mutation operators over Python source text.

A mutation replaces exactly one span of the source (located through ``ast`` node positions) and
leaves every other character as it was, so a diff between the original and the mutant is the edit
and nothing else. The same operators serve two callers:

- the synthetic bug generator (``envs.bugs``) applies them to correct code to make bugs;
- the model-free repair engine calls ``enumerate_mutations(source, path, lines=suspicious)`` to
  propose candidate *fixes*, since the inverse of a bug is very often another mutation.

Positions are ``(line, col)`` with 1-based lines and 0-based columns counted in characters (not the
UTF-8 bytes that ``ast`` reports). The order of ``enumerate_mutations`` is deterministic: by start
position, then family (in ``FAMILIES`` order), then replacement text.
"""

from __future__ import annotations

import ast
import re
from dataclasses import asdict, dataclass
from functools import lru_cache, wraps
from typing import Callable, Iterable, Iterator, TypeVar

from sandboxes.errors import UsageError

#: Every family, in the order used to break ties between mutations at the same position.
FAMILIES = (
    "arith_op",           # a + b -> a - b, a * b -> a / b, ...
    "aug_assign",         # x += 1 -> x -= 1
    "compare_boundary",   # < -> <=, >= -> >
    "compare_direction",  # < -> >, <= -> >=
    "compare_negate",     # == -> !=, in -> not in, is -> is not
    "is_eq",              # is -> ==, is not -> !=
    "bool_op",            # and -> or
    "int_constant",       # 3 -> 2, 3 -> 4
    "off_by_one_bound",   # x[:n] -> x[:n + 1], range(len(x) - 1) -> range(len(x)), a + 1 -> a
    "swap_operands",      # a - b -> b - a
    "wrong_variable",     # a local name read -> another local of the same function
    "remove_statement",   # a simple statement deleted (``pass`` where the block would be empty)
    "negate_condition",   # if c: -> if not c:
    "remove_condition",   # if a and b: -> if a:, if c: -> if True:
    "remove_not",         # not x -> x
    "return_value",       # return expr -> return None
    "bool_constant",      # True -> False
    "swap_arguments",     # f(a, b) -> f(b, a)
    "wrong_key",          # d["a"] -> d["b"] (another key used in the module)
    "wrong_attribute",    # obj.a -> obj.b (another attribute read on a name in the module)
    "api_swap",           # append -> extend, min -> max, startswith -> endswith, ...
    "exception_type",     # except KeyError -> except ValueError
)
_FAMILY_RANK = {name: i for i, name in enumerate(FAMILIES)}
T = TypeVar("T")


class MutationError(UsageError):
    """Source that cannot be mutated (it does not parse), or a mutation that does not fit it."""


@dataclass(frozen=True)
class Mutation:
    """One edit: replace ``old_text`` between ``start`` and ``end`` with ``new_text``."""

    path: str
    start: tuple[int, int]
    """(line, col) where the replaced span begins: 1-based line, 0-based character column."""
    end: tuple[int, int]
    """(line, col) just past the replaced span."""
    old_text: str
    new_text: str
    family: str
    description: str

    @property
    def line(self) -> int:
        return self.start[0]

    @property
    def lines(self) -> range:
        """Every line the replaced span touches."""
        return range(self.start[0], self.end[0] + 1)

    def to_json(self) -> dict:
        data = asdict(self)
        data["start"], data["end"] = list(self.start), list(self.end)
        return data


def apply(source: str, mutation: Mutation) -> str:
    """The source with the mutation's span replaced; raises MutationError if the span differs."""
    text = text_of(source)
    a, b = text.offset(*mutation.start), text.offset(*mutation.end)
    if source[a:b] != mutation.old_text:
        raise MutationError(
            f"{mutation.path}:{mutation.start[0]}: expected {mutation.old_text!r} at "
            f"{mutation.start}-{mutation.end}, found {source[a:b]!r}; the mutation belongs to "
            "another version of the file")
    return source[:a] + mutation.new_text + source[b:]


def inverse(source: str, mutation: Mutation) -> Mutation:
    """The mutation that turns ``apply(source, mutation)`` back into ``source``."""
    start = mutation.start
    pieces = mutation.new_text.split("\n")
    if len(pieces) == 1:
        end = (start[0], start[1] + len(pieces[0]))
    else:
        end = (start[0] + len(pieces) - 1, len(pieces[-1]))
    return Mutation(mutation.path, start, end, mutation.new_text, mutation.old_text,
                    mutation.family, f"undo: {mutation.description}")


def enumerate_mutations(source: str, path: str = "<string>",
                        lines: Iterable[int] | None = None) -> list[Mutation]:
    """Every mutation of ``source`` that still parses, optionally only those touching ``lines``.

    Raises MutationError when ``source`` itself does not parse. The file's mutations are found
    once per text (``_analysis``): asking for one line after another costs each line's own
    mutations, not the file's.
    """
    analysis = _analysis(source, path)
    if lines is None:
        return [m for m in analysis.mutations if analysis.parses(m)]
    at = sorted({i for line in set(lines) for i in analysis.by_line.get(line, ())})
    return [analysis.mutations[i] for i in at if analysis.parses(analysis.mutations[i])]


@lru_cache(maxsize=16)
def parsed(source: str) -> ast.Module:
    """The module's AST, parsed once per text and shared: callers only read it."""
    return ast.parse(source)


@lru_cache(maxsize=16)
def text_of(source: str) -> _Text:
    return _Text(source)


def node_memo(fn: Callable[..., T]) -> Callable[..., T]:
    """``fn(node, *args)`` computed once per node of a shared, never changed tree (``parsed``)
    and hashable ``args``, for the 32 most recently used; an AST node is not hashable by value,
    so the entry holds the node itself: its id stays its own while it is cached."""
    cache: dict[tuple, tuple[ast.AST, T]] = {}

    @wraps(fn)
    def memo(node: ast.AST, *args):
        key = (id(node), *args)
        entry = cache.pop(key, None)
        if entry is None or entry[0] is not node:
            while len(cache) >= 32:
                cache.pop(next(iter(cache)))
            entry = (node, fn(node, *args))
        cache[key] = entry
        return entry[1]
    return memo


@node_memo
def walk(tree: ast.AST) -> list[ast.AST]:
    """``ast.walk(tree)``'s nodes, in its order, listed once per tree (the families read the
    same shared module at every line)."""
    return list(ast.walk(tree))


@lru_cache(maxsize=4)
def _analysis(source: str, path: str) -> _Analysis:
    try:
        tree = parsed(source)
    except SyntaxError as exc:
        raise MutationError(f"{path}: cannot parse line {exc.lineno} ({exc.msg}); "
                            "mutations need valid Python") from None
    return _Analysis(source, tree, _Collector(text_of(source), tree, path).collect())


class _Analysis:
    """One file's mutations (deduplicated, in order) and which of them still parse.

    Whether a mutant parses is decided on the innermost function, class or top-level statement
    around the edit, not the whole file (the rest of the file is unchanged); where that piece
    does not parse the whole file decides, so the answer is always the whole file's.
    """

    def __init__(self, source: str, tree: ast.Module, collected: list[Mutation]) -> None:
        self.source, self.text = source, text_of(source)
        found: dict[tuple, Mutation] = {}
        for m in collected:
            if m.old_text == m.new_text:
                continue
            key = (m.start, m.end, m.new_text)
            if key in found and _FAMILY_RANK[found[key].family] <= _FAMILY_RANK[m.family]:
                continue
            found[key] = m
        self.mutations = sorted(found.values(), key=lambda m: (
            m.start, m.end, _FAMILY_RANK[m.family], m.new_text))
        self.by_line: dict[int, list[int]] = {}
        """Line -> the places in ``mutations`` of those that touch it."""
        for i, m in enumerate(self.mutations):
            for line in m.lines:
                self.by_line.setdefault(line, []).append(i)
        self._parses: dict[Mutation, bool] = {}
        # One future import changes the grammar (``<>``): then only the whole file says.
        self._pieces = [] if "barry_as_FLUFL" in source else sorted(
            ((n.lineno, -n.end_lineno, n.col_offset, n) for n in ast.walk(tree)
             if n in tree.body or isinstance(n, _PIECES)), key=lambda item: item[:2])

    def parses(self, m: Mutation) -> bool:
        if m not in self._parses:
            self._parses[m] = self._piece_parses(m) or _parses(apply(self.source, m))
        return self._parses[m]

    def _piece_parses(self, m: Mutation) -> bool:
        first, last = m.start[0], m.end[0]
        piece = None
        for lineno, neg_end, col, node in self._pieces:  # the innermost: the last that holds it
            if lineno > first:
                break
            if -neg_end >= last:
                piece = (lineno, -neg_end, col)
        if piece is None:
            return False
        starts, src = self.text.starts, self.source
        a, b = self.text.offset(*m.start), self.text.offset(*m.end)
        lo, hi = starts[piece[0] - 1], starts[min(piece[1], len(starts) - 1)]
        if not lo <= a <= b <= hi:
            return False
        text = src[lo:a] + m.new_text + src[b:hi]
        # A nested piece keeps its indentation under an opened block.
        return _parses("if 1:\n" + text if piece[2] else text)


_PIECES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except SyntaxError:
        return False
    return True


# --------------------------------------------------------------------------------------------
# Positions


class _Text:
    """Source text with conversions between ast positions and character offsets."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines = source.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def offset(self, line: int, col: int) -> int:
        if not 1 <= line <= len(self.lines) + 1:
            raise MutationError(f"line {line} is outside the source (1..{len(self.lines)})")
        return self.starts[line - 1] + col

    def position(self, offset: int) -> tuple[int, int]:
        lo, hi = 0, len(self.starts) - 1
        while lo < hi:  # last line start <= offset
            mid = (lo + hi + 1) // 2
            if self.starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1, offset - self.starts[lo]

    def _char_col(self, line: int, byte_col: int) -> int:
        text = self.lines[line - 1] if line <= len(self.lines) else ""
        if text.isascii():
            return byte_col
        return len(text.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        """Character offsets (start, end) of a node."""
        a = self.offset(node.lineno, self._char_col(node.lineno, node.col_offset))
        b = self.offset(node.end_lineno, self._char_col(node.end_lineno, node.end_col_offset))
        return a, b

    def get(self, node: ast.AST) -> str:
        a, b = self.span(node)
        return self.source[a:b]


_OPERATOR = re.compile(
    r"not\s+in\b|is\s+not\b|and\b|or\b|in\b|is\b|\*\*=?|//=?|>>=?|<<=?|[<>=!]=|[-+*/%@&|^<>]=?")


# --------------------------------------------------------------------------------------------
# Operator tables

_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
          ast.Mod: "%", ast.Pow: "**"}
_ARITH_SWAPS = {"+": ["-"], "-": ["+"], "*": ["/", "+"], "/": ["*", "//"], "//": ["/", "%"],
                "%": ["//"], "**": ["*"]}
_AUG_SWAPS = {"+=": ["-="], "-=": ["+="], "*=": ["/="], "/=": ["*="], "//=": ["/="]}
_NON_COMMUTATIVE = (ast.Sub, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift, ast.RShift)
_BOUNDARY = {"<": "<=", "<=": "<", ">": ">=", ">=": ">"}
_DIRECTION = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}
_NEGATE = {"==": "!=", "!=": "==", "in": "not in", "not in": "in", "is": "is not",
           "is not": "is"}
_IS_EQ = {"is": "==", "==": "is", "is not": "!=", "!=": "is not"}
_METHOD_SWAPS = {
    "append": ["extend"], "extend": ["append"], "startswith": ["endswith"],
    "endswith": ["startswith"], "lstrip": ["rstrip"], "rstrip": ["lstrip"], "keys": ["values"],
    "values": ["keys"], "upper": ["lower"], "lower": ["upper"], "find": ["rfind"],
    "rfind": ["find"], "index": ["rindex"], "split": ["rsplit"], "rsplit": ["split"],
    "pop": ["get", "popleft"], "get": ["pop"], "remove": ["discard"], "add": ["discard"],
    "isdigit": ["isalpha"], "isalpha": ["isdigit"], "popleft": ["pop"], "appendleft": ["append"],
    "update": ["setdefault"], "setdefault": ["get"], "sort": ["reverse"],
}
_BUILTIN_SWAPS = {"min": ["max"], "max": ["min"], "any": ["all"], "all": ["any"],
                  "int": ["round"], "round": ["int"], "sorted": ["reversed"], "sum": ["len"],
                  "len": ["sum"], "isinstance": ["issubclass"]}
_EXCEPTIONS = ("ValueError", "KeyError", "IndexError", "TypeError", "ZeroDivisionError",
               "AttributeError", "LookupError", "RuntimeError")
_ATOMS = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant, ast.List, ast.Tuple,
          ast.Dict, ast.Set)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def _is_int(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int


def _is_docstring(node: ast.AST, parent: ast.AST | None) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def _scope_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """Nodes of one function body, not descending into nested functions or classes."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, _SCOPES):
            stack.extend(ast.iter_child_nodes(node))


# --------------------------------------------------------------------------------------------
# The operators


class _Collector:
    def __init__(self, text: _Text, tree: ast.Module, path: str) -> None:
        self.text, self.tree, self.path = text, tree, path
        self.out: list[Mutation] = []

    # helpers ------------------------------------------------------------------------------
    def emit(self, a: int, b: int, new: str, family: str, description: str) -> None:
        old = self.text.source[a:b]
        self.out.append(Mutation(self.path, self.text.position(a), self.text.position(b), old,
                                 new, family, description))

    def emit_node(self, node: ast.AST, new: str, family: str, description: str) -> None:
        a, b = self.text.span(node)
        self.emit(a, b, new, family, description)

    def operator_between(self, left: ast.AST, right: ast.AST) -> tuple[int, int, str] | None:
        """Offsets and text of the operator token between two operands."""
        src = self.text.source
        i, stop = self.text.span(left)[1], self.text.span(right)[0]
        while i < stop:
            c = src[i]
            if c in " \t\r\n\\()":
                i += 1
            elif c == "#":
                while i < stop and src[i] != "\n":
                    i += 1
            else:
                break
        match = _OPERATOR.match(src, i, stop)
        if not match:
            return None
        return match.start(), match.end(), match.group()

    def with_offset(self, node: ast.AST, delta: int) -> str:
        body = self.text.get(node)
        if not isinstance(node, _ATOMS) and not (
                isinstance(node, ast.BinOp) and type(node.op) in _ARITH):
            body = f"({body})"
        return f"{body} + 1" if delta > 0 else f"{body} - 1"

    # driver -------------------------------------------------------------------------------
    def collect(self) -> list[Mutation]:
        self.index_module()
        for node in walk(self.tree):
            method = getattr(self, f"visit_{type(node).__name__}", None)
            if method is not None:
                method(node)
        self.statements()
        self.variables()
        return self.out

    def index_module(self) -> None:
        self.keys: set[str] = set()
        self.attrs: dict[bool, set[str]] = {}
        self.called: set[int] = set()
        for node in walk(self.tree):
            if isinstance(node, ast.Call):
                self.called.add(id(node.func))
                if (isinstance(node.func, ast.Attribute)
                        and node.func.attr in ("get", "pop", "setdefault")
                        and node.args and self.str_key(node.args[0]) is not None):
                    self.keys.add(node.args[0].value)
            elif isinstance(node, ast.Subscript) and self.str_key(node.slice) is not None:
                self.keys.add(node.slice.value)
        for node in walk(self.tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                pool = self.attrs.setdefault(id(node) in self.called, set())
                pool.add(node.attr)

    def str_key(self, node: ast.AST) -> str | None:
        if not (isinstance(node, ast.Constant) and type(node.value) is str):
            return None
        raw = self.text.get(node)
        if raw[:1] not in "'\"" or raw[:3] in ('"""', "'''"):
            return None
        return node.value

    # expressions --------------------------------------------------------------------------
    def visit_BinOp(self, node: ast.BinOp) -> None:
        found = self.operator_between(node.left, node.right)
        if found is None:
            return
        a, b, op = found
        for new in _ARITH_SWAPS.get(op, []):
            self.emit(a, b, new, "arith_op", f"{op} -> {new}")
        if (isinstance(node.op, (ast.Add, ast.Sub)) and _is_int(node.right)
                and node.right.value == 1):
            self.emit_node(node, self.text.get(node.left), "off_by_one_bound",
                           f"drop {op} 1")
        if isinstance(node.op, _NON_COMMUTATIVE):
            (na, nb), (la, lb), (ra, rb) = (self.text.span(node), self.text.span(node.left),
                                            self.text.span(node.right))
            if na == la and nb == rb:
                src = self.text.source
                self.emit(na, nb, src[ra:rb] + src[lb:ra] + src[la:lb], "swap_operands",
                          f"swap the operands of {op}")

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        found = self.operator_between(node.target, node.value)
        if found is None:
            return
        a, b, op = found
        for new in _AUG_SWAPS.get(op, []):
            self.emit(a, b, new, "aug_assign", f"{op} -> {new}")

    def visit_Compare(self, node: ast.Compare) -> None:
        left = node.left
        for right in node.comparators:
            found, left = self.operator_between(left, right), right
            if found is None:
                continue
            a, b, op = found
            op = " ".join(op.split())
            for family, table in (("compare_boundary", _BOUNDARY),
                                  ("compare_direction", _DIRECTION),
                                  ("compare_negate", _NEGATE), ("is_eq", _IS_EQ)):
                if op in table:
                    self.emit(a, b, table[op], family, f"{op} -> {table[op]}")

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        for left, right in zip(node.values, node.values[1:]):
            found = self.operator_between(left, right)
            if found is None:
                continue
            a, b, op = found
            new = "or" if op == "and" else "and"
            self.emit(a, b, new, "bool_op", f"{op} -> {new}")

    def visit_Constant(self, node: ast.Constant) -> None:
        if type(node.value) is int:
            for delta in (-1, 1):
                self.emit_node(node, str(node.value + delta), "int_constant",
                               f"{node.value} -> {node.value + delta}")
        elif type(node.value) is bool:
            self.emit_node(node, str(not node.value), "bool_constant",
                           f"{node.value} -> {not node.value}")

    def visit_Slice(self, node: ast.Slice) -> None:
        for bound in (node.lower, node.upper):
            self.shift_bound(bound, "slice bound")

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.slice, ast.Name):
            self.shift_bound(node.slice, "index")
        key = self.str_key(node.slice)
        if key is not None:
            self.swap_key(node.slice, key)

    def shift_bound(self, bound: ast.AST | None, what: str) -> None:
        if bound is None or _is_int(bound) or isinstance(bound, ast.UnaryOp):
            return
        if (isinstance(bound, ast.BinOp) and isinstance(bound.op, (ast.Add, ast.Sub))
                and _is_int(bound.right) and bound.right.value == 1):
            return  # visit_BinOp drops the +/- 1
        for delta in (1, -1):
            self.emit_node(bound, self.with_offset(bound, delta), "off_by_one_bound",
                           f"{what} {'+' if delta > 0 else '-'} 1")

    def swap_key(self, node: ast.Constant, key: str) -> None:
        quote = self.text.get(node)[0]
        for other in sorted(self.keys - {key}):
            if quote in other or "\\" in other or "\n" in other:
                continue
            self.emit_node(node, f"{quote}{other}{quote}", "wrong_key", f"key {key!r} -> {other!r}")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id == "range":
            for arg in node.args[:2]:
                self.shift_bound(arg, "range bound")
        if isinstance(func, ast.Name):
            for new in _BUILTIN_SWAPS.get(func.id, []):
                self.emit_node(func, new, "api_swap", f"{func.id}() -> {new}()")
        if isinstance(func, ast.Attribute):
            if func.attr in ("get", "pop", "setdefault") and node.args:
                key = self.str_key(node.args[0])
                if key is not None:
                    self.swap_key(node.args[0], key)
            for new in _METHOD_SWAPS.get(func.attr, []):
                self.replace_attr(func, new, "api_swap", f".{func.attr}() -> .{new}()")
        args = node.args
        if not any(isinstance(a, ast.Starred) for a in args):
            src = self.text.source
            for first, second in zip(args, args[1:]):
                (fa, fb), (sa, sb) = self.text.span(first), self.text.span(second)
                gap = src[fb:sa]
                if "(" in gap or ")" in gap or src[fa:fb] == src[sa:sb]:
                    continue
                self.emit(fa, sb, src[sa:sb] + gap + src[fa:fb], "swap_arguments",
                          f"swap arguments {src[fa:fb]!r} and {src[sa:sb]!r}")
        if isinstance(func, ast.Name) and func.id in _EXCEPTIONS:
            self.swap_exception(func)

    def replace_attr(self, node: ast.Attribute, new: str, family: str, description: str) -> None:
        a, b = self.text.span(node)
        if self.text.source[b - len(node.attr):b] == node.attr:
            self.emit(b - len(node.attr), b, new, family, description)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if not (isinstance(node.value, ast.Name) and isinstance(node.ctx, ast.Load)):
            return
        pool = self.attrs.get(id(node) in self.called, set())
        for other in sorted(pool - {node.attr}):
            self.replace_attr(node, other, "wrong_attribute",
                              f"{node.value.id}.{node.attr} -> {node.value.id}.{other}")

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if isinstance(node.op, ast.Not):
            a, b = self.text.span(node)
            rest = self.text.source[a + 3:b].lstrip()
            self.emit(a, b, rest, "remove_not", "drop not")

    def visit_If(self, node: ast.If) -> None:
        self.condition(node.test)

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self.condition(node.test)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        for test in node.ifs:
            self.condition(test)

    def condition(self, test: ast.AST) -> None:
        body = self.text.get(test)
        if not (isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)):
            negated = f"not {body}" if isinstance(test, _ATOMS) else f"not ({body})"
            self.emit_node(test, negated, "negate_condition", "negate the condition")
        if isinstance(test, ast.BoolOp):
            joiner = " and " if isinstance(test.op, ast.And) else " or "
            for i, dropped in enumerate(test.values):
                rest = [self.text.get(v) for j, v in enumerate(test.values) if j != i]
                self.emit_node(test, joiner.join(rest), "remove_condition",
                               f"drop {self.text.get(dropped)!r} from the condition")
        elif not (isinstance(test, ast.Constant)):
            self.emit_node(test, "True", "remove_condition", "condition -> True")

    def visit_Return(self, node: ast.Return) -> None:
        value = node.value
        if value is None or (isinstance(value, ast.Constant) and value.value in (None, True, False)
                             and type(value.value) is not int):
            return
        self.emit_node(value, "None", "return_value", "return None")

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        names = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
        for name in names:
            if isinstance(name, ast.Name) and name.id in _EXCEPTIONS:
                self.swap_exception(name)

    def swap_exception(self, name: ast.Name) -> None:
        for other in _EXCEPTIONS:
            if other != name.id:
                self.emit_node(name, other, "exception_type", f"{name.id} -> {other}")

    # statements ---------------------------------------------------------------------------
    def statements(self) -> None:
        src, lines = self.text.source, self.text.lines
        for parent in walk(self.tree):
            for field in ("body", "orelse", "finalbody"):
                block = getattr(parent, field, None)
                if not isinstance(block, list) or not block or not isinstance(block[0], ast.stmt):
                    continue
                for i, stmt in enumerate(block):
                    if not isinstance(stmt, (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign,
                                             ast.Raise, ast.Continue, ast.Break, ast.Delete)):
                        continue
                    if i == 0 and _is_docstring(stmt, parent):
                        continue
                    a, b = self.text.span(stmt)
                    # b - 1: a statement that ends the file without a newline ends on its own
                    # line, not on the (absent) line after it
                    first, last = self.text.position(a)[0], self.text.position(max(b - 1, a))[0]
                    line_start = self.text.starts[first - 1]
                    line_end = self.text.starts[last]
                    before = src[line_start:a]
                    after = src[b:line_end].strip()
                    if before.strip() or (after and not after.startswith("#")):
                        continue  # shares its line with other code
                    new = f"{before}pass\n" if len(block) == 1 else ""
                    if not lines[last - 1].endswith("\n") and new:
                        new = new[:-1]
                    self.emit(line_start, line_end, new, "remove_statement",
                              f"remove line {first}: {src[a:b].splitlines()[0].strip()}")

    def variables(self) -> None:
        for scope in walk(self.tree):
            if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            args = scope.args
            names = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
            names.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
            body = list(_scope_nodes(scope))
            names.update(n.id for n in body if isinstance(n, ast.Name)
                         and isinstance(n.ctx, ast.Store))
            names -= {"self", "cls"}
            for node in body:
                if (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
                        and node.id in names):
                    for other in sorted(names - {node.id}):
                        self.emit_node(node, other, "wrong_variable", f"{node.id} -> {other}")
