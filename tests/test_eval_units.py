"""agent eval's pure parts: selection, reference actions, localization hits, the results log,
the summary, the reports, compare and export. Fast: no sandbox."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from agent.eval.compare import compare_runs, predictions, write_predictions
from agent.eval.metrics import localization_hits, parse_location, summarize
from agent.eval.records import ErrorKind, EvalRecord, ResultsLog
from agent.eval.worker import error_record, task_record
from agent.eval.report import histogram_bins, render_html, render_markdown, svg_bars
from agent.policies import make_policy
from agent.patches import parse_patch
from agent.policies.reference import reference_actions
from agent.selection import best_result, patch_size
from agent.trajectory import EpisodeResult, ExitStatus
from envs.actions import Edit, Localize, parse_action
from envs.task import load_suite
from sandboxes.errors import UsageError

FIXTURES = Path(__file__).parent / "fixtures" / "eval_tasks"

PATCH = """\
--- a/pkg/m.py
+++ b/pkg/m.py
@@ -3,4 +3,4 @@
 def f(x):
-    return x - 1
+    return x + 1


@@ -10,3 +10,4 @@
 def g(y):
     return y
+    # unreachable
"""


def result(task_id="t", resolved=False, tests=None, patch="", status="submitted"):
    return EpisodeResult(task_id=task_id, policy="p", resolved=resolved, tests=tests or {},
                         patch=patch, exit_status=status)


# -- selection -----------------------------------------------------------------------------------


def test_best_result_prefers_tests_passing_then_smaller_patch():
    two_line = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"
    four_line = "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-a\n-c\n+b\n+d\n"
    one_pass = result(tests={"a": "passed", "b": "failed"}, patch=two_line)
    two_pass_big = result(tests={"a": "passed", "b": "passed"}, patch=four_line)
    two_pass_small = result(tests={"a": "passed", "b": "passed"}, patch=two_line)
    assert best_result([one_pass, two_pass_big, two_pass_small]) is two_pass_small
    assert best_result([one_pass]) is one_pass
    assert patch_size(four_line) == 4
    resolved = result(resolved=True, tests={"a": "passed"})
    assert best_result([two_pass_big, resolved]) is resolved


def test_best_result_tie_keeps_the_earliest_and_empty_is_an_error():
    a, b = result(tests={"x": "passed"}), result(tests={"x": "passed"})
    assert best_result([a, b]) is a
    with pytest.raises(ValueError, match="at least one"):
        best_result([])


# -- the reference policy ------------------------------------------------------------------------


def test_parse_patch_and_reference_actions_round_trip_through_the_parser():
    files = parse_patch(PATCH)
    assert [f.path for f in files] == ["pkg/m.py"]
    assert len(files[0].hunks) == 2
    assert files[0].hunks[0].old == ["def f(x):", "    return x - 1", "", ""]
    replies = reference_actions(PATCH)
    actions = [parse_action(r) for r in replies]
    assert isinstance(actions[0], Localize)
    edit = actions[1]
    assert isinstance(edit, Edit) and edit.path == "pkg/m.py" and len(edit.blocks) == 2
    assert "return x + 1" in edit.blocks[0].replace


def test_reference_actions_widen_a_hunk_until_it_is_unique(tmp_path):
    (tmp_path / "m.py").write_text("def a():\n    return 1\n\ndef b():\n    return 1\n")
    patch = "--- a/m.py\n+++ b/m.py\n@@ -5 +5 @@\n-    return 1\n+    return 2\n"
    edit = parse_action(reference_actions(patch, tmp_path, localize=False)[0])
    assert edit.blocks[0].search.count("return 1") == 1 and "def b():" in edit.blocks[0].search
    assert edit.blocks[0].replace.endswith("return 2")


def test_make_policy_reference_and_errors():
    task = load_suite(FIXTURES / "calc_add")[0]
    policy = make_policy("reference", task=task)
    assert policy.name == "reference"
    assert isinstance(parse_action(policy.act([])), Localize)
    assert isinstance(parse_action(policy.act([])), Edit)
    with pytest.raises(UsageError, match="needs the task"):
        make_policy("reference")
    with pytest.raises(UsageError, match="unknown policy 'nope'"):
        make_policy("nope")
    with pytest.raises(UsageError, match="needs a model"):
        make_policy("hf")
    assert make_policy("scripted", replies=["```\nsubmit\n```"]).name == "scripted"


# -- localization ----------------------------------------------------------------------------------


def test_parse_location():
    assert parse_location("pkg/m.py:12") == ("pkg/m.py", 12)
    assert parse_location("./pkg/m.py:3 0.91") == ("pkg/m.py", 3)
    assert parse_location("pkg/m.py") == ("pkg/m.py", None)


def test_localization_hits_line_file_and_edited():
    ranked = ["pkg/other.py:1", "pkg/m.py:9", "pkg/m.py:4", "a.py:1", "b.py:1", "pkg/m.py:12"]
    hits = localization_hits(PATCH, ranked, {"pkg/m.py": [4]})
    assert hits["reference_lines"] == {"pkg/m.py": [4, 11]}
    assert hits["top1_line"] is False and hits["top1_file"] is False
    assert hits["top5_line"] is True and hits["top5_file"] is True
    assert hits["edited_line"] is True and hits["edited_file"] is True
    miss = localization_hits(PATCH, [], {"pkg/n.py": [1]})
    assert not any(miss[k] for k in ("localized", "top5_file", "edited_line", "edited_file"))
    assert localization_hits(None, ranked, {}) is None


# -- records, the log, the summary ---------------------------------------------------------------


@pytest.fixture
def tasks():
    return {t.id: t for t in load_suite(FIXTURES)}


def test_task_record_splits_outcomes_and_judges_localization(tasks):
    task = tasks["calc_add"]
    res = EpisodeResult(task_id=task.id, policy="p", resolved=True, reward=1.0,
                        tests={"test_calc.py::test_add": "passed"}, localization=["calc.py:2"],
                        edited_lines={"calc.py": [2]}, steps=3, exit_status=ExitStatus.SUBMITTED)
    record = task_record(task, res, wall_s=1.5)
    assert record.fail_to_pass == {"test_calc.py::test_add": "passed"}
    assert record.pass_to_pass == {"test_calc.py::test_mul": "missing"}
    line = record.to_json()
    assert (line["f2p_passed"], line["p2p_passed"], line["bug_class"]) == (1, 0, "wrong_operator")
    assert line["exit_status"] == "submitted" and line["task_id"] == "calc_add"
    assert record.localization_eval["top1_line"] is True
    assert record.error_kind is None and record.status_text == "submitted"
    infra = error_record(task, "p", ErrorKind.INFRA, "SandboxError: daemon gone")
    assert infra.result.exit_status == ExitStatus.ERROR and infra.retried and not infra.resolved
    assert infra.status_text == "infra_error: SandboxError: daemon gone"
    failed = task_record(task, EpisodeResult(task_id=task.id, policy="p", error="boom",
                                             exit_status=ExitStatus.ERROR), wall_s=1)
    assert failed.error_kind == ErrorKind.POLICY and not failed.retried


def test_record_json_round_trips_keeps_unknown_keys_and_reads_old_lines(tasks):
    task = tasks["calc_add"]
    record = error_record(task, "p", ErrorKind.CRASH, "KeyError: 'x'", wall_s=2.0, attempt=2)
    line = json.loads(json.dumps(record.to_json()))
    back = EvalRecord.from_json(line)
    assert back == record and back.result.exit_status is ExitStatus.ERROR
    newer = EvalRecord.from_json({**line, "harness_resolved": True})  # a field from a newer writer
    assert newer.extra == {"harness_resolved": True}
    assert newer.to_json()["harness_resolved"] is True
    old = EvalRecord.from_json({"task_id": "a", "policy": "p", "resolved": False,
                                "exit_status": "infra_error: worker died", "error_kind": "infra"})
    assert (old.result.exit_status, old.result.error, old.error_kind) == (
        ExitStatus.ERROR, "worker died", ErrorKind.INFRA)


def _line(task_id: str, resolved: bool, kind: str | None = None, **episode) -> EvalRecord:
    return EvalRecord(result=EpisodeResult(task_id=task_id, policy="search", resolved=resolved,
                                           **episode),
                      error_kind=ErrorKind(kind) if kind else None)


def test_results_log_skips_and_cuts_a_torn_last_line(tmp_path):
    log = ResultsLog(tmp_path / "results.jsonl")
    with log:
        log.append(_line("a", True))
        log.append(_line("b", False))
    with open(log.path, "ab") as f:
        f.write(b'{"task_id": "c", "reso')  # a crash in the middle of a write
    assert [r.task_id for r in log.read()] == ["a", "b"]
    with log:
        log.append(_line("c", True))
    lines = log.path.read_text().splitlines()
    assert [json.loads(x)["task_id"] for x in lines] == ["a", "b", "c"]
    log.path.write_text('{"task_id": "a"}\nnot json\n{"task_id": "b"}\n')
    with pytest.raises(ValueError, match="results.jsonl:2: not a JSON line"):
        log.read()


def test_latest_record_wins(tmp_path):
    log = ResultsLog(tmp_path / "r.jsonl")
    with log:
        log.append(_line("a", False, "infra"))
        log.append(_line("a", True))
    assert log.latest()["a"].resolved is True


def _records(tasks):
    out = []
    for i, (task_id, task) in enumerate(sorted(tasks.items())):
        res = EpisodeResult(task_id=task_id, policy="p", resolved=i != 2, reward=1.0 if i != 2 else 0,
                            steps=i + 2, exit_status=ExitStatus.SUBMITTED, patch=f"patch-{task_id}",
                            localization=["calc.py:2"] if task_id == "calc_add" else [])
        out.append(task_record(task, res, wall_s=float(i + 1)))
    return out


def test_summary_rates_classes_errors_and_distributions(tasks):
    records = _records(tasks)
    records.append(error_record(tasks["calc_add"], "p", ErrorKind.INFRA, "docker gone"))
    records[-1].result.task_id = "extra"
    summary = summarize(records)
    assert (summary["tasks"], summary["resolved"], summary["infra_errors"]) == (4, 2, 1)
    assert summary["resolve_rate"] == 0.5 and summary["resolve_rate_completed"] == pytest.approx(2 / 3, abs=1e-3)
    assert summary["per_bug_class"]["wrong_operator"] == {"tasks": 2, "resolved": 1, "resolve_rate": 0.5}
    assert summary["wall_s"]["median"] == 2.0 and summary["wall_s"]["p90"] == 3.0
    assert summary["localization"]["tasks"] == 2 and summary["localization"]["top1_line"] == 0.5
    assert summary["infra_error_tasks"] == ["extra"]
    assert summary["exit_status"] == {"submitted": 3, "infra_error": 1}


def test_reports_are_self_contained_with_three_plots(tasks):
    records = _records(tasks)
    summary = summarize(records, run={"policy": {"name": "p"}, "workers": 2, "elapsed_s": 3.0})
    page = render_html(summary, records)
    svgs = [page[i : page.index("</svg>", i) + 6] for i in range(len(page)) if page.startswith("<svg", i)]
    assert len(svgs) == 4  # bug classes, time, steps, localization
    for svg in svgs:
        ET.fromstring(svg)  # well-formed
    # Nothing is loaded from anywhere: a policy that forbids it, no src or href leaving the page.
    assert "default-src 'none'" in page and "src=" not in page and "href=" not in page
    assert "search (backend=local)" in render_html(
        summarize(records, run={"policy": {"name": "search", "options": {"backend": "local"}}}),
        records)
    md = render_markdown(summary, records)
    assert "| wrong_operator | 1 | 1 | 100.0% |" in md and "calc_add" in md
    assert histogram_bins([1, 1, 1]) == [(1, 1, 3)]
    assert histogram_bins([1, 3, 3], integer=True) == [(1, 2, 1), (2, 3, 0), (3, 4, 2)]
    assert sum(c for *_, c in histogram_bins([0, 1, 2, 3, 10], bins=4)) == 5
    ET.fromstring(svg_bars([("a<b", 0.5, "(1/2)")]))


# -- compare and export ----------------------------------------------------------------------------


def _write_run(path: Path, outcomes: dict[str, bool | str]) -> None:
    with ResultsLog(path / "results.jsonl") as log:
        for task_id, outcome in outcomes.items():
            log.append(_line(task_id, outcome is True, "infra" if outcome == "infra" else None,
                             patch=f"diff-{task_id}" if outcome is True else ""))


def test_compare_runs(tmp_path):
    _write_run(tmp_path / "a", {"t1": True, "t2": False, "t3": True, "t4": "infra", "only_a": True})
    _write_run(tmp_path / "b", {"t1": True, "t2": True, "t3": False, "t4": True, "only_b": False})
    cmp = compare_runs(tmp_path / "a", tmp_path / "b")
    assert cmp.fixed == ["t2", "t4"] and cmp.broken == ["t3"]
    assert {c["task_id"]: c["a"] for c in cmp.changed} == {"t2": "unresolved", "t3": "resolved",
                                                          "t4": "infra_error"}
    assert cmp.to_json()["resolve_rate_diff"] == 0.25
    assert cmp.only_a == ["only_a"] and cmp.only_b == ["only_b"]
    with pytest.raises(UsageError, match="not an eval run"):
        compare_runs(tmp_path / "a", tmp_path / "missing")


def test_export_swe_bench_predictions(tmp_path):
    _write_run(tmp_path / "a", {"t1": True, "t2": False, "t3": "infra"})
    preds = predictions(tmp_path / "a")
    assert preds == [
        {"instance_id": "t1", "model_name_or_path": "search", "model_patch": "diff-t1"},
        {"instance_id": "t2", "model_name_or_path": "search", "model_patch": ""},
    ]
    write_predictions(preds, tmp_path / "p.jsonl")
    assert [json.loads(x)["instance_id"] for x in (tmp_path / "p.jsonl").read_text().splitlines()] == ["t1", "t2"]
    write_predictions(predictions(tmp_path / "a", "my-model"), tmp_path / "p.json")
    assert json.loads((tmp_path / "p.json").read_text())[0]["model_name_or_path"] == "my-model"


def test_cli_errors_are_one_line(tmp_path, capsys):
    from agent.cli import main

    assert main(["eval", "--policy", "reference"]) == 2
    assert "missing --tasks" in capsys.readouterr().err
    assert main(["eval", "--tasks", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "no tasks in" in capsys.readouterr().err
    assert main(["eval", "--tasks", str(FIXTURES), "--only", "nope", "--out",
                 str(tmp_path / "o2")]) == 2
    assert "no task ['nope']" in capsys.readouterr().err
    # A policy that cannot work is refused before any worker starts.
    assert main(["eval", "--tasks", str(FIXTURES), "--policy", "hf", "--out",
                 str(tmp_path / "o3")]) == 2
    assert "needs a model" in capsys.readouterr().err
    assert main(["eval", "--tasks", str(FIXTURES), "--policy-option", "rounds=0", "--out",
                 str(tmp_path / "o4")]) == 2
    assert "rounds must be at least 1" in capsys.readouterr().err
    assert main(["eval", "--tasks", str(FIXTURES), "--policy-option", "nope=1", "--out",
                 str(tmp_path / "o5")]) == 2
    assert "no option ['nope']" in capsys.readouterr().err
    assert not any((tmp_path / f"o{i}").exists() for i in range(1, 6))
