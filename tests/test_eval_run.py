"""agent eval end to end on the local backend: real workers, real sandboxes, real pytest, played
by the reference policy (each task's reference.patch as edit actions)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agent.cli import main
from agent.eval import EvalConfig, PolicySpec, run_eval
from agent.eval.records import ResultsLog
from agent.trajectory import Trajectory
from sandboxes.config import SandboxConfig
from sandboxes.errors import UsageError

LOCAL = SandboxConfig("local")
FIXTURES = Path(__file__).parent / "fixtures" / "eval_tasks"

pytestmark = pytest.mark.slow


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict]] = []

    def __call__(self, kind: str, data: dict) -> None:
        self.seen.append((kind, data))

    def of(self, kind: str) -> list[dict]:
        return [d for k, d in self.seen if k == kind]


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "run"
    events = Events()
    config = EvalConfig(tasks=FIXTURES, out=out, policy=PolicySpec("reference"), workers=2,
                        sandbox=LOCAL)
    summary = run_eval(config, on_event=events)
    return out, summary, events


def test_every_task_gets_one_record_with_outcomes(reference_run):
    out, _, events = reference_run
    lines = (out / "results.jsonl").read_text().splitlines()
    records = {r["task_id"]: r for r in map(json.loads, lines)}
    assert len(lines) == 3 and set(records) == {"calc_add", "text_last", "no_reference"}
    assert records["calc_add"]["resolved"] and records["text_last"]["resolved"]
    assert not records["no_reference"]["resolved"]
    calc = records["calc_add"]
    assert calc["fail_to_pass"] == {"test_calc.py::test_add": "passed"}
    assert calc["pass_to_pass"] == {"test_calc.py::test_mul": "passed"}
    assert calc["exit_status"] == "submitted" and calc["error_kind"] is None
    assert calc["steps"] == 3 and calc["wall_s"] > 0 and calc["bug_class"] == "wrong_operator"
    assert calc["edited_lines"] == {"calc.py": [2]}
    assert calc["localization_eval"]["top1_line"] and calc["localization_eval"]["edited_line"]
    assert records["no_reference"]["localization_eval"] is None
    trajectory = Trajectory.load(calc["trajectory_path"])
    assert trajectory.result.resolved and trajectory.task_id == "calc_add"
    assert len(events.of("dispatch")) == 3 and len(events.of("record")) == 3


def test_summary_and_reports(reference_run):
    out, summary, _ = reference_run
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk == summary
    assert (summary["tasks"], summary["resolved"], summary["infra_errors"]) == (3, 2, 0)
    assert summary["per_bug_class"]["off_by_one"]["resolve_rate"] == 1.0
    assert summary["localization"]["tasks"] == 2 and summary["localization"]["top1_line"] == 1.0
    assert summary["run"]["workers"] == 2 and summary["run"]["policy"]["name"] == "reference"
    html = (out / "report.html").read_text()
    assert html.count("<svg") == 4 and "calc_add" in html
    assert "| missing_case | 1 | 0 | 0.0% |" in (out / "report.md").read_text()


def test_resume_of_a_finished_run_runs_nothing(reference_run, tmp_path):
    out, summary, _ = reference_run
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    with pytest.raises(UsageError, match="already holds 3 results: pass --resume"):
        run_eval(EvalConfig(tasks=FIXTURES, out=copy, policy=PolicySpec("reference")))
    events = Events()
    again = run_eval(EvalConfig(tasks=FIXTURES, out=copy, policy=PolicySpec("reference"),
                                resume=True, sandbox=LOCAL), on_event=events)
    assert events.of("start") == [{"total": 3, "skipped": 3, "todo": 0}]
    assert not events.of("dispatch") and again["resolved"] == summary["resolved"]
    assert json.loads((copy / "run.json").read_text())["resumed"] == 1
    with pytest.raises(UsageError, match=r"cannot resume .*\(max_steps: 30 then, 5 now\)"):
        run_eval(EvalConfig(tasks=FIXTURES, out=copy, policy=PolicySpec("reference"),
                            resume=True, sandbox=LOCAL, max_steps=5))


def test_cli_compare_export_and_report(reference_run, tmp_path, capsys):
    out, _, _ = reference_run
    other = tmp_path / "other"
    shutil.copytree(out, other)
    with ResultsLog(other / "results.jsonl") as log:  # a later record for a task wins
        first = log.latest()["calc_add"]
        first.result.resolved, first.result.patch = False, ""
        log.append(first)
    assert main(["eval", "compare", str(out), str(other), "--json"]) == 0
    cmp = json.loads(capsys.readouterr().out)
    assert cmp["broken"] == ["calc_add"] and cmp["resolve_rate_diff"] == pytest.approx(-1 / 3, abs=1e-3)
    assert main(["eval", "compare", str(out), str(other)]) == 0
    assert "calc_add" in capsys.readouterr().out

    assert main(["eval", "export", str(out), "--out", str(tmp_path / "preds.json")]) == 0
    preds = json.loads((tmp_path / "preds.json").read_text())
    assert {p["instance_id"] for p in preds} == {"calc_add", "text_last", "no_reference"}
    assert all(set(p) == {"instance_id", "model_name_or_path", "model_patch"} for p in preds)
    assert "return a + b" in next(p for p in preds if p["instance_id"] == "calc_add")["model_patch"]

    (other / "summary.json").unlink()
    assert main(["eval", "report", str(other)]) == 0
    assert json.loads((other / "summary.json").read_text())["resolved"] == 1


def test_cli_run_with_samples_keeps_the_best(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["eval", "--tasks", str(FIXTURES), "--policy", "reference", "--sandbox", "local",
                 "--only", "calc_add", "--samples", "2", "--out", str(out), "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["tasks"] == 1 and summary["resolved"] == 1
    record = json.loads((out / "results.jsonl").read_text())
    assert len(record["samples"]) == 2 and [s["kept"] for s in record["samples"]] == [True, False]
    assert sorted(p.name for p in (out / "trajectories").iterdir()) == ["calc_add.s0.json",
                                                                      "calc_add.s1.json"]
