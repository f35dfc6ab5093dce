"""Repair templates: candidate fixes that are not the inverse of a single mutation.

``envs.mutations`` proposes one-span changes (operator swaps, off-by-one, wrong variable, ...).
A fault is also often something missing: a guard for None or an empty input, a mutable default
argument shared between calls. These templates propose those insertions at a suspicious line.
Each returns whole new file texts; the repair engine validates them like any other candidate.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from envs.mutations import node_memo, parsed, walk


@dataclass(frozen=True)
class Candidate:
    path: str
    text: str
    """The whole new file text."""
    family: str
    description: str


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _enclosing_function(tree: ast.AST, line: int) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    best = None
    for node in _functions(tree):
        if node.lineno <= line <= (node.end_lineno or node.lineno):
            if best is None or node.lineno >= best.lineno:
                best = node
    return best


@node_memo
def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The functions of a module, in ``ast.walk`` order, listed once per (shared) tree."""
    return [n for n in walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _function_at(source: str, line: int) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The innermost function around ``line`` of ``source``; None when there is none or the
    source does not parse."""
    try:
        return _enclosing_function(parsed(source), line)
    except SyntaxError:
        return None


def _statement_at(func: ast.AST, line: int) -> ast.stmt | None:
    """The innermost statement of ``func``'s body that starts on ``line``, or contains it."""
    best = None
    for node in ast.walk(func):
        if isinstance(node, ast.stmt) and node is not func:
            if node.lineno <= line <= (node.end_lineno or node.lineno):
                if best is None or node.lineno >= best.lineno:
                    best = node
    return best


def guard_candidates(source: str, path: str, line: int) -> list[Candidate]:
    """Insert ``if NAME is None: return ...`` / ``if not NAME: return ...`` before ``line``'s
    statement, for each parameter of the function that the statement reads."""
    func = _function_at(source, line)
    if func is None:
        return []
    stmt = _statement_at(func, line)
    if stmt is None:
        return []
    params = {a.arg for a in func.args.args + func.args.kwonlyargs + func.args.posonlyargs}
    params.discard("self")
    params.discard("cls")
    read = []
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in params:
            if node.id not in read:
                read.append(node.id)
    lines = source.split("\n")
    # Guards go before the first statement of the function body when the suspicious statement
    # is a compound one whose header is that line, else right before the statement.
    at = stmt.lineno - 1
    indent = _indent(lines[at])
    out = []
    returns_value = any(isinstance(n, ast.Return) and n.value is not None for n in ast.walk(func))
    for name in read:
        options = [(f"if {name} is None:", "return None")]
        if returns_value:
            options += [(f"if not {name}:", value) for value in
                        ("return None", "return 0", "return []", "return ''", "return {}")]
        options += [(f"if {name} is None:", f"raise ValueError('{name} is required')"),
                    (f"if not {name}:", f"raise ValueError('{name} is empty')")]
        for test, body in options:
            guard = [f"{indent}{test}", f"{indent}    {body}"]
            text = "\n".join(lines[:at] + guard + lines[at:])
            out.append(Candidate(path, text, "insert_guard", f"insert `{test} {body}` at line {at + 1}"))
    return out


def mutable_default_candidates(source: str, path: str, line: int) -> list[Candidate]:
    """Replace a list / dict / set default of the function around ``line`` by None plus a fresh
    value made at each call."""
    func = _function_at(source, line)
    if func is None or not func.body:
        return []
    args = func.args
    positional = args.posonlyargs + args.args
    pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
    pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
    lines = source.split("\n")
    out = []
    for arg, default in pairs:
        if not isinstance(default, (ast.List, ast.Dict, ast.Set, ast.Call)):
            continue
        if isinstance(default, ast.Call) and not (
            isinstance(default.func, ast.Name) and default.func.id in ("list", "dict", "set")):
            continue
        fresh = ast.get_source_segment(source, default)
        if fresh is None or default.lineno != default.end_lineno:
            continue
        new_lines = list(lines)
        row = default.lineno - 1
        row_text = new_lines[row]
        start = len(row_text.encode()[: default.col_offset].decode())
        end = len(row_text.encode()[: default.end_col_offset].decode())
        new_lines[row] = row_text[:start] + "None" + row_text[end:]
        first = func.body[0]
        if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str) and len(func.body) > 1):
            first = func.body[1]  # after the docstring
        at = first.lineno - 1
        indent = _indent(lines[at])
        insert = [f"{indent}if {arg.arg} is None:", f"{indent}    {arg.arg} = {fresh}"]
        new_lines[at:at] = insert
        out.append(Candidate(path, "\n".join(new_lines), "mutable_default",
                             f"default {arg.arg}={fresh} made fresh per call"))
    return out


