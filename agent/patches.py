"""Unified diffs, read once: the files and hunks of a patch, and what they touch.

One parser serves the reference policy (replaying a patch as edits), fault-localization accuracy
(the lines a patch changes) and `agent fix --apply` (the files it touches).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Hunk:
    old_start: int = 1
    """First line of the hunk in the original file (1-based), from its @@ header."""
    lines: list[tuple[str, str]] = field(default_factory=list)
    """(tag, text) in order; tag is " " (context), "-" (removed) or "+" (added)."""

    @property
    def old(self) -> list[str]:
        return [text for tag, text in self.lines if tag != "+"]

    @property
    def new(self) -> list[str]:
        return [text for tag, text in self.lines if tag != "-"]


@dataclass
class FilePatch:
    path: str
    hunks: list[Hunk] = field(default_factory=list)
    created: bool = False
    deleted: bool = False


def parse_patch(patch: str) -> list[FilePatch]:
    """The files and hunks of a unified diff (``git diff`` or ``diff -u`` output)."""
    files: list[FilePatch] = []
    current: FilePatch | None = None
    old_name = ""
    hunk: Hunk | None = None
    for line in patch.splitlines():
        if line.startswith("--- "):
            old_name = line[4:].split("\t")[0].strip()
            hunk = None
        elif line.startswith("+++ ") and hunk is None:
            new_name = line[4:].split("\t")[0].strip()
            created, deleted = old_name == "/dev/null", new_name == "/dev/null"
            name = new_name if created else old_name
            path = name[2:] if name[:2] in ("a/", "b/") else name
            current = FilePatch(path=path, created=created, deleted=deleted)
            files.append(current)
        elif line.startswith("@@") and current is not None:
            start = line.split()[1].split(",")[0].lstrip("-") if len(line.split()) > 1 else "1"
            hunk = Hunk(old_start=int(start) if start.isdigit() else 1)  # 0 for a new file
            current.hunks.append(hunk)
        elif hunk is not None:
            if line.startswith("\\"):  # "\ No newline at end of file"
                continue
            tag, text = line[:1], line[1:]
            if tag in (" ", ""):
                hunk.lines.append((" ", text))
            elif tag in ("-", "+"):
                hunk.lines.append((tag, text))
            else:  # "diff --git", "index ..." and the like end the hunk
                hunk = None
    return files


def patch_files(patch: str) -> list[str]:
    """Paths (relative to the repo root) that a patch touches, in order."""
    return list(dict.fromkeys(f.path for f in parse_patch(patch)))


def edited_lines(patch: str) -> dict[str, list[int]]:
    """Line numbers, in the original files, that a patch removes or changes.

    A pure insertion is attributed to the line after which it goes, so it still counts as a
    location for fault-localization accuracy.
    """
    lines: dict[str, set[int]] = {}
    for file_patch in parse_patch(patch):
        for hunk in file_patch.hunks:
            number = hunk.old_start
            for tag, _ in hunk.lines:
                if tag == "-":
                    lines.setdefault(file_patch.path, set()).add(number)
                    number += 1
                elif tag == "+":
                    lines.setdefault(file_patch.path, set()).add(max(number - 1, 1))
                else:
                    number += 1
    return {path: sorted(found) for path, found in lines.items()}
