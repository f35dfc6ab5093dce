"""MAJOR.MINOR.PATCH[-PRERELEASE] versions."""

import functools
import re

_PATTERN = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.]+))?$")


@functools.total_ordering
class Version:
    def __init__(self, major, minor, patch, pre=None):
        self.major, self.minor, self.patch, self.pre = major, minor, patch, pre

    @classmethod
    def parse(cls, text):
        match = _PATTERN.match(text.strip())
        if match is None:
            raise ValueError(f"not a semantic version: {text!r}")
        major, minor, patch, pre = match.groups()
        return cls(int(major), int(minor), int(patch), pre)

    def __str__(self):
        core = f"{self.major}.{self.minor}.{self.patch}"
        return f"{core}-{self.pre}" if self.pre else core

    def __repr__(self):
        return f"Version({str(self)!r})"

    def _key(self):
        # A pre-release sorts before its release; numeric parts compare as numbers.
        pre = ()
        if self.pre is not None:
            pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre.split("."))
        return (self.major, self.minor, self.patch, self.pre is None, pre)

    def __eq__(self, other):
        return isinstance(other, Version) and self._key() == other._key()

    def __lt__(self, other):
        return self._key() < other._key()

    def __hash__(self):
        return hash(self._key())

    def bump(self, part):
        if part == "major":
            return Version(self.major + 1, 0, 0)
        if part == "minor":
            return Version(self.major, self.minor + 1, 0)
        if part == "patch":
            return Version(self.major, self.minor, self.patch + 1)
        raise ValueError(f"unknown part {part!r}; use major, minor or patch")


def satisfies(version, spec):
    """Whether version meets spec: '>=1.2.0', '<2.0.0', '=1.0.0', '^1.2.3' or '~1.2.3'."""
    for op in (">=", "<=", "^", "~", ">", "<", "="):
        if spec.startswith(op):
            base = Version.parse(spec[len(op):])
            break
    else:
        raise ValueError(f"unknown range {spec!r}; start it with one of >= <= > < = ^ ~")
    if op == "^":
        return version.major == base.major and version >= base
    if op == "~":
        return (version.major, version.minor) == (base.major, base.minor) and version >= base
    return {">=": version >= base, "<=": version <= base, ">": version > base,
            "<": version < base, "=": version == base}[op]


def max_satisfying(versions, spec):
    """The highest version string in versions that meets spec, or None."""
    matching = [v for v in versions if satisfies(Version.parse(v), spec)]
    return max(matching, key=Version.parse) if matching else None
