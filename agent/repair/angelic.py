"""Condition synthesis from runtime values (Nopol-style angelic repair).

Where the other condition families (``conditions``) rewrite a test by its syntax alone, this one
asks the program. For a condition site at a top-ranked line (the test of an ``if``/``elif``/
``while``/ternary/comprehension filter, or a simple statement that may lack a guard, the
"missing precondition"), the failing tests run with the condition forced: every evaluation True,
then every evaluation False (for a statement: run, then skipped). A forcing that makes a failing
test pass makes the site angelic: some condition yielding that value repairs it. Each evaluation
records the values in scope (numbers, bools, strings, lengths of containers, None-ness), with
the value it needs: the forced one in the failing tests that passed under forcing, the original
one in the passing tests that cover the site (they must keep behaving). ``synthesize`` then
enumerates small expressions over those values and the program's constants, smallest first, and
keeps those that match every record; each becomes an ordinary ``Candidate``.

The runs happen in the sandbox through ``validate_worker`` (an instrumented copy of the module is
just another candidate, the recorder appended at its end so line numbers stay put); this module
is pure: sites, instrumented texts, records' parsing and the synthesis.
"""

from __future__ import annotations

import ast
import json
import math
from dataclasses import dataclass, field

from agent.repair.site import Candidate, Site, indent_of

FAMILY = "angelic"
HELPER = "_debug_agent_angelic"
MAX_RECORDS = 400
"""Evaluations one instrumented run records (the rest still run, unrecorded)."""
MAX_PER_SITE = 12
"""Conditions kept per site..."""
QUOTAS = {"atom": 4, "joined": 5, "pair": 3}
"""...at most so many of each kind (an atom alone; the original condition joined with one;
two atoms joined), so that the smallest kind, often matched by many overfitting conditions
when few records constrain it, does not crowd out the others."""
MAX_ATOMS = 2500
MAX_PAIRS = 60_000
_SIMPLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Return, ast.Raise,
           ast.Delete)


@dataclass(frozen=True)
class AngelicSite:
    path: str
    line: int
    rank: int
    """Rank (0-based) of its line in the search's ranking."""
    kind: str
    """"cond": the test expression of an if/while/ternary/filter; "pre": a statement that may
    need ``if C:`` around it."""
    start: int
    end: int
    """Character span of the test expression ("cond") or of the statement's lines ("pre")."""
    text: str
    """The condition's source ("True" for a statement)."""


def find_sites(path: str, source: str, line: int, rank: int) -> list[AngelicSite]:
    """The condition sites at ``line`` of ``source``: tests that start on it, then the simple
    statement there (a missing precondition). Only inside functions: the recorder is defined at
    the module's end."""
    site = Site.parse(path, source, line)
    if site is None or site.func is None:
        return []
    out = []
    tests = []
    for node in ast.walk(site.func):
        if isinstance(node, (ast.If, ast.While, ast.IfExp)) and node.test.lineno == line:
            tests.append(node.test)
        elif isinstance(node, ast.comprehension):
            tests += [t for t in node.ifs if t.lineno == line]
    for test in sorted(tests, key=lambda t: (t.lineno, t.col_offset)):
        if any(isinstance(n, (ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom))
               for n in ast.walk(test)):
            continue
        a, b = site.text.span(test)
        out.append(AngelicSite(path, line, rank, "cond", a, b, source[a:b]))
    stmt = site.stmt
    docstring = isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
    if isinstance(stmt, _SIMPLE) and stmt.lineno == line and not docstring and not any(
            isinstance(n, (ast.Yield, ast.YieldFrom, ast.Await)) for n in ast.walk(stmt)):
        lines = source.split("\n")
        first, last = stmt.lineno - 1, stmt.end_lineno - 1
        start = sum(len(x) + 1 for x in lines[:first])
        end = sum(len(x) + 1 for x in lines[:last + 1]) - 1
        if lines[first].strip() and source[start:end].lstrip() == source[
                start + len(indent_of(lines[first])):end]:
            out.append(AngelicSite(path, line, rank, "pre", start, end, "True"))
    return out


def recorder(record_path: str) -> str:
    """The recorder's source, appended to an instrumented module: ``HELPER(site, mode, cond,
    scope)`` returns the condition's value ("orig") or a forced one ("T"/"F") and appends
    the values in scope to ``record_path``, one JSON line per evaluation."""
    return f'''

def {HELPER}(site, mode, cond, scope, _state={{"n": 0, "f": None}}):
    import os as _os, json as _json, math as _math
    if mode == "orig":
        value = bool(cond())
        orig = value
    else:
        try:
            orig = bool(cond())
        except Exception:
            orig = None
        value = mode == "T"
    if _state["n"] >= {MAX_RECORDS}:
        return value
    _state["n"] += 1
    def feat(v):
        if v is None:
            return ["none"]
        if isinstance(v, bool):
            return ["b", v]
        if isinstance(v, int):
            return ["n", v] if abs(v) < 2 ** 53 else None
        if isinstance(v, float):
            return ["n", v] if _math.isfinite(v) else None
        if isinstance(v, str):
            return ["s", v if len(v) <= 40 else None, len(v)]
        if isinstance(v, (list, tuple, dict, set, frozenset, bytes)):
            return ["c", len(v)]
        return None
    vals = {{}}
    try:
        for k, v in list(scope.items())[:40]:
            if not isinstance(k, str) or k.startswith((".", "{HELPER}")):
                continue
            f = feat(v)
            if f is not None:
                vals[k] = f
            if k == "self" and hasattr(v, "__dict__"):
                for a, w in list(vars(v).items())[:20]:
                    f = feat(w)
                    if f is not None and isinstance(a, str):
                        vals["self." + a] = f
        test = _os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
        line = _json.dumps({{"site": site, "test": test, "orig": orig, "value": value,
                             "vals": vals}}, default=str)
        if _state["f"] is None:
            _state["f"] = open({record_path!r}, "a")
        _state["f"].write(line + "\\n")
        _state["f"].flush()
    except Exception:
        pass
    return value
'''


def instrument(source: str, sites: list[AngelicSite], modes: dict[int, str],
               record_path: str) -> str:
    """``source`` with each site ``i`` of ``modes`` (all in this file) wrapped in the recorder,
    evaluated as ``modes[i]`` ("orig", "T", "F")."""
    edits = []
    for i, mode in modes.items():
        s = sites[i]
        call = f"{HELPER}({i}, {mode!r}, lambda: ({s.text}), locals())"
        if s.kind == "cond":
            edits.append((s.start, s.end, f"({call})"))
        else:
            body = source[s.start:s.end]
            indent = indent_of(body)
            inner = "\n".join("    " + x if x.strip() else x for x in body.split("\n"))
            edits.append((s.start, s.end, f"{indent}if {call}:\n{inner}"))
    text = source
    for a, b, new in sorted(edits, reverse=True):
        text = text[:a] + new + text[b:]
    return text + recorder(record_path)


def parse_records(raw: bytes | str | None) -> list[dict]:
    if not raw:
        return []
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    out = []
    for line in raw.splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("vals"), dict):
            out.append(data)
    return out


@dataclass
class Spec:
    """What one site's condition must yield: (values in scope, original value, wanted)."""

    rows: list[tuple[dict, bool | None, bool]] = field(default_factory=list)
    negative: list[list[tuple[dict, bool | None]]] = field(default_factory=list)
    """Per failing test that neither forcing repaired: (values in scope, original value) at
    each evaluation of its original run."""


def worth_synthesis(site: AngelicSite, spec: Spec) -> bool:
    """Whether the records ask for a condition: a statement every record wants skipped is
    the deletion families' edit (an ``if`` that never holds is a deletion in disguise), one
    every record wants run needs no guard."""
    if not spec.rows:
        return False
    return site.kind != "pre" or len({want for _, _, want in spec.rows}) > 1


def constants_of(source: str) -> tuple[list[float], list[str]]:
    """Numbers and short strings the program uses, with a few small ones added."""
    nums, strs = [0, 1, -1, 2], []
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        tree = None
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or v is None:
                continue
            if isinstance(v, (int, float)) and math.isfinite(v) and abs(v) < 1e9:
                nums.append(v)
            elif isinstance(v, str) and len(v) <= 20:
                strs.append(v)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(
                getattr(node.operand, "value", None), (int, float)) and not isinstance(
                node.operand.value, bool):
            nums.append(-node.operand.value)
    return list(dict.fromkeys(nums))[:24], list(dict.fromkeys(strs))[:12]


