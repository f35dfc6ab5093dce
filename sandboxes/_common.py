"""What both backends share: the output bound, the snapshot-based change set and diff, and who
owns a sandbox (so that what a killed run left behind can be found and removed)."""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import socket
import tempfile
from pathlib import Path

from sandboxes import _files
from sandboxes.base import SandboxLimits

log = logging.getLogger("debug_agent.sandboxes")

#: The pytest plugin, copied into every sandbox outside its repo (see pytest_runner).
PLUGIN_SOURCE = Path(__file__).with_name("_pytest_plugin.py")
PLUGIN_MODULE = "_debug_agent_pytest_plugin"


class OutputBuffer:
    """Keeps the first ``limit`` bytes of a stream and counts the rest, so memory stays bounded."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: list[bytes] = []
        self.kept = 0
        self.dropped = 0

    def add(self, data: bytes) -> None:
        room = self.limit - self.kept
        if room > 0:
            self.chunks.append(data[:room])
            self.kept += min(room, len(data))
        self.dropped += max(0, len(data) - max(room, 0))

    @property
    def truncated(self) -> bool:
        return self.dropped > 0

    def text(self) -> str:
        text = b"".join(self.chunks).decode("utf-8", errors="replace")
        if self.dropped:
            text += f"\n[... {self.dropped} bytes of output dropped]\n"
        return text

    def data(self) -> bytes:
        return b"".join(self.chunks)


class SnapshotMixin:
    """changed_files / diff / context manager on top of a host snapshot dir.

    A backend sets ``self._snapshot`` (the start state on the host, written by
    `_files.copy_repo`) and implements ``_current_files()`` and ``_file_modes()``.
    """

    _snapshot: str
    limits: SandboxLimits

    def _current_files(self) -> dict[str, bytes]:
        raise NotImplementedError

    def _new_file_modes(self, paths: list[str]) -> dict[str, str]:
        return {}

    def changed_files(self) -> dict[str, bytes | None]:
        return _files.changes(self._snapshot, self._current_files())

    def diff(self) -> str:
        changed = self.changed_files()
        new = [p for p, data in changed.items()
               if data is not None and not os.path.exists(os.path.join(self._snapshot, p))]
        return _files.git_diff(self._snapshot, changed, self._new_file_modes(new))

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


TEMP_PREFIX = "debug-agent-"
OWNER_FILE = "owner.json"


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), or None if it is not running.

    With the pid it names one process for good: a pid reused later has another start time.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22; the name in (...) may hold spaces


@functools.cache
def _host() -> str:
    return socket.gethostname()


def owner_id(pid: int | None = None) -> str:
    """``host:pid:start time`` of this process (or ``pid``): recorded on everything it opens."""
    pid = os.getpid() if pid is None else pid
    return f"{_host()}:{pid}:{_start_time(pid) or '?'}"


def owner_alive(owner: str) -> bool | None:
    """Whether the process ``owner`` names still runs; None when that cannot be known here (it
    ran on another host)."""
    host, _, rest = owner.partition(":")
    pid, _, start = rest.partition(":")
    if host != _host() or not pid.isdigit():
        return None
    return _start_time(int(pid)) == start


def make_snapshot(repo_dir: str | os.PathLike, limits: SandboxLimits,
                  **owner_info: object) -> tuple[str, str]:
    """Copy the repo into a new host temp dir; return (temp root, snapshot dir inside it).

    The root holds ``owner.json`` (who made it, plus ``owner_info``) before anything else, so
    that ``prune_temp`` can tell a dead run's copy from a live one's.
    """
    root = tempfile.mkdtemp(prefix=TEMP_PREFIX)
    snapshot = os.path.join(root, "snapshot")
    try:
        write_owner(root, **owner_info)
        _files.copy_repo(repo_dir, snapshot, limits.max_repo_mb)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return root, snapshot


def write_owner(root: str, **owner_info: object) -> None:
    with open(os.path.join(root, OWNER_FILE), "w") as f:
        json.dump({"owner": owner_id(), **owner_info}, f)


def dead_temp_roots(tempdir: str | None = None) -> list[tuple[str, dict]]:
    """(path, owner.json) of the sandbox temp copies in ``tempdir`` whose owner is dead."""
    tempdir = tempdir or tempfile.gettempdir()
    found = []
    try:
        names = os.listdir(tempdir)
    except OSError:
        return []
    for name in names:
        if not name.startswith(TEMP_PREFIX):
            continue
        path = os.path.join(tempdir, name)
        try:
            with open(os.path.join(path, OWNER_FILE)) as f:
                info = json.load(f)
        except (OSError, ValueError):
            continue  # not ours, or still being made: leave it
        if owner_alive(str(info.get("owner", ""))) is False:
            found.append((path, info))
    return found
