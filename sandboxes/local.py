"""LocalSandbox: a temporary copy of the repo, each command in its own session with rlimits.

For machines without a Docker engine. There is no network or filesystem namespace: a command can
reach the network and read what its user may read. What holds:

- each command runs in a new session (process group) with RLIMIT_CPU / AS / FSIZE / NPROC / CORE,
  and the whole group is killed at the timeout; the address-space limit binds each process, and
  nothing bounds what many processes hold together (the docker backend's cgroup does);
- run as root (as in CI), commands run under a fresh unprivileged uid of their own, which the
  rlimits bind (root ignores RLIMIT_NPROC), which cannot write the original repo or the snapshot,
  and whose every process (also ones that left the session) is killed on timeout and reset. When
  the host Python is reachable only by root (e.g. under /root), that uid is given
  CAP_DAC_READ_SEARCH alone so it can run it: it may then read, never write, the host's files.

Killed processes are reaped by the host's init; where that init does not reap (some container
runtimes), they stay zombies of the sandbox uid until then: dead, but counted by RLIMIT_NPROC of
that uid alone.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import random
import resource
import select
import shutil
import signal
import stat
import subprocess
import sys
import time
from typing import Mapping, Sequence

from sandboxes import _files
from sandboxes import deadline as deadlines
from sandboxes._common import (
    PLUGIN_MODULE, PLUGIN_SOURCE, OutputBuffer, SnapshotMixin, dead_temp_roots, make_snapshot,
    write_owner,
)
from sandboxes.base import ExecResult, SandboxLimits
from sandboxes.deadline import Deadline
from sandboxes.errors import PathNotFound, SandboxError, UsageError

log = logging.getLogger("debug_agent.sandboxes")

_warned = False
_CAP_DAC_READ_SEARCH = 2
_PR_SET_KEEPCAPS, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_RAISE = 8, 47, 2


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _reachable_by_others(path: str) -> bool:
    """Whether a user that owns nothing can run ``path`` (every parent searchable by "other")."""
    path = os.path.realpath(path)
    if not os.stat(path).st_mode & stat.S_IXOTH:
        return False
    parent = os.path.dirname(path)
    while True:
        if not os.stat(parent).st_mode & stat.S_IXOTH:
            return False
        if parent == "/":
            return True
        parent = os.path.dirname(parent)


def _pick_uid() -> int:
    """A uid for this sandbox alone (mapped in our user namespace), or nobody as a fallback."""
    uid = random.SystemRandom().randrange(200_000, 300_000)
    try:
        with open("/proc/self/uid_map") as f:
            for line in f:
                inside, _, count = (int(x) for x in line.split())
                if inside <= uid < inside + count:
                    return uid
    except OSError:
        pass
    return 65534


def _kill_uid(uid: int) -> None:
    """SIGKILL every process of ``uid`` (kill(-1) from a child that took on that uid)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            for _ in range(50):  # a fork bomb may spawn while we sweep; sweep until none is left
                os.kill(-1, signal.SIGKILL)  # every process of this uid but ourselves
        except ProcessLookupError:
            os._exit(0)
        except BaseException:
            os._exit(1)
        os._exit(0)
    os.waitpid(pid, 0)


def _rmtree(path: str, ignore_errors: bool = False) -> None:
    """rmtree that first gives back the permissions a command took away (matters when not root)."""
    if os.geteuid() != 0:
        for dirpath, dirnames, _ in os.walk(path):
            for name in dirnames:
                full = os.path.join(dirpath, name)
                if not os.path.islink(full):
                    os.chmod(full, 0o700)
    shutil.rmtree(path, ignore_errors=ignore_errors)