def membership_guard_candidates(source: str, path: str, line: int) -> list[Candidate]:
    """Insert ``if KEY not in MAPPING: return ...`` for a lookup ``MAPPING[KEY]`` of the function
    around ``line``: before the statement on ``line``, and before the top-level statement of the
    function that holds it (a loop that raises KeyError is guarded before the loop)."""
    func = _function_at(source, line)
    if func is None:
        return []
    stmt = _statement_at(func, line)
    top = next((s for s in func.body if s.lineno <= line <= (s.end_lineno or s.lineno)), None)
    if stmt is None or top is None:
        return []
    lookups = []
    for node in ast.walk(func):
        if (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load)
                and isinstance(node.value, (ast.Name, ast.Attribute))
                and isinstance(node.slice, (ast.Name, ast.Attribute))):
            # names and attributes unparse as written; get_source_segment would split the
            # whole module once per lookup (seconds a line on a big module)
            pair = (ast.unparse(node.slice), ast.unparse(node.value))
            if pair not in lookups:
                lookups.append(pair)
    lines = source.split("\n")
    out = []
    for at in dict.fromkeys((stmt.lineno - 1, top.lineno - 1)):
        indent = _indent(lines[at])
        for key, mapping in lookups:
            for body in ("return None", "return 0", "return []", "return False",
                         f"raise KeyError({key})"):
                guard = [f"{indent}if {key} not in {mapping}:", f"{indent}    {body}"]
                out.append(Candidate(path, "\n".join(lines[:at] + guard + lines[at:]),
                                     "insert_guard",
                                     f"insert `if {key} not in {mapping}: {body}` at line {at + 1}"))
    return out


def exception_candidates(source: str, path: str, line: int) -> list[Candidate]:
    """Catch another exception class of the module's own (defined or imported) in an
    ``except`` clause on ``line``; the mutation operators only know the built-in ones."""
    try:
        tree = parsed(source)
    except SyntaxError:
        return []
    own = []
    for node in walk(tree):
        if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name) and (b.id.endswith(("Error", "Exception")) or b.id in own)
                for b in node.bases):
            own.append(node.name)
        elif isinstance(node, ast.ImportFrom):
            own += [a.asname or a.name for a in node.names if a.name[:1].isupper()]
    out = []
    lines = source.split("\n")
    for node in walk(tree):
        if not (isinstance(node, ast.ExceptHandler) and node.lineno == line
                and isinstance(node.type, ast.Name)):
            continue
        row = lines[line - 1]
        start, end = node.type.col_offset, node.type.end_col_offset
        for name in dict.fromkeys(own):
            if name != node.type.id:
                new = row[:start] + name + row[end:]
                text = "\n".join(lines[: line - 1] + [new] + lines[line:])
                out.append(Candidate(path, text, "exception_type",
                                     f"except {node.type.id} -> except {name}"))
    return out


_FORMAT_SPEC = re.compile(r"(?<=[:%])(?P<fill>0?)(?P<width>\d*)(?P<prec>\.\d+)?(?P<type>[dfsxXegEG%])")


def format_spec_candidates(source: str, path: str, line: int) -> list[Candidate]:
    """Vary the format specs on ``line`` (``{x:2d}``, ``%5.1f``): zero padding on or off,
    width and precision one up or down."""
    lines = source.split("\n")
    if not 1 <= line <= len(lines):
        return []
    row = lines[line - 1]
    out = []
    for match in _BRACE_SPEC.finditer(row):  # a width alone: add a numeric presentation
        for kind in (".2f", ".1f", ",", "d"):
            new = row[: match.end("spec")] + kind + row[match.end("spec"):]
            text = "\n".join(lines[: line - 1] + [new] + lines[line:])
            out.append(Candidate(path, text, "format_spec",
                                 f"format spec {match['spec']!r} -> {match['spec'] + kind!r}"))
    for match in _FORMAT_SPEC.finditer(row):
        fill, width, prec, kind = match["fill"], match["width"], match["prec"] or "", match["type"]
        if not (width or prec or fill):
            continue
        variants = {("" if fill else "0") + width + prec + kind}
        if width:
            for w in (int(width) - 1, int(width) + 1):
                if w > 0:
                    variants.add(f"{fill}{w}{prec}{kind}")
        if prec:
            p = int(prec[1:])
            variants |= {f"{fill}{width}.{q}{kind}" for q in (p - 1, p + 1) if q >= 0}
            variants.add(f"{fill}{width}{kind}")
        for spec in sorted(variants):
            new = row[: match.start()] + spec + row[match.end():]
            text = "\n".join(lines[: line - 1] + [new] + lines[line:])
            out.append(Candidate(path, text, "format_spec",
                                 f"format spec {match.group(0)!r} -> {spec!r}"))
    return out


