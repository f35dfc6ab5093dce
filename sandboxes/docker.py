"""DockerSandbox: one warm container per sandbox; every command is a ``docker exec`` into it.

Layout inside the container (root file system read-only, no network, all capabilities dropped,
no-new-privileges, memory / CPU / pids / file-size limits)::

    /work            tmpfs, mode 1777
      pristine/      the start state, owned by root: readable, never writable, by the sandbox user
      tools/         our pytest plugin, owned by root
      repo/          the working copy, owned by ``sandbox`` (uid 1000); commands run here
    /tmp             tmpfs; /tmp/scratch holds results (junit XML, coverage)

The container's init and its keeper run as root; commands run as ``sandbox``. So ``kill -9 -1``
from a sandbox-user shell kills every process the commands left behind and nothing else: each
command's wrapper does that when the command ends (a fork bomb's leftovers would otherwise take
every pid the next exec needs), and reset is one exec: that kill, then a copy of pristine/ over
repo/. Files go in by a tar streamed into ``tar x`` (``put_archive`` cannot write into a tmpfs
mount) and come out by ``tar c``.

The keeper, the container's main process, is ``cat`` reading the container's stdin, which only
the owning process holds open (attached before start, ``StdinOnce``): when the owner exits in
any way, SIGKILL included, the stream closes, the keeper exits and the container stops and is
removed (``AutoRemove``). Under a bounded deadline the keeper also ends after the deadline plus
``KEEPER_MARGIN_S``. Labels record the owner (``host:pid:start time``) so that ``prune`` removes
the containers of dead runs only.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
import shutil
import socket
import struct
import tarfile
import time
from typing import Mapping, Sequence

from sandboxes import _files
from sandboxes import deadline as deadlines
from sandboxes._common import (
    PLUGIN_MODULE, PLUGIN_SOURCE, OutputBuffer, SnapshotMixin, make_snapshot, owner_alive,
    owner_id,
)
from sandboxes.base import ExecResult, SandboxLimits
from sandboxes.deadline import Deadline
from sandboxes.errors import PathNotFound, SandboxError, SandboxUnavailable, UsageError
from sandboxes.image import DEFAULT_IMAGE, SANDBOX_UID, docker_client, image_exists

log = logging.getLogger("debug_agent.sandboxes")

LABEL = "debug-agent.sandbox"
SESSION_LABEL = "debug-agent.session"
OWNER_LABEL = "debug-agent.owner"
EXPIRES_LABEL = "debug-agent.expires"
KEEPER_MARGIN_S = 60.0
"""How long a container may outlive its owner's deadline before its keeper ends it."""
WORK, REPO, PRISTINE, TOOLS = "/work", "/work/repo", "/work/pristine", "/work/tools"
SCRATCH = "/tmp/scratch"
USER = "sandbox"

# One shell line, run as the sandbox user: kill every process of that user (kill -1 spares the
# caller and pid 1), sweeping again while a fork bomb still spawns, then restore the repo.
_KILL_ALL = "i=0; while kill -9 -1 2>/dev/null && [ $i -lt 20 ]; do i=$((i+1)); done"
# A command's wrapper: the address-space limit ($1, KiB; as the local backend's RLIMIT_AS), the
# command under a timeout ($0), then that kill, with only shell builtins (no fork: a fork bomb may
# have taken every pid), then the command's exit status. The per-process limit makes a test that
# hoards memory fail with MemoryError in its own process; the cgroup's limit, the OOM killer, is
# left for what many processes hold together (it would kill pytest, and lose every result).
_RUN = f'ulimit -v "$1"; shift; timeout -s KILL "$0" "$@"; c=$?; {_KILL_ALL}; exit $c'
# The cgroup counters of fork refusals and OOM kills (cgroup v2 paths, then v1).
_LIMITS = ("for f in /sys/fs/cgroup/pids.events /sys/fs/cgroup/pids/pids.events "
           "/sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control; "
           "do [ -r $f ] && cat $f; done")
_RESET = (f"{_KILL_ALL}; chmod -R u+rwx {REPO} 2>/dev/null; rm -rf {REPO} {SCRATCH}; "
          f"find /tmp -mindepth 1 -user {SANDBOX_UID} -delete 2>/dev/null; "
          f"cp -Rp {PRISTINE} {REPO} && mkdir -p {SCRATCH}")
