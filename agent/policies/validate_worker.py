"""Runs inside a sandbox: validates many repair candidates with one pytest import.

Started as ``python3 validate_worker.py REQUEST [SUITE]`` (base64 of zlib-compressed JSON; SUITE,
the part shared by every batch of one search, may come as a second argument), it imports pytest
once, then for each candidate writes the candidate's files, forks a child that runs pytest on the
failing tests (and, when those pass, a child on the passing tests whose coverage touches an edited
file, stopping at the first failure, and, when the candidate fixes everything, one on the rest),
restores the files, and prints one JSON line per candidate. Forking after the import is what makes a candidate cost ~0.1 s instead
of a fresh interpreter's second. The parent never imports code from the repo, so every child
imports the candidate's code fresh.

Request: {"candidates": [{"id": str, "files": {path: SPAN}, "rewrite": bool}],
          "f2p": [nodeid], "p2p": [nodeid],
          "timeout": seconds per child, "stop_on_success": bool, "p2p_from": int,
          "limits": {nodeid: seconds}, "p2p_by_file": {path: [index into p2p]},
          "deadline_s": seconds, "jobs": int, "copies": folder}
The pass-to-pass tests run only for a candidate with at least p2p_from failing tests fixed
(default: all of them). ``limits`` bounds each test (a test past its limit is "timeout"; the child
is killed when the sum of its tests' limits has passed), ``timeout`` is the limit of a test that
has none. ``p2p_by_file`` names the pass-to-pass tests that cover each file (all of them when
absent). No candidate starts after ``deadline_s`` seconds.

With ``jobs`` > 1 the candidates are validated that many at once, by one process for each of
``jobs`` copies of the repo (``Slots``), so that no candidate's child sees another's edits or the
files its tests write; the results come out as the sequential loop would
print them: in the candidates' order, and none after the first candidate that solves everything
when ``stop_on_success``. A child that imports a module from the original repo rather than its
copy (an install whose paths cannot be moved) makes the rest of the batch run in place, one at a
time, from the first candidate not yet printed. The copies live in the temporary folder for one
batch, or, with ``copies`` (a folder the search names once), for the whole search: each batch then
copies only the files that changed since the last and removes those that vanished, so an edit the
search applied between batches reaches every copy (``sync_copy``). A copy whose process ended
without putting its files back is made afresh. What was done to the copies comes out on one
"@@COPIES " line: {"made", "synced", "removed"}.

Output lines: "@@RESULT " + {"id", "f2p": {nodeid: status}, "p2p": {nodeid: status}, "error",
"elapsed_s", "p2p_checked" (present when the pass-to-pass step ran, even over no tests),
"f2p_sig": {nodeid: "status:Type:crc"} (each failing test's status, its exception's type
and a checksum of its message, which for a failed assert says what it compared only when the
candidate asked for "rewrite": whether an edit changed how a test fails, cheaply)}

A SPAN is {"start": a, "end": b, "text": t}: lines a..b-1 (0-based) of the file as it is now are
replaced by t, which keeps a request small enough for one command-line argument.

This file must run on any Python 3.8+ with pytest, using nothing but the standard library.
"""

import base64
import errno
import json
import os
import re
import select
import shutil
import signal
import sys
import tempfile
import time
import zlib

MARK = "@@RESULT "
COPIES_MARK = "@@COPIES "


class TestTimeout(Exception):
    """Raised in a test that runs past its limit."""


