"""Token-level fixes for a module that does not compile.

Python's SyntaxError names a line and a column; the fault is there or on the line before (a
missing colon or bracket shows up where the next token does not fit). At those lines this tries:
a colon at the end of a compound statement's header, a closing bracket or quote at the end or at
the error column, deleting the token at the column, the indentation of the previous / next line
(and four spaces more or less), and ``=`` -> ``==`` in a condition. Only edits after which the
module compiles are kept.
"""

from __future__ import annotations

import re
import warnings

from agent.repair.site import Candidate, indent_of

_HEADER = re.compile(r"^\s*(if|elif|else|for|while|def|class|with|try|except|finally|async\s+def"
                     r"|async\s+for|async\s+with|match|case)\b")
_CLOSERS = {"(": ")", "[": "]", "{": "}"}


def syntax_error(source: str, path: str = "<string>") -> SyntaxError | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return exc
    except ValueError:  # null bytes: no token-level fix applies
        return None
    return None


def _code_end(line: str) -> int:
    """Where the code of a line ends (before a trailing comment and spaces)."""
    in_str, quote, i = False, "", 0
    while i < len(line):
        ch = line[i]
        if in_str:
            if ch == "\\":
                i += 1
            elif ch == quote:
                in_str = False
        elif ch in "'\"":
            in_str, quote = True, ch
        elif ch == "#":
            break
        i += 1
    return len(line[:i].rstrip())


def _line_variants(line: str, col: int, prev: str, nxt: str) -> list[tuple[str, str]]:
    end = _code_end(line)
    code, tail = line[:end], line[end:]
    out = []
    if _HEADER.match(line) and not code.endswith(":"):
        out.append((code + ":" + tail, "add ':'"))
    opened = []
    for ch in code:
        if ch in _CLOSERS:
            opened.append(ch)
        elif ch in _CLOSERS.values() and opened and _CLOSERS[opened[-1]] == ch:
            opened.pop()
    for closer in dict.fromkeys([_CLOSERS[o] for o in reversed(opened)] + [")", "]", "}"]):
        body, colon = (code[:-1], ":") if code.endswith(":") else (code, "")
        out.append((body + closer + colon + tail, f"add {closer!r} at the end"))
        if 0 <= col <= len(line):
            out.append((line[:col] + closer + line[col:], f"add {closer!r} at column {col + 1}"))
    for quote in ("'", '"'):
        if code.count(quote) % 2:
            out.append((code + quote + tail, f"close the {quote} string"))
    if 0 <= col < len(line):
        out.append((line[:col] + line[col + 1:], f"delete {line[col]!r} at column {col + 1}"))
        if col > 0:
            out.append((line[:col - 1] + line[col:], f"delete {line[col - 1]!r} at column {col}"))
        out.append((line[:col] + "," + line[col:], f"add ',' at column {col + 1}"))
    stripped = line.lstrip()
    for indent in dict.fromkeys([indent_of(prev), indent_of(prev) + "    ", indent_of(nxt),
                                 indent_of(line)[:-4] if indent_of(line) else None,
                                 indent_of(line) + "    "]):
        if indent is not None and indent != indent_of(line) and stripped:
            out.append((indent + stripped, f"indent to {len(indent)} spaces"))
    if re.match(r"^\s*(if|elif|while)\b", line):
        fixed = re.sub(r"(?<![=!<>])=(?!=)", "==", code, count=1)
        if fixed != code:
            out.append((fixed + tail, "'=' -> '=='"))
    return out


def syntax_fixes(path: str, source: str) -> list[Candidate]:
    """Single token-level edits near the SyntaxError after which ``source`` compiles."""
    error = syntax_error(source, path)
    if error is None or not error.lineno:
        return []
    lines = source.split("\n")
    row = min(error.lineno, len(lines)) - 1
    col = (error.offset or 1) - 1
    rows = [(row, col), (row - 1, len(lines[row - 1]) if row >= 1 else -1)]
    end = getattr(error, "end_lineno", None)
    if end and end - 1 != row and 0 <= end - 1 < len(lines):
        rows.append((end - 1, (getattr(error, "end_offset", 1) or 1) - 1))
    out, seen = [], set()
    for r, c in rows:
        if not 0 <= r < len(lines):
            continue
        prev = next((lines[i] for i in range(r - 1, -1, -1) if lines[i].strip()), "")
        nxt = next((lines[i] for i in range(r + 1, len(lines)) if lines[i].strip()), "")
        for new, what in _line_variants(lines[r], c, prev, nxt):
            text = "\n".join(lines[:r] + [new] + lines[r + 1:])
            if text in seen or syntax_error(text, path) is not None:
                continue
            seen.add(text)
            out.append(Candidate(path, r + 1, text, "syntax_fix",
                                 f"{what} on line {r + 1} ({error.msg})", size=1))
    return out