# Refuse paths through symlinks: the resolved path must equal the literal one, inside the repo.
_CHECK = ('p="$1"; shift; r=$(realpath -m -- "$p") && [ "$r" = "$(realpath -m -s -- "$p")" ] '
          f'|| exit 90; case "$r" in {REPO}/*) ;; *) exit 90;; esac; ')


def session_id() -> str:
    """Label value shared by the sandboxes of one process (tests set DEBUG_AGENT_SESSION)."""
    return os.environ.get("DEBUG_AGENT_SESSION", "default")


def docker_problem(image: str = DEFAULT_IMAGE) -> str | None:
    """Why the Docker backend cannot run here (with the command that fixes it), or None."""
    try:
        import docker  # noqa: F401
    except ImportError:
        return "the docker Python package is missing; run `pip install docker`"
    try:
        client = docker_client(timeout=10)
    except SandboxUnavailable as exc:
        return str(exc)
    try:
        if not image_exists(client, image):
            return f"the sandbox image {image} is missing; build it with `agent sandbox build`"
    finally:
        client.close()
    return None


def leftovers(session: str | None = None) -> list[str]:
    """Names of our containers and volumes still there (of one session, or all)."""
    try:
        client = docker_client(timeout=10)
    except SandboxUnavailable:
        return []
    filters = {"label": [LABEL] + ([f"{SESSION_LABEL}={session}"] if session else [])}
    try:
        names = [_name(c) for c in client.api.containers(all=True, filters=filters)]
        names += [v.name for v in client.volumes.list(filters=filters)]
    finally:
        client.close()
    return names


def _name(summary: Mapping) -> str:
    return (summary.get("Names") or ["/" + summary["Id"][:12]])[0].lstrip("/")


def orphaned(labels: Mapping[str, str], status: str, now: float | None = None) -> bool:
    """Whether a container with these labels and status belongs to no live run: its owner ran
    on this host and is gone, or ran elsewhere and the container is past its expiry. A live
    run's container (also another user's on the same engine) is never orphaned, whatever its
    status (it may be created and not yet started)."""
    owner = labels.get(OWNER_LABEL)
    if owner is None:  # made before owners were recorded: only a stopped one is surely dead
        return status in ("exited", "dead")
    alive = owner_alive(owner)
    if alive is not None:
        return not alive
    expires = labels.get(EXPIRES_LABEL)
    return bool(expires) and float(expires) < (now or time.time())


def prune(session: str | None = None, *, everything: bool = False,
          timeout: int = 120) -> list[str]:
    """Remove our leftover containers (of one session label, or all); return their names.

    Only the orphaned ones (see ``orphaned``), unless ``everything``: then also those of live
    runs, and our volumes.
    """
    client = docker_client(timeout=timeout)
    filters = {"label": [LABEL] + ([f"{SESSION_LABEL}={session}"] if session else [])}
    removed = []
    try:
        # the list call's own summaries: containers come and go meanwhile (AutoRemove, other
        # runs), and inspecting each one after listing races with that
        for summary in client.api.containers(all=True, filters=filters):
            if everything or orphaned(summary.get("Labels") or {}, summary.get("State", "")):
                _remove(client, summary["Id"])
                removed.append(_name(summary))
        for volume in client.volumes.list(filters=filters) if everything else []:
            volume.remove(force=True)
            removed.append(volume.name)
    finally:
        client.close()
    return removed


