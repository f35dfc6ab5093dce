"""What the module checks elsewhere, brought to the line: a missing conjunct, a missing member.

- ``conjoin_invariant``: a condition ``C`` -> ``C and K``, ``K`` a comparison the module tests
  in two places or more (``assert self.interval == 1`` in every property that needs it), whose
  names are all bound here and that ``C`` does not test already: the case a branch forgot to
  exclude, most often tested first;
- ``extend_tuple``: a literal tuple, list or set of names or constants -> the same with one more
  member (then with all of them), taken from the module's other collections that share a member
  with it, and for a collection of types from the types the module passes to ``isinstance``:
  ``(Version, dict, tuple)`` lacks the ``list`` that ``isinstance(other, (tuple, list))`` accepts;
- ``missing_init``: a run of statements that set one object's keys or ``self`` attributes to
  constants lacks one the module sets elsewhere: it is set, to the run's value, after the run.

All draw only on what the module itself writes, so they are silent in most places.
"""

from __future__ import annotations

import ast
import builtins
from collections import Counter
from collections.abc import Iterator

from agent.repair.conditions import conditions
from agent.repair.site import Candidate, Site
from envs.mutations import walk

MAX_INVARIANTS = 4
MAX_MEMBERS = 4
_TESTED = (ast.If, ast.While, ast.IfExp, ast.Assert)
_TYPES = frozenset(n for n in dir(builtins) if isinstance(getattr(builtins, n), type))


def _atoms(test: ast.expr) -> list[ast.expr]:
    """A test's comparisons: itself, or the operands of its ``and`` / ``or`` chains."""
    if isinstance(test, ast.BoolOp):
        return [a for v in test.values for a in _atoms(v)]
    return [test] if isinstance(test, ast.Compare) else []


def _invariants(site: Site) -> list[str]:
    """Comparisons the module tests at least twice, most often first (texts, one line each)."""
    count, first = Counter(), {}
    for node in walk(site.tree):
        if isinstance(node, _TESTED):
            for atom in _atoms(node.test):
                text = site.segment(atom)
                if "\n" not in text:
                    count[text] += 1
                    first.setdefault(text, atom)
    return [t for t, n in sorted(count.items(), key=lambda kv: -kv[1]) if n >= 2
            and {x.id for x in ast.walk(first[t]) if isinstance(x, ast.Name)} <= site.bound]


def conjoin_invariant(site: Site) -> Iterator[Candidate]:
    conds = conditions(site)
    if not conds:
        return
    pool = _invariants(site)
    for cond in conds:
        old = site.segment(cond)
        mine = {ast.dump(a) for a in _atoms(cond)} | {ast.dump(cond)}
        chain = isinstance(cond, ast.BoolOp) and isinstance(cond.op, ast.And)
        base = old if chain or isinstance(cond, ast.Compare) else f"({old})"
        made = 0
        for text in pool:
            if made >= MAX_INVARIANTS:
                break
            if ast.dump(ast.parse(text, mode="eval").body) in mine:
                continue
            made += 1
            new = f"{base} and {text}"
            yield site.candidate(site.replace(cond, new), "conjoin_invariant",
                                 f"{old} -> {new}", size=len(text) + 5, disables=True)


def _collections(site: Site) -> list[ast.expr]:
    return [n for n in walk(site.tree) if isinstance(n, (ast.Tuple, ast.List, ast.Set))
            and isinstance(getattr(n, "ctx", ast.Load()), ast.Load) and _members(site, n)]


def _members(site: Site, node: ast.expr) -> list[str] | None:
    """The texts of a literal collection's members when all are names, attributes or constants."""
    if not node.elts or not all(isinstance(e, (ast.Name, ast.Attribute, ast.Constant))
                                for e in node.elts):
        return None
    return [site.segment(e) for e in node.elts]


