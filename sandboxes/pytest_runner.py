"""Run pytest inside a sandbox and read back a typed per-test report.

Results come from pytest's junit XML. Our plugin (`sandboxes/_pytest_plugin.py`, placed by every
backend in ``sandbox.tools_dir``, outside the repo) adds each test's exact node id to the XML,
stops a hanging test at the per-test timeout, logs progress as it goes (so a run killed at the
per-run timeout still says what ran) and, when asked, records per-test coverage.
"""

from __future__ import annotations

import json
import posixpath
import re
import secrets
import xml.etree.ElementTree as ET
from typing import Mapping, Sequence

from sandboxes import counts
from sandboxes._common import PLUGIN_MODULE
from sandboxes._pytest_plugin import CUT_SHORT, NODEID, TIMED_OUT
from sandboxes.base import Sandbox, TestReport, TestResult

#: How a test's message says it was stopped at the short limit after another test of its file
#: hung, not at its own: it may be a slow test, not a hanging one (``envs.limits``).
CUT_SHORT_NOTE = "(cut short: an earlier test of its file hung)"


def pytest_command(sandbox: Sandbox, junit: str, node_ids: Sequence[str] | None = None,
                   extra_args: Sequence[str] = ()) -> list[str]:
    """The argv of one pytest run with our plugin (exposed for callers that time it)."""
    argv = [sandbox.python, "-m", "pytest", "-p", PLUGIN_MODULE, "-p", "no:cacheprovider",
            f"--junitxml={junit}", "-o", "junit_family=xunit1", "-q",
            "--continue-on-collection-errors", *getattr(sandbox, "pytest_args", ()), *extra_args]
    if node_ids:
        argv += ["--", *node_ids]
    return argv