class Collector:
    """A pytest plugin object that records each test's outcome by node id."""

    def __init__(self, limits=None, default=30.0):
        self.status = {}
        self.limits = limits or {}
        self.default = default
        self.current = None
        self.timed_out = set()
        self.session = None
        self.crash = {}

    def pytest_sessionstart(self, session):
        self.session = session

    # A per-test alarm: a hanging test costs its own limit, not the whole child's.
    def pytest_runtest_logstart(self, nodeid, location):
        self.current = nodeid
        signal.setitimer(signal.ITIMER_REAL, float(self.limits.get(nodeid, self.default)))

    def pytest_runtest_logfinish(self, nodeid, location):
        signal.setitimer(signal.ITIMER_REAL, 0)
        self.current = None

    def alarm(self, signum, frame):
        self.timed_out.add(self.current)
        raise TestTimeout("debug-agent: test ran past its limit")

    def pytest_exception_interact(self, node, call, report):
        if call.excinfo is not None and node.nodeid not in self.crash:
            self.crash[node.nodeid] = crash_sum(call.excinfo.value)

    def pytest_runtest_logreport(self, report):
        nodeid = report.nodeid
        if nodeid in self.timed_out and report.failed:
            self.status[nodeid] = "timeout"
            # A candidate that hangs in one test nearly always hangs in the next ones too:
            # the rest count as not passing rather than costing their limits each. shouldfail
            # (as -x stops), not shouldstop: that one ends the session with an Interrupted,
            # a KeyboardInterrupt whose traceback through pytest's own modules the terminal
            # reporter formats, re-parsing their sources: 0.3-0.6 s of every hanging
            # candidate, more than the rest of its run.
            if self.session is not None:
                self.session.shouldfail = "debug-agent: a test ran past its limit"
        elif report.when == "call":
            self.status[nodeid] = "passed" if report.passed else (
                "skipped" if report.skipped else "failed")
        elif report.failed:
            self.status[nodeid] = "error"
        elif report.skipped and report.when == "setup":
            self.status[nodeid] = "skipped"

def crash_sum(error):
    """An exception's type and a checksum of its message ("TypeError:1a2b3c4d"; the failing
    tests run with pytest's assert rewriting, so an AssertionError's message holds the values
    it compared), hex addresses (``<object at 0x7f...>``) left out so that the same failure
    sums the same."""
    message = HEX.sub("0x", str(error)[:2000])
    crc = zlib.crc32(message.encode("utf-8", "replace")) & 0xffffffff
    return "{}:{:08x}".format(type(error).__name__, crc)


HEX = re.compile(r"0x[0-9a-fA-F]+")
CRASHES = {}
"""The crash checksums of the last ``run_child`` (node id -> checksum)."""
CHILD = None
"""The pid of the child running now (a slot's SIGTERM handler kills its process group)."""
LEAKS = []
"""Files under the original repo that the current candidate's children imported from a copy."""
ORIGINAL = None
"""In a slot's process: the repo the copy was made from (``leaked_module`` looks for it)."""
BASE_MODULES = frozenset()
"""The modules the worker imported before its first fork."""


def fork(wait_s=2.0):
    """os.fork, retried for a while when the sandbox's process limit refuses it (the leftovers
    of a candidate's fork bomb, killed with its child, free their pids soon)."""
    until = time.monotonic() + wait_s
    while True:
        try:
            return os.fork()
        except OSError as exc:
            if exc.errno != errno.EAGAIN or time.monotonic() > until:
                raise
            time.sleep(0.05)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def under(path, root):
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def leaked_module():
    """In a copy: the file of a module imported from the original repo instead (an editable
    install that maps a package to its absolute path), else None. Only the modules the
    worker did not import itself are looked at (a relative file name is in the copy)."""
    if ORIGINAL is None:
        return None
    prefix = ORIGINAL.rstrip(os.sep) + os.sep
    for name in set(sys.modules).difference(BASE_MODULES):
        path = getattr(sys.modules[name], "__file__", None)
        if isinstance(path, str) and path.startswith(prefix):
            return path
    return None