def _checked_types(site: Site) -> list[str]:
    out = []
    for node in walk(site.tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "isinstance" and len(node.args) == 2:
            kind = node.args[1]
            for e in kind.elts if isinstance(kind, ast.Tuple) else [kind]:
                if isinstance(e, (ast.Name, ast.Attribute)):
                    out.append(site.segment(e))
    return out


def _readable(site: Site, member: str, stored: set[str]) -> bool:
    """Whether a member's text can be read at the line: a constant, or names bound there that
    the line's own statement does not assign."""
    root = ast.parse(member, mode="eval").body
    while isinstance(root, ast.Attribute):
        root = root.value
    return isinstance(root, ast.Constant) or (
        isinstance(root, ast.Name) and root.id in site.bound and root.id not in stored)


def extend_tuple(site: Site) -> Iterator[Candidate]:
    classes = {n.name for n in site.tree.body if isinstance(n, ast.ClassDef)} | _TYPES
    others = None
    for node in site.line_nodes():
        if not isinstance(node, (ast.Tuple, ast.List, ast.Set)) or "\n" in site.segment(node):
            continue
        others = _collections(site) if others is None else others
        have = _members(site, node)
        if have is None:
            continue
        extra = []
        for other in others:
            theirs = _members(site, other)
            if other is not node and set(theirs) & set(have):
                extra += theirs
        if any(m.split(".")[-1] in classes for m in have):
            extra += _checked_types(site)
        stored = {n.id for n in ast.walk(site.stmt) if isinstance(n, ast.Name)
                  and isinstance(n.ctx, ast.Store)}
        extra = [m for m in dict.fromkeys(extra) if m not in have and _readable(site, m, stored)]
        if not extra:
            continue
        text = site.segment(node)
        close = len(text) - (2 if text.endswith(",)") else 1)
        opened = text[:close] if text[0] in "([{" else None
        if opened is None:
            continue  # a bare tuple (``a, b = ...``) has no bracket to extend within
        options = [[m] for m in extra[:MAX_MEMBERS]] + ([extra] if len(extra) > 1 else [])
        for added in options:
            new = f"{opened}, {', '.join(added)}{text[close:]}" if not text.endswith(",)") \
                else f"{opened}, {', '.join(added)})"
            yield site.candidate(site.replace(node, new), "extend_tuple",
                                 f"{text} -> {new}", size=sum(len(m) + 2 for m in added))


def _slot(site: Site, stmt: ast.stmt) -> tuple[str, object, str] | None:
    """(owner, key, key's text) of ``X["key"] = ...`` or ``self.key = ...`` (the owner as
    source text)."""
    if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
        return None
    target = stmt.targets[0]
    if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant) \
            and isinstance(target.slice.value, str):
        owner = ast.unparse(target.value)
        return owner, target.slice.value, f"{owner}[{site.segment(target.slice)}]"
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
            and target.value.id == "self":
        return "self", target.attr, f"self.{target.attr}"
    return None


def missing_init(site: Site) -> Iterator[Candidate]:
    """A run of statements that set the keys of one object (``stats["tries"] = 1``,
    ``stats["idle"] = 0``) lacks a key the module sets on it elsewhere: the slot is
    initialized with the run's value, after the run (``stats["delay"] = 0``)."""
    stmt = site.stmt
    mine = _slot(site, stmt) if isinstance(stmt, ast.stmt) else None
    parent = site.parents.get(stmt)
    block = next((b for b in (getattr(parent, f, None) for f in ("body", "orelse"))
                  if isinstance(b, list) and stmt in b), None)
    if mine is None or block is None or not isinstance(stmt.value, ast.Constant):
        return
    def owned(s: ast.stmt) -> bool:
        slot = _slot(site, s)
        return slot is not None and slot[0] == mine[0]

    first = last = block.index(stmt)
    while last + 1 < len(block) and owned(block[last + 1]):
        last += 1
    while first > 0 and owned(block[first - 1]):
        first -= 1
    if last == first:
        return  # one statement is no run of initializations
    have = {_slot(site, s)[1] for s in block[first: last + 1]}
    missing = {}
    for node in walk(site.tree):
        slot = _slot(site, node) if isinstance(node, ast.Assign) else None
        if slot is not None and slot[0] == mine[0] and slot[1] not in have:
            missing.setdefault(slot[1], slot[2])
    end = block[last]
    row, indent = end.end_lineno, site.lines[end.lineno - 1][: end.col_offset]
    for target in list(missing.values())[:MAX_MEMBERS]:
        line = f"{target} = {site.segment(stmt.value)}"
        yield site.candidate(site.insert(row, [line], indent), "missing_init",
                             f"insert `{line}` after line {row}", size=len(line))


FAMILIES = {
    "conjoin_invariant": conjoin_invariant,
    "extend_tuple": extend_tuple,
    "missing_init": missing_init,
}
