"""Token-level fixes for a module that does not compile.

Python's SyntaxError names a line and a column; the fault is there or on the line before (a
missing colon or bracket shows up where the next token does not fit). At those lines this tries:
a colon at the end of a compound statement's header, a closing bracket or quote at the end or at
the error column (every bracket still open, at the end), deleting the token at the column, the
indentation of the previous / next line (and four spaces more or less, for the line alone or with
the block under it), deleting the line, ``=`` -> ``==`` in a condition, an operand after a
dangling operator (``x +=`` -> ``x += 1``), and the spellings of other languages that people
write into Python (``else if``, ``&&``, ``||``, ``!x``, ``===``, ``x++``, ``var x =``, ``true`` /
``null``, ``//`` and ``/* */`` comments, a trailing ``;``).

An edit after which the module compiles is a candidate. One after which it still does not, but
its first error comes later in the file, is built on (``MAX_CHAIN`` edits at most, a few
``BEAM`` texts at each depth, up to the first depth at which some text compiles): a mistake made
several times (three conditions written with ``=``, three unclosed strings) is one candidate of
several token edits.
"""

from __future__ import annotations

import keyword
import re
import warnings
from functools import lru_cache

from agent.repair.names import undefined_names
from agent.repair.site import Candidate, indent_of
from envs.mutations import parsed

_HEADER = re.compile(r"^\s*(if|elif|else|for|while|def|class|with|try|except|finally|async\s+def"
                     r"|async\s+for|async\s+with|match|case)\b")
_CLOSERS = {"(": ")", "[": "]", "{": "}"}
MAX_CHAIN = 6
"""Token edits one candidate may join, each moving the first syntax error further down."""
BEAM = 6
"""Texts kept at each depth of a chain (those whose error comes latest)."""
MAX_COMPILES = 800
"""Edited texts compiled at most, over all depths (a file of thousands of lines takes ms each)."""
#: Other languages' spellings, as (pattern on a line's code, Python, what it is).
_FOREIGN = [
    (re.compile(r"\belse\s+if\b"), "elif", "'else if' -> 'elif'"),
    (re.compile(r"\s*&&\s*"), " and ", "'&&' -> 'and'"),
    (re.compile(r"\s*\|\|\s*"), " or ", "'||' -> 'or'"),
    (re.compile(r"!(?!=)\s*"), "not ", "'!' -> 'not'"),
    (re.compile(r"===?"), "==", "'===' -> '=='"),
    (re.compile(r"!=="), "!=", "'!==' -> '!='"),
    (re.compile(r"\btrue\b"), "True", "'true' -> 'True'"),
    (re.compile(r"\bfalse\b"), "False", "'false' -> 'False'"),
    (re.compile(r"\b(?:null|nil|undefined)\b"), "None", "'null' -> 'None'"),
    (re.compile(r"^(\s*)(?:var|let|const|auto|int|long|float|double|string|String)\s+(?=\w+\s*=)"),
     r"\1", "drop the declaration keyword"),
    (re.compile(r"^(\s*)(?:function|func|fn|void|public|private|static)\s+(?=\w+\s*\()"),
     r"\1def ", "'function' -> 'def'"),
    (re.compile(r"\bthis\."), "self.", "'this.' -> 'self.'"),
]
_INCREMENT = re.compile(r"^(\s*)([\w.\[\]]+)\s*(\+\+|--)\s*;?\s*$"
                        r"|^(\s*)(\+\+|--)\s*([\w.\[\]]+)\s*;?\s*$")
_UNKNOWN_HEADER = re.compile(r"^(\s*)([A-Za-z_]\w*)\s+(?![=.(\[])(.+:)$")
"""``word expression:``, a compound statement whose keyword is unknown (``redefine b:``)."""
_DANGLING = re.compile(r"(?:[-+*/%&|^@<>=]|\*\*|//|<<|>>|\band|\bor|\bnot|\bin|\bis)\s*$")


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


def _scan(line: str) -> tuple[int, int, str]:
    """Where a line's comment starts (its length when it has none), and where the string it
    leaves open starts, with its quote (-1, "" when none is)."""
    quote, start, i = "", -1, 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote, start = ch, i
        elif ch == "#":
            break
        i += 1
    return i, (start if quote else -1), quote


def _code_end(line: str) -> int:
    """Where the code of a line ends (before a trailing comment and spaces)."""
    return len(line[:_scan(line)[0]].rstrip())