def run_pytest(
    sandbox: Sandbox,
    node_ids: Sequence[str] | None = None,
    *,
    timeout: float = 300.0,
    per_test_timeout: float | None = 60.0,
    limits: Mapping[str, float] | None = None,
    after_hang_floor: float | None = None,
    coverage: bool = False,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> TestReport:
    """Run pytest (all tests, or ``node_ids``) in the sandbox's repo root; never raises for
    what the tests do.

    A test still running after ``per_test_timeout`` s fails with status "timeout"; the run as a
    whole is killed after ``timeout`` s, and the tests that had not finished are reported as
    "timeout" (or as "error" when the run ended for another reason without them); ``limits``
    gives some tests a limit of their own (``envs.limits``: a short cap for tests that hung
    before); ``after_hang_floor``, the least a test may run after another of its file hung
    (default 1 s). With
    ``coverage=True`` the report's ``coverage`` maps each test to the repo lines it ran.

    A test module that fails to import (a SyntaxError or a bad import in it or in the code it
    imports) is an "error" entry named by its path, with pytest's error text, also listed in
    ``report.uncollected``; a module or folder asked for by its path gets a result in
    ``report.groups`` ("passed" when every test in it passed), so such an entry can be scored.
    """
    counts.count("test_runs")
    if not node_ids:
        counts.count("full_test_runs")
    if coverage:
        counts.count("coverage_runs")
    token = secrets.token_hex(6)
    scratch = sandbox.scratch_dir
    names = {"junit": f"junit-{token}.xml", "progress": f"progress-{token}.jsonl",
             "coverage": f"coverage-{token}.json"}
    run_env = {
        "PYTHONPATH": sandbox.tools_dir + (":" + env["PYTHONPATH"] if env and "PYTHONPATH" in env
                                           else ""),
        "PYTHONDONTWRITEBYTECODE": "1",
        "DEBUG_AGENT_PROGRESS": f"{scratch}/{names['progress']}",
    }
    if per_test_timeout:
        run_env["DEBUG_AGENT_TEST_TIMEOUT"] = str(per_test_timeout)
        if limits:
            run_env["DEBUG_AGENT_TEST_LIMITS"] = json.dumps(dict(limits))
        if after_hang_floor:
            run_env["DEBUG_AGENT_AFTER_HANG_FLOOR"] = str(after_hang_floor)
    if coverage:
        run_env["DEBUG_AGENT_COVERAGE"] = f"{scratch}/{names['coverage']}"
    merged = {**(env or {}), **run_env}
    argv = pytest_command(sandbox, f"{scratch}/{names['junit']}", node_ids, extra_args)
    result = sandbox.run(argv, timeout=timeout, env=merged)

    report = TestReport(exit_code=result.exit_code, duration_s=result.duration_s,
                        timed_out=result.timed_out, output=result.output)
    files = sandbox.take_scratch(list(names.values()))
    events = _events(files[names["progress"]])
    junit = files[names["junit"]]
    if junit is not None:
        _parse_junit(junit, report)
    else:
        _from_progress(events, report)
    if not report.collection_errors:
        report.collection_errors = [e["text"] for e in events if e["event"] == "collect_error"]
    _add_uncollected(report, events, sandbox.workdir)
    _add_missing(report, node_ids, events, result.output, result.limit)
    if result.limit:  # say it where a policy reads: with each test that did not pass
        for test in report.tests.values():
            if test.status != "passed" and result.limit not in test.message:
                test.message += f"\n(the run reached a sandbox limit: {result.limit})"
    if coverage:
        raw = files[names["coverage"]]
        report.coverage = {
            nodeid: {path: set(lines) for path, lines in files.items()}
            for nodeid, files in (json.loads(raw) if raw else {}).items()
        }
        for nodeid in report.tests:
            report.coverage.setdefault(nodeid, {})
    return report


def _events(raw: bytes | None) -> list[dict]:
    events = []
    for line in (raw or b"").decode("utf-8", errors="replace").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:  # the last line of a killed run may be cut short
            continue
    return events


def _parse_junit(data: bytes, report: TestReport) -> None:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        report.collection_errors.append(f"unreadable junit XML from pytest: {exc}")
        return
    for case in root.iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        nodeid = props.get(NODEID)
        failure, error, skipped = (case.find(tag) for tag in ("failure", "error", "skipped"))
        if nodeid is None:  # a collector, not a test: a module that failed to import or parse
            if error is not None:
                report.collection_errors.append(_text(error))
            continue
        if TIMED_OUT in props:
            status, node = "timeout", failure if failure is not None else error
            why = CUT_SHORT_NOTE if CUT_SHORT in props else "(per-test timeout)"
            props["message"] = f"timed out after {props[TIMED_OUT]} s {why}\n"
        elif failure is not None:
            status, node = "failed", failure
        elif error is not None:
            status, node = "error", error
        elif skipped is not None:
            status, node = "skipped", skipped
        else:
            status, node = "passed", None
        text = props.get("message", "") + (_text(node) if node is not None else "")
        report.tests[nodeid] = TestResult(nodeid, status, float(case.get("time") or 0.0), text)


def _text(node: ET.Element) -> str:
    message, body = node.get("message") or "", (node.text or "").strip()
    return body if message and message in body else "\n".join(t for t in (message, body) if t)


def _from_progress(events: list[dict], report: TestReport) -> None:
    """Statuses from the progress log when pytest died before writing its XML."""
    phases: dict[str, dict[str, str]] = {}
    for event in events:
        if event["event"] == "report":
            phases.setdefault(event["nodeid"], {})[event["when"]] = event["outcome"]
    for nodeid, by_phase in phases.items():
        if "teardown" not in by_phase:
            continue  # unfinished: _add_missing decides
        if by_phase.get("call") == "failed":
            status = "failed"
        elif "failed" in by_phase.values():
            status = "error"
        elif "skipped" in by_phase.values():
            status = "skipped"
        else:
            status = "passed"
        report.tests[nodeid] = TestResult(nodeid, status, message="(from the progress log: "
                                          "pytest was killed before it wrote its report)")


def _children(nodeid: str, results: dict) -> list[str]:
    """The results under a file or folder node id (``tests/test_a.py``, ``tests``, ``.``)."""
    if nodeid in (".", ""):
        return list(results)
    return [r for r in results if r.startswith((nodeid + "::", nodeid + "[", nodeid + "/"))]


def _covered(nodeid: str, results: dict) -> bool:
    return nodeid in results or bool(_children(nodeid, results))


#: Where pytest names a conftest.py that it could not import (the run ends before collecting).
_CONFTEST = re.compile(r"(?:ImportError while loading conftest|while loading conftest) '([^']+)'")
#: The innermost location of a traceback: a pytest frame or a Python / SyntaxError one.
_FRAME = re.compile(r'^(?:E\s+)?(?:File "(?P<a>[^"]+\.py)", line (?P<al>\d+)'
                    r'|(?P<b>[^\s:"\']+\.py):(?P<bl>\d+):)', re.MULTILINE)


def _add_uncollected(report: TestReport, events: list[dict], workdir: str) -> None:
    """A module (or conftest) that failed to import is a failing entry named by its node id (the
    module path, or the conftest's folder), with pytest's error text: its tests cannot pass."""
    for event in events:
        if event["event"] == "collect_error":
            nodeid = event.get("nodeid") or "."
            if nodeid not in report.tests:
                report.tests[nodeid] = TestResult(nodeid, "error", message=event["text"])
                report.uncollected[nodeid] = _where(event["text"], workdir)
    match = _CONFTEST.search(report.output)
    if match and not report.tests:
        path = posixpath.relpath(match[1], workdir) if match[1].startswith("/") else match[1]
        nodeid = posixpath.dirname(path) or "."
        report.tests[nodeid] = TestResult(nodeid, "error", message=report.output[-4000:])
        report.uncollected[nodeid] = _where(report.output, workdir)
        report.collection_errors.append(report.output[-4000:])


def _where(text: str, workdir: str) -> str:
    origin = error_origin(text, workdir)
    return f"{origin[0]}:{origin[1]}" if origin else ""


def error_origin(text: str, workdir: str) -> tuple[str, int] | None:
    """The innermost repo file and line that a collection error's text names, or None."""
    found = None
    for match in _FRAME.finditer(text):
        path, line = (match["a"], match["al"]) if match["a"] else (match["b"], match["bl"])
        if path.startswith(workdir.rstrip("/") + "/"):
            path = path[len(workdir.rstrip("/")) + 1:]
        if not path.startswith(("/", "..")):
            found = (posixpath.normpath(path), int(line))
    return found


def _add_missing(report: TestReport, node_ids: Sequence[str] | None, events: list[dict],
                 output: str, limit: str = "") -> None:
    """Tests that were asked for or collected but have no result: timeout or error, with the
    resource limit the run ran into when the sandbox can tell."""
    expected: list[str] = []
    for event in events:
        if event["event"] == "collected":
            expected += event["nodeids"]
    expected += node_ids or []  # after the collected ids, which may cover them (a file, a param)
    hard = {e.get("nodeid"): e.get("where", "") for e in events if e["event"] == "hard_timeout"}
    tail = output[-2000:]
    why = f" ({limit})" if limit else ""
    for nodeid in dict.fromkeys(expected):
        if nodeid in report.tests:
            continue
        children = _children(nodeid, report.tests)
        if children and "::" not in nodeid:  # a module or folder asked for by its path
            report.groups[nodeid] = _aggregate(nodeid, [report.tests[c] for c in children])
            continue
        if children:
            continue
        uncollected = [u for u in report.uncollected if nodeid.startswith(u.rstrip("/") + "::")]
        if uncollected:
            report.tests[nodeid] = TestResult(nodeid, "error",
                                              message=report.tests[uncollected[0]].message)
            continue
        if nodeid in hard:
            report.tests[nodeid] = TestResult(
                nodeid, "timeout",
                message=f"the test kept running after its per-test timeout; pytest was stopped{why}"
                + (f"; it was at:\n{hard[nodeid]}" if hard[nodeid] else ""))
        elif report.timed_out:
            report.tests[nodeid] = TestResult(nodeid, "timeout", message="no result: the pytest "
                                              f"run hit its timeout before this test finished{why}")
        else:
            report.tests[nodeid] = TestResult(nodeid, "error", message="no result from pytest "
                                              f"(not collected, or pytest crashed){why}:\n{tail}")


def _aggregate(nodeid: str, results: list[TestResult]) -> TestResult:
    """One result for a module or folder: passed only when every test in it passed."""
    bad = [r for r in results if r.status not in ("passed", "skipped")]
    if bad:
        return TestResult(nodeid, "failed" if bad[0].status != "timeout" else "timeout",
                          sum(r.duration_s for r in results),
                          f"{len(bad)} of {len(results)} tests in it do not pass; first, "
                          f"{bad[0].nodeid}:\n{bad[0].message}")
    status = "passed" if any(r.status == "passed" for r in results) else "skipped"
    return TestResult(nodeid, status, sum(r.duration_s for r in results))
