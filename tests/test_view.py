"""agent view: the pages of real episodes (a scripted policy in DebugEnv on the bundled example,
and an eval run of the reference policy), the CLI, --serve and --open. What a browser shows of
these pages is checked in test_view_browser.py."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from agent.cli import main
from agent.loop import run_episode
from agent.policies import ScriptedPolicy
from agent.view import write_view
from agent.view.model import trajectory_view
from envs.env import DebugEnv, EnvConfig
from envs.task import Task
from sandboxes.config import SandboxConfig

ROOT = Path(__file__).resolve().parents[1]
SHOP = ROOT / "examples" / "shop"
EVAL_TASKS = Path(__file__).parent / "fixtures" / "eval_tasks"

# The pages are made from real episodes (about 20 s on a small machine), so most tests are slow.
slow = pytest.mark.slow


def _edit(path: str, old: str, new: str) -> str:
    return f"```\nedit {path}\n<<<<<<< SEARCH\n{old}\n=======\n{new}\n>>>>>>> REPLACE\n```"


#: Two edits that take, one that does not, a malformed action, then the tests and submit.
SHOP_REPLIES = [
    "```\nlocalize\n```",
    "```\nopen shop/pricing.py 1 12\n```",
    _edit("shop/pricing.py", "    if cart.count() > BULK_LIMIT:", "    if cart.count() >= BULK_LIMIT:"),
    _edit("shop/pricing.py", "    if cart.count() > BULK_THRESHOLD:",
          "    if cart.count() >= BULK_THRESHOLD:"),
    "I think we are done here.",
    _edit("shop/pricing.py", '    """10% off the subtotal for carts of at least BULK_THRESHOLD items."""',
          '    """10% off the subtotal for carts of BULK_THRESHOLD items or more."""'),
    "```\nrun_tests\n```",
]


def shop_task() -> Task:
    return Task(id="shop", repo=SHOP,
                fail_to_pass=("tests/test_pricing.py::test_discount_at_threshold",
                              "tests/test_pricing.py::test_total_with_bulk_discount"),
                pass_to_pass=("tests/test_cart.py::test_subtotal",
                              "tests/test_pricing.py::test_total_with_tax"))


@pytest.fixture(scope="module")
def shop_trajectory(tmp_path_factory) -> Path:
    """A real episode in the local sandbox, saved by run_episode as every run saves it."""
    path = tmp_path_factory.mktemp("fix") / "trajectory.json"
    task = shop_task()
    config = EnvConfig(sandbox=SandboxConfig(backend="local"), max_steps=12)
    with DebugEnv(config, tasks=[task]) as env:
        result = run_episode(ScriptedPolicy(list(SHOP_REPLIES)), env, task=task,
                             trajectory_path=path)
    assert result.resolved, result.exit_status
    return path


@slow
def test_trajectory_model_every_step_diff_so_far_tests_and_ranking(shop_trajectory):
    view = trajectory_view(shop_trajectory, repo=SHOP)
    assert [s.verb for s in view.steps] == ["localize", "open", "edit", "edit", "?", "edit",
                                            "run_tests", "submit"]
    assert view.steps[4].format_error and not view.steps[2].diff_changed
    assert view.diffs_note == ""
    # Before the first edit that takes there is no change; then one line, then two.
    assert view.steps[2].diff == ""
    assert "+    if cart.count() >= BULK_THRESHOLD:" in view.steps[3].diff
    assert "or more" not in view.steps[3].diff and view.steps[3].diff_changed
    assert "or more" in view.steps[5].diff and view.steps[5].diff_changed
    assert view.steps[-1].diff == view.steps[5].diff
    assert [s.diff_from for s in view.steps] == [0, 0, 0, 4, 4, 6, 6, 6]
    fixed = {t.name: t for t in view.tests}
    assert fixed["tests/test_pricing.py::test_discount_at_threshold"].before == "failed"
    assert fixed["tests/test_pricing.py::test_discount_at_threshold"].after == "passed"
    assert fixed["tests/test_cart.py::test_subtotal"].before == "passed"
    assert view.ranking and view.ranking[0].score is not None
    assert [r.location for r in view.ranking if r.edited] == ["shop/pricing.py:9"]


@slow
def test_without_sources_the_page_says_why_there_is_no_diff_per_step(shop_trajectory, tmp_path):
    view = trajectory_view(shop_trajectory)
    assert all(s.diff is None for s in view.steps) and "not at hand" in view.diffs_note
    # Sources that differ from the episode's (here: already fixed) are noticed, not trusted.
    changed = tmp_path / "shop"
    subprocess.run(["cp", "-r", str(SHOP), str(changed)], check=True)
    pricing = changed / "shop" / "pricing.py"
    pricing.write_text(pricing.read_text().replace("> BULK", ">= BULK"))
    view = trajectory_view(shop_trajectory, repo=changed)
    assert all(s.diff is None for s in view.steps) and "replaying step 4 failed" in view.diffs_note


@slow
def test_trajectory_page_is_self_contained(shop_trajectory, tmp_path):
    written = write_view(shop_trajectory, tmp_path / "page.html", repo=SHOP)
    page = written.index.read_text()
    assert written.kind == "trajectory" and written.pages == [tmp_path / "page.html"]
    assert "default-src 'none'" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    for n in range(1, 9):
        assert f'id="step-{n}"' in page
    assert '<span class="dl add">' in page and '<span class="dl del">' in page


@slow
def test_eval_run_pages_link_every_task_and_carry_harness_fields(eval_run):
    html = (eval_run / "report.html").read_text()
    links = re.findall(r'<a href="(tasks/[^"]+\.html)">([^<]+)</a>', html)
    assert sorted(name for _, name in links) == ["calc_add", "no_reference", "text_last"]
    for href, name in links:
        task_page = (eval_run / href).read_text()
        assert f'<h1 id="task">{name} ' in task_page and 'href="../report.html"' in task_page
    assert '<details><summary>patch (' in html  # patches inline
    harness = json.loads((eval_run / "swebench_report.json").read_text())
    assert harness["calc_add"]["patch_successfully_applied"] and harness["calc_add"]["resolved"]
    assert harness["calc_add"]["tests_status"]["FAIL_TO_PASS"] == {
        "success": ["test_calc.py::test_add"], "failure": []}
    assert not harness["no_reference"]["patch_exists"] and not harness["no_reference"]["resolved"]
    assert harness["no_reference"]["tests_status"]["FAIL_TO_PASS"]["failure"] == ["test_sign.py::test_zero"]
    assert not any(h["infra_failure"] for h in harness.values())
    record = json.loads((eval_run / "results.jsonl").read_text().splitlines()[0])
    assert record["harness"] == harness[record["task_id"]]


@slow
def test_agent_view_of_an_eval_run_into_another_dir(eval_run, tmp_path, capsys):
    out = tmp_path / "pages"
    assert main(["view", str(eval_run), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out / "index.html")
    assert sorted(p.name for p in (out / "tasks").iterdir()) == [
        "calc_add.html", "no_reference.html", "text_last.html"]
    assert 'href="../index.html"' in (out / "tasks" / "calc_add.html").read_text()
    # The task's own sources are found through run.json: the diff after each step is there.
    assert "diff so far" in (out / "tasks" / "calc_add.html").read_text()


def test_cli_bad_input_is_one_line_and_status_2(tmp_path, capsys):
    assert main(["view", str(tmp_path / "nope")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    (tmp_path / "x.json").write_text('{"format": "something else"}')
    assert main(["view", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert "is not a debug-agent.trajectory/1 trajectory" in err and "Traceback" not in err
    assert main(["view", str(tmp_path)]) == 2
    assert "neither a trajectory file" in capsys.readouterr().err


@slow
def test_open_uses_the_users_browser(shop_trajectory, tmp_path, monkeypatch, capsys):
    # $BROWSER is how a user names their browser to Python's webbrowser module; this one writes
    # down the URL it was asked to open.
    seen = tmp_path / "opened"
    opener = f"{shlex.quote(sys.executable)} -c 'import sys; open(sys.argv[2], \"w\").write(sys.argv[1])'"
    monkeypatch.setenv("BROWSER", f"{opener} %s {shlex.quote(str(seen))}")
    import webbrowser

    monkeypatch.setattr(webbrowser, "_tryorder", None)  # registered again from $BROWSER
    assert main(["view", str(shop_trajectory), "--out", str(tmp_path / "p.html"), "--open"]) == 0
    assert seen.read_text() == (tmp_path / "p.html").as_uri()


@slow
def test_serve_answers_on_localhost(shop_trajectory, tmp_path):
    out = tmp_path / "served"
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "view", str(shop_trajectory), "--out", str(out),
         "--serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=ROOT)
    try:
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/trajectory\.html", url), url
        with urllib.request.urlopen(url, timeout=10) as response:
            body = response.read().decode()
        assert response.status == 200 and 'id="step-8"' in body
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def eval_run(tmp_path_factory) -> Path:
    """A finished eval run of the reference policy over three small tasks (local sandbox)."""
    from agent.eval import EvalConfig, PolicySpec, run_eval

    out = tmp_path_factory.mktemp("eval") / "run"
    run_eval(EvalConfig(tasks=EVAL_TASKS, out=out, policy=PolicySpec("reference"),
                        sandbox=SandboxConfig(backend="local")))
    return out


@slow
def test_resumed_run_keeps_its_totals(eval_run, tmp_path):
    from agent.eval import EvalConfig, PolicySpec, run_eval

    first = json.loads((eval_run / "run.json").read_text())
    assert first["resumed"] == 0 and len(first["sessions"]) == 1 and first["elapsed_s"] > 1
    copy = tmp_path / "run"
    shutil.copytree(eval_run, copy)
    summary = run_eval(EvalConfig(tasks=EVAL_TASKS, out=copy, policy=PolicySpec("reference"),
                                  sandbox=SandboxConfig(backend="local"), resume=True))
    run = json.loads((copy / "run.json").read_text())
    assert run["started_at"] == first["started_at"] and run["resumed"] == 1
    assert [s["tasks_run"] for s in run["sessions"]] == [3, 0]
    # The total is the first session's time plus this one's, not this one's alone (was 0.0 s).
    assert run["elapsed_s"] == pytest.approx(first["elapsed_s"] + run["sessions"][1]["elapsed_s"])
    assert summary["run"]["elapsed_s"] == run["elapsed_s"]
    html = (copy / "report.html").read_text()
    assert f"{run['elapsed_s']:.1f} s over 2 sessions" in html and "resumed</th><td>1 time" in html
    assert "reference</td>" in html and "{" not in re.search(r"policy</th><td>([^<]*)", html)[1]
