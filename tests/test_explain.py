"""agent fix explains itself: from real episodes (a scripted one on the bundled example, and the
search policy on a tiny repository with thin evidence through the CLI)."""

from __future__ import annotations

import json

import pytest

from agent.cli import main
from agent.explain import explain, failing_tests
from test_view import SHOP, shop_trajectory  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow


def test_explanation_of_a_scripted_episode(shop_trajectory):
    fixed = ["tests/test_pricing.py::test_discount_at_threshold"]
    why = explain(shop_trajectory, repo=SHOP, fixed=fixed, broken=[])
    assert [(t.name, t.error) for t in why.failing] == [
        ("tests/test_pricing.py::test_discount_at_threshold", "AssertionError: assert 0.0 == 1.0"),
        ("tests/test_pricing.py::test_total_with_bulk_discount", "AssertionError: assert 20.0 == 18.0"),
    ]
    words = {p.location: (p.family, p.words) for p in why.fix}
    assert words["shop/pricing.py:9"] == ("compare_boundary", "comparison boundary: > became >=")
    # The docstring edit is no repair family's: it is said as it is.
    assert words["shop/pricing.py:8"][0] == "" and "became" in words["shop/pricing.py:8"][1]
    boundary = next(e for e in why.evidence if e.location == "shop/pricing.py:9")
    assert boundary.rank is not None and boundary.score > 0
    assert boundary.covering_tests is None  # a scripted policy has no coverage to tell
    assert why.candidates_tried == 2 and why.fixed_tests == fixed
    assert why.warnings == []  # two failing tests, and coverage is unknown


def test_failing_tests_without_error_text_keep_their_status():
    intro = "ran 2 tests: 1 failed, 1 passed\nFAILED t.py::test_a\n"
    assert [(t.name, t.error) for t in failing_tests(intro)] == [("t.py::test_a", "failed")]


def test_fix_json_explains_thin_evidence(tmp_path, capsys):
    repo = tmp_path / "seq"
    (repo / "seq").mkdir(parents=True)
    (repo / "seq" / "__init__.py").write_text("")
    (repo / "seq" / "ops.py").write_text(
        "def first(xs):\n    return xs[0]\n\n\ndef last(xs):\n    return xs[len(xs)]\n")
    (repo / "tests").mkdir()
    (repo / "tests" / "test_ops.py").write_text(
        "from seq.ops import first, last\n\n\ndef test_first():\n    assert first([1, 2]) == 1\n\n\n"
        "def test_last():\n    assert last([1, 2, 3]) == 3\n")
    code = main(["fix", str(repo), "--sandbox", "local", "--json", "--out", str(tmp_path / "run")])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["resolved"]
    why = payload["explanation"]
    assert why["failing"] == [{"name": "tests/test_ops.py::test_last",
                               "error": "IndexError: list index out of range"}]
    evidence = why["evidence"][0]
    assert evidence["location"] == "seq/ops.py:6"
    assert evidence["traceback"] == ["tests/test_ops.py::test_last"]  # the frame in seq/ops.py
    assert evidence["rank"] == 1 and evidence["covering_tests"] == ["tests/test_ops.py::test_last"]
    assert why["fix"][0]["family"] and why["fix"][0]["words"].split(":")[0]
    assert why["candidates_tried"] >= 1 and why["search_s"] > 0
    assert why["fixed_tests"] == ["tests/test_ops.py::test_last"] and why["broken_tests"] == []
    assert any("only one failing test" in w for w in why["warnings"])
    assert any("seq/ops.py:6 in only one test" in w for w in why["warnings"])
    # The run directory holds result.json: `agent view` finds the repo there (the diff after
    # each step) and shows the explanation.
    assert main(["view", str(tmp_path / "run")]) == 0
    page = (tmp_path / "run" / "trajectory.html").read_text()
    assert "Why this fix" in page and "only one failing test" in page
    assert "diff so far (changed by this step)" in page


def test_a_module_that_did_not_import_is_not_called_one_failing_test():
    from agent.explain import Evidence, Explanation, FailingTest, FixPart, warnings

    fix = [FixPart("m.py:3", "syntax_fix", "add ':' on line 3")]
    found = warnings(Explanation(failing=[FailingTest("tests/test_m.py", "SyntaxError")],
                                 evidence=[Evidence("m.py:3", covering_tests=[])], fix=fix))
    assert len(found) == 1 and "did not import before the patch" in found[0]
    found = warnings(Explanation(failing=[FailingTest("tests/test_m.py::test_f", "assert 1 == 2")],
                                 evidence=[Evidence("m.py:3", covering_tests=[])], fix=fix))
    assert len(found) == 2 and "only one failing test" in found[0]
