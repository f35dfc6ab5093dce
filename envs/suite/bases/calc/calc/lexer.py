"""Text to tokens: ("num", float) and ("op", character)."""

import re

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?)|(\S))")
OPERATORS = "+-*/^()"


def tokenize(text):
    tokens = []
    text = text.rstrip()
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        number, op = match.groups()
        if number is not None:
            tokens.append(("num", float(number)))
        elif op in OPERATORS:
            tokens.append(("op", op))
        else:
            column = match.start(2)
            raise ValueError(f"unexpected character {op!r} at column {column}")
        pos = match.end()
    return tokens
