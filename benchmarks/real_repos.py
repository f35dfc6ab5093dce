"""Real projects as they are: set-up from what they declare, their suites, and fixes of real bugs.

Projects come from PyPI sdists (``pip download --no-binary :all: NAME==VER``, pinned below) and
from git histories given on the command line (``--mirror``; their newest commit). Nothing here is
hand-written per project: no requirements, no settings. For each project it reports

- set-up: whether the suite runs in the sandbox as it runs on the host (same numbers of passed,
  failed and skipped tests; the host runs it in a fresh venv with the project installed with its
  own declared test extras and test requirement files), the first sandbox's start (the
  environment image built, when it is not cached yet) and a second, cached, start;
- with ``--tasks SUITE`` (mined bug-fix tasks, e.g. the foreign set): `agent fix TASK/repo --json
  --timeout T` per task, resolved when its patch makes the task's fail_to_pass pass and keeps its
  pass_to_pass passing; median and p90 time per task, whole-suite runs per task, test runs per
  candidate, and the overrun past --timeout.

    python benchmarks/real_repos.py [--sdist NAME==VER ...] [--mirror DIR ...] [--tasks SUITE]
        [--max-tasks N] [--timeout S] [--no-host] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import venv
import xml.etree.ElementTree as ET
from pathlib import Path

from agent.eval.metrics import distribution
from envs.mine import default_source, export_tree
from envs.task import Task, TaskError, load_suite
from envs.validate import run_tests
from sandboxes import (PatchError, SandboxError, UsageError, apply_patch, copy_repo, open_sandbox,
                       run_pytest)
from sandboxes.config import SandboxConfig
from sandboxes.project import detect_project

ROOT = Path(__file__).resolve().parent.parent

#: Pinned releases whose sdists carry their tests: src/ and flat layouts, with and without
#: third-party dependencies. None of the projects reserved for independent evaluation.
SDISTS = ("arrow==1.3.0", "attrs==23.2.0", "cachetools==5.3.3", "humanize==4.9.0",
          "isodate==0.6.1", "marshmallow==3.21.1", "mistune==3.0.2", "parse==1.20.1",
          "semver==3.0.2", "validators==0.28.0")
TEST_EXTRAS = ("test", "tests", "testing")
#: Requirements that do not make a project one "with third-party dependencies".
TEST_TOOLING = ("pytest", "coverage", "tox", "setuptools", "wheel")


def from_sdist(spec: str, work: Path) -> Path:
    """The unpacked sdist of ``spec``; its top directory."""
    dl = work / "dl"
    dl.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                           "--no-binary", ":all:", "--disable-pip-version-check", spec,
                           "-d", str(dl)], capture_output=True, text=True)
    name = spec.split("==")[0].replace("-", "_").lower()
    found = [p for p in dl.iterdir() if p.name.replace("-", "_").lower().startswith(name)
             and p.name.endswith((".tar.gz", ".zip"))]
    if proc.returncode != 0 or not found:
        raise TaskError(f"pip download of {spec} failed: {proc.stderr.strip()[-300:]}")
    with tarfile.open(found[0]) as archive:
        archive.extractall(work / "src", filter="data")
    return next((work / "src").iterdir())


def host_counts(project: Path, work: Path, timeout: float) -> dict:
    """Passed / failed / skipped / error counts of the suite on the host, in a fresh venv with
    the project and its own declared test needs (extras, test requirement files)."""
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    copy = copy_repo(project, work / "host")
    reqs = [p for pattern in ("requirements*test*.txt", "requirements/test*.txt",
                              "requirements/*tests*.txt", "tests/requirements*.txt",
                              "test-requirements.txt", "requirements-dev.txt")
            for p in copy.glob(pattern)]
    install = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "pytest",
               f"{copy}[{','.join(TEST_EXTRAS)}]"] + [a for r in reqs for a in ("-r", str(r))]
    proc = subprocess.run(install, capture_output=True, text=True, cwd=copy)
    if proc.returncode != 0:
        return {"problem": "host install failed: " + proc.stderr.strip()[-200:]}
    junit = work / "host.xml"
    try:
        subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        f"--junitxml={junit}"], cwd=copy, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"problem": f"host run past {timeout} s"}
    if not junit.is_file():
        return {"problem": "host pytest wrote no report"}
    counts = {"passed": 0, "failed": 0, "skipped": 0, "error": 0}
    for case in ET.parse(junit).getroot().iter("testcase"):
        kind = next((k for k, tag in (("failed", "failure"), ("error", "error"),
                                      ("skipped", "skipped")) if case.find(tag) is not None),
                    "passed")
        counts[kind] += 1
    return counts


def sandbox_counts(project: Path, backend: str, timeout: float) -> dict:
    """The suite in the sandbox: counts, and the first and the cached start in seconds."""
    started = time.monotonic()
    try:
        with open_sandbox(project, backend) as sandbox:
            first_s = time.monotonic() - started
            report = run_pytest(sandbox, timeout=timeout)
        started = time.monotonic()
        with open_sandbox(project, backend):
            cached_s = time.monotonic() - started
    except SandboxError as exc:
        return {"problem": "set-up failed: " + str(exc).strip().splitlines()[0][:200]}
    counts = {"passed": 0, "failed": 0, "skipped": 0, "error": 0}
    for status in report.statuses.values():
        counts["failed" if status == "timeout" else status] += 1
    counts["error"] += len(report.collection_errors)  # as the host's junit counts them
    return {**counts, "first_setup_s": round(first_s, 1), "cached_setup_s": round(cached_s, 1),
            "suite_s": round(report.duration_s, 1)}


def project_row(name: str, project: Path, work: Path, args) -> dict:
    layout, deps = declared(project)
    row = {"project": name, "layout": layout, "deps": deps}
    row["sandbox"] = sandbox_counts(project, args.sandbox, args.suite_timeout)
    if not args.no_host:
        row["host"] = host_counts(project, work, args.suite_timeout)
    keys = ("passed", "failed", "skipped", "error")
    ran = "problem" not in row["sandbox"] and sum(row["sandbox"][k] for k in keys[:3]) > 0
    row["setup_ok"] = ran and (args.no_host or all(
        row["sandbox"].get(k) == row["host"].get(k) for k in keys))
    return row


def declared(project: Path) -> tuple[str, bool]:
    """(layout, whether it needs third-party packages besides the test tooling), as set-up
    detects them."""
    try:
        spec = detect_project(project)
    except UsageError as exc:  # a declaration set-up cannot read: reported, counted as none
        print(f"{project.name}: cannot read its declarations: {exc}", file=sys.stderr)
        return ("src" if (project / "src").is_dir() else "flat"), False
    names = (re.match(r"[A-Za-z0-9._-]*", r).group(0).lower() for r in spec.requirements)
    return spec.layout, any(n and not n.startswith(TEST_TOOLING) for n in names)


def fix_task(task: Task, args, out: Path) -> dict:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "agent", "fix", str(task.repo), "--json",
                           "--sandbox", args.sandbox, "--timeout", str(args.timeout),
                           "--out", str(out / task.id)], capture_output=True, text=True, cwd=ROOT)
    wall = time.monotonic() - started
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        result = {"patch": "", "error": proc.stderr.strip()[-300:]}
    patch = result.get("patch") or ""
    resolved = bool(patch) and task_resolved(task, patch, args.sandbox)
    runs = result.get("runs") or {}
    candidates = result.get("candidates") or (result.get("search") or {}).get("candidates")
    return {"task": task.id, "resolved": resolved, "wall_s": round(wall, 1),
            "overrun_s": round(max(0.0, wall - args.timeout), 1),
            "full_test_runs": runs.get("full_test_runs"), "test_runs": runs.get("test_runs"),
            "candidates": candidates, "exit": proc.returncode, "error": result.get("error")}


def task_resolved(task: Task, patch: str, backend: str) -> bool:
    """The patch fixes the task as the commit did: fail_to_pass pass, pass_to_pass still pass."""
    with tempfile.TemporaryDirectory(prefix="real-repos-") as tmp:
        repo = copy_repo(task.repo, Path(tmp) / "repo")
        try:
            apply_patch(repo, patch)
        except PatchError:
            return False
        statuses = run_tests(repo, task.tests, sandbox=SandboxConfig(backend)).statuses
    return all(statuses.get(t) == "passed" for t in task.tests)


def print_report(rows: list[dict], fixes: list[dict], args) -> None:
    if rows:
        print(f"{'project':14} {'layout':6} {'deps':5} {'sandbox p/f/s/e':18} {'host p/f/s/e':18} "
              f"{'first s':>8} {'cached s':>8}  set-up")
    for r in rows:
        s, h = r["sandbox"], r.get("host", {})

        def pfse(c):
            return c["problem"] if "problem" in c else "/".join(
                str(c.get(k, "-")) for k in ("passed", "failed", "skipped", "error"))
        print(f"{r['project'][:14]:14} {r['layout']:6} {'yes' if r['deps'] else 'no':5} "
              f"{pfse(s)[:18]:18} {pfse(h)[:18] if h else 'not run':18} "
              f"{s.get('first_setup_s', '-'):>8} {s.get('cached_setup_s', '-'):>8}  "
              f"{'ok' if r['setup_ok'] else 'FAILED'}")
    ok = sum(r["setup_ok"] for r in rows)
    if rows:
        print(f"\nset-up success: {ok}/{len(rows)} projects ({sum(r['deps'] for r in rows)} "
              f"with third-party deps, {sum(r['layout'] == 'src' for r in rows)} src/ layouts)")
    for r in rows:
        for side in ("sandbox", "host"):
            if "problem" in r.get(side, {}):
                print(f"  {r['project']} {side}: {r[side]['problem']}")
    if not fixes:
        return
    times = distribution([f["wall_s"] for f in fixes])
    suites = [f["full_test_runs"] for f in fixes if f["full_test_runs"] is not None]
    per_cand = [f["test_runs"] / f["candidates"] for f in fixes
                if f["test_runs"] is not None and f["candidates"]]
    print(f"\nmined tasks: resolved {sum(f['resolved'] for f in fixes)}/{len(fixes)} with "
          f"--timeout {args.timeout:g}; median {times['median']} s, p90 {times['p90']} s per task")
    print("whole-suite runs per task: " + (
        f"median {distribution(suites)['median']}, max {max(suites)}" if suites
        else "not reported by agent fix"))
    print("test runs per candidate: " + (f"median {distribution(per_cand)['median']:.2f}"
                                         if per_cand else "not reported by agent fix"))
    over = [f for f in fixes if f["overrun_s"] > 0]
    worst = max((f["overrun_s"] for f in fixes), default=0)
    print(f"past --timeout: {len(over)} tasks, worst by {worst} s")
    for f in fixes:
        print(f"  {'ok' if f['resolved'] else '--'} {f['wall_s']:7.1f}s exit {f['exit']} "
              f"suites {f['full_test_runs']} {f['task']}" + (f"  {f['error'][:80]}"
                                                              if f.get("error") else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sdist", action="append", default=None,
                        help=f"NAME==VER to download (repeatable) [default: {' '.join(SDISTS)}]")
    parser.add_argument("--mirror", action="append", type=Path, default=[],
                        help="A git history; its newest commit is one more project.")
    parser.add_argument("--tasks", type=Path, default=None, help="Mined tasks to fix.")
    parser.add_argument("--max-tasks", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=120.0, help="agent fix --timeout.")
    parser.add_argument("--suite-timeout", type=float, default=300.0)
    parser.add_argument("--sandbox", default="docker", choices=["docker", "local", "auto"])
    parser.add_argument("--no-host", action="store_true", help="Skip the host comparison.")
    parser.add_argument("--only-tasks", action="store_true",
                        help="Only the --tasks part (no project set-up figures).")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows, fixes = [], []
    with tempfile.TemporaryDirectory(prefix="real-repos-") as tmp:
        sources = [(s.split("==")[0], s) for s in (args.sdist or SDISTS)]
        sources += [(default_source(m), m) for m in args.mirror]
        if args.only_tasks:
            sources = []
        for i, (name, origin) in enumerate(sources):
            work = Path(tmp) / f"{i}-{name}"
            try:
                project = (from_sdist(origin, work) if isinstance(origin, str)
                           else export_tree(origin.resolve(), "HEAD", work / "src"))
            except TaskError as exc:
                print(f"{name}: {exc}", file=sys.stderr)
                continue
            rows.append(project_row(name, project, work, args))
            print(f"{name}: {json.dumps(rows[-1])}", file=sys.stderr, flush=True)
        if args.tasks is not None:
            for task in load_suite(args.tasks)[: args.max_tasks]:
                fixes.append(fix_task(task, args, Path(tmp) / "runs"))
                print(f"{task.id}: {json.dumps(fixes[-1])}", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps({"projects": rows, "tasks": fixes}, indent=1))
    else:
        print_report(rows, fixes, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