def run_child(node_ids, limits, default, stop_at_failure=False, deadline=None, rewrite=False):
    """Fork; the child runs pytest on node_ids and sends back {nodeid: status} through a pipe
    (and each failure's ``crash_sum``, kept in CRASHES). ``rewrite``: with pytest's assert
    rewriting, so that a failed assert's message says what it compared."""
    if not node_ids:
        return {}
    # a module asked for by its path holds tests the first run never saw: the default each
    timeout = sum(float(default if is_group(n) else limits.get(n, default)) for n in node_ids) + 2.0
    if deadline is not None:
        timeout = max(min(timeout, deadline - time.monotonic()), 1.0)
    read_fd, write_fd = os.pipe()
    pid = fork()
    if pid == 0:  # child
        try:
            os.close(read_fd)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a slot's handler is not the child's
            os.setpgid(0, 0)
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 0)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            collector = Collector(limits, default)
            signal.signal(signal.SIGALRM, collector.alarm)
            try:
                run_session(PREPARED, (["-x"] if stop_at_failure else [])
                            + (["--assert=rewrite"] if rewrite else []) + list(node_ids),
                            collector)
            finally:  # what ran before an exception (a broken conftest) still counts
                write_all(write_fd, json.dumps({"status": collector.status,
                                                "crash": collector.crash,
                                                "leak": leaked_module()}).encode())
        finally:
            os._exit(0)
    global CHILD
    CHILD = pid
    os.close(write_fd)
    chunks = []
    deadline = time.monotonic() + timeout
    timed_out = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([read_fd], [], [], min(left, 0.5))
        if ready:
            data = os.read(read_fd, 65536)
            if not data:
                break
            chunks.append(data)
    if timed_out:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    os.close(read_fd)
    os.waitpid(pid, 0)
    CHILD = None
    try:
        sent = json.loads(b"".join(chunks).decode() or "{}")
    except ValueError:
        sent = {}
    status = sent.get("status") or {}
    CRASHES.clear()
    CRASHES.update(sent.get("crash") or {})
    if sent.get("leak"):
        LEAKS.append(sent["leak"])
    missing = "timeout" if timed_out else "error"
    return {n: status_of(n, status, missing) for n in node_ids}


def is_group(nodeid):
    """Whether a node id names a module or folder (a file that did not import in the first run
    is a failing entry by its path), not one test."""
    return "::" not in nodeid


def status_of(nodeid, status, missing):
    """A node id's status in a child's ``status``: a test's own, or for a module or folder the
    aggregate of the tests under it (passed only when every one passed or skipped and one
    passed, as the scoring run counts it)."""
    if nodeid in status:
        return status[nodeid]
    if not is_group(nodeid):
        return missing
    under = [s for k, s in status.items()
             if nodeid in (".", "") or k.startswith((nodeid + "::", nodeid + "[", nodeid + "/"))]
    if not under:
        return missing
    bad = [s for s in under if s not in ("passed", "skipped")]
    return bad[0] if bad else ("passed" if "passed" in under else "skipped")


def run_pass_to_pass(p2p, by_file, files, limits, default, complete, deadline):
    """The passing tests that cover an edited file, stopping at the first failure; then, for a
    candidate that fixes every failing test, the rest of them once."""
    if by_file is None:
        return run_child(p2p, limits, default, stop_at_failure=True, deadline=deadline)
    near = sorted({i for path in files for i in by_file.get(path, ())})
    status = run_child([p2p[i] for i in near], limits, default, stop_at_failure=True,
                       deadline=deadline)
    if complete and all(s == "passed" for s in status.values()):
        chosen = set(near)
        rest = [t for i, t in enumerate(p2p) if i not in chosen]
        status.update(run_child(rest, limits, default, stop_at_failure=True, deadline=deadline))
    return status


# The collector reads outcomes only: formatting a failure's traceback (--tb) and rewriting the
# test modules' asserts for introspection (--assert) were each a quarter of a candidate's cost,
# and a test passes or fails alike without them. A candidate asks for its failing tests' asserts
# rewritten ("rewrite": true) where what a failed assert compared is wanted (``f2p_sig``): that
# costs a tenth to a quarter more per candidate (40 unedited candidates of HumanEvalFix's
# hefix-0: 2.4-3.5 s plain, 3.1-4.2 s rewriting), so the search asks for it only where a
# round's candidates ran dry.
BASE_ARGS = ["-q", "--tb=no", "--assert=plain", "-p", "no:cacheprovider"]

PREPARED = None
"""pytest's Config with its built-in plugins registered, made once in the parent (see
``prepare_config``); None where this pytest's internals differ: children then call pytest.main."""


def prepare_config():
    """What ``pytest.main`` does before it reads the command line, done once for every child:
    a plugin manager with the built-in plugins imported and registered (two fifths of a
    candidate's cost). Nothing here reads the repo: the children parse the arguments, find the
    rootdir and ini file and import the conftest.py files, each afresh."""
    try:
        from _pytest.config import get_config

        return get_config(list(BASE_ARGS))
    except (ImportError, TypeError):  # a pytest whose get_config differs
        return None


