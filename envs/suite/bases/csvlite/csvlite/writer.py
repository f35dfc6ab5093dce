"""Turning rows back into CSV text."""


def quote(value, sep=","):
    text = str(value)
    if sep in text or '"' in text or "\n" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def dump(rows, columns=None, sep=","):
    """CSV text for rows (dictionaries); columns default to the first row's keys."""
    if not rows:
        return ""
    columns = columns or list(rows[0])
    out = [sep.join(quote(c, sep) for c in columns)]
    for row in rows:
        out.append(sep.join(quote(row.get(c, ""), sep) for c in columns))
    return "\n".join(out) + "\n"


def column(rows, name, convert=str):
    return [convert(row[name]) for row in rows]