def _line_variants(line: str, col: int, prev: str, nxt: str, msg: str = "",
                   names: tuple[str, ...] = ()) -> list[tuple[str, str]]:
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
    body, colon = (code[:-1], ":") if code.endswith(":") else (code, "")
    for closer in dict.fromkeys([_CLOSERS[o] for o in reversed(opened)] + [")", "]", "}"]):
        out.append((body + closer + colon + tail, f"add {closer!r} at the end"))
        if 0 <= col <= len(line):
            out.append((line[:col] + closer + line[col:], f"add {closer!r} at column {col + 1}"))
    for quote in ("'", '"'):
        if code.count(quote) % 2:
            out.append((code + quote + tail, f"close the {quote} string"))
            inner = len(code.rstrip(")]}:,; "))  # before the brackets that close the call
            if inner < len(code) and inner > code.rfind(quote):
                out.append((code[:inner] + quote + code[inner:] + tail,
                            f"close the {quote} string at column {inner + 1}"))
    if 0 <= col < len(line):
        out.append((line[:col] + line[col + 1:], f"delete {line[col]!r} at column {col + 1}"))
        if col > 0:
            out.append((line[:col - 1] + line[col:], f"delete {line[col - 1]!r} at column {col}"))
        out.append((line[:col] + "," + line[col:], f"add ',' at column {col + 1}"))
    if len(opened) > 1:
        closers = "".join(_CLOSERS[o] for o in reversed(opened))
        out.append((body + closers + colon + tail, f"add {closers!r} at the end"))
    if _DANGLING.search(code) and not code.endswith(":"):
        collections = names if re.search(r"\bin\s*$", code) else ()
        for operand in ("1", "0", *collections):  # `for num in`: what the function iterates
            out.append((f"{code} {operand}{tail}", f"add the operand {operand} at the end"))
    for pattern, python, what in _FOREIGN:
        fixed = pattern.sub(python, code)
        if fixed != code:
            out.append((fixed + tail, what))
    header = _UNKNOWN_HEADER.match(code)
    if header and not keyword.iskeyword(header[2]):
        for word in ("if", "while", "elif", "for"):
            out.append((f"{header[1]}{word} {header[3]}{tail}",
                        f"'{header[2]}' -> '{word}' (a statement's keyword)"))
    match = _INCREMENT.match(code)
    if match:
        lead, target, op = (match[1], match[2], match[3]) if match[2] else (match[4], match[6],
                                                                           match[5])
        out.append((f"{lead}{target} {op[0]}= 1{tail}", f"'{op}' -> '{op[0]}= 1'"))
    for at in reversed([m.start() for m in re.finditer("//", code)]):
        out.append((code[:at].rstrip() + "  # " + code[at + 2:].strip() + tail,
                    "'//' comment -> '#'"))
    if "/*" in line:
        out.append((re.sub(r"/\*.*?(\*/|$)", "", line).rstrip(), "drop the '/* */' comment"))
    if code.rstrip().endswith(";"):
        out.append((code.rstrip()[:-1] + tail, "drop the ';'"))
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
    lone = [m.start() for m in _LONE_EQUALS.finditer(code)]
    for k, at in enumerate(lone):  # a comparison written `=` anywhere (`[x for x in s if x = c]`)
        ops = ("==", "-", "+") if msg.startswith("cannot assign to") and k > 0 else ("==",)
        for op in ops:  # `a = b - c = d`: the second `=` a mistyped operator
            out.append((code[:at] + op + code[at + 1:] + tail, f"'=' -> '{op}' at column {at + 1}"))
    _, start, quote = _scan(code)
    if quote:  # `'|"`: the string closed with the other quote
        other = '"' if quote == "'" else "'"
        at = code.find(other, start + 1)
        if at > 0:
            out.append((code[:at] + quote + code[at + 1:] + tail,
                        f"{other} -> {quote} at column {at + 1}"))
    if 0 <= col < len(line) and line[col] in _CLOSERS.values() and opened:
        wanted = _CLOSERS[opened[-1]]  # `xs[-1)`: the closer of another bracket
        if wanted != line[col]:
            out.append((line[:col] + wanted + line[col + 1:],
                        f"{line[col]!r} -> {wanted!r} at column {col + 1}"))
    commented = _COMMENTED.match(line)
    if commented and commented[2].strip():  # code commented out: `//return x`, `/*x += 1*/`
        out.append((commented[1] + commented[2].rstrip(), "uncomment the code"))
    return out


