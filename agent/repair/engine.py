"""All candidate fixes at one suspicious line, from every family, as pure functions of source text.

Families, by group:

- ``envs.mutations``: one-span operator changes (the inverse of a bug is usually another mutation);
- ``agent.policies.templates``: inserted guards, fresh mutable defaults, literals, format specs;
- ``agent.repair.expressions``: names in scope, +-1, swaps, wrapping calls, returns, powers, slices;
- ``agent.repair.conditions``: widened / tightened conditions, comparisons to 0 / None;
- ``agent.repair.ingredients``: statements of the same function / module / package;
- ``agent.repair.names``: misspelled names, attributes, imports;
- ``agent.repair.operators``: any operator for any other of its kind, sibling calls;
- ``agent.repair.wrapping``: a value subscripted, converted, wrapped in a call or unwrapped;
- ``agent.repair.deletions``: two adjacent statements or a whole block removed;
- ``agent.repair.reshape``: reductions, slices, unary operators, dead stores, literals;
- ``agent.repair.flow``: branches exchanged, statements moved, ``elif`` / ``if``, ``break``;
- ``agent.repair.calls``: ``x.a`` <-> ``x.a()``, ``type(self)``, a local for a rebuilt object, ``.get``;
- ``agent.repair.pairs``: one change made at two places (every read, two parallel statements);
- ``agent.repair.invariants``: a comparison the module tests often conjoined, a member added;
- ``agent.repair.brackets``: a call's closing parenthesis moved over an operand, ``x op= e % m``;
- ``agent.repair.syntax``: token-level fixes when the file does not compile.
"""

from __future__ import annotations

import logging
import time

from agent.policies import templates
from agent.repair import (
    brackets,
    calls,
    conditions,
    deletions,
    expressions,
    flow,
    ingredients,
    invariants,
    names,
    operators,
    pairs,
    reshape,
    wrapping,
)
from agent.repair.site import Candidate, Site
from agent.repair.syntax import syntax_error, syntax_fixes
from envs.mutations import MutationError, enumerate_mutations
from envs.mutations import apply as apply_mutation

log = logging.getLogger("debug_agent.repair")

#: Families whose edits switch behaviour off: a negated or removed guard, a deleted statement,
#: an early exit. They make failing tests pass by accident, so away from the fault they come last.
DISABLING = frozenset({"negate_condition", "remove_statement", "remove_condition",
                       "return_value", "insert_guard", "insert_not"})

FAMILIES = {**expressions.FAMILIES, **conditions.FAMILIES, **ingredients.FAMILIES,
            **names.FAMILIES, **operators.FAMILIES, **wrapping.FAMILIES,
            **deletions.FAMILIES, **reshape.FAMILIES, **flow.FAMILIES, **calls.FAMILIES,
            **pairs.FAMILIES, **invariants.FAMILIES, **brackets.FAMILIES}


def mutation_candidates(path: str, source: str, line: int | None = None) -> list[Candidate]:
    """The mutation operators' edits touching ``line`` (every line of the file: None)."""
    try:
        mutations = enumerate_mutations(source, path, lines=None if line is None else [line])
    except MutationError:
        return []
    return [Candidate(path, m.line if line is None else line, apply_mutation(source, m), m.family,
                      f"{m.description} at line {m.line}",
                      size=max(len(m.old_text), len(m.new_text), 1) if m.family in (
                          "remove_statement", "return_value") else 1,
                      disables=m.family in DISABLING)
            for m in mutations]


def template_candidates(path: str, source: str, line: int) -> list[Candidate]:
    return [Candidate(path, line, c.text, c.family, c.description,
                      size=3 if c.family in ("insert_guard", "mutable_default") else 1,
                      disables=c.family in DISABLING)
            for c in templates.template_candidates(source, path, line)]


def candidates_at(path: str, source: str, line: int, package: dict[str, str] | None = None,
                  families: set[str] | None = None, deadline: float | None = None
                  ) -> list[Candidate]:
    """Every candidate at ``path:line`` (unranked, possibly with duplicates).

    ``package`` maps the project's other source files to their text (ingredients and imported
    names come from there); ``families`` limits the output to those families. Past
    ``deadline`` (a ``time.monotonic()`` instant) the families not yet asked are skipped: the
    candidates made so far come back.
    """
    if syntax_error(source, path) is not None:
        found = syntax_fixes(path, source)
        return [c for c in found if families is None or c.family in families]
    if not 1 <= line <= source.count("\n") + 1:
        return []  # a stale location (the file is shorter now)
    late = (lambda: False) if deadline is None else (lambda: time.monotonic() > deadline)
    out = mutation_candidates(path, source, line)
    if late():
        return _only(out, families)
    out += template_candidates(path, source, line)
    site = Site.parse(path, source, line, package)
    if site is not None and site.stmt is not None:
        for name, family in FAMILIES.items():
            if late():
                log.info("candidates at %s:%d: out of time before the %s family", path, line, name)
                break
            if families is not None and name not in families:
                continue
            out += list(family(site))
    elif site is not None and site.func is not None and site.func.lineno == line:
        for name, family in calls.DEF_LINE_FAMILIES.items():
            if families is None or name in families:
                out += list(family(site))
    return _only(out, families)


def _only(found: list[Candidate], families: set[str] | None) -> list[Candidate]:
    return found if families is None else [c for c in found if c.family in families]


def problem_locations(path: str, source: str) -> list[int]:
    """Lines of a file where code cannot run at all: its SyntaxError, or names nothing binds.
    These go to the top of the ranking: nothing else in the file can be tested until they are
    fixed."""
    error = syntax_error(source, path)
    if error is not None:
        return [error.lineno] if error.lineno else [1]
    return names.problem_lines(source)
