"""The action grammar: the one parser from policy text to typed actions, and back.

A policy answers with one fenced block holding one action::

    run_tests [NODE_ID ...]       run the whole suite, or only these tests
    open PATH [START [END]]       show a file with line numbers (a window of it)
    search PATTERN [PATH]         regex search over the repo (quote a PATTERN with spaces)
    localize                      ranked suspicious lines (Ochiai over per-test coverage)
    edit PATH                     then one or more SEARCH/REPLACE blocks:
    <<<<<<< SEARCH
    exact old lines
    =======
    new lines
    >>>>>>> REPLACE
    candidates [PATH:LINE]        list repair candidates (ids c1, c2, ...) at the top localized
                                  lines, or at PATH:LINE
    apply ID                      make the edit of candidate ID of the latest listing
    submit                        end the episode; the tests decide the reward

Text outside the block is the policy's own notes and is ignored. ``format_action`` writes an
action back as text that ``parse_action`` reads to the same value.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Union

from sandboxes.errors import DebugAgentError

SEARCH_MARK = "<<<<<<< SEARCH"
DIVIDER = "======="
REPLACE_MARK = ">>>>>>> REPLACE"


class ActionError(DebugAgentError, ValueError):
    """Policy text that is not a valid action; the message says how to write it."""


@dataclass(frozen=True)
class RunTests:
    node_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Open:
    path: str
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True)
class Search:
    pattern: str
    path: str | None = None


@dataclass(frozen=True)
class Localize:
    pass


@dataclass(frozen=True)
class EditBlock:
    search: str
    replace: str


@dataclass(frozen=True)
class Edit:
    path: str
    blocks: tuple[EditBlock, ...]


@dataclass(frozen=True)
class Candidates:
    """List the repair engine's candidate edits: at the top localized lines, or at one line."""

    path: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Apply:
    """Make the edit of one listed candidate (its id, ``c1`` ...), as the equivalent ``edit``."""

    id: str


@dataclass(frozen=True)
class Submit:
    pass


Action = Union[RunTests, Open, Search, Localize, Edit, Candidates, Apply, Submit]

VERBS = ("run_tests", "open", "search", "localize", "edit", "candidates", "apply", "submit")
_CANDIDATE_ID = re.compile(r"^c[1-9][0-9]*$")

USAGE = """\
Answer with exactly one action in a fenced block, for example:
```
run_tests
```
Actions: run_tests [NODE_ID ...] | open PATH [START [END]] | search PATTERN [PATH] | localize |
edit PATH followed by SEARCH/REPLACE blocks | candidates [PATH:LINE] | apply ID | submit
An edit looks like:
```
edit pkg/module.py
<<<<<<< SEARCH
    return a - b
=======
    return a + b
>>>>>>> REPLACE
```
Instead of writing an edit you may choose one: `candidates` lists possible fixes at the most
suspicious lines (`candidates pkg/module.py:12` at one line), each with an id and the line as it
would read, and ends with `choose one: apply c1 | apply c2 | ...`; then apply one, which edits
the file as that listing shows:
```
apply c2
```"""

_FENCE = re.compile(r"^```[\w+-]*\s*$")


def extract_block(text: str) -> str:
    """The body of the fenced block in ``text``, or the whole text when it has no fence.

    The block runs from the first opening fence to the last closing fence, so code inside an edit
    may itself contain backticks.
    """
    lines = text.splitlines()
    fences = [i for i, line in enumerate(lines) if _FENCE.match(line.strip())]
    if len(fences) >= 2:
        return "\n".join(lines[fences[0] + 1 : fences[-1]])
    if len(fences) == 1:
        raise ActionError("the fenced block is not closed: end it with a line of ```\n" + USAGE)
    return text


def parse_action(text: str) -> Action:
    body = extract_block(text).strip("\n")
    if not body.strip():
        raise ActionError("no action found\n" + USAGE)
    head, _, rest = body.lstrip().partition("\n")
    try:
        words = shlex.split(head)
    except ValueError as exc:
        raise ActionError(f"cannot read {head!r}: {exc}; quote a pattern that has spaces") from None
    if not words:
        raise ActionError("no action found\n" + USAGE)
    verb, args = words[0].lower(), words[1:]
    if verb == "edit":
        return _parse_edit(args, rest)
    if rest.strip():
        raise ActionError(f"one action per answer: {verb!r} takes no lines after it\n" + USAGE)
    if verb == "run_tests":
        return RunTests(tuple(args))
    if verb == "open":
        if not 1 <= len(args) <= 3:
            raise ActionError("open takes PATH [START [END]], e.g. `open calc/ops.py 10 40`")
        numbers = []
        for arg in args[1:]:
            if not arg.isdigit() or int(arg) < 1:
                raise ActionError(f"open: line numbers are whole numbers from 1, got {arg!r}")
            numbers.append(int(arg))
        start, end = (numbers + [None, None])[:2]
        if start is not None and end is not None and end < start:
            raise ActionError(f"open: END ({end}) is before START ({start})")
        return Open(args[0], start, end)
    if verb == "search":
        if not 1 <= len(args) <= 2:
            raise ActionError("search takes PATTERN [PATH]; quote a PATTERN with spaces: "
                              "search \"def area\" shapes/")
        try:
            re.compile(args[0])
        except re.error as exc:
            raise ActionError(f"search: {args[0]!r} is not a valid regular expression ({exc})") from None
        return Search(args[0], args[1] if len(args) == 2 else None)
    if verb == "candidates":
        return _parse_candidates(args)
    if verb == "apply":
        if len(args) != 1 or not _CANDIDATE_ID.match(args[0].lower()):
            raise ActionError("apply takes one candidate id from the latest `candidates` listing, "
                              f"e.g. `apply c1`; got {' '.join(args)!r}")
        return Apply(args[0].lower())
    if verb in ("localize", "submit"):
        if args:
            raise ActionError(f"{verb} takes no arguments, got {' '.join(args)!r}")
        return Localize() if verb == "localize" else Submit()
    raise ActionError(f"unknown action {verb!r}\n" + USAGE)