_LONE_EQUALS = re.compile(r"(?<![=!<>:+\-*/%&|^@])=(?![=])")
_COMMENTED = re.compile(r"^(\s*)(?://|/\*)\s*(.*?)\s*(?:\*/)?\s*$")


def _block_end(lines: list[str], row: int, deeper: bool) -> int:
    """The end (exclusive, trailing blank lines left out) of the lines from ``row`` on that are
    blank or indented deeper than it (``deeper``), or at least as deep (the rest of the body
    the line is in)."""
    own = len(indent_of(lines[row]))
    end = row + 1
    while end < len(lines) and (not lines[end].strip() or len(indent_of(lines[end])) > own
                                or not deeper and len(indent_of(lines[end])) == own):
        end += 1
    while end > row + 1 and not lines[end - 1].strip():
        end -= 1
    return end


def _block_indents(lines: list[str], row: int, prev: str, nxt: str) -> list[tuple[str, str]]:
    """The line at ``row`` re-indented together with the block under it (the lines after it
    that are blank or indented deeper than it), and together with the rest of the body it is
    in (a whole function body written at its header's depth), as whole texts."""
    line = lines[row]
    if not line.strip():
        return []
    own = len(indent_of(line))
    out = []
    for end in dict.fromkeys([_block_end(lines, row, True), _block_end(lines, row, False)]):
        if end == row + 1:
            continue
        for indent in dict.fromkeys([indent_of(prev), indent_of(prev) + "    ", indent_of(nxt)]):
            delta = len(indent) - own
            if delta == 0:
                continue
            block = [(" " * (len(indent_of(t)) + delta) + t.lstrip()) if t.strip() else t
                     for t in lines[row:end]]
            if delta < 0 and any(len(indent_of(t)) < -delta for t in lines[row:end]
                                 if t.strip()):
                continue
            out.append(("\n".join(lines[:row] + block + lines[end:]),
                        f"indent lines {row + 1}-{end} by {delta:+d} spaces"))
    return out


MAX_TAILS = 4


def _tail_indents(lines: list[str], row: int) -> list[tuple[str, str]]:
    """The lines from where a body fell back to a shallower depth down to the end of the block
    at ``row``, indented back to the depth they fell from (``return`` outside its function:
    the tail of a method written at the class's depth). Nearest fall first."""
    line = lines[row]
    if not line.strip():
        return []
    own, end = len(indent_of(line)), _block_end(lines, row, False)
    out, k = [], row
    while k > 0 and len(out) < MAX_TAILS:
        if lines[k].strip() and len(indent_of(lines[k])) < own:
            break
        prev = next((i for i in range(k - 1, -1, -1) if lines[i].strip()), None)
        if prev is None:
            break
        if lines[k].strip() and len(indent_of(lines[k])) == own \
                and len(indent_of(lines[prev])) > own:
            delta = len(indent_of(lines[prev])) - own
            block = [" " * delta + t if t.strip() else t for t in lines[k:end]]
            out.append(("\n".join(lines[:k] + block + lines[end:]),
                        f"indent lines {k + 1}-{end} by +{delta} spaces"))
        k = prev
    return out


_FOR_IN = re.compile(r"^\s*for\b.*\bin\s+([A-Za-z_][\w.]*)\s*:")
_DEF = re.compile(r"^\s*(?:async\s+)?def\s+\w+\s*\((.*)\)")
MAX_ITERATED = 3


def _iterated(lines: list[str], row: int) -> tuple[str, ...]:
    """What the function around ``row`` iterates or takes: the collections of its ``for``
    loops above the line (nearest first), then its parameters."""
    found = []
    for k in range(row - 1, -1, -1):
        loop, header = _FOR_IN.match(lines[k]), _DEF.match(lines[k])
        if loop:
            found.append(loop[1])
        if header:
            found += [p.split(":")[0].split("=")[0].strip().lstrip("*")
                      for p in header[1].split(",")]
            break
    names = [n for n in dict.fromkeys(found) if n.isidentifier() and n not in ("self", "cls")]
    return tuple(names[:MAX_ITERATED])