def run_session(prepared, args, collector):
    """``pytest.main(BASE_ARGS + args, plugins=[collector])``, from ``prepared`` when there is
    one: the rest of pytest.main (register the plugin, parse, run the session, unconfigure)."""
    import pytest

    if prepared is None:
        pytest.main(BASE_ARGS + args, plugins=[collector])
        return
    from _pytest.config import UsageError

    os.environ["PYTEST_VERSION"] = pytest.__version__  # as pytest.main sets it (pytest >= 8.2)
    manager = prepared.pluginmanager
    manager.register(collector)
    try:
        config = manager.hook.pytest_cmdline_parse(pluginmanager=manager,
                                                   args=BASE_ARGS + args)
    except UsageError:  # pytest.main prints it and runs nothing: no test has a status
        return
    try:
        config.hook.pytest_cmdline_main(config=config)
    finally:
        config._ensure_unconfigure()


def preload_plugins():
    """Import pytest's built-in plugins once (each child would import them again)."""
    import importlib

    try:
        from _pytest.config import default_plugins
    except ImportError:  # a pytest that names them differently: children import them
        default_plugins = ()
    for name in ["_pytest." + n for n in default_plugins] + ["pdb"]:  # pdb: the debugging plugin's
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def gc_freeze():
    """Freeze the heap: a child's gc.collect (pytest runs several at session end) then skips
    everything inherited from this process, which was a third of a candidate's cost."""
    import gc

    gc.collect()
    if hasattr(gc, "freeze"):
        gc.freeze()


def decode(arg):
    raw = base64.b64decode(arg)
    try:
        raw = zlib.decompress(raw)
    except zlib.error:  # plain base64 JSON, as older callers send
        pass
    return json.loads(raw.decode())


class Slot:
    """One copy of the repo and the process that validates candidates in it, one at a time:
    it reads a candidate's index from its pipe, validates it (``validate``, in the copy) and
    writes back the result as one JSON line."""

    def __init__(self, copy):
        self.copy, self.pid, self.to_fd, self.from_fd = copy, None, None, None
        self.reaped = False
        self.index = None
        """The candidate it validates now (None: idle)."""
        self.chunks = []

    def spawn(self, root, candidates, request, deadline, others):
        """Start its process (OSError when none can be had)."""
        down, up = os.pipe(), os.pipe()
        try:
            pid = fork()
        except OSError:
            for fd in down + up:
                os.close(fd)
            raise
        if pid == 0:  # the slot's process
            try:
                for fd in [down[1], up[0]] + [f for o in others for f in (o.to_fd, o.from_fd)]:
                    os.close(fd)
                signal.signal(signal.SIGTERM, end_slot)
                enter_copy(self.copy, root)
                serve(down[0], up[1], candidates, request, deadline)
            finally:
                os._exit(0)
        os.close(down[0])
        os.close(up[1])
        self.pid, self.to_fd, self.from_fd, self.chunks = pid, down[1], up[0], []
        self.reaped = False

    def send(self, index):
        self.index = index
        write_all(self.to_fd, b"%d\n" % index)

    def result(self):
        """The finished candidate's result once its line is complete, else None."""
        data = b"".join(self.chunks)
        if not data.endswith(b"\n"):
            return None
        self.chunks = []
        return json.loads(data.decode())

    def ended(self):
        """Whether its process has ended (reaping it)."""
        if not self.reaped:
            self.reaped = bool(os.waitpid(self.pid, os.WNOHANG)[0])
        return self.reaped

    def end(self):
        """Stop its process (its child with it) and close its pipes."""
        if not self.reaped:
            os.kill(self.pid, signal.SIGTERM)
        until = time.monotonic() + 2.0
        while not self.ended():
            if time.monotonic() > until:  # stuck past its handler: no child left to spare
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                break
            time.sleep(0.01)
        os.close(self.to_fd)
        os.close(self.from_fd)
        self.pid = None


def serve(in_fd, out_fd, candidates, request, deadline):
    """A slot's process: validate each candidate whose index comes in, until the pipe ends."""
    pending = b""
    while True:
        data = os.read(in_fd, 4096)
        if not data:
            return
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            result = validate(candidates[int(line)], request, deadline)
            write_all(out_fd, json.dumps(result).encode() + b"\n")