class LocalSandbox(SnapshotMixin):
    """A sandbox in a host temp directory; see the module docstring for what it isolates."""

    backend = "local"
    pytest_args: tuple[str, ...] = ()
    """Arguments the repo's pytest settings need here (see sandboxes/pytest_config.py)."""

    def __init__(self, repo_dir: str | os.PathLike, limits: SandboxLimits | None = None,
                 deadline: Deadline | None = None) -> None:
        """``deadline``: what every command respects (default: the current one, see
        ``sandboxes.deadline``)."""
        global _warned
        if not _warned:
            log.warning("local sandbox: weaker isolation than Docker (no network or filesystem "
                        "isolation); run `agent sandbox build` to use the Docker backend")
            _warned = True
        self.limits = limits or SandboxLimits()
        self.deadline = deadline or deadlines.current()
        self._root, self._snapshot = make_snapshot(repo_dir, self.limits)
        self._closed = False
        self._pgids: set[int] = set()
        self._uid: int | None = None
        self._cap = False
        try:
            os.chmod(self._root, 0o711)
            os.chmod(self._snapshot, 0o700)
            if os.geteuid() == 0:
                self._uid = _pick_uid()
                self._cap = not _reachable_by_others(sys.executable)
                write_owner(self._root, uid=self._uid)  # so that prune_temp can kill its processes
            self.workdir = os.path.join(self._root, "repo")
            self.tools_dir = os.path.join(self._root, "tools")
            self.scratch_dir = os.path.join(self._root, "tmp")
            os.makedirs(self.tools_dir, mode=0o755)
            shutil.copyfile(PLUGIN_SOURCE, os.path.join(self.tools_dir, PLUGIN_MODULE + ".py"))
            os.chmod(os.path.join(self.tools_dir, PLUGIN_MODULE + ".py"), 0o644)
            self.python = sys.executable
            self._restore()
        except BaseException:
            self.close()
            raise

    # -- commands --------------------------------------------------------------------------

    def _env(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        env = {
            "PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
            "HOME": self.scratch_dir, "TMPDIR": self.scratch_dir, "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", **self.limits.thread_env(),
        }
        env.update(extra or {})
        return env

    def _preexec(self, timeout: float):
        lim = self.limits
        mb = 1024 * 1024
        cpu = int(timeout) + 2
        limits = [(resource.RLIMIT_CPU, (cpu, cpu + 1)),
                  (resource.RLIMIT_AS, (lim.memory_mb * mb, lim.memory_mb * mb)),
                  (resource.RLIMIT_FSIZE, (lim.file_size_mb * mb, lim.file_size_mb * mb)),
                  (resource.RLIMIT_NPROC, (lim.pids, lim.pids)),
                  (resource.RLIMIT_CORE, (0, 0))]
        uid, cap = self._uid, self._cap
        libc = ctypes.CDLL(None, use_errno=True) if cap else None
        header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
        bit = 1 << _CAP_DAC_READ_SEARCH
        data = (_CapData * 2)(_CapData(bit, bit, bit), _CapData(0, 0, 0))

        def preexec() -> None:  # runs in the child between fork and exec: no logging, no locks
            for which, value in limits:
                resource.setrlimit(which, value)
            if uid is None:
                return
            if cap:
                libc.prctl(_PR_SET_KEEPCAPS, 1, 0, 0, 0)
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            if cap:
                if libc.capset(ctypes.byref(header), data) != 0:
                    raise OSError(ctypes.get_errno(), "capset")
                if libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_RAISE, _CAP_DAC_READ_SEARCH, 0, 0):
                    raise OSError(ctypes.get_errno(), "prctl(PR_CAP_AMBIENT_RAISE)")

        return preexec

    def run(self, command: str | Sequence[str], *, timeout: float = 60.0,
            env: Mapping[str, str] | None = None) -> ExecResult:
        self._check_open()
        self.deadline.check()
        timeout = self.deadline.clip(timeout)
        if timeout <= 0:
            return ExecResult(None, "not run: the run's deadline has passed\n", 0.0, True)
        argv = ["/bin/sh", "-c", command] if isinstance(command, str) else [str(a) for a in command]
        start = time.monotonic()
        try:
            proc = subprocess.Popen(
                argv, cwd=self.workdir, env=self._env(env), stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=self._preexec(timeout), close_fds=True)
        except (FileNotFoundError, PermissionError) as exc:
            return ExecResult(127, f"cannot run {argv[0]}: {exc}\n", time.monotonic() - start)
        self._pgids.add(proc.pid)
        out = OutputBuffer(self.limits.output_bytes)
        try:
            timed_out = self._pump(proc, out, start + timeout, self.deadline)
        except BaseException:  # Cancelled: the command goes with us
            self._kill(proc.pid)
            proc.stdout.close()
            raise
        if timed_out:
            self._kill(proc.pid)
            self._pump(proc, out, time.monotonic() + 2.0)  # what was written before the kill
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._kill(proc.pid)
            code = proc.wait()
        finally:
            proc.stdout.close()
        # What the command left running (a fork bomb's spawn) would hold the process limit
        # against the next command; nothing outlives the command that started it.
        self._kill(proc.pid)
        self._pgids.discard(proc.pid)
        exit_code = None if timed_out else (128 - code if code < 0 else code)
        return ExecResult(exit_code, out.text(), time.monotonic() - start, timed_out, out.truncated)

    @staticmethod
    def _pump(proc: subprocess.Popen, out: OutputBuffer, deadline: float,
              run: Deadline | None = None) -> bool:
        """Read output until EOF (False) or the deadline (True); ``Cancelled`` when ``run`` is."""
        fd = proc.stdout.fileno()
        while True:
            if run is not None:
                run.check()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            ready, _, _ = select.select([fd], [], [], min(remaining, deadlines.POLL_S))
            if ready:
                data = os.read(fd, 1 << 16)
                if not data:
                    return False
                out.add(data)

    def _kill(self, pgid: int | None = None) -> None:
        for group in ([pgid] if pgid else []) + sorted(self._pgids):
            try:
                os.killpg(group, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self._uid is not None:
            _kill_uid(self._uid)

    # -- files -------------------------------------------------------------------------------

    def _walk(self, path: str, create: bool = False) -> tuple[int, str]:
        """(fd of the parent dir, last name) for a repo path; never passes through a symlink."""
        rel = _files.check_relpath(path)
        parts = rel.split("/")
        fd = os.open(self.workdir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for part in parts[:-1]:
                try:
                    nfd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise PathNotFound(f"no such file in the repo: {rel}") from None
                    os.mkdir(part, 0o755, dir_fd=fd)
                    self._chown(part, fd)
                    nfd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise UsageError(f"path {rel!r} goes through a symlink or a file "
                                         f"({part!r}); give a plain path inside the repo") from None
                    raise
                os.close(fd)
                fd = nfd
        except BaseException:
            os.close(fd)
            raise
        return fd, parts[-1]

    def _chown(self, name: str, dir_fd: int) -> None:
        if self._uid is not None:
            os.chown(name, self._uid, self._uid, dir_fd=dir_fd, follow_symlinks=False)

    def _open_file(self, path: str, flags: int, create: bool = False) -> int:
        fd, name = self._walk(path, create)
        try:
            file_fd = os.open(name, flags | os.O_NOFOLLOW, 0o644, dir_fd=fd)
            if stat.S_ISDIR(os.fstat(file_fd).st_mode):
                os.close(file_fd)
                raise UsageError(f"{path!r} is a directory, not a file")
            return file_fd
        except FileNotFoundError:
            raise PathNotFound(f"no such file in the repo: {path}") from None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EISDIR):
                raise UsageError(f"{path!r} is a symlink or a directory, not a file") from None
            raise
        finally:
            if create and self._uid is not None:
                try:
                    self._chown(name, fd)
                except FileNotFoundError:
                    pass
            os.close(fd)

    def read_file(self, path: str) -> str:
        self._check_open()
        with os.fdopen(self._open_file(path, os.O_RDONLY), "rb") as f:
            return f.read().decode("utf-8", errors="replace")

    def write_file(self, path: str, content: str) -> None:
        self._check_open()
        fd = self._open_file(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, create=True)
        with os.fdopen(fd, "wb") as f:
            f.write(content.encode("utf-8"))

    def delete_file(self, path: str) -> None:
        self._check_open()
        fd, name = self._walk(path)
        try:
            if stat.S_ISDIR(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode):
                raise UsageError(f"{path!r} is a directory; delete_file removes files")
            os.unlink(name, dir_fd=fd)
        except FileNotFoundError:
            raise PathNotFound(f"no such file in the repo: {path}") from None
        finally:
            os.close(fd)

    def list_files(self) -> list[str]:
        self._check_open()
        out = []
        for dirpath, dirnames, filenames in os.walk(self.workdir):
            dirnames[:] = [d for d in dirnames if not _files.ignored(d)]
            out += [os.path.relpath(os.path.join(dirpath, n), self.workdir)
                    for n in filenames if not _files.ignored(n)]
            out += [os.path.relpath(os.path.join(dirpath, d), self.workdir)
                    for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        return sorted(out)

    def read_scratch(self, name: str) -> bytes:
        """Bytes of a file a command wrote into ``scratch_dir`` (e.g. a junit report)."""
        self._check_open()
        path = os.path.join(self.scratch_dir, _files.check_relpath(name))
        try:
            with open(path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise PathNotFound(f"no such scratch file: {name}") from None

    def take_scratch(self, names: Sequence[str]) -> dict[str, bytes | None]:
        out: dict[str, bytes | None] = {}
        for name in names:
            try:
                out[name] = self.read_scratch(name)
                os.unlink(os.path.join(self.scratch_dir, _files.check_relpath(name)))
            except PathNotFound:
                out[name] = None
        return out

    def _current_files(self) -> dict[str, bytes]:
        return _files.read_tree(self.workdir)

    def _new_file_modes(self, paths: list[str]) -> dict[str, str]:
        return {p: ("100755" if os.lstat(os.path.join(self.workdir, p)).st_mode & 0o111
                    else "100644") for p in paths}

    # -- lifecycle ---------------------------------------------------------------------------

    def _restore(self) -> None:
        for path in (self.workdir, self.scratch_dir):
            if os.path.lexists(path):
                _rmtree(path)
        shutil.copytree(self._snapshot, self.workdir, symlinks=True)
        os.chmod(self.workdir, 0o755)
        os.mkdir(self.scratch_dir, 0o700)
        if self._uid is not None:
            for dirpath, dirnames, filenames in os.walk(self.workdir):
                os.chown(dirpath, self._uid, self._uid)
                for name in dirnames + filenames:
                    os.chown(os.path.join(dirpath, name), self._uid, self._uid,
                             follow_symlinks=False)
            os.chown(self.scratch_dir, self._uid, self._uid)

    def reset(self) -> None:
        self._check_open()
        self._kill()
        self._pgids.clear()
        self._restore()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._kill()
        finally:
            _rmtree(self._root, ignore_errors=True)

    def _check_open(self) -> None:
        if self._closed:
            raise SandboxError("this sandbox is closed; open a new one")

    def __repr__(self) -> str:
        return f"LocalSandbox({self.workdir!r}, uid={self._uid})"


def prune_temp(tempdir: str | None = None) -> list[str]:
    """Remove the temporary copies (of both backends) whose owner is dead, first killing what
    still runs under a local sandbox's own uid; return their paths."""
    removed = []
    for path, info in dead_temp_roots(tempdir):
        uid = info.get("uid")
        if isinstance(uid, int) and os.geteuid() == 0:
            _kill_uid(uid)
        _rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed
