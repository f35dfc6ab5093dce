"""Why `agent fix` believes its fix: the failing tests, where the fault was localized and on what
evidence, what the edit is in words, what the search cost, which tests flipped, and a warning when
the evidence is thin.

Built from what a fix leaves: its trajectory (the first test report, the ``localize`` ranking, the
final patch), the repository's original sources (to name the edit: the repair family whose
candidate at the edited line is exactly the patched text) and, where the search policy ran, its
stats (candidates validated, time, the rank of the winning line in its own deeper ranking, the
tests whose coverage includes that line).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.patches import FilePatch, Hunk, edited_lines, parse_patch

#: Repair families in words (envs.mutations, agent.policies.templates, agent.repair).
FAMILY_WORDS = {
    "arith_op": "arithmetic operator", "aug_assign": "augmented assignment",
    "compare_boundary": "comparison boundary", "compare_direction": "comparison direction",
    "compare_negate": "negated comparison", "is_eq": "identity vs equality",
    "bool_op": "boolean operator", "int_constant": "integer constant",
    "off_by_one_bound": "off-by-one bound", "swap_operands": "swapped operands",
    "wrong_variable": "wrong variable", "remove_statement": "removed statement",
    "negate_condition": "negated condition", "remove_condition": "dropped condition",
    "remove_not": "dropped not", "return_value": "returned value",
    "bool_constant": "boolean constant", "swap_arguments": "swapped arguments",
    "wrong_key": "wrong key", "wrong_attribute": "wrong attribute", "api_swap": "wrong function",
    "exception_type": "exception type", "insert_guard": "missing guard",
    "insert_not": "missing not", "mutable_default": "shared mutable default",
    "return_literal": "returned literal", "argument_literal": "argument literal",
    "return_name": "returned name", "format_spec": "format spec",
    "replace_name": "wrong name", "plus_minus_one": "off by one", "swap_pair": "swapped pair",
    "wrap_call": "missing call", "extend_return": "incomplete return",
    "aug_assign_form": "assignment form", "power": "power", "slice_iteration": "slice",
    "widen_condition": "condition too narrow", "tighten_condition": "condition too wide",
    "compare_zero_none": "0 vs None", "condition_ingredient": "condition from elsewhere",
    "ingredient_insert": "missing statement", "ingredient_replace": "wrong statement",
    "misspelled_name": "misspelled name", "misspelled_attribute": "misspelled attribute",
    "misspelled_import": "misspelled import", "syntax_fix": "syntax error",
}

_ERROR_BLOCK = re.compile(r"^--- (\S+::\S.*?) ---$", re.MULTILINE)
"""The head of one test's failure text in a test report observation (envs.tools.format_report)."""


@dataclass
class FailingTest:
    name: str
    error: str
    """The first line of its error ("AssertionError: assert 0.0 == 1.0")."""


@dataclass
class Evidence:
    """Why one edited line was suspected."""

    location: str
    rank: int | None = None
    """1-based rank in the localization (None: not ranked)."""
    score: float | None = None
    """Its suspiciousness: Ochiai over per-test coverage plus the traceback boost."""
    traceback: list[str] = field(default_factory=list)
    """Failing tests whose traceback names this line."""
    covering_tests: list[str] | None = None
    """Tests that ran this line (None: not known for this policy)."""


@dataclass
class FixPart:
    location: str
    family: str
    """The repair family that makes exactly this edit ("" when none does)."""
    words: str
    """"comparison boundary: > became >=", or a plain account of the edit."""


@dataclass
class Explanation:
    failing: list[FailingTest] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    fix: list[FixPart] = field(default_factory=list)
    candidates_tried: int | None = None
    search_s: float | None = None
    stage: str = ""
    """What part of the search found the fix (``SearchStats.stage``; "" for a model)."""
    fixed_tests: list[str] = field(default_factory=list)
    broken_tests: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def failing_tests(intro: str) -> list[FailingTest]:
    """The failing tests of the first observation and the first line of each one's error."""
    from agent.view.model import test_rows

    errors = {}
    blocks = _ERROR_BLOCK.split(intro)
    for node, text in zip(blocks[1::2], blocks[2::2]):
        # pytest's "E   " lines hold the exception; the text may open with its traceback.
        marked = [ln[1:].strip() for ln in text.splitlines() if ln.startswith("E ")]
        plain = [ln.strip() for ln in text.splitlines() if ln.strip()]
        errors[node] = (marked or plain or [""])[0]
    return [FailingTest(row.name, errors.get(row.name, row.before))
            for row in test_rows(intro, {}, None) if row.group == "fail_to_pass"]


