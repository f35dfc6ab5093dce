"""A suite stored as data: clean base repositories and one bug spec per task, materialized on load.

On disk (the bundled suite, ``envs/suite/``, is one)::

    SUITE/
      suite.json          {"format": "debug-agent.bug-specs/1"}
      bases/<base>/       a correct repository whose tests all pass
      bugs/<id>.diff      the `git diff` that puts the bug into its base (SWE-smith keeps bugs so)
      bugs/<id>.json      {"id", "base", "bug_class", "source", "fail_to_pass", "pass_to_pass"}

``materialize(SUITE)`` turns it into an ordinary suite of task directories (envs/task.py's format:
repo/ is the base with the diff applied, reference.patch the diff reversed) in a cache directory
named by a hash of every file in SUITE, so a changed spec or base is materialized afresh and an
unchanged one costs only the hash. Loads that race each build into their own temporary directory
and rename it into place; the first rename wins and the others drop theirs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sandboxes._files import apply_patch, copy_repo, ignored
from sandboxes.errors import UsageError

FORMAT = "debug-agent.bug-specs/1"
MARKER = "suite.json"
SPEC_KEYS = ("id", "base", "bug_class", "source", "fail_to_pass", "pass_to_pass")


class SpecError(UsageError):
    """A bug spec (or the suite around it) that does not follow the format."""


@dataclass(frozen=True)
class BugSpec:
    id: str
    base: str
    bug_class: str
    source: str
    fail_to_pass: tuple[str, ...]
    pass_to_pass: tuple[str, ...]
    diff: str
    """The patch that turns the base into the buggy repo."""

    @property
    def files(self) -> list[str]:
        return diff_files(self.diff)

    def to_json(self) -> dict:
        return {"id": self.id, "base": self.base, "bug_class": self.bug_class,
                "source": self.source, "fail_to_pass": list(self.fail_to_pass),
                "pass_to_pass": list(self.pass_to_pass)}


def is_spec_suite(path: Path) -> bool:
    return (path / MARKER).is_file()


def load_specs(suite: str | Path) -> list[BugSpec]:
    """Every bug spec of ``suite``, sorted by id; SpecError naming the file that is wrong."""
    suite = Path(suite)
    marker = suite / MARKER
    try:
        meta = json.loads(marker.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SpecError(f"{marker}: cannot read the suite marker ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise SpecError(f"{marker}: expected {{\"format\": \"{FORMAT}\"}}, got {meta!r}")
    specs = [_load_spec(suite, path) for path in sorted((suite / "bugs").glob("*.json"))]
    if not specs:
        raise SpecError(f"no bug specs in {suite / 'bugs'} (looked for *.json beside *.diff)")
    return specs


def _load_spec(suite: Path, path: Path) -> BugSpec:
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise SpecError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    missing = [k for k in SPEC_KEYS if k not in meta] if isinstance(meta, dict) else list(SPEC_KEYS)
    if missing:
        raise SpecError(f"{path}: missing keys {missing}; a bug spec has {list(SPEC_KEYS)}")
    if meta["id"] != path.stem:
        raise SpecError(f"{path}: id {meta['id']!r} differs from the file name; rename one")
    if not (suite / "bases" / meta["base"]).is_dir():
        raise SpecError(f"{path}: base {meta['base']!r} is not a directory of {suite / 'bases'}")
    diff_path = path.with_suffix(".diff")
    if not diff_path.is_file():
        raise SpecError(f"{path}: no {diff_path.name} beside it (the diff that adds the bug)")
    return BugSpec(id=meta["id"], base=meta["base"], bug_class=meta["bug_class"],
                   source=meta["source"], fail_to_pass=tuple(meta["fail_to_pass"]),
                   pass_to_pass=tuple(meta["pass_to_pass"]), diff=diff_path.read_text())


def diff_files(diff: str) -> list[str]:
    """The files a git diff changes, in its order."""
    return [m.group(1) for m in re.finditer(r"^diff --git a/(\S+) b/", diff, re.MULTILINE)]


def reverse_diff(diff: str) -> str:
    """The git diff that undoes ``diff``: sides swapped, and in each run of changed lines the
    removals first, as git writes them (so the reference patch reads like `git diff` output)."""
    out: list[str] = []
    removed: list[str] = []
    added: list[str] = []

    def flush() -> None:
        out.extend(removed + added)
        removed.clear()
        added.clear()

    last = out
    for line in diff.splitlines(keepends=True):
        if line.startswith("\\"):  # "\ No newline at end of file" belongs to the line above
            last[-1] += line
            continue
        if line.startswith("-") and not line.startswith("--- "):
            added.append("+" + line[1:])
            last = added
            continue
        if line.startswith("+") and not line.startswith("+++ "):
            removed.append("-" + line[1:])
            last = removed
            continue
        flush()
        last = out
        hunk = re.match(r"^@@ -(\S+) \+(\S+) @@(.*)$", line, re.DOTALL)
        index = re.match(r"^index (\w+)\.\.(\w+)(.*)$", line, re.DOTALL)
        if hunk:
            line = f"@@ -{hunk.group(2)} +{hunk.group(1)} @@{hunk.group(3)}"
        elif index:
            line = f"index {index.group(2)}..{index.group(1)}{index.group(3)}"
        out.append(line)
    flush()
    return "".join(out)


def digest(suite: str | Path) -> str:
    """sha256 over every file of the suite (path and bytes) and the format: the cache key."""
    suite = Path(suite)
    h = hashlib.sha256(FORMAT.encode())
    for path in sorted(suite.rglob("*")):
        rel = path.relative_to(suite)
        if path.is_file() and not any(ignored(part) for part in rel.parts):
            h.update(b"\0" + rel.as_posix().encode() + b"\0")
            h.update(path.read_bytes())
    return h.hexdigest()


def cache_root() -> Path:
    """Where materialized suites go: $DEBUG_AGENT_SUITE_CACHE, else the user cache directory."""
    if os.environ.get("DEBUG_AGENT_SUITE_CACHE"):
        return Path(os.environ["DEBUG_AGENT_SUITE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "debug-agent" / "suites"


def materialize(suite: str | Path, cache: str | Path | None = None) -> Path:
    """The suite of task directories built from ``suite``'s specs (built once per content)."""
    suite = Path(suite).resolve()
    specs = load_specs(suite)
    cache = Path(cache) if cache is not None else cache_root()
    target = cache / f"{suite.name}-{digest(suite)[:16]}"
    if target.is_dir():
        return target  # complete: only whole directories are ever renamed into place
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=cache))
    except OSError as exc:
        raise SpecError(f"cannot write the tasks of {suite} under {cache} ({exc.strerror}); set "
                        "DEBUG_AGENT_SUITE_CACHE to a writable directory") from None
    try:
        for spec in specs:
            build_task(suite, spec, tmp / spec.id)
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.is_dir():  # not a lost race: a real failure
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def build_task(suite: Path, spec: BugSpec, out: Path) -> None:
    """Write one task directory: the base with the bug applied, task.json, reference.patch."""
    base = suite / "bases" / spec.base
    copy_repo(base, out / "repo", max_mb=64)
    try:
        apply_patch(out / "repo", spec.diff)
    except UsageError as exc:
        raise SpecError(f"bug {spec.id}: its diff does not apply to base {spec.base}: {exc}; "
                        "regenerate it with `python -m envs.suite_tools add`") from None
    meta = spec.to_json() | {"files": spec.files}
    (out / "task.json").write_text(json.dumps(meta, indent=2) + "\n")
    (out / "reference.patch").write_text(reverse_diff(spec.diff))