def _remove(client, container_id: str) -> None:
    """Remove a container; one that is gone already, or being removed (AutoRemove), is fine."""
    import docker

    try:
        client.api.remove_container(container_id, force=True, v=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if exc.status_code != 409:  # 409: "removal already in progress"
            raise


class DockerSandbox(SnapshotMixin):
    """A sandbox in one warm, locked-down container; see the module docstring."""

    backend = "docker"
    workdir = REPO
    tools_dir = TOOLS
    scratch_dir = SCRATCH
    python = "python3"
    pytest_args: tuple[str, ...] = ()
    """Arguments the repo's pytest settings need here (see sandboxes/pytest_config.py)."""

    def __init__(self, repo_dir: str | os.PathLike, image: str = DEFAULT_IMAGE,
                 limits: SandboxLimits | None = None, deadline: Deadline | None = None) -> None:
        """``deadline``: what every command respects (default: the current one, see
        ``sandboxes.deadline``)."""
        import docker

        self.limits = limits or SandboxLimits()
        self.image = image
        self.deadline = deadline or deadlines.current()
        self._closed = False
        self._container = None
        self._keeper = None
        self._counters: dict[str, int] = {}
        self.name = f"debug-agent-{secrets.token_hex(6)}"
        self._root, self._snapshot = make_snapshot(repo_dir, self.limits, container=self.name)
        try:
            self._client = docker_client()
            if not image_exists(self._client, image):
                raise SandboxUnavailable(f"the sandbox image {image} is missing; build it with "
                                         "`agent sandbox build`")
            self._start_container()
            self._copy_in()
        except docker.errors.DockerException as exc:
            self.close()
            raise SandboxError(f"could not start a sandbox container from {image}: {exc}") from None
        except BaseException:
            self.close()
            raise

    def _start_container(self) -> None:
        """Create the container, attach its keeper's stdin (see the module docstring), start."""
        import docker

        lim = self.limits
        tmpfs_opts = f"rw,exec,nosuid,nodev,size={lim.tmpfs_mb}m,mode=1777"
        fsize = lim.file_size_mb * 1024 * 1024
        labels = {LABEL: "1", SESSION_LABEL: session_id(), OWNER_LABEL: owner_id()}
        keeper = ["cat"]
        if self.deadline.bounded:
            lifetime = self.deadline.remaining() + KEEPER_MARGIN_S
            labels[EXPIRES_LABEL] = f"{time.time() + lifetime:.0f}"
            keeper = ["timeout", "-s", "KILL", f"{lifetime:.0f}", "cat"]
        self._container = self._client.containers.create(
            self.image, keeper, name=self.name, stdin_open=True, auto_remove=True, init=True,
            user="0:0", network_mode="none", read_only=True, cap_drop=["ALL"],
            security_opt=["no-new-privileges"], mem_limit=f"{lim.memory_mb}m",
            memswap_limit=f"{lim.memory_mb}m", nano_cpus=int(lim.cpus * 1e9),
            pids_limit=lim.pids, tmpfs={"/tmp": tmpfs_opts, WORK: tmpfs_opts},
            ulimits=[docker.types.Ulimit(name="fsize", soft=fsize, hard=fsize),
                     docker.types.Ulimit(name="core", soft=0, hard=0)],
            labels=labels, working_dir=WORK, stop_signal="SIGKILL")
        self._keeper = self._client.api.attach_socket(self._container.id,
                                                      params={"stdin": 1, "stream": 1})
        self._container.start()

    def _copy_in(self) -> None:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
            tar.add(self._snapshot, arcname="pristine")
            info = tarfile.TarInfo(f"tools/{PLUGIN_MODULE}.py")
            data = PLUGIN_SOURCE.read_bytes()
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
        setup = (f"tar x --no-same-owner -C {WORK} -f - && chmod 755 {PRISTINE} {TOOLS} && "
                 f"chmod -R a+rX,go-w {PRISTINE}")
        result = self._exec(["sh", "-c", setup], user="0", stdin=buf.getvalue(), timeout=120)
        if result[0] != 0:
            raise SandboxError(f"copying the repo into the container failed: {result[1]!r}")
        self._reset_files()

    # -- exec ----------------------------------------------------------------------------------

    def _exec(self, argv: Sequence[str], *, user: str = USER, workdir: str = WORK,
              env: Mapping[str, str] | None = None, stdin: bytes | None = None,
              timeout: float | None = 60.0, limit: int | None = None,
              stdout_only: bool = False) -> tuple[int | None, bytes, bool, OutputBuffer]:
        """Run argv by exec; return (exit code, kept output, timed out, buffer).

        Output is stdout and stderr interleaved, or stdout alone (for binary data) with
        ``stdout_only``.
        Output is read frame by frame from the attach socket into a bounded buffer; at the
        deadline the reading stops and the caller kills. Nothing but the buffer grows.
        """
        import docker

        api = self._client.api
        out = OutputBuffer(limit or self.limits.output_bytes)
        try:
            exec_id = api.exec_create(self._container.id, list(argv), stdout=True, stderr=True,
                                      stdin=stdin is not None, tty=False, user=user,
                                      workdir=workdir, environment=dict(env or {}))["Id"]
            sock = api.exec_start(exec_id, socket=True)
        except docker.errors.DockerException as exc:
            raise SandboxError(f"cannot exec in sandbox container {self.name}: {exc}; "
                               "open a new sandbox") from None
        raw = getattr(sock, "_sock", sock)
        deadline = None if timeout is None else time.monotonic() + timeout
        timed_out = False
        try:
            if stdin is not None:
                raw.sendall(stdin)
                raw.shutdown(socket.SHUT_WR)
            timed_out = self._pump(raw, out, deadline, self.deadline, stdout_only)
        finally:
            sock.close()
        if timed_out:
            return None, out.data(), True, out
        for _ in range(200):  # the stream ends a moment before the exec is marked finished
            info = api.exec_inspect(exec_id)
            if not info["Running"]:
                return info["ExitCode"], out.data(), False, out
            time.sleep(0.005)
        return info["ExitCode"], out.data(), False, out

    @staticmethod
    def _pump(raw: socket.socket, out: OutputBuffer, deadline: float | None, run: Deadline,
              stdout_only: bool = False) -> bool:
        """Read multiplexed frames (8-byte header: stream, 3 zero bytes, big-endian size) into
        ``out`` until EOF (False) or the deadline (True); ``Cancelled`` when ``run`` is."""
        buf, payload_left, keep = b"", 0, True
        while True:
            run.check()
            remaining = deadlines.POLL_S
            if deadline is not None:
                remaining = min(deadline - time.monotonic(), remaining)
                if remaining <= 0:
                    return True
            raw.settimeout(remaining)
            try:
                chunk = raw.recv(1 << 16)
            except (socket.timeout, TimeoutError):
                continue
            if not chunk:
                return False
            buf += chunk
            while buf:
                if payload_left == 0:
                    if len(buf) < 8:
                        break
                    stream, payload_left = struct.unpack(">BxxxL", buf[:8])
                    keep = stream == 1 or not stdout_only
                    buf = buf[8:]
                    continue
                take = buf[:payload_left]
                if keep:
                    out.add(take)
                payload_left -= len(take)
                buf = buf[len(take):]

    def _env(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        env = {"HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8",
               "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", **self.limits.thread_env()}
        env.update(extra or {})
        return env

    def run(self, command: str | Sequence[str], *, timeout: float = 60.0,
            env: Mapping[str, str] | None = None) -> ExecResult:
        self._check_open()
        self.deadline.check()
        timeout = self.deadline.clip(timeout)
        if timeout <= 0:
            return ExecResult(None, "not run: the run's deadline has passed\n", 0.0, True)
        argv = ["sh", "-c", command] if isinstance(command, str) else [str(a) for a in command]
        # the in-container wrapper kills the command and its leftovers even if we are gone
        wrapped = ["sh", "-c", _RUN, f"{max(timeout, 0.1):.3f}", str(self.limits.memory_mb * 1024),
                   *argv]
        start = time.monotonic()
        code, _, timed_out, out = self._exec(wrapped, workdir=REPO, env=self._env(env),
                                             timeout=timeout + 1.0)
        elapsed = time.monotonic() - start
        if timed_out or (code == 137 and elapsed >= timeout):
            self._kill_all()
            return ExecResult(None, out.text(), elapsed, True, out.truncated, self._limit_hit())
        limit = self._limit_hit() if code != 0 else ""
        return ExecResult(code, out.text(), elapsed, False, out.truncated, limit)

    def _kill_all(self) -> None:
        self._exec(["sh", "-c", _KILL_ALL], timeout=30)

    def _limit_hit(self) -> str:
        """Which resource limit stopped something since the last look ("" when none did), from
        the container's cgroup counters (fork refusals, OOM kills)."""
        _, data, _, _ = self._exec(["sh", "-c", _LIMITS], user="0", timeout=30, stdout_only=True)
        counters = {}
        for line in data.decode(errors="replace").splitlines():
            key, _, value = line.partition(" ")
            if key in ("max", "oom_kill") and value.strip().isdigit():
                counters[key] = counters.get(key, 0) + int(value)
        hit = [key for key, n in counters.items() if n > self._counters.get(key, 0)]
        self._counters = counters
        return "; ".join({"max": f"process limit reached ({self.limits.pids} processes)",
                          "oom_kill": f"memory limit reached ({self.limits.memory_mb} MB)"}[k]
                         for k in sorted(hit))

    # -- files ---------------------------------------------------------------------------------

    def _file_op(self, path: str, script: str, stdin: bytes | None = None,
                 limit: int | None = None) -> bytes:
        rel = _files.check_relpath(path)
        code, data, _, out = self._exec(["sh", "-c", _CHECK + script, "sh", f"{REPO}/{rel}"],
                                        stdin=stdin, timeout=60, limit=limit, stdout_only=True)
        if code == 90:
            raise UsageError(f"path {rel!r} goes through a symlink or leaves the repo; "
                             "give a plain path inside the repo")
        if code == 91:
            raise PathNotFound(f"no such file in the repo: {rel}")
        if code == 92:
            raise UsageError(f"{rel!r} is a directory, not a file")
        if code != 0:
            raise SandboxError(f"file operation on {rel!r} failed (exit {code}): "
                               f"{data[-500:].decode(errors='replace')}")
        return data

    def read_file(self, path: str) -> str:
        self._check_open()
        data = self._file_op(path, '[ -d "$r" ] && exit 92; [ -f "$r" ] || exit 91; cat -- "$r"',
                             limit=self.limits.max_repo_mb * 1024 * 1024)
        return data.decode("utf-8", errors="replace")

    def write_file(self, path: str, content: str) -> None:
        self._check_open()
        self._file_op(path, '[ -d "$r" ] && exit 92; mkdir -p -- "$(dirname -- "$r")" && '
                            'cat > "$r"', stdin=content.encode("utf-8"))

    def delete_file(self, path: str) -> None:
        self._check_open()
        self._file_op(path, '[ -d "$r" ] && exit 92; [ -f "$r" ] || exit 91; rm -f -- "$r"')

    def list_files(self) -> list[str]:
        self._check_open()
        code, data, _, _ = self._exec(["find", ".", "(", "-type", "f", "-o", "-type", "l", ")",
                                       "-print0"], workdir=REPO, timeout=60,
                                      limit=64 * 1024 * 1024, stdout_only=True)
        paths = [p[2:] for p in data.decode("utf-8", errors="replace").split("\0") if p]
        return sorted(p for p in paths if not any(_files.ignored(x) for x in p.split("/")))

    def read_scratch(self, name: str) -> bytes:
        self._check_open()
        rel = _files.check_relpath(name)
        code, data, _, _ = self._exec(["sh", "-c", 'cat -- "$1" 2>/dev/null || exit 91', "sh",
                                       f"{SCRATCH}/{rel}"], timeout=60,
                                      limit=self.limits.max_repo_mb * 1024 * 1024,
                                      stdout_only=True)
        if code != 0:
            raise PathNotFound(f"no such scratch file: {name}")
        return data

    def take_scratch(self, names: Sequence[str]) -> dict[str, bytes | None]:
        self._check_open()
        rels = [_files.check_relpath(n) for n in names]
        _, data, _, out = self._exec(
            ["tar", "c", "--ignore-failed-read", "--remove-files", "-f", "-", "--", *rels],
            workdir=SCRATCH, timeout=60, stdout_only=True,
            limit=4 * self.limits.max_repo_mb * 1024 * 1024)
        found = _files.tree_from_tar(data) if data else {}
        return {name: found.get(rel) for name, rel in zip(names, rels)}

    def _current_files(self) -> dict[str, bytes]:
        limit = 2 * self.limits.max_repo_mb * 1024 * 1024 + (1 << 20)
        # a command may have made its own files unreadable; their owner can undo that
        code, data, _, out = self._exec(
            ["sh", "-c", f"chmod -R u+rX {REPO} 2>/dev/null; tar c -C {REPO} ."], timeout=120,
            limit=limit, stdout_only=True)
        if out.truncated:
            raise SandboxError(f"the repo in the sandbox grew past {limit} bytes; "
                               "cannot compute its changes")
        return _files.tree_from_tar(data)

    def _new_file_modes(self, paths: list[str]) -> dict[str, str]:
        if not paths:
            return {}
        _, data, _, _ = self._exec(["stat", "-c", "%a", "--", *paths], workdir=REPO, timeout=60,
                                   stdout_only=True)
        perms = data.decode().split()
        return {p: ("100755" if len(perms) == len(paths) and int(m, 8) & 0o111 else "100644")
                for p, m in zip(paths, perms or ["644"] * len(paths))}

    # -- lifecycle -----------------------------------------------------------------------------

    def _reset_files(self) -> None:
        code, data, _, _ = self._exec(["sh", "-c", _RESET], timeout=120)
        if code != 0:
            raise SandboxError(f"resetting the sandbox failed (exit {code}): {data[-500:]!r}")

    def reset(self) -> None:
        self._check_open()
        self._reset_files()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._container is not None:
                _remove(self._client, self._container.id)
        finally:
            if self._keeper is not None:
                self._keeper.close()
            shutil.rmtree(self._root, ignore_errors=True)
            if getattr(self, "_client", None) is not None:
                self._client.close()

    def _check_open(self) -> None:
        if self._closed:
            raise SandboxError("this sandbox is closed; open a new one")

    def __repr__(self) -> str:
        return f"DockerSandbox({self.name!r}, image={self.image!r})"