_LITERALS = ("None", "0", "1", "-1", "''", "[]", "[[]]", "{}", "set()", "False", "True")


def literal_candidates(source: str, path: str, line: int) -> list[Candidate]:
    """Another literal where ``line`` returns a literal (``return []`` -> ``return [[]]``), and a
    literal in place of a name or attribute passed to a call (``V(major + 1, self.minor, 0)`` ->
    ``V(major + 1, 0, 0)``)."""
    try:
        tree = parsed(source)
    except SyntaxError:
        return []
    spans = []
    for node in walk(tree):
        if getattr(node, "lineno", None) != line or getattr(node, "end_lineno", None) != line:
            continue
        if isinstance(node, ast.Return) and node.value is not None:
            value = node.value
            if isinstance(value, (ast.Constant, ast.List, ast.Dict, ast.Set, ast.Tuple)) or (
                    isinstance(value, ast.UnaryOp) and isinstance(value.operand, ast.Constant)):
                spans.append((value, _LITERALS, "return_literal"))
        elif isinstance(node, ast.Call):
            for arg in node.args:
                if isinstance(arg, (ast.Name, ast.Attribute)) and arg.end_lineno == line:
                    spans.append((arg, ("0", "1", "None"), "argument_literal"))
    lines = source.split("\n")
    row = lines[line - 1]
    out = []
    for node, options, family in spans:
        start = len(row.encode()[: node.col_offset].decode())
        end = len(row.encode()[: node.end_col_offset].decode())
        old = row[start:end]
        for literal in options:
            if literal != old:
                new = row[:start] + literal + row[end:]
                out.append(Candidate(path, "\n".join(lines[: line - 1] + [new] + lines[line:]),
                                     family, f"{old} -> {literal}"))
    return out


def missing_value_candidates(source: str, path: str, line: int) -> list[Candidate]:
    """``return None`` (or a bare ``return``) on ``line`` that should hand back a value: return
    each name the function binds, and each ``self`` attribute its class uses, instead; and a
    ``not`` in front of one operand of an ``and`` / ``or`` on ``line``."""
    try:
        tree = parsed(source)
    except SyntaxError:
        return []
    func = _enclosing_function(tree, line)
    lines = source.split("\n")
    row = lines[line - 1] if 1 <= line <= len(lines) else ""
    out = []
    if func is not None:
        names = [a.arg for a in func.args.posonlyargs + func.args.args + func.args.kwonlyargs]
        names += [n.id for n in ast.walk(func) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]
        attrs = [f"self.{n.attr}" for n in walk(tree) if isinstance(n, ast.Attribute)
                 and isinstance(n.value, ast.Name) and n.value.id == "self"]
        for node in ast.walk(func):
            if not (isinstance(node, ast.Return) and node.lineno == line and (
                    node.value is None or (isinstance(node.value, ast.Constant)
                                           and node.value.value is None))):
                continue
            indent = _indent(row)
            for value in dict.fromkeys(names + attrs):
                if value in ("self", "cls"):
                    continue
                new = f"{indent}return {value}"
                out.append(Candidate(path, "\n".join(lines[: line - 1] + [new] + lines[line:]),
                                     "return_name", f"return None -> return {value}"))
    for node in walk(tree):
        if isinstance(node, ast.BoolOp) and node.lineno == line:
            for operand in node.values:
                if operand.lineno != line or operand.end_lineno != line or (
                        isinstance(operand, ast.UnaryOp) and isinstance(operand.op, ast.Not)):
                    continue
                start = len(row.encode()[: operand.col_offset].decode())
                end = len(row.encode()[: operand.end_col_offset].decode())
                text = row[start:end]
                wrapped = text if isinstance(operand, (ast.Name, ast.Attribute, ast.Call,
                                                       ast.Subscript)) else f"({text})"
                new = row[:start] + "not " + wrapped + row[end:]
                out.append(Candidate(path, "\n".join(lines[: line - 1] + [new] + lines[line:]),
                                     "insert_not", f"{text} -> not {wrapped}"))
    return out


_BRACE_SPEC = re.compile(r":(?P<spec>[<>^=]?\d+)}")


def template_candidates(source: str, path: str, line: int) -> list[Candidate]:
    return (mutable_default_candidates(source, path, line)
            + exception_candidates(source, path, line)
            + format_spec_candidates(source, path, line)
            + literal_candidates(source, path, line)
            + missing_value_candidates(source, path, line)
            + guard_candidates(source, path, line)
            + membership_guard_candidates(source, path, line))