def _parse_candidates(args: list[str]) -> Candidates:
    if not args:
        return Candidates()
    path, _, line = args[0].rpartition(":")
    if len(args) != 1 or not path or not line.isdigit() or int(line) < 1:
        raise ActionError("candidates takes nothing (the top localized lines) or one PATH:LINE, "
                          f"e.g. `candidates calc/ops.py:12`; got {' '.join(args)!r}")
    return Candidates(path, int(line))


def _parse_edit(args: list[str], rest: str) -> Edit:
    if len(args) != 1:
        raise ActionError("edit takes exactly one PATH, followed by SEARCH/REPLACE blocks\n" + USAGE)
    blocks: list[EditBlock] = []
    lines = rest.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if line.strip() != SEARCH_MARK:
            raise ActionError(f"edit: expected a line `{SEARCH_MARK}`, got {line!r}\n" + USAGE)
        try:
            mid = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == DIVIDER)
            end = next(j for j in range(mid + 1, len(lines)) if lines[j].strip() == REPLACE_MARK)
        except StopIteration:
            raise ActionError(f"edit: a block needs `{DIVIDER}` and then `{REPLACE_MARK}`\n"
                              + USAGE) from None
        search = "\n".join(lines[i + 1 : mid])
        if not search.strip():
            raise ActionError("edit: the SEARCH part is empty; copy the exact lines to replace")
        blocks.append(EditBlock(search, "\n".join(lines[mid + 1 : end])))
        i = end + 1
    if not blocks:
        raise ActionError("edit: no SEARCH/REPLACE block after the path\n" + USAGE)
    return Edit(args[0], tuple(blocks))


def format_action(action: Action) -> str:
    """The action as policy text (one fenced block)."""
    return f"```\n{_body(action)}\n```"


def _body(action: Action) -> str:
    match action:
        case RunTests(node_ids):
            return " ".join(["run_tests", *map(shlex.quote, node_ids)])
        case Open(path, start, end):
            return " ".join(str(x) for x in ("open", shlex.quote(path), start, end) if x is not None)
        case Search(pattern, path):
            return " ".join(["search", shlex.quote(pattern)] + ([shlex.quote(path)] if path else []))
        case Localize():
            return "localize"
        case Submit():
            return "submit"
        case Candidates(path, line):
            return "candidates" if path is None else f"candidates {shlex.quote(f'{path}:{line}')}"
        case Apply(id):
            return f"apply {id}"
        case Edit(path, blocks):
            parts = [f"edit {shlex.quote(path)}"]
            for block in blocks:
                parts += [SEARCH_MARK, block.search, DIVIDER, block.replace, REPLACE_MARK]
            return "\n".join(parts)
    raise TypeError(f"not an action: {action!r}")


def make_edit(path: str, old: str, new: str, *, context: int = 1) -> Edit | None:
    """The edit action that turns file text ``old`` into ``new``, or None when they are equal.

    One SEARCH/REPLACE block per changed region, each grown by context lines until its SEARCH text
    occurs exactly once in the file as it stands when the block is applied (blocks apply in order).
    """
    import difflib

    old_lines, new_lines = old.split("\n"), new.split("\n")
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    regions = [op for op in matcher.get_grouped_opcodes(0)]
    if not regions:
        return None
    blocks: list[EditBlock] = []
    current = list(old_lines)
    shift = 0  # how far regions already applied moved later lines
    for group in regions:
        a0, a1 = group[0][1], group[-1][2]
        b0, b1 = group[0][3], group[-1][4]
        before, after = context, context
        if a0 == a1 and before == 0 and after == 0:
            before = 1
        while True:
            s0 = max(a0 - before, 0)
            s1 = min(a1 + after, len(old_lines))
            search = "\n".join(current[s0 + shift : s1 + shift])
            replace = "\n".join(old_lines[s0:a0] + new_lines[b0:b1] + old_lines[a1:s1])
            text = "\n".join(current)
            if search.strip() and text.count(search) == 1:
                break
            if s0 == 0 and s1 == len(old_lines):
                break  # the whole file: unique by definition
            before, after = before + 1, after + 1
        blocks.append(EditBlock(search, replace))
        current[s0 + shift : s1 + shift] = replace.split("\n")
        shift += (b1 - b0) - (a1 - a0)
    return Edit(path, tuple(blocks))
