"""Syntax highlighting to static HTML with pygments: code, and unified diffs whose lines are
highlighted as the language of their file. Classes only (the style sheet is in the page), so a
highlighted patch costs little more than the patch itself."""

from __future__ import annotations

import html
from functools import lru_cache

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer, TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound

_FORMATTER = HtmlFormatter(nowrap=True)


def style_css() -> str:
    """The token colours, scoped to ``.hl`` blocks."""
    return HtmlFormatter(style="default").get_style_defs(".hl")


@lru_cache(maxsize=64)
def _lexer(path: str):
    if path.endswith(".py") or not path:
        return PythonLexer(stripnl=False, ensurenl=False)
    try:
        return get_lexer_for_filename(path, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False, ensurenl=False)


def code(text: str, path: str = "") -> Markup:
    """``text`` as highlighted HTML (no wrapper element)."""
    return Markup(highlight(text, _lexer(path), _FORMATTER))


@lru_cache(maxsize=4096)
def diff(patch: str) -> Markup:
    """A unified diff as HTML: one ``<span class="dl …">`` per line (add / del / hunk / file /
    context), the code in each line highlighted as its file's language."""
    out = []
    path = ""
    for line in patch.splitlines():
        if line.startswith("diff --git "):
            path = line.split(" b/", 1)[-1] if " b/" in line else ""
            out.append(_line("file", html.escape(line)))
        elif line.startswith(("--- ", "+++ ", "index ", "new file", "deleted file")):
            if line.startswith("+++ ") and not path:
                path = line[4:].removeprefix("b/").split("\t")[0]
            out.append(_line("file", html.escape(line)))
        elif line.startswith("@@"):
            out.append(_line("hunk", html.escape(line)))
        elif line[:1] in ("+", "-", " "):
            kind = {"+": "add", "-": "del", " ": "ctx"}[line[0]]
            body = highlight(line[1:], _lexer(path), _FORMATTER).rstrip("\n")
            out.append(_line(kind, html.escape(line[0]) + body))
        else:
            out.append(_line("ctx", html.escape(line)))
    return Markup("".join(out))


def _line(kind: str, inner: str) -> str:
    return f'<span class="dl {kind}">{inner}\n</span>'
