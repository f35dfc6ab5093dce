"""Converting configuration text to Python values."""

TRUE = {"1", "yes", "true", "on"}
FALSE = {"0", "no", "false", "off"}
SIZE_UNITS = {"b": 1, "kb": 1024, "mb": 1024 ** 2, "gb": 1024 ** 3}


def to_bool(text):
    lowered = text.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise ValueError(f"not a boolean: {text!r} (use yes/no, true/false, on/off or 1/0)")


def to_int(text):
    try:
        return int(text.strip(), 0)
    except ValueError:
        raise ValueError(f"not an integer: {text!r}") from None


def split_list(text, sep=","):
    return [item.strip() for item in text.split(sep) if item.strip()]


def to_size(text):
    """'512' -> 512, '10kb' -> 10240, '1.5 MB' -> 1572864."""
    cleaned = text.strip().lower().replace(" ", "")
    for unit in sorted(SIZE_UNITS, key=len, reverse=True):
        if cleaned.endswith(unit):
            return int(float(cleaned[: -len(unit)]) * SIZE_UNITS[unit])
    return int(cleaned)