class Slots:
    """``jobs`` copies of the repo, each with a process that validates candidates in it: their
    files written in that copy, their children run with the copy as their working directory
    and on their path (``enter_copy``)."""

    def __init__(self, root, base, copies, kept=False):
        self.root, self.base = root, base
        self.slots = [Slot(copy) for copy in copies]
        self.kept = kept
        """Whether the copies outlive this worker (a search's copies folder)."""

    @classmethod
    def make(cls, root, jobs, folder=None):
        """None when the copies cannot be made (no room in the temporary folder): the batch
        then runs in place. With ``folder`` (one per search) the copies there are kept and
        brought up to date (``sync_copy``), else they are made in a fresh temporary folder."""
        try:
            base = folder or tempfile.mkdtemp(prefix="debug-agent-jobs-")
            os.makedirs(base, exist_ok=True)
        except OSError:
            return None
        name = os.path.basename(root.rstrip(os.sep)) or "repo"  # a test may look at it
        copies = []
        for k in range(jobs):
            copy = os.path.join(base, str(k), name)
            if not fresh_or_synced(root, copy):
                remove_tree(base)
                return None
            copies.append(copy)
        return cls(root, base, copies, kept=folder is not None)

    def run(self, candidates, request, deadline):
        """Validate ``candidates`` one per slot at a time, printing their results in order as
        the sequential loop would. (Whether one solved everything and stopped the batch, how
        many were printed.)"""
        stop = request.get("stop_on_success", True)
        for slot in list(self.slots):
            self.start(slot, candidates, request, deadline)
        results = {}
        started = printed = 0
        while printed < len(candidates):
            for slot in self.slots:
                if slot.index is None and started < len(candidates) and (
                        deadline is None or time.monotonic() <= deadline):
                    slot.send(started)
                    started += 1
            if printed in results:
                result = results.pop(printed)
                if result.get("leak"):  # the copies do not isolate this repo: the rest in place
                    return False, printed
                emit(result)
                printed += 1
                if stop and solved(result):
                    return True, printed
                continue
            busy = [slot for slot in self.slots if slot.index is not None]
            if not busy:  # the deadline passed before the rest started, or no slot is left
                break
            for slot, result in self.wait(busy, candidates):
                results[slot.index] = result
                slot.index = None
                if result.pop("broken", False):
                    self.renew(slot, candidates, request, deadline)
        return False, printed

    def start(self, slot, candidates, request, deadline):
        """Start ``slot``'s process; a slot that cannot have one is dropped."""
        try:
            slot.spawn(self.root, candidates, request, deadline,
                       [o for o in self.slots if o.pid is not None])
        except OSError:
            self.slots.remove(slot)

    def renew(self, slot, candidates, request, deadline):
        """A fresh copy and process for a slot whose process ended without putting the files
        back; the slot is dropped when none can be made."""
        slot.end()
        remove_tree(slot.copy)
        if not fresh_or_synced(self.root, slot.copy):
            self.slots.remove(slot)
            return
        self.start(slot, candidates, request, deadline)

    def wait(self, busy, candidates):
        """Read the busy slots' pipes for a moment; (slot, result) of those done. A slot
        whose process has ended (its pipe closed, or a process its tests left behind holds
        it open) gives a broken result."""
        ready, _, _ = select.select([slot.from_fd for slot in busy], [], [], 0.2)
        done = []
        for slot in busy:
            ended = slot.from_fd in ready and not read_into(slot.from_fd, slot.chunks)
            result = slot.result()
            if result is None and (ended or slot.ended()):
                result = {"id": candidates[slot.index]["id"], "f2p": {}, "p2p": {},
                          "elapsed_s": 0.0, "broken": True,
                          "error": "the candidate's validation process ended without a result"}
            if result is not None:
                done.append((slot, result))
        return done

    def close(self):
        """Stop the slots' processes (their children with them) and remove the copies unless
        they are kept for the search's next batch."""
        for slot in self.slots:
            if slot.pid is not None:
                slot.end()
        if not self.kept:
            remove_tree(self.base)


def read_into(fd, chunks):
    """Read what the pipe holds into chunks; False at its end."""
    data = os.read(fd, 65536)
    if data:
        chunks.append(data)
    return bool(data)