_OPS = (("<", lambda a, b: a < b), ("<=", lambda a, b: a <= b), (">", lambda a, b: a > b),
        (">=", lambda a, b: a >= b), ("==", lambda a, b: a == b), ("!=", lambda a, b: a != b))


def _atoms(rows, nums, strs, preferred):
    """(text, size, value bits, defined bits) of each atomic condition over the records."""
    names = []
    for vals, _, _ in rows:
        names += [k for k in vals if k not in names]
    out = []

    def add(text, size, fn):
        val = dfn = 0
        for i, (vals, _, _) in enumerate(rows):
            try:
                r = fn(vals)
            except (TypeError, KeyError, ValueError, ZeroDivisionError, OverflowError):
                continue
            if r is None:
                continue
            dfn |= 1 << i
            if r:
                val |= 1 << i
        if dfn:
            out.append((text, size, val, dfn))

    def length(k):
        def get(vals):
            f = vals[k]
            return f[-1] if f[0] in ("s", "c") else None
        return get

    def guard(get, pred):
        def fn(vals):
            v = get(vals)
            return None if v is None else pred(v)
        return fn

    kinds = {}
    for k in names:
        seen = {tuple(vals[k][:1]) for vals, _, _ in rows if k in vals}
        kinds[k] = {s[0] for s in seen}
    ordered = sorted(names, key=lambda k: (k not in preferred, names.index(k)))
    for k in ordered:
        ks = kinds[k]
        if "b" in ks:
            add(k, 1, lambda v, k=k: v[k][1] if v[k][0] == "b" else None)
            add(f"not {k}", 2, lambda v, k=k: (not v[k][1]) if v[k][0] == "b" else None)
        if "none" in ks:
            add(f"{k} is None", 2, lambda v, k=k: v[k][0] == "none")
            add(f"{k} is not None", 2, lambda v, k=k: v[k][0] != "none")
        if "n" in ks:
            get = lambda v, k=k: v[k][1] if v[k][0] == "n" else None  # noqa: E731
            for c in nums:
                for op, f in _OPS:
                    add(f"{k} {op} {c!r}", 3, guard(get, lambda x, f=f, c=c: f(x, c)))
            for m in dict.fromkeys([2, 3, 4, 5] + [m for m in nums if isinstance(m, int)
                                                     and 2 <= m <= 12]):
                add(f"{k} % {m} == 0", 4, guard(get, lambda x, m=m: x % m == 0))
                add(f"{k} % {m} != 0", 4, guard(get, lambda x, m=m: x % m != 0))
        if ks & {"s", "c"}:
            get = length(k)
            add(f"not {k}", 2, guard(get, lambda x: x == 0))
            add(k, 1, guard(get, lambda x: x != 0))
            for c in [c for c in nums if isinstance(c, int) and c >= 0]:
                for op, f in _OPS:
                    add(f"len({k}) {op} {c!r}", 4, guard(get, lambda x, f=f, c=c: f(x, c)))
        if "s" in ks:
            for c in strs:
                add(f"{k} == {c!r}", 3, lambda v, k=k, c=c: (v[k][1] == c) if v[k][0] == "s"
                    and v[k][1] is not None else None)
                add(f"{k} != {c!r}", 3, lambda v, k=k, c=c: (v[k][1] != c) if v[k][0] == "s"
                    and v[k][1] is not None else None)
        if len(out) > MAX_ATOMS:
            break
    numeric = [k for k in ordered if "n" in kinds[k]]
    for i, a in enumerate(numeric):
        for b in numeric[i + 1:]:
            for op, f in _OPS:
                add(f"{a} {op} {b}", 3, lambda v, a=a, b=b, f=f: f(v[a][1], v[b][1])
                    if v[a][0] == "n" and v[b][0] == "n" else None)
    return out


