"""One log line: 'YYYY-MM-DD HH:MM:SS LEVEL message'."""

import re

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_LINE = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2}) (?P<time>\d{2}:\d{2}:\d{2}) (?P<level>[A-Z]+) (?P<message>.*)$"
)


def parse_line(line):
    """A dict with date, time, level and message, or None for a line in another format."""
    match = _LINE.match(line.rstrip("\n"))
    if match is None:
        return None
    entry = match.groupdict()
    if entry["level"] not in LEVELS:
        return None
    return entry


def parse_lines(lines):
    """(entries, number of lines that could not be parsed)."""
    entries, bad = [], 0
    for line in lines:
        entry = parse_line(line)
        if entry is None:
            bad += 1
        else:
            entries.append(entry)
    return entries, bad
