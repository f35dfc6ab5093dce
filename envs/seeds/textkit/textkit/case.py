"""Converting identifiers between naming styles."""

import re

_BOUNDARY = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def words(identifier):
    """'parseHTTPResponse_code' -> ['parse', 'http', 'response', 'code']."""
    return [w.lower() for w in _BOUNDARY.findall(identifier)]


def snake_case(identifier):
    return "_".join(words(identifier))


def camel_case(identifier):
    parts = words(identifier)
    if not parts:
        return ""
    return parts[0] + "".join(p.capitalize() for p in parts[1:])


def kebab_case(identifier):
    return "-".join(words(identifier))


def title_case(text, small=("a", "an", "the", "of", "and", "or", "in", "on")):
    """Capitalize words except small ones, but always the first and last word."""
    tokens = text.split()
    result = []
    for i, token in enumerate(tokens):
        lowered = token.lower()
        if 0 < i < len(tokens) - 1 and lowered in small:
            result.append(lowered)
        else:
            result.append(lowered[:1].upper() + lowered[1:])
    return " ".join(result)
