"""Runs inside a sandbox: validates many repair candidates with one pytest import.

Started as ``python3 validate_worker.py REQUEST [SUITE]`` (base64 of zlib-compressed JSON; SUITE,
the part shared by every batch of one search, may come as a second argument), it imports pytest
once, then for each candidate writes the candidate's files, forks a child that runs pytest on the
failing tests (and, when those pass, a child on the passing tests whose coverage touches an edited
file, stopping at the first failure, and, when the candidate fixes everything, one on the rest),
restores the files, and prints one JSON line per candidate. Forking after the import is what makes a candidate cost ~0.1 s instead
of a fresh interpreter's second. The parent never imports code from the repo, so every child
imports the candidate's code fresh.

Request: {"candidates": [{"id": str, "files": {path: SPAN}}], "f2p": [nodeid], "p2p": [nodeid],
          "timeout": seconds per child, "stop_on_success": bool, "p2p_from": int,
          "limits": {nodeid: seconds}, "p2p_by_file": {path: [index into p2p]},
          "deadline_s": seconds}
The pass-to-pass tests run only for a candidate with at least p2p_from failing tests fixed
(default: all of them). ``limits`` bounds each test (a test past its limit is "timeout"; the child
is killed when the sum of its tests' limits has passed), ``timeout`` is the limit of a test that
has none. ``p2p_by_file`` names the pass-to-pass tests that cover each file (all of them when
absent). No candidate starts after ``deadline_s`` seconds.
Output lines: "@@RESULT " + {"id", "f2p": {nodeid: status}, "p2p": {nodeid: status}, "error",
"elapsed_s", "p2p_checked" (present when the pass-to-pass step ran, even over no tests)}

A SPAN is {"start": a, "end": b, "text": t}: lines a..b-1 (0-based) of the file as it is now are
replaced by t, which keeps a request small enough for one command-line argument.

This file must run on any Python 3.8+ with pytest, using nothing but the standard library.
"""

import base64
import json
import os
import select
import signal
import sys
import time
import zlib

MARK = "@@RESULT "


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

    def pytest_runtest_logreport(self, report):
        nodeid = report.nodeid
        if nodeid in self.timed_out and report.failed:
            self.status[nodeid] = "timeout"
            # A candidate that hangs in one test nearly always hangs in the next ones too:
            # the rest count as not passing rather than costing their limits each.
            if self.session is not None:
                self.session.shouldstop = "debug-agent: a test ran past its limit"
        elif report.when == "call":
            self.status[nodeid] = "passed" if report.passed else (
                "skipped" if report.skipped else "failed")
        elif report.failed:
            self.status[nodeid] = "error"
        elif report.skipped and report.when == "setup":
            self.status[nodeid] = "skipped"


def run_child(node_ids, limits, default, stop_at_failure=False, deadline=None):
    """Fork; the child runs pytest on node_ids and sends back {nodeid: status} through a pipe."""
    if not node_ids:
        return {}
    timeout = sum(float(limits.get(n, default)) for n in node_ids) + 2.0
    if deadline is not None:
        timeout = max(min(timeout, deadline - time.monotonic()), 1.0)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(read_fd)
            os.setpgid(0, 0)
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 0)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            collector = Collector(limits, default)
            signal.signal(signal.SIGALRM, collector.alarm)
            try:
                run_session(PREPARED, (["-x"] if stop_at_failure else []) + list(node_ids),
                            collector)
            finally:  # what ran before an exception (a broken conftest) still counts
                os.write(write_fd, json.dumps(collector.status).encode())
        finally:
            os._exit(0)
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
    try:
        status = json.loads(b"".join(chunks).decode() or "{}")
    except ValueError:
        status = {}
    missing = "timeout" if timed_out else "error"
    return {n: status.get(n, missing) for n in node_ids}


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
# and a test passes or fails alike without them.
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
    gc_freeze()

    default = float(request.get("timeout", 30))
    limits = request.get("limits") or {}
    deadline = started + float(request["deadline_s"]) if request.get("deadline_s") else None
    p2p = request["p2p"]
    by_file = request.get("p2p_by_file")
    for candidate in request["candidates"]:
        if deadline is not None and time.monotonic() > deadline:
            break
        originals = {}
        began = time.monotonic()
        result = {"id": candidate["id"], "f2p": {}, "p2p": {}, "error": None}
        try:
            for path, span in candidate["files"].items():
                with open(path, encoding="utf-8") as f:
                    originals[path] = f.read()
                lines = originals[path].splitlines(True)
                lines[span["start"]:span["end"]] = [span["text"]]
                with open(path, "w", encoding="utf-8") as f:
                    f.write("".join(lines))
            result["f2p"] = run_child(request["f2p"], limits, default, deadline=deadline)
            passing = sum(s == "passed" for s in result["f2p"].values())
            if passing >= request.get("p2p_from", len(request["f2p"])):
                result["p2p"] = run_pass_to_pass(p2p, by_file, candidate["files"], limits,
                                                 default, passing == len(request["f2p"]),
                                                 deadline)
                result["p2p_checked"] = True  # {} then means: no passing test covers the edit
        except OSError as exc:
            result["error"] = str(exc)
        finally:
            for path, text in originals.items():
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
        result["elapsed_s"] = round(time.monotonic() - began, 3)
        sys.stdout.write(MARK + json.dumps(result) + "\n")
        sys.stdout.flush()
        solved = all(s == "passed" for s in result["f2p"].values()) and all(
            s == "passed" for s in result["p2p"].values())
        if solved and request.get("stop_on_success", True):
            break


if __name__ == "__main__":
    main()
