"""Runs inside a sandbox: validates many repair candidates with one pytest import.

Started as ``python3 validate_worker.py REQUEST`` (REQUEST is base64 JSON), it imports pytest
once, then for each candidate writes the candidate's files, forks a child that runs pytest on the
failing tests (and, when those pass, another child on every test), restores the files, and prints
one JSON line per candidate. Forking after the import is what makes a candidate cost ~0.1 s instead
of a fresh interpreter's second. The parent never imports code from the repo, so every child
imports the candidate's code fresh.

Request: {"candidates": [{"id": str, "files": {path: SPAN}}], "f2p": [nodeid], "p2p": [nodeid],
          "timeout": seconds per child, "stop_on_success": bool, "p2p_from": int}
The pass-to-pass tests run only for a candidate with at least p2p_from failing tests fixed
(default: all of them).
Output lines: "@@RESULT " + {"id", "f2p": {nodeid: status}, "p2p": {nodeid: status}, "error"}

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

MARK = "@@RESULT "


class Collector:
    """A pytest plugin object that records each test's outcome by node id."""

    def __init__(self):
        self.status = {}

    def pytest_runtest_logreport(self, report):
        nodeid = report.nodeid
        if report.when == "call":
            self.status[nodeid] = "passed" if report.passed else (
                "skipped" if report.skipped else "failed")
        elif report.failed:
            self.status[nodeid] = "error"
        elif report.skipped and report.when == "setup":
            self.status[nodeid] = "skipped"


def run_child(node_ids, timeout):
    """Fork; the child runs pytest on node_ids and sends back {nodeid: status} through a pipe."""
    if not node_ids:
        return {}
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
            import pytest

            collector = Collector()
            pytest.main(["-q", "-p", "no:cacheprovider", *node_ids],
                        plugins=[collector])
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


def main():
    request = json.loads(base64.b64decode(sys.argv[1]).decode())
    sys.dont_write_bytecode = True
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    sys.path.insert(0, os.getcwd())  # as `python -m pytest` does, so tests import the repo
    import pytest  # noqa: F401  (imported once here, inherited by every child)

    timeout = float(request.get("timeout", 30))
    for candidate in request["candidates"]:
        originals = {}
        result = {"id": candidate["id"], "f2p": {}, "p2p": {}, "error": None}
        try:
            for path, span in candidate["files"].items():
                with open(path, encoding="utf-8") as f:
                    originals[path] = f.read()
                lines = originals[path].splitlines(True)
                lines[span["start"]:span["end"]] = [span["text"]]
                with open(path, "w", encoding="utf-8") as f:
                    f.write("".join(lines))
            result["f2p"] = run_child(request["f2p"], timeout)
            passing = sum(s == "passed" for s in result["f2p"].values())
            if passing >= request.get("p2p_from", len(request["f2p"])):
                result["p2p"] = run_child(request["p2p"], timeout)
        except OSError as exc:
            result["error"] = str(exc)
        finally:
            for path, text in originals.items():
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
        sys.stdout.write(MARK + json.dumps(result) + "\n")
        sys.stdout.flush()
        solved = all(s == "passed" for s in result["f2p"].values()) and all(
            s == "passed" for s in result["p2p"].values())
        if solved and request.get("stop_on_success", True):
            break


if __name__ == "__main__":
    main()
