"""What both backends share: the output bound and the snapshot-based change set and diff."""

from __future__ import annotations

import logging
import os
import shutil
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


def make_snapshot(repo_dir: str | os.PathLike, limits: SandboxLimits) -> tuple[str, str]:
    """Copy the repo into a new host temp dir; return (temp root, snapshot dir inside it)."""
    root = tempfile.mkdtemp(prefix="debug-agent-")
    snapshot = os.path.join(root, "snapshot")
    try:
        _files.copy_repo(repo_dir, snapshot, limits.max_repo_mb)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return root, snapshot