def synthesize(spec: Spec, original: str | None, nums, strs, preferred=(),
               limit: int = MAX_PER_SITE) -> list[str]:
    """Conditions that yield the wanted value on every record, smallest first: an atom, the
    original condition joined with an atom by ``and``/``or``, two atoms joined. A condition
    refuted by a failing test that no forcing repaired (``Spec.negative``: it yields, at every
    evaluation recorded in that test's original run, one constant or the original value, both
    known to fail it) is left out."""
    rows = _thin(spec.rows)
    if not rows:
        return []
    negative, groups = [], []
    for group in spec.negative[:8]:
        group = group[:20]
        if group:
            start = len(rows) + len(negative)
            negative += [(vals, orig, False) for vals, orig in group]
            groups.append(((1 << len(group)) - 1) << start)
    every = rows + negative
    full = (1 << len(rows)) - 1
    ones = (1 << len(every)) - 1
    want = sum(1 << i for i, (_, _, w) in enumerate(rows) if w)
    ov = sum(1 << i for i, (_, o, _) in enumerate(every) if o)
    od = sum(1 << i for i, (_, o, _) in enumerate(every) if o is not None)
    atoms = _atoms(every, nums, strs, set(preferred))
    found: list[tuple[int, int, str, str]] = []

    def refuted(val, dfn):
        for g in groups:
            if dfn & g == g and (val & g in (0, g) or (od & g == g and val & g == ov & g)):
                return True
        return False

    def keep(size, text, kind, val, dfn):
        if dfn & full == full and val & full == want and not refuted(val, dfn):
            found.append((size, len(found), text, kind))

    for text, size, val, dfn in atoms:
        keep(size, text, "atom", val, dfn)
    if original is not None and original != "True" and od & full == full:
        for text, size, val, dfn in atoms:
            # (C) and A is defined where C is false or A is defined; (C) or A, where C is true
            keep(size + 2, f"({original}) and {text}", "joined", ov & val,
                 od & ((ones & ~ov) | dfn))
            keep(size + 2, f"({original}) or {text}", "joined", ov | val, od & (ov | dfn))
    # A and B: both hold wherever the wanted value is True; A or B: neither where it is False
    ands = [a for a in atoms if a[2] & want == want and a[3] & want == want][:400]
    ors = [a for a in atoms if a[2] & ~want & full == 0][:400]
    pairs = 0
    for group, joiner in ((ands, "and"), (ors, "or")):
        for i, (ta, sa, va, da) in enumerate(group):
            if pairs > MAX_PAIRS:
                break
            for tb, sb, vb, db in group[i + 1:]:
                pairs += 1
                if joiner == "and":
                    keep(sa + sb + 3, f"{ta} and {tb}", "pair", va & vb,
                         da & ((ones & ~va) | db))
                else:
                    keep(sa + sb + 3, f"{ta} or {tb}", "pair", va | vb, da & (va | db))
    found.sort()
    out, taken = [], dict.fromkeys(QUOTAS, 0)
    for _, _, text, kind in found:
        if text not in out and text != original and taken[kind] < QUOTAS[kind]:
            out.append(text)
            taken[kind] += 1
        if len(out) >= limit:
            break
    return out


def _thin(rows, most: int = 80):
    """At most ``most`` records: those whose wanted value differs from the original first (the
    evidence of the fault), then the rest evenly sampled, in their order."""
    if len(rows) <= most:
        return rows
    key = [i for i, (_, o, w) in enumerate(rows) if o != w][: most // 2]
    rest = [i for i in range(len(rows)) if i not in set(key)]
    step = len(rest) / (most - len(key))
    chosen = set(key) | {rest[int(j * step)] for j in range(most - len(key))}
    return [rows[i] for i in sorted(chosen)]


def candidates(site: AngelicSite, source: str, conditions: list[str]) -> list[Candidate]:
    """The site's source with each condition in place (an ``if`` around the statement for a
    missing precondition)."""
    out = []
    for cond in conditions:
        if site.kind == "cond":
            new = f"({cond})" if _needs_parens(source, site) else cond
            text = source[:site.start] + new + source[site.end:]
            desc = f"condition from the tests' values: {site.text} -> {cond}"
        else:
            body = source[site.start:site.end]
            indent = indent_of(body)
            inner = "\n".join("    " + x if x.strip() else x for x in body.split("\n"))
            text = source[:site.start] + f"{indent}if {cond}:\n{inner}" + source[site.end:]
            desc = f"guard from the tests' values: if {cond}: {body.strip()[:40]}"
        try:
            compile(text, site.path, "exec")
        except (SyntaxError, ValueError):
            continue
        out.append(Candidate(site.path, site.line, text, FAMILY, desc, max(len(cond) // 4, 1)))
    return out


def _needs_parens(source: str, site: AngelicSite) -> bool:
    """Whether the test sits inside a larger expression (a ternary's or a filter's test)."""
    before = source[:site.start].rstrip()
    return not (before.endswith("if") or before.endswith("while") or before.endswith("elif"))
