"""Semantic versions: parsing, ordering, bumping and range checks."""

from semver.version import Version, max_satisfying, satisfies

__all__ = ["Version", "max_satisfying", "satisfies"]