def end_slot(signum, frame):
    """SIGTERM in a slot's process: kill its child's process group, then end."""
    if CHILD is not None:
        for kill in (os.killpg, os.kill):
            try:
                kill(CHILD, signal.SIGKILL)
            except OSError:
                pass
    os._exit(1)


def enter_copy(copy, root):
    """Make ``copy`` the repo for this process and its children: the working directory, and
    every path entry that points into ``root`` moved to the same place in the copy."""
    global ORIGINAL, PREPARED
    ORIGINAL = root
    os.chdir(copy)
    if PREPARED is not None:  # pytest resolves the command line's paths against its start dir
        params = PREPARED.invocation_params
        try:
            PREPARED.invocation_params = type(params)(args=params.args, plugins=params.plugins,
                                                      dir=type(params.dir)(copy))
        except (AttributeError, TypeError):  # a pytest that keeps it otherwise: start afresh
            PREPARED = None
    os.environ["PWD"] = copy
    sys.path[:] = [moved(p, root, copy) for p in sys.path]
    if os.environ.get("PYTHONPATH"):
        os.environ["PYTHONPATH"] = os.pathsep.join(
            moved(p, root, copy) for p in os.environ["PYTHONPATH"].split(os.pathsep))


def moved(path, root, copy):
    return copy + path[len(root.rstrip(os.sep)):] if path and under(path, root) else path


COPIES = {"made": 0, "synced": 0, "removed": 0}
"""What this worker did to the copies (printed on a COPIES_MARK line): copies made from
nothing, files copied into existing ones, files removed from them."""


def fresh_or_synced(root, copy):
    """Bring ``copy`` up to date with ``root``, or make it afresh when that fails (a test made
    part of it read-only); False when neither works."""
    for attempt in (0, 1):
        try:
            sync_copy(root, copy)
            return True
        except (OSError, shutil.Error):
            remove_tree(copy)
    return False


def sync_copy(root, copy):
    """Make ``copy`` hold what ``root`` holds: the files whose size, modification time or kind
    differ are copied, those ``root`` lacks are removed. ``.git`` is copied once (history does
    not change during a search); a virtualenv (a folder holding pyvenv.cfg) becomes a symlink to
    the original, which is never edited either."""
    if not os.path.isdir(copy):
        os.makedirs(copy)
        COPIES["made"] += 1
    want, have = manifest(root, venvs_as_links=True), manifest(copy)
    for rel in sorted(have, reverse=True):  # children before their folders
        if want.get(rel, "absent") != have[rel]:
            path = os.path.join(copy, rel)
            if os.path.isdir(path) and not os.path.islink(path):
                remove_tree(path)
            elif os.path.lexists(path):
                os.unlink(path)
            COPIES["removed"] += rel not in want
    for rel in sorted(want):  # folders before their children
        if rel in have and have[rel] == want[rel]:
            continue
        source, target = os.path.join(root, rel), os.path.join(copy, rel)
        if want[rel] is None:
            os.makedirs(target, exist_ok=True)
        elif want[rel][0] == "link":
            os.symlink(want[rel][1], target)
        else:
            shutil.copy2(source, target)  # keeps mtime_ns: the next manifest compares equal
            COPIES["synced"] += 1
    git, git_copy = os.path.join(root, ".git"), os.path.join(copy, ".git")
    if os.path.isdir(git) and not os.path.lexists(git_copy):
        shutil.copytree(git, git_copy, symlinks=True)
    elif os.path.isfile(git) and not os.path.lexists(git_copy):
        shutil.copy2(git, git_copy)


def manifest(top, venvs_as_links=False):
    """Relative path -> (size, mtime_ns) of each file under ``top``, ("link", target) of a
    symlink, None of a folder; the top's .git and caches are left out. A virtualenv folder is
    ("link", its absolute path) with ``venvs_as_links``, as its copy holds it."""
    entries = {}
    for folder, dirs, files in os.walk(top):
        rel = os.path.relpath(folder, top)
        kept = []
        for name in dirs:
            path, key = os.path.join(folder, name), os.path.normpath(os.path.join(rel, name))
            if name == "__pycache__" or (rel == "." and name == ".git"):
                continue
            if os.path.islink(path):
                entries[key] = ("link", os.readlink(path))
            elif venvs_as_links and os.path.isfile(os.path.join(path, "pyvenv.cfg")):
                entries[key] = ("link", os.path.abspath(path))
            else:
                entries[key] = None
                kept.append(name)
        dirs[:] = kept
        for name in files:
            if name.endswith(".pyc") or (rel == "." and name == ".git"):
                continue
            path, key = os.path.join(folder, name), os.path.normpath(os.path.join(rel, name))
            st = os.lstat(path)
            entries[key] = (("link", os.readlink(path)) if os.path.islink(path)
                            else (st.st_size, st.st_mtime_ns))
    return entries