def _edits(source: str, error: SyntaxError) -> list[tuple[str, str, int, bool]]:
    """Single token-level edits near ``error``: (new text, what, 0-based row edited, whether it
    deletes the line)."""
    lines = source.split("\n")
    row = min(error.lineno, len(lines)) - 1
    col = (error.offset or 1) - 1
    rows = [(row, col), (row - 1, len(lines[row - 1]) if row >= 1 else -1)]
    end = getattr(error, "end_lineno", None)
    if end and end - 1 != row and 0 <= end - 1 < len(lines):
        rows.append((end - 1, (getattr(error, "end_offset", 1) or 1) - 1))
    out = []
    for r, c in rows:
        if not 0 <= r < len(lines):
            continue
        prev = next((lines[i] for i in range(r - 1, -1, -1) if lines[i].strip()), "")
        nxt = next((lines[i] for i in range(r + 1, len(lines)) if lines[i].strip()), "")
        for new, what in _line_variants(lines[r], c, prev, nxt, error.msg or "",
                                        _iterated(lines, r)):
            out.append(("\n".join(lines[:r] + [new] + lines[r + 1:]), f"{what} on line {r + 1}",
                        r, False))
        out += [(text, what, r, False) for text, what in _block_indents(lines, r, prev, nxt)]
        out += [(text, what, r, False) for text, what in _tail_indents(lines, r)]
        if lines[r].strip():  # a line that does not belong (a header leaves its body: no compile)
            out.append(("\n".join(lines[:r] + lines[r + 1:]), f"delete line {r + 1}", r, True))
    return out


def _position(error: SyntaxError) -> tuple[int, int]:
    return error.lineno or 0, error.offset or 0


def _later(after: SyntaxError, before: SyntaxError, row: int) -> bool:
    """Whether an edit of ``row`` (0-based) moved the first error further down, or left it
    where it was after changing a line above it (a block's header indented first), without
    making a bracket error of its own (a closer added where none was open)."""
    if after.msg.startswith(("unmatched", "closing parenthesis")) \
            and (after.lineno or 0) - 1 <= row:
        return False  # the edit's own closer (one added where none was open)
    if after.msg.endswith("was never closed") and (after.lineno or 0) - 1 == row:
        return True  # a bracket of the edited line left open: it is closed next
    return _position(after) > _position(before) or (
        _position(after) == _position(before) and row < (before.lineno or 0) - 1)


WORD = re.compile(r"[^\W\d]\w*")


def _unbound(text: str) -> set[str]:
    """The names ``text`` reads that nothing binds. An edit that makes one that is no word of
    the broken source (``// a table`` -> ``// atable``) compiles and is not a fix."""
    return {n.id for n in undefined_names(parsed(text))}


def syntax_fixes(path: str, source: str) -> list[Candidate]:
    """Token-level edits near the SyntaxError after which ``source`` compiles: single edits
    first, then chains of edits each of which moves the first error further down."""
    return list(_syntax_fixes(path, source))


@lru_cache(maxsize=8)  # the search asks at each of its top lines of the same broken file
def _syntax_fixes(path: str, source: str) -> tuple[Candidate, ...]:
    error = syntax_error(source, path)
    if error is None or not error.lineno:
        return ()
    out, seen, budget = [], {source}, MAX_COMPILES
    words = set(WORD.findall(source))
    frontier: list[tuple[str, SyntaxError, list[str], int]] = [(source, error, [], -1)]
    for _ in range(MAX_CHAIN):
        further = []
        for text, found, chain, first in frontier:
            for new, what, row, deletes in _edits(text, found):
                if new in seen or budget <= 0:
                    continue
                seen.add(new)
                budget -= 1
                after = syntax_error(new, path)
                line = (first if first >= 0 else row) + 1
                if after is None:  # a chain never goes on from a deletion: it is the last
                    unbound = _unbound(new)
                    if unbound - words:
                        continue
                    steps = [*chain, what]
                    out.append((len(unbound), Candidate(
                        path, line, new, "syntax_fix", f"{'; '.join(steps)} ({error.msg})",
                        size=len(steps), disables=deletes)))
                elif _later(after, found, row) and not deletes:
                    closes = after.msg.endswith("was never closed") and after.lineno - 1 == row
                    further.append((new, after, [*chain, what], line - 1, closes))
        if any(not c.disables for _, c in out):  # the fewest edits that make it compile (a
            break  # deleted line aside, a last resort): longer chains are only noise
        # the texts whose first error comes latest go on (ties: in the order they were made),
        # those that left a bracket of the line they edited open first (`['|"` -> `['|'`)
        frontier = [item[:4] for item in sorted(
            further, key=lambda item: (item[4], _position(item[1])), reverse=True)[:BEAM]]
        if not frontier:
            break
    # the fewest names left unbound first: of `x // a table`, `x  # a table` before `x // a,
    # table`, which compiles too and fails on `a` (a fix's first half is the next round's base)
    return tuple(c for _, c in sorted(out, key=lambda item: item[0]))