def traceback_hits(intro: str) -> dict[str, list[str]]:
    """``path:line`` -> the failing tests whose error text names that frame."""
    from envs.localize import traceback_frames

    hits: dict[str, list[str]] = {}
    blocks = _ERROR_BLOCK.split(intro)
    for node, text in zip(blocks[1::2], blocks[2::2]):
        for path, line in traceback_frames(text):
            hits.setdefault(f"{path}:{line}", [])
            if node not in hits[f"{path}:{line}"]:
                hits[f"{path}:{line}"].append(node)
    return hits


def apply_hunks(source: str, hunks: list[Hunk]) -> str | None:
    """``source`` with ``hunks`` applied (None when a hunk's old side is not where it says)."""
    lines = source.split("\n")
    offset = 0
    for hunk in hunks:
        start = max(hunk.old_start - 1, 0) + offset
        if lines[start : start + len(hunk.old)] != hunk.old:
            return None
        lines[start : start + len(hunk.old)] = hunk.new
        offset += len(hunk.new) - len(hunk.old)
    return "\n".join(lines)


def changes(hunk: Hunk) -> list[Hunk]:
    """The separate edits in a hunk, without context: each run of removed-then-added lines, cut
    into line-for-line pairs when both sides have as many lines (two neighbouring one-line edits
    are two edits)."""
    out: list[Hunk] = []
    number = hunk.old_start
    run: list[tuple[str, str]] = []
    start = number

    def flush() -> None:
        removed = [t for tag, t in run if tag == "-"]
        added = [t for tag, t in run if tag == "+"]
        if removed and len(removed) == len(added):
            out.extend(Hunk(start + i, [("-", r), ("+", a)]) for i, (r, a) in
                       enumerate(zip(removed, added)))
        elif run:
            out.append(Hunk(start, list(run)))

    for tag, text in [*hunk.lines, (" ", "")]:  # a last context line flushes the last run
        if tag == " ":
            flush()
            run, number = [], number + 1
            start = number
        else:
            run.append((tag, text))
            number += tag == "-"
    return out


def describe_hunk(repo: Path | None, file_patch: FilePatch, hunk: Hunk) -> FixPart:
    """One edit in words: the family whose candidate at its line is exactly it."""
    from agent.repair.engine import candidates_at

    lines = edited_lines("".join(f"--- a/{file_patch.path}\n+++ b/{file_patch.path}\n"
                                 + _hunk_text(hunk)))
    numbers = lines.get(file_patch.path) or [hunk.old_start]
    location = f"{file_patch.path}:{numbers[0]}"
    source_path = repo / file_patch.path if repo is not None else None
    if source_path is not None and source_path.is_file():
        source = source_path.read_text(errors="replace")
        fixed = apply_hunks(source, [hunk])
        for number in numbers if fixed is not None else []:
            for candidate in candidates_at(file_patch.path, source, number):
                if candidate.text == fixed:
                    return FixPart(location, candidate.family, _words(candidate))
    removed = [t.strip() for tag, t in hunk.lines if tag == "-"]
    added = [t.strip() for tag, t in hunk.lines if tag == "+"]
    if len(removed) == 1 and len(added) == 1:
        return FixPart(location, "", f"{removed[0]!r} became {added[0]!r}")
    return FixPart(location, "", f"{len(removed)} line(s) replaced by {len(added)}")


def _hunk_text(hunk: Hunk) -> str:
    return f"@@ -{hunk.old_start} @@\n" + "".join(f"{tag}{text}\n" for tag, text in hunk.lines)


STAGE_WORDS = {
    "round 1": "in the first round",
    "round 2": "in the second round, on top of a partial fix",
    "combined": "by joining two partial fixes",
    "lines": "at a line below the top ones, once their candidates ran dry",
    "pairs": "as two edits together, once the round's single edits ran dry",
}
"""``SearchStats.stage`` in words."""


def _words(candidate: Any) -> str:
    family = FAMILY_WORDS.get(candidate.family, candidate.family.replace("_", " "))
    what = re.sub(r" at line \d+$", "", candidate.description).replace(" -> ", " became ")
    return f"{family}: {what}"


