"""Page size and render time of agent view at scale: a 500-task eval run, 100-step trajectories.

    python benchmarks/view_scale.py                       # 500 tasks x 100 steps
    python benchmarks/view_scale.py --tasks 100 --steps 50 --json

The records and trajectories are real ones grown by repetition: a real eval run of the reference
policy over the three small fixture tasks (local sandbox), whose records are copied to N tasks and
whose trajectories are padded to S steps by repeating their read-only steps (localize, open,
run_tests) before the edit, so that replaying the edits still ends in the recorded patch. Figures:
the time to write every page, the size of the summary page and of a task page, and headless
Chromium's time to load and lay out each (``--dump-dom``, less Chromium's start-up on a blank
page, measured in the same run).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FIXTURES = ROOT / "tests" / "fixtures" / "eval_tasks"


def real_run(out: Path) -> Path:
    from agent.eval import EvalConfig, PolicySpec, run_eval
    from sandboxes.config import SandboxConfig

    run_eval(EvalConfig(tasks=FIXTURES, out=out, policy=PolicySpec("reference"),
                        sandbox=SandboxConfig(backend="local")))
    return out


def padded_steps(steps: list[dict], n: int) -> list[dict]:
    """``steps`` grown to ``n`` by repeating its steps that change nothing, before the first edit."""
    first_edit = next((i for i, s in enumerate(steps) if s["info"].get("action") == "edit"),
                      len(steps))
    readonly = [s for s in steps if s["info"].get("action") in ("localize", "open", "run_tests")]
    if not readonly or len(steps) >= n:
        return steps
    pad = [readonly[i % len(readonly)] for i in range(n - len(steps))]
    return steps[:first_edit] + pad + steps[first_edit:]


def synthesize(real: Path, out: Path, tasks: int, steps: int) -> Path:
    """An eval run directory of ``tasks`` tasks made from the records of ``real``."""
    from agent.eval.records import ResultsLog
    from agent.trajectory import write_json_atomic

    records = sorted(ResultsLog(real / "results.jsonl").latest().values(), key=lambda r: r.task_id)
    suite = out / "suite"
    (out / "trajectories").mkdir(parents=True)
    with ResultsLog(out / "results.jsonl") as log:
        for k in range(tasks):
            base = records[k % len(records)]
            task_id = f"{base.task_id}-{k:04d}"
            task_dir = suite / task_id
            task_dir.mkdir(parents=True)
            source = FIXTURES / base.task_id
            meta = json.loads((source / "task.json").read_text()) | {"id": task_id}
            (task_dir / "task.json").write_text(json.dumps(meta))
            (task_dir / "repo").symlink_to(source / "repo")
            if (source / "reference.patch").exists():
                shutil.copy(source / "reference.patch", task_dir / "reference.patch")
            trajectory = json.loads(Path(base.result.trajectory_path).read_text())
            trajectory["task_id"] = task_id
            trajectory["steps"] = padded_steps(trajectory["steps"], steps)
            path = out / "trajectories" / f"{task_id}.json"
            write_json_atomic(path, trajectory)
            result = replace(base.result, task_id=task_id, trajectory_path=str(path),
                             steps=len(trajectory["steps"]))
            log.append(replace(base, result=result))
    run_info = json.loads((real / "run.json").read_text()) | {"tasks": str(suite)}
    (out / "run.json").write_text(json.dumps(run_info))
    return out


def chromium_s(browser: str, url: str, profile: Path, repeat: int = 3) -> float:
    """Median seconds of ``chromium --headless --dump-dom URL``."""
    times = []
    for _ in range(repeat):
        started = time.monotonic()
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-background-networking", f"--user-data-dir={profile}",
                        "--dump-dom", url], capture_output=True, check=True, timeout=300)
        times.append(time.monotonic() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    from agent.view import write_view

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    with tempfile.TemporaryDirectory(prefix="view-scale-") as tmp:
        tmp = Path(tmp)
        real = real_run(tmp / "real")
        run = synthesize(real, tmp / "big", args.tasks, args.steps)
        started = time.monotonic()
        view = write_view(run, tmp / "pages")
        write_s = time.monotonic() - started
        task_pages = [p for p in view.pages if p != view.index]
        biggest = max(task_pages, key=lambda p: p.stat().st_size)
        figures = {
            "tasks": args.tasks, "steps_per_trajectory": args.steps,
            "write_all_pages_s": round(write_s, 2),
            "write_per_task_ms": round(1000 * write_s / args.tasks, 1),
            "index_kib": round(view.index.stat().st_size / 1024, 1),
            "task_page_kib_mean": round(statistics.fmean(p.stat().st_size for p in task_pages) / 1024, 1),
            "task_page_kib_max": round(biggest.stat().st_size / 1024, 1),
            "all_pages_mib": round(sum(p.stat().st_size for p in view.pages) / 2**20, 1),
        }
        if browser:
            blank = tmp / "blank.html"
            blank.write_text("<!DOCTYPE html><html><body></body></html>")
            base = chromium_s(browser, blank.as_uri(), tmp / "profile")
            figures["chromium_blank_s"] = round(base, 2)
            figures["chromium_index_s"] = round(chromium_s(browser, view.index.as_uri(), tmp / "profile") - base, 2)
            figures["chromium_task_page_s"] = round(chromium_s(browser, biggest.as_uri(), tmp / "profile") - base, 2)
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:28} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
