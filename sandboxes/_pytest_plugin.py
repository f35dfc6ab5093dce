"""pytest plugin that `run_pytest` loads into every sandboxed run (``-p _debug_agent_pytest_plugin``).

It lives outside the repo under test and imports only the standard library, pytest and (when
asked) coverage, so it runs on the host's Python and on Debian's (pytest 7.2, coverage 6.5).
Settings come from environment variables:

- ``DEBUG_AGENT_NODEID_PROPERTY``: always on; each item's exact node id becomes a junit property.
- ``DEBUG_AGENT_TEST_TIMEOUT``: seconds per test (setup + call + teardown). At the deadline
  SIGALRM fails the test and marks it timed out; if the test swallows that and still runs after a
  grace period, the process exits (the runner then reports from the progress log).
- ``DEBUG_AGENT_TEST_LIMITS``: JSON {nodeid: seconds}, the tests whose limit differs from
  ``DEBUG_AGENT_TEST_TIMEOUT`` (a short cap for those that hung in an earlier run). Once a test
  has hung, the later tests of its file may run only ``AFTER_HANG_FACTOR`` times the slowest
  test that finished in this run (at least ``AFTER_HANG_FLOOR_S``): code that loops forever for
  one test of a module nearly always does for the next ones too, and a first run of a program
  whose 14 tests all hang would otherwise cost 14 full limits. Once a second test of the file
  has hung (at that short limit: the evidence is then two hangs, not one), the floor is
  ``AFTER_TWO_HANGS_FLOOR_S``. ``DEBUG_AGENT_AFTER_HANG_FLOOR`` sets a lower floor for both (a
  coverage run, which only ranks lines, uses a shorter one).
- ``DEBUG_AGENT_PROGRESS``: a JSON-lines log of collection and results, written as they happen,
  so that a killed run still tells what ran.
- ``DEBUG_AGENT_COVERAGE``: path of a JSON file {nodeid: {file: [lines]}} of per-test coverage.
"""

import json
import os
import signal
import threading
import time
import traceback

import pytest

NODEID = "debug_agent.nodeid"
TIMED_OUT = "debug_agent.timeout"
CUT_SHORT = "debug_agent.cut_short"

#: As envs.limits.FACTOR and FLOOR_S (this file imports nothing of the project).
AFTER_HANG_FACTOR = 10.0
AFTER_HANG_FLOOR_S = 1.0
AFTER_TWO_HANGS_FLOOR_S = 0.25
"""As envs.limits.COVERAGE_AFTER_HANG_FLOOR_S: a program whose 14 tests all hang paid 10 s for
its first, then a second for each of the 13 others, 23 s of a 60 s --timeout."""

_state = {"item": None, "progress": None, "cov": None, "fired": 0, "limits": None,
          "began": 0.0, "slowest": 0.0, "hung_files": {}, "root": ""}


def _limit(item):
    """Seconds ``item`` may run."""
    if _state["limits"] is None:
        _state["limits"] = json.loads(os.environ.get("DEBUG_AGENT_TEST_LIMITS") or "{}")
    default = float(os.environ["DEBUG_AGENT_TEST_TIMEOUT"])
    if item is None:
        return default
    own = float(_state["limits"].get(item.nodeid, default))
    hangs = _state["hung_files"].get(_file(item.nodeid), 0)
    if hangs:
        floor = AFTER_HANG_FLOOR_S if hangs == 1 else AFTER_TWO_HANGS_FLOOR_S
        if os.environ.get("DEBUG_AGENT_AFTER_HANG_FLOOR"):
            floor = min(floor, float(os.environ["DEBUG_AGENT_AFTER_HANG_FLOOR"]))
        return min(own, max(floor, AFTER_HANG_FACTOR * _state["slowest"]))
    return own


def _cut_short(item):
    """Whether ``item``'s limit is the short one after a hang in its file (not its own)."""
    own = float(_state["limits"].get(item.nodeid, os.environ["DEBUG_AGENT_TEST_TIMEOUT"]))
    return _limit(item) < own


def _file(nodeid):
    return nodeid.split("::", 1)[0]


def _log(**event):
    progress = _state["progress"]
    if progress is not None:
        progress.write(json.dumps(event) + "\n")
        progress.flush()


