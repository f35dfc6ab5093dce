"""The tools behind each action: what ``open``, ``search``, ``edit`` and ``run_tests`` do in a sandbox.

Each tool takes a sandbox and a typed action and returns the observation text. A policy mistake in a
well-formed action (a file that is not there, a path outside the repo, SEARCH text that matches
nowhere or in several places) raises ``ToolError``, whose message says what went wrong and how to
write it; the env turns it into an observation with the format penalty.
"""

from __future__ import annotations

import difflib
import json
import posixpath
import re

from envs.actions import ActionError, Edit, EditBlock, Open, Search
from sandboxes.base import IGNORED_NAMES, IGNORED_SUFFIXES, Sandbox, TestReport
from sandboxes.errors import UsageError


class ToolError(ActionError):
    """A well-formed action that cannot be carried out as written."""


def clean_path(path: str) -> str:
    """``path`` as a normalised repo-relative path; ToolError if it leaves the repo."""
    raw = path
    path = path.strip().replace("\\", "/")
    if path.startswith("./"):
        path = path[2:]
    if not path or path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise ToolError(f"{raw!r} is not a path inside the repository; use a relative path such "
                        "as calc/ops.py")
    path = posixpath.normpath(path)
    if path == ".." or path.startswith("../"):
        raise ToolError(f"{raw!r} is outside the repository; paths are relative to its root")
    return path


def _existing_file(sandbox: Sandbox, path: str, files: list[str] | None = None) -> str:
    path = clean_path(path)
    files = sandbox.list_files() if files is None else files
    if path in files:
        return path
    inside = [f for f in files if path == "." or f.startswith(path + "/")]
    if inside:
        shown = "\n".join(inside[:30]) + ("\n..." if len(inside) > 30 else "")
        raise ToolError(f"{path} is a directory; open one of its files:\n{shown}")
    close = difflib.get_close_matches(path, files, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(close)}?" if close else "; `search` can find it"
    raise ToolError(f"no file {path} in the repository{hint}")


def _read_existing(sandbox: Sandbox, path: str) -> tuple[str, str]:
    """(clean path, text) of a repo file; one sandbox call when the file is there."""
    path = clean_path(path)
    try:
        return path, sandbox.read_file(path)
    except UsageError as exc:  # not there, a directory, a symlink: say which, with suggestions
        _existing_file(sandbox, path)
        raise ToolError(str(exc)) from None


def numbered(lines: list[str], first: int) -> str:
    """Lines with right-aligned numbers starting at ``first`` (1-based)."""
    width = len(str(first + len(lines) - 1))
    return "\n".join(f"{first + i:>{width}}  {line}" for i, line in enumerate(lines))


def open_file(sandbox: Sandbox, action: Open, *, window: int = 100) -> str:
    path, text = _read_existing(sandbox, action.path)
    lines = text.splitlines()
    total = len(lines)
    if total == 0:
        return f"{path} is empty"
    start = action.start or 1
    if start > total:
        raise ToolError(f"{path} has {total} lines; START {start} is past the end")
    end = min(action.end or start + window - 1, total)
    shown = numbered(lines[start - 1 : end], start)
    header = f"{path} (lines {start}-{end} of {total})"
    footer = ""
    if end < total:
        footer = f"\n... {total - end} more lines; `open {path} {end + 1} {min(end + window, total)}`"
    return f"{header}\n{shown}{footer}"


# Runs inside the sandbox, so that a search costs one command on any backend and uses the same
# regular expressions as the parser that checked the pattern.
_SEARCH_SCRIPT = r"""
import json, os, re, sys
pattern, root, limit = re.compile(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ignored, suffixes = set(json.loads(sys.argv[4])), tuple(json.loads(sys.argv[5]))
if os.path.isfile(root):
    paths = [root]
else:
    paths = []
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x not in ignored)
        paths += [os.path.join(d, f) for f in sorted(files)
                  if f not in ignored and not f.endswith(suffixes)]
matches, total = [], 0
for p in paths:
    try:
        with open(p, encoding="utf-8") as fh:
            text = fh.read()
    except (UnicodeDecodeError, OSError):
        continue
    for n, line in enumerate(text.splitlines(), 1):
        if pattern.search(line):
            total += 1
            if len(matches) < limit:
                matches.append([os.path.normpath(p), n, line])
print(json.dumps({"matches": matches, "total": total}))
"""


