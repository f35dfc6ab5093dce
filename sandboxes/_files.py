"""File logic shared by every backend: safe copy-in, path checks, change sets and git-style diffs.

The start state of a sandbox is a host directory (the *snapshot*) written once by `copy_repo`.
Backends hand back the current files as a ``{relpath: bytes}`` map; `changes` and `git_diff`
compare the two on the host, so both backends produce the same diff for the same edits.
`copy_repo`, `diff_texts` and `apply_patch` are also the project's one way to copy a repo, write a
patch and apply one outside a sandbox (task validation, bug synthesis, `agent fix --apply`).
"""

from __future__ import annotations

import difflib
import io
import logging
import os
import stat
import subprocess
import tarfile
from pathlib import Path, PurePosixPath
from typing import Mapping

from sandboxes.base import IGNORED_NAMES, IGNORED_SUFFIXES, SandboxLimits
from sandboxes.errors import PatchError, RepoTooLarge, SandboxError, UsageError

log = logging.getLogger("debug_agent.sandboxes")


def ignored(name: str) -> bool:
    return name in IGNORED_NAMES or name.endswith(IGNORED_SUFFIXES)


def check_relpath(path: str) -> str:
    """The normalized repo-relative form of ``path``; UsageError if it could leave the repo."""
    if not isinstance(path, str) or not path or "\x00" in path:
        raise UsageError(f"bad path {path!r}: give a non-empty path relative to the repo root")
    pure = PurePosixPath(path)
    if pure.is_absolute():
        raise UsageError(f"path {path!r} is absolute; give a path relative to the repo root")
    parts = [p for p in pure.parts if p != "."]
    if not parts or ".." in parts:
        raise UsageError(f"path {path!r} leaves the repo; give a path inside it, without '..'")
    return "/".join(parts)


def _inside(root: str, target: str) -> bool:
    return target == root or target.startswith(root + os.sep)


def copy_repo(src: str | os.PathLike, dst: str | os.PathLike,
              max_mb: int = SandboxLimits.max_repo_mb) -> Path:
    """Copy the repo at ``src`` into the new directory ``dst`` and return ``dst``.

    Caches and ``.git`` are left out. A symlink whose target stays inside the repo is copied as a
    relative link; one that points outside (or is absolute and leads out) is skipped with a
    warning, never followed. RepoTooLarge if the files add up to more than ``max_mb``.
    """
    src_root = os.path.realpath(src)
    if not os.path.isdir(src_root):
        what = "does not exist" if not os.path.exists(src_root) else "is not a directory"
        raise UsageError(f"repo {os.fspath(src)!r} {what}; give the path of a repository directory")
    plan: list[tuple[str, str, str | None]] = []  # (kind, rel, link text)
    total = 0
    limit = max_mb * 1024 * 1024
    for dirpath, dirnames, filenames in os.walk(src_root):
        dirnames[:] = sorted(d for d in dirnames if not ignored(d))
        rel_dir = os.path.relpath(dirpath, src_root)
        for name in sorted(dirnames) + sorted(f for f in filenames if not ignored(f)):
            full = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                target = os.path.realpath(full)
                if not _inside(src_root, target):
                    log.warning("not copying symlink %s: it points outside the repo (%s)", rel,
                                os.readlink(full))
                    continue
                plan.append(("link", rel, os.path.relpath(target, os.path.dirname(full))))
            elif stat.S_ISDIR(st.st_mode):
                plan.append(("dir", rel, None))
            elif stat.S_ISREG(st.st_mode):
                total += st.st_size
                if total > limit:
                    raise RepoTooLarge(
                        f"repo {src_root} holds more than {max_mb} MB of files (stopped at {rel}); "
                        f"remove large files or raise SandboxLimits.max_repo_mb")
                plan.append(("file", rel, None))
    os.makedirs(dst, exist_ok=False)
    for kind, rel, link in plan:
        out = os.path.join(dst, rel)
        if kind == "dir":
            os.makedirs(out, exist_ok=True)
        elif kind == "link":
            os.symlink(link, out)
        else:
            with open(os.path.join(src_root, rel), "rb") as f_in, open(out, "wb") as f_out:
                f_out.write(f_in.read())
            os.chmod(out, 0o755 if os.stat(os.path.join(src_root, rel)).st_mode & 0o111 else 0o644)
    return Path(dst)


def read_tree(root: str | os.PathLike) -> dict[str, bytes]:
    """Every regular file under ``root`` (ignored names left out, symlinks not followed)."""
    out: dict[str, bytes] = {}
    root = os.fspath(root)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not ignored(d)]
        for name in filenames:
            if ignored(name):
                continue
            full = os.path.join(dirpath, name)
            try:
                if not stat.S_ISREG(os.lstat(full).st_mode):
                    continue
                with open(full, "rb") as f:
                    out[os.path.relpath(full, root).replace(os.sep, "/")] = f.read()
            except (FileNotFoundError, PermissionError):  # removed or locked by a running command
                continue
    return out


