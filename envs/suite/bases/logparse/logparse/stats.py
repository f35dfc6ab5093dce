"""Counts and summaries over parsed entries."""

from collections import Counter

from logparse.parser import LEVELS


def count_by_level(entries):
    counts = {level: 0 for level in LEVELS}
    for entry in entries:
        counts[entry["level"]] += 1
    return counts


def at_least(entries, level):
    """Entries of the given level or a more severe one."""
    rank = LEVELS.index(level)
    return [e for e in entries if LEVELS.index(e["level"]) >= rank]


def busiest_minute(entries):
    """('YYYY-MM-DD HH:MM', count) of the minute with most entries; the earliest wins ties."""
    per_minute = Counter(f"{e['date']} {e['time'][:5]}" for e in entries)
    if not per_minute:
        return None
    return min(per_minute.items(), key=lambda item: (-item[1], item[0]))


def group_messages(entries, groups=None):
    """{level: [message, ...]}, added to groups when one is given."""
    groups = {} if groups is None else groups
    for entry in entries:
        groups.setdefault(entry["level"], []).append(entry["message"])
    return groups


def summarize(entries, bad):
    counts = count_by_level(entries)
    parts = [f"{counts[level]} {level.lower()}" for level in LEVELS if counts[level]]
    return f"{len(entries)} entries ({', '.join(parts)}); {bad} unparsed"