def explain(trajectory: Path, *, repo: Path | None, fixed: list[str], broken: list[str],
            stats: Any = None) -> Explanation:
    """The explanation of the episode in ``trajectory`` (``stats``: the search policy's
    SearchStats or its dict, when it ran)."""
    from agent.view.model import trajectory_view

    view = trajectory_view(trajectory, repo=repo)
    result = Explanation(failing=failing_tests(view.intro), fixed_tests=list(fixed),
                         broken_tests=list(broken))
    for file_patch in parse_patch(view.patch):
        for hunk in file_patch.hunks:
            result.fix += [describe_hunk(repo, file_patch, edit) for edit in changes(hunk)]
    frames = traceback_hits(view.intro)
    ranked = {row.location: row for row in view.ranking}
    stats = _as_dict(stats)
    for part in result.fix:
        row = ranked.get(part.location)
        evidence = Evidence(part.location, row.rank if row else None,
                            row.score if row else None, frames.get(part.location, []))
        if stats.get("line") == part.location:  # the search's own deeper ranking and coverage
            evidence.rank = stats.get("line_rank") or evidence.rank
            evidence.covering_tests = list(stats.get("covering_tests") or [])
        result.evidence.append(evidence)
    if stats.get("candidates"):
        result.candidates_tried, result.search_s = stats["candidates"], stats.get("elapsed_s")
        result.stage = stats.get("stage") or ""
    else:  # a model's attempts are its edits
        result.candidates_tried = sum(s.verb in ("edit", "apply") and not s.format_error
                                     for s in view.steps)
        result.search_s = view.elapsed_s
    result.warnings = warnings(result)
    return result


def _as_dict(stats: Any) -> dict[str, Any]:
    """The search's stats as a dict: SearchStats, its JSON form, or nothing."""
    import dataclasses

    if stats is None:
        return {}
    if dataclasses.is_dataclass(stats):
        return dataclasses.asdict(stats)
    return dict(stats)


def warnings(explanation: Explanation) -> list[str]:
    """When a plausible fix rests on little evidence."""
    out = []
    if not explanation.fix:
        return out
    modules = [t.name for t in explanation.failing if "::" not in t.name]
    if modules and len(modules) == len(explanation.failing):
        # a module that did not import: one entry stands for all its tests, and no coverage
        # was measured before the patch, so neither warning below would be true
        out.append(f"{', '.join(modules)} did not import before the patch, so which tests run "
                   "the edited lines was not measured; its tests passing now is the evidence; "
                   "review the patch")
        return out
    if len(explanation.failing) == 1:
        out.append("only one failing test shows the fault: the fix makes it pass, but one test "
                   "is thin evidence that the behaviour is right; review the patch")
    for evidence in explanation.evidence:
        if evidence.covering_tests is not None and len(evidence.covering_tests) <= 1:
            out.append(f"the suite runs {evidence.location} in "
                       f"{'only one test' if evidence.covering_tests else 'no test'}: nothing "
                       "else checks the edited line; review the patch")
    return out


def explanation_lines(explanation: Explanation) -> list[str]:
    """The explanation as rich-markup lines for the console."""
    lines = ["[bold]why this fix[/]"]
    for test in explanation.failing:
        lines.append(f"  failing  {test.name}: {test.error}")
    for evidence in explanation.evidence:
        why = []
        if evidence.rank:
            score = f", score {evidence.score:.3f}" if evidence.score is not None else ""
            why.append(f"rank {evidence.rank}{score}")
        if evidence.traceback:
            why.append(f"in the traceback of {len(evidence.traceback)} failing test(s)")
        if evidence.covering_tests is not None:
            why.append(f"run by {len(evidence.covering_tests)} test(s)")
        lines.append(f"  fault    {evidence.location} ({'; '.join(why) or 'not ranked'})")
    for part in explanation.fix:
        lines.append(f"  fix      {part.location}: {part.words}")
    if explanation.candidates_tried is not None:
        took = f" in {explanation.search_s:.1f} s" if explanation.search_s is not None else ""
        stage = STAGE_WORDS.get(explanation.stage, explanation.stage)
        lines.append(f"  tried    {explanation.candidates_tried} candidate(s){took}"
                     + (f"; found {stage}" if stage else ""))
    for warning in explanation.warnings:
        lines.append(f"  [yellow]warning[/]  {warning}")
    return lines