def tree_from_tar(data: bytes) -> dict[str, bytes]:
    """The regular files of a tar archive of the repo (as ``tar c -C repo .`` writes it)."""
    out: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for member in tar:
                if not member.isreg():
                    continue
                rel = os.path.normpath(member.name).replace(os.sep, "/")
                if any(ignored(part) for part in rel.split("/")):
                    continue
                out[rel] = tar.extractfile(member).read()
    except tarfile.TarError as exc:  # the container died mid-stream: an infrastructure failure
        raise SandboxError("the sandbox sent back a broken file archive "
                           f"({str(exc).splitlines()[0]}); "
                           "was its container killed?") from None
    return out


def tar_dir(root: str | os.PathLike, arcname: str, uid: int = 0, gid: int = 0) -> bytes:
    """A tar of ``root`` under ``arcname``, every entry owned by ``uid:gid``."""
    def owner(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid, info.gid, info.uname, info.gname = uid, gid, "", ""
        return info

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        tar.add(os.fspath(root), arcname=arcname, filter=owner)
    return buf.getvalue()


def changes(snapshot: str | os.PathLike, current: dict[str, bytes]) -> dict[str, bytes | None]:
    """Files that differ between the snapshot dir and ``current``: new bytes, None if deleted."""
    before = read_tree(snapshot)
    out: dict[str, bytes | None] = {}
    for rel in sorted(set(before) | set(current)):
        now = current.get(rel)
        if before.get(rel) != now:
            out[rel] = now
    return out


def _is_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _lines(data: bytes) -> list[str]:
    """Split on newlines only (str.splitlines also splits on \\r, \\f, ... which git does not)."""
    text = data.decode("utf-8")
    if not text:
        return []
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _file_mode(path: str) -> str:
    try:
        return "100755" if os.stat(path).st_mode & 0o111 else "100644"
    except FileNotFoundError:
        return "100644"


def git_diff(snapshot: str | os.PathLike, changed: dict[str, bytes | None],
             modes: dict[str, str] | None = None) -> str:
    """A git-style unified diff of ``changed`` against the snapshot; ``git apply`` takes it.

    ``modes`` gives git modes ("100644" / "100755") of new files; default 100644. Binary
    changes are named ("Binary files ... differ") but carry no content.
    """
    modes = modes or {}
    out: list[str] = []
    for rel in sorted(changed):
        old_path = os.path.join(os.fspath(snapshot), rel)
        old = Path(old_path).read_bytes() if os.path.isfile(old_path) else None
        out += _file_diff(rel, old, changed[rel], new_mode=modes.get(rel, "100644"),
                          old_mode=_file_mode(old_path))
    return "".join(out)


def diff_texts(before: Mapping[str, str], after: Mapping[str, str]) -> str:
    """A git-style diff that turns the text files ``before`` into ``after`` (both keyed by
    repo-relative path); a path on one side only is a created or deleted file."""
    out: list[str] = []
    for rel in sorted(set(before) | set(after)):
        old, new = before.get(rel), after.get(rel)
        if old != new:
            out += _file_diff(rel, None if old is None else old.encode("utf-8"),
                              None if new is None else new.encode("utf-8"))
    return "".join(out)


def _file_diff(rel: str, old: bytes | None, new: bytes | None, *, new_mode: str = "100644",
               old_mode: str = "100644") -> list[str]:
    """The diff of one file: ``old`` None for a new file, ``new`` None for a deleted one."""
    out = [f"diff --git a/{rel} b/{rel}\n"]
    if old is None:
        out.append(f"new file mode {new_mode}\n")
    elif new is None:
        out.append(f"deleted file mode {old_mode}\n")
    old_b, new_b = old or b"", new or b""
    if not (_is_text(old_b) and _is_text(new_b)):
        a = "/dev/null" if old is None else f"a/{rel}"
        b = "/dev/null" if new is None else f"b/{rel}"
        out.append(f"Binary files {a} and {b} differ\n")
        return out
    if not old_b and not new_b:
        return out  # an empty file created or deleted: the header says it all
    hunks = difflib.unified_diff(
        _lines(old_b), _lines(new_b),
        "/dev/null" if old is None else f"a/{rel}",
        "/dev/null" if new is None else f"b/{rel}", n=3)
    for i, line in enumerate(hunks):
        if i < 2:  # difflib's ---/+++ lines end "\n" and may carry a trailing tab+date
            out.append(line.rstrip("\n").rstrip("\t") + "\n")
        elif line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return out


def apply_patch(repo: str | os.PathLike, patch: str, *, directory: str | None = None,
                check_only: bool = False) -> None:
    """``git apply`` ``patch`` in ``repo`` (its paths below ``directory`` of it, if given), or
    only check that it applies; PatchError with git's reason when it does not, and then nothing
    is changed."""
    where = ["--directory", directory] if directory not in (None, ".") else []
    # git apply run inside someone else's work tree resolves paths against that tree and
    # silently skips the files outside the cwd: stop git looking above repo.
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": os.path.dirname(os.path.abspath(repo))}
    for args in [["--check"]] if check_only else [["--check"], []]:
        proc = subprocess.run(["git", "apply", "--whitespace=nowarn", *where, *args, "-"],
                              cwd=repo, input=patch, text=True, capture_output=True, env=env)
        if proc.returncode != 0:
            why = proc.stderr.strip().splitlines()[0] if proc.stderr.strip() else proc.returncode
            raise PatchError(f"the patch does not apply to {repo}: {why}")