def pytest_configure(config):
    path = os.environ.get("DEBUG_AGENT_PROGRESS")
    if path:
        _state["progress"] = open(path, "a", encoding="utf-8")
    _state["root"] = str(config.rootpath)
    if os.environ.get("DEBUG_AGENT_COVERAGE"):
        import coverage

        cov = coverage.Coverage(data_file=None, source=[str(config.rootpath)], branch=False,
                                config_file=False)
        cov.start()
        _state["cov"] = cov


def pytest_collectreport(report):
    if report.failed:
        _log(event="collect_error", nodeid=report.nodeid, text=report.longreprtext)


def pytest_collection_modifyitems(items):
    for item in items:
        item.user_properties.append((NODEID, item.nodeid))


def pytest_collection_finish(session):
    _log(event="collected", nodeids=[item.nodeid for item in session.items])


def _on_alarm(signum, frame):
    item = _state["item"]
    _state["fired"] += 1
    seconds = _limit(item)
    if _state["fired"] == 1:
        if item is not None:
            item.user_properties.append((TIMED_OUT, str(seconds)))
            if _cut_short(item):
                item.user_properties.append((CUT_SHORT, "1"))
            hung = _state["hung_files"]
            hung[_file(item.nodeid)] = hung.get(_file(item.nodeid), 0) + 1
        signal.setitimer(signal.ITIMER_REAL, max(1.0, seconds / 2))  # grace, then exit
        pytest.fail(f"debug-agent: test timed out after {seconds:g} s")
    # The test swallowed the timeout and still runs: say where it is stuck, and keep the
    # coverage so far (a localization run would otherwise have nothing to rank).
    _log(event="hard_timeout", nodeid=item.nodeid if item is not None else None,
         where="".join(traceback.format_stack(frame, limit=8)))
    cov = _state["cov"]
    if cov is not None:
        _state["cov"] = None
        cov.stop()
        _write_coverage(cov, _state["root"], os.environ["DEBUG_AGENT_COVERAGE"])
    os._exit(3)


def _alarm_usable():
    return (hasattr(signal, "setitimer") and os.environ.get("DEBUG_AGENT_TEST_TIMEOUT")
            and threading.current_thread() is threading.main_thread())


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    _state["item"] = item
    _state["fired"] = 0
    _state["began"] = time.monotonic()
    _log(event="start", nodeid=item.nodeid)
    cov = _state["cov"]
    if cov is not None:
        cov.switch_context(item.nodeid)
    if _alarm_usable():
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, _limit(item))
    # None: the default protocol runs the test


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item, call):
    # A test that took all the memory it could still holds it in its frames (the traceback keeps
    # them alive) while pytest builds the report, which then fails for want of memory and takes
    # the run with it. Its locals go first; the report still shows the source lines.
    if call.excinfo is not None and isinstance(call.excinfo.value, MemoryError):
        traceback.clear_frames(call.excinfo.tb)
    # None: the default hook makes the report


def pytest_runtest_logreport(report):
    _log(event="report", nodeid=report.nodeid, when=report.when, outcome=report.outcome)


def pytest_runtest_logfinish(nodeid, location):
    if _alarm_usable():
        signal.setitimer(signal.ITIMER_REAL, 0)
    if not _state["fired"]:
        _state["slowest"] = max(_state["slowest"], time.monotonic() - _state["began"])
    _state["item"] = None
    cov = _state["cov"]
    if cov is not None:
        cov.switch_context("")


def pytest_unconfigure(config):
    cov = _state["cov"]
    if cov is not None:
        _state["cov"] = None
        cov.stop()
        _write_coverage(cov, str(config.rootpath), os.environ["DEBUG_AGENT_COVERAGE"])
    if _state["progress"] is not None:
        _state["progress"].close()
        _state["progress"] = None


def _write_coverage(cov, root, path):
    data = cov.get_data()
    per_test = {}
    for filename in data.measured_files():
        rel = os.path.relpath(filename, root)
        if rel.startswith(".."):
            continue
        for line, contexts in (data.contexts_by_lineno(filename) or {}).items():
            for context in contexts:
                if context:
                    per_test.setdefault(context, {}).setdefault(rel, []).append(line)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(per_test, f)