def search(sandbox: Sandbox, action: Search, *, max_matches: int = 50, line_chars: int = 200) -> str:
    root = "."
    if action.path is not None:
        root = clean_path(action.path)
        files = sandbox.list_files()
        if root != "." and root not in files and not any(f.startswith(root + "/") for f in files):
            raise ToolError(f"search: no file or directory {root} in the repository")
    result = sandbox.run(
        [sandbox.python, "-c", _SEARCH_SCRIPT, action.pattern, root, str(max_matches),
         json.dumps(sorted(IGNORED_NAMES)), json.dumps(list(IGNORED_SUFFIXES))],
        timeout=30,
    )
    if result.timed_out:
        raise ToolError(f"search: {action.pattern!r} ran past 30 s; use a simpler pattern or a PATH")
    try:
        found = json.loads(result.output.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return f"search failed in the sandbox (exit {result.exit_code}):\n{result.output[-2000:]}"
    where = f" in {root}" if root != "." else ""
    if not found["total"]:
        return f"no matches for {action.pattern!r}{where}"
    lines = []
    for path, n, text in found["matches"]:
        text = text if len(text) <= line_chars else text[:line_chars] + " ..."
        lines.append(f"{path}:{n}: {text}")
    more = found["total"] - len(found["matches"])
    tail = f"\n... {more} more matches; narrow the pattern or give a PATH" if more > 0 else ""
    plural = "match" if found["total"] == 1 else "matches"
    return f"{found['total']} {plural} for {action.pattern!r}{where}:\n" + "\n".join(lines) + tail


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _apply_block(content: str, block: EditBlock, index: int, path: str) -> tuple[str, bool]:
    """``content`` with one block applied, and whether the whitespace-tolerant match was used."""
    count = content.count(block.search)
    if count == 1:
        return content.replace(block.search, block.replace, 1), False
    label = f"the SEARCH text of block {index}" if index else "the SEARCH text"
    if count > 1:
        raise ToolError(f"edit: {label} matches {count} places in {path}; "
                        "include more surrounding lines so that it matches exactly one")
    # Whitespace-tolerant fallback: the same lines up to indentation and trailing spaces.
    lines = content.split("\n")
    wanted = block.search.split("\n")
    key = [w.strip() for w in wanted]
    starts = [i for i in range(len(lines) - len(wanted) + 1)
              if all(lines[i + j].strip() == key[j] for j in range(len(wanted)))]
    if len(starts) > 1:
        raise ToolError(f"edit: {label} matches {len(starts)} places in {path} "
                        "(ignoring indentation); include more surrounding lines")
    if not starts:
        first = next((w for w in wanted if w.strip()), "")
        close = difflib.get_close_matches(first, lines, n=1, cutoff=0.6)
        hint = ""
        if close:
            hint = f"\nThe closest line is {lines.index(close[0]) + 1}: {close[0].strip()!r}."
        raise ToolError(f"edit: {label} was not found in {path}. Copy the lines "
                        f"exactly as `open {path}` shows them, without the line numbers.{hint}")
    start = starts[0]
    j = next((k for k, w in enumerate(wanted) if w.strip()), 0)
    have, want = _indent(lines[start + j]), _indent(wanted[j])
    replaced = []
    for line in block.replace.split("\n"):
        if not line.strip():
            replaced.append("")
        elif line.startswith(want):
            replaced.append(have + line[len(want):])
        else:
            replaced.append(have + line.lstrip())
    lines[start : start + len(wanted)] = replaced
    return "\n".join(lines), True


def apply_edit(sandbox: Sandbox, action: Edit, *, context: int = 3) -> str:
    """Apply every block (all or none) and show the edited region of the file."""
    path, old = _read_existing(sandbox, action.path)
    new, fuzzy = old, False
    for i, block in enumerate(action.blocks, 1):
        new, used_fuzzy = _apply_block(new, block, i if len(action.blocks) > 1 else 0, path)
        fuzzy = fuzzy or used_fuzzy
    if new == old:
        return f"the edit left {path} unchanged (REPLACE equals SEARCH)"
    sandbox.write_file(path, new)
    notes = []
    if fuzzy:
        notes.append("note: SEARCH matched only after ignoring indentation; check the result")
    if path.endswith(".py"):
        try:
            compile(new, path, "exec")
        except SyntaxError as exc:
            notes.append(f"warning: {path} is now syntactically invalid: line {exc.lineno}: "
                         f"{exc.msg}; fix it with another edit")
    new_lines = new.split("\n")
    regions = []
    matcher = difflib.SequenceMatcher(None, old.split("\n"), new_lines, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        lo, hi = group[0][3], group[-1][4]
        regions.append(numbered(new_lines[lo:hi], lo + 1))
    head = f"edited {path} ({len(action.blocks)} block{'s' if len(action.blocks) > 1 else ''}):"
    return "\n".join([head, "\n...\n".join(regions), *notes])


def trim(text: str, max_chars: int, what: str = "output") -> str:
    """``text`` cut to ``max_chars``, keeping the head and tail, with a note of what was cut."""
    if len(text) <= max_chars:
        return text
    keep = max(max_chars - 80, 0)
    head, tail = text[: keep // 2], text[len(text) - keep // 2 :] if keep else ""
    return f"{head}\n[... {len(text) - len(head) - len(tail)} characters of {what} cut ...]\n{tail}"


def format_report(report: TestReport, *, max_chars: int = 8000, per_test_chars: int = 1500) -> str:
    """The per-test summary and the failure text of each test that did not pass, bounded."""
    counts: dict[str, int] = {}
    for result in report.tests.values():
        counts[result.status] = counts.get(result.status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no tests ran"
    # No durations: identical runs give identical observations.
    parts = [f"ran {len(report.tests)} tests: {summary}"]
    if report.timed_out:
        parts.append("the test run hit its time limit; tests that did not finish are not listed")
    for error in report.collection_errors:
        parts.append("collection error:\n" + trim(error, per_test_chars, "the error"))
    bad = [r for r in report.tests.values() if r.status != "passed" and r.status != "skipped"]
    parts += [f"{r.status.upper()} {r.nodeid}" for r in bad]
    for r in bad:
        if r.message:
            parts.append(f"--- {r.nodeid} ---\n" + trim(r.message.strip(), per_test_chars, "it"))
    if not report.tests and not report.collection_errors and report.output.strip():
        parts.append("pytest said:\n" + trim(report.output.strip(), per_test_chars * 2, "it"))
    return trim("\n".join(parts), max_chars, "the test report")