def remove_tree(path):
    """rmtree, also of the folders tests made read-only."""
    for folder, _, _ in os.walk(path):
        try:
            os.chmod(folder, 0o700)
        except OSError:
            pass
    shutil.rmtree(path, ignore_errors=True)


def validate(candidate, request, deadline):
    """One candidate, in the current directory: write its files, run its children, put the
    files back. Its result line's object."""
    del LEAKS[:]
    originals = {}
    began = time.monotonic()
    result = {"id": candidate["id"], "f2p": {}, "p2p": {}, "error": None}
    f2p, default = request["f2p"], float(request.get("timeout", 30))
    limits = request.get("limits") or {}
    try:
        for path, span in candidate["files"].items():
            with open(path, encoding="utf-8") as f:
                originals[path] = f.read()
            lines = originals[path].splitlines(True)
            lines[span["start"]:span["end"]] = [span["text"]]
            with open(path, "w", encoding="utf-8") as f:
                f.write("".join(lines))
        result["f2p"] = run_child(f2p, limits, default, deadline=deadline,
                                  rewrite=bool(candidate.get("rewrite")))
        result["f2p_sig"] = {n: s + ":" + CRASHES.get(n, "") for n, s in result["f2p"].items()}
        passing = sum(s == "passed" for s in result["f2p"].values())
        if passing >= request.get("p2p_from", len(f2p)):
            result["p2p"] = run_pass_to_pass(request["p2p"], request.get("p2p_by_file"),
                                             candidate["files"], limits, default,
                                             passing == len(f2p), deadline)
            result["p2p_checked"] = True  # {} then means: no passing test covers the edit
    except OSError as exc:
        result["error"] = str(exc)
    finally:
        for path, text in originals.items():
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    result["elapsed_s"] = round(time.monotonic() - began, 3)
    if LEAKS:
        result["leak"] = LEAKS[0]
    return result


def solved(result):
    return all(s == "passed" for s in result["f2p"].values()) and all(
        s == "passed" for s in result["p2p"].values())


def emit(result):
    sys.stdout.write(MARK + json.dumps(result) + "\n")
    sys.stdout.flush()


def run_in_place(candidates, request, deadline):
    """The candidates one at a time in the repo itself; whether one solved everything and
    stopped the batch."""
    for candidate in candidates:
        if deadline is not None and time.monotonic() > deadline:
            break
        result = validate(candidate, request, deadline)
        emit(result)
        if solved(result) and request.get("stop_on_success", True):
            return True
    return False


def main():
    started = time.monotonic()
    request = decode(sys.argv[1])
    if len(sys.argv) > 2:
        request.update(decode(sys.argv[2]))
    sys.dont_write_bytecode = True
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    sys.path.insert(0, os.getcwd())  # as `python -m pytest` does, so tests import the repo
    import pytest  # noqa: F401  (imported once here, inherited by every child)

    preload_plugins()
    global PREPARED
    PREPARED = prepare_config()
    global BASE_MODULES
    BASE_MODULES = frozenset(sys.modules)
    gc_freeze()

    deadline = started + float(request["deadline_s"]) if request.get("deadline_s") else None
    candidates = request["candidates"]
    jobs = min(int(request.get("jobs") or 1), len(candidates))
    if jobs > 1:
        slots = Slots.make(os.getcwd(), jobs, request.get("copies"))
        if slots is not None:
            try:
                stopped, done = slots.run(candidates, request, deadline)
            finally:
                slots.close()
                sys.stdout.write(COPIES_MARK + json.dumps(COPIES) + "\n")
                sys.stdout.flush()
            if stopped:
                return
            candidates = candidates[done:]
    run_in_place(candidates, request, deadline)


if __name__ == "__main__":
    main()
