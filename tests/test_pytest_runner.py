"""run_pytest on both backends: statuses, failure text, timeouts, collection errors, coverage."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sandboxes import TestReport, run_pytest

TESTS = '''\
import pytest
from lib import add, loop

def test_pass():
    assert add(1, 2) == 3

def test_fail():
    assert add(2, 2) == 4, "two and two"

@pytest.mark.skip(reason="not today")
def test_skip():
    pass

@pytest.fixture
def broken():
    raise RuntimeError("fixture boom")

def test_setup_error(broken):
    pass

def test_hang():
    loop()

@pytest.mark.parametrize("x", [1, 2])
def test_param(x):
    assert add(x, 0) == x

@pytest.mark.xfail(reason="known")
def test_xfail():
    assert False

class TestGroup:
    def test_method(self):
        assert add(0, 0) == 0
'''

LIB = '''\
def add(a, b):
    if a == 2 and b == 2:
        return 5
    return a + b


def loop():
    while True:
        pass
'''


@pytest.fixture
def suite(tmp_path) -> Path:
    repo = tmp_path / "suite"
    (repo / "tests").mkdir(parents=True)
    (repo / "lib.py").write_text(LIB)
    (repo / "tests" / "test_things.py").write_text(TESTS)
    (repo / "tests" / "test_syntax.py").write_text("def broken(:\n    pass\n")
    (repo / "tests" / "test_import.py").write_text("import no_such_module_xyz\n")
    (repo / "tests" / "test_other.py").write_text("def test_ok():\n    pass\n")
    (repo / "conftest.py").write_text("")
    return repo


T = "tests/test_things.py::"


@pytest.mark.slow
def test_statuses_failure_text_and_collection_errors(make_sandbox, suite):
    sb = make_sandbox(suite)
    report = run_pytest(sb, per_test_timeout=2, timeout=120)
    assert isinstance(report, TestReport)
    assert report.statuses == {
        T + "test_pass": "passed", T + "test_fail": "failed", T + "test_skip": "skipped",
        T + "test_setup_error": "error", T + "test_hang": "timeout",
        T + "test_param[1]": "passed", T + "test_param[2]": "passed",
        T + "test_xfail": "skipped", T + "TestGroup::test_method": "passed",
        "tests/test_other.py::test_ok": "passed",
        # modules that do not import are failing entries named by their path
        "tests/test_import.py": "error", "tests/test_syntax.py": "error",
    }
    assert sorted(report.uncollected) == ["tests/test_import.py", "tests/test_syntax.py"]
    assert "two and two" in report.tests[T + "test_fail"].message
    assert "fixture boom" in report.tests[T + "test_setup_error"].message
    assert "timed out after 2 s" in report.tests[T + "test_hang"].message
    assert 1.5 < report.tests[T + "test_hang"].duration_s < 10
    assert report.tests[T + "test_pass"].message == ""
    errors = "\n".join(report.collection_errors)
    assert len(report.collection_errors) == 2
    assert "SyntaxError" in errors and "no_such_module_xyz" in errors
    assert sorted(report.failing) == sorted([T + "test_fail", T + "test_setup_error",
                                             T + "test_hang", "tests/test_import.py",
                                             "tests/test_syntax.py"])
    assert report.passed(T + "test_pass") and not report.passed(T + "test_fail")
    assert report.exit_code == 1 and not report.timed_out
    assert sb.changed_files() == {}, "the run left files in the repo"


def test_selected_node_ids_and_unknown_ones(make_sandbox, suite):
    sb = make_sandbox(suite)
    report = run_pytest(sb, [T + "test_pass", T + "test_param", "tests/test_other.py"])
    assert report.statuses == {T + "test_pass": "passed", T + "test_param[1]": "passed",
                               T + "test_param[2]": "passed",
                               "tests/test_other.py::test_ok": "passed"}
    report = run_pytest(sb, [T + "test_pass", T + "test_gone"])
    assert report.tests[T + "test_gone"].status == "error"
    assert "no result" in report.tests[T + "test_gone"].message


@pytest.mark.slow
def test_run_timeout_reports_unfinished_tests(make_sandbox, suite):
    sb = make_sandbox(suite)
    start = time.monotonic()
    report = run_pytest(sb, [T + "test_pass", T + "test_hang", T + "test_fail"],
                        per_test_timeout=None, timeout=4)
    assert time.monotonic() - start < 20
    assert report.timed_out
    assert report.statuses == {T + "test_pass": "passed", T + "test_hang": "timeout",
                               T + "test_fail": "timeout"}


@pytest.mark.slow
def test_test_that_swallows_the_timeout_is_stopped(make_sandbox, tmp_path):
    repo = tmp_path / "stubborn"
    repo.mkdir()
    (repo / "test_stubborn.py").write_text(
        "import time\n\ndef test_first():\n    pass\n\n"
        "def test_stubborn():\n    while True:\n        try:\n            time.sleep(10)\n"
        "        except BaseException:\n            pass\n\n"
        "def test_after():\n    pass\n")
    sb = make_sandbox(repo)
    report = run_pytest(sb, per_test_timeout=1, timeout=60)
    assert report.tests["test_stubborn.py::test_stubborn"].status == "timeout"
    assert report.tests["test_stubborn.py::test_first"].status == "passed"
    assert report.tests["test_stubborn.py::test_after"].status == "error"  # never ran
    assert not report.timed_out


@pytest.mark.slow
def test_per_test_coverage(make_sandbox, suite):
    sb = make_sandbox(suite)
    report = run_pytest(sb, [T + "test_pass", T + "test_fail", T + "test_skip"], coverage=True)
    cov = report.coverage
    assert set(cov) == {T + "test_pass", T + "test_fail", T + "test_skip"}
    assert cov[T + "test_fail"]["lib.py"] == {2, 3}   # the faulty branch
    assert cov[T + "test_pass"]["lib.py"] == {2, 4}
    assert cov[T + "test_skip"] == {}
    assert 5 in cov[T + "test_pass"]["tests/test_things.py"]
    assert not any(path.startswith(("/", "..")) for files in cov.values() for path in files)
    assert run_pytest(sb, [T + "test_pass"]).coverage is None


def test_extra_args_and_env(make_sandbox, suite):
    sb = make_sandbox(suite)
    (suite / "tests" / "test_env.py").write_text(
        "import os\n\ndef test_env():\n    assert os.environ['MODE'] == 'x'\n")
    sb.write_file("tests/test_env.py", (suite / "tests" / "test_env.py").read_text())
    report = run_pytest(sb, ["tests/test_env.py"], env={"MODE": "x"}, extra_args=["-x"])
    assert report.statuses == {"tests/test_env.py::test_env": "passed"}
