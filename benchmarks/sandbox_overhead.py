"""What a sandbox costs: one small suite run on the host, in the local and the Docker sandbox.

    python benchmarks/sandbox_overhead.py [--runs 10] [--suite DIR] [--json]

For each backend: the median wall time of a full pytest run (``run_pytest``, warm sandbox: the
container is started once), its ratio to a plain ``python -m pytest`` on the host, the median
``reset()`` time and the cold start (open the sandbox until a first command has run). The host
run autoloads the host's installed pytest plugins (as a user's pytest would); a second host row
without them shows how much of the host time that is. Targets
from issue 2: Docker warm run at most 1.3x the host run, reset under 150 ms.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SUITE = HERE / "fixtures" / "overhead_suite"


def host_runs(suite: Path, runs: int, autoload: bool = True) -> tuple[list[float], int]:
    times, passed = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "suite"
        shutil.copytree(suite, copy)
        for _ in range(runs):
            start = time.monotonic()
            proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                                  cwd=copy, capture_output=True, text=True,
                                  env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1",
                                       **({} if autoload else
                                          {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})})
            times.append(time.monotonic() - start)
            match = re.search(r"(\d+) passed", proc.stdout)
            passed = int(match.group(1)) if match else 0
    return times, passed


def sandbox_runs(suite: Path, backend: str, runs: int) -> dict:
    from sandboxes import open_sandbox, run_pytest

    start = time.monotonic()
    sandbox = open_sandbox(suite, backend=backend)
    try:
        sandbox.run("true")
        cold = time.monotonic() - start
        times, resets, passed = [], [], 0
        for _ in range(runs):
            start = time.monotonic()
            report = run_pytest(sandbox)
            times.append(time.monotonic() - start)
            passed = sum(s == "passed" for s in report.statuses.values())
            start = time.monotonic()
            sandbox.reset()
            resets.append(time.monotonic() - start)
    finally:
        sandbox.close()
    return {"run_s": times, "reset_s": resets, "cold_start_s": cold, "passed": passed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per backend")
    parser.add_argument("--suite", type=Path, default=DEFAULT_SUITE, help="test suite directory")
    parser.add_argument("--backends", default="local,docker", help="comma-separated")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    host, host_passed = host_runs(args.suite, args.runs)
    host_median = statistics.median(host)
    bare, _ = host_runs(args.suite, args.runs, autoload=False)
    result = {"suite": str(args.suite), "runs": args.runs,
              "host": {"median_run_s": host_median, "passed": host_passed},
              "host_no_plugins": {"median_run_s": statistics.median(bare),
                                  "ratio_to_host": statistics.median(bare) / host_median}}
    for backend in args.backends.split(","):
        raw = sandbox_runs(args.suite, backend, args.runs)
        median = statistics.median(raw["run_s"])
        result[backend] = {
            "median_run_s": median, "ratio_to_host": median / host_median,
            "median_reset_s": statistics.median(raw["reset_s"]),
            "cold_start_s": raw["cold_start_s"], "passed": raw["passed"],
        }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"suite {args.suite.name}: {host_passed} tests, {args.runs} runs each")
    print(f"{'':8} {'median run':>11} {'x host':>7} {'reset':>9} {'cold start':>11} {'passed':>7}")
    print(f"{'host':8} {host_median * 1000:9.0f}ms {1.0:7.2f} {'':>9} {'':>11} {host_passed:7d}")
    bare = result["host_no_plugins"]
    print(f"{'host -p-':8} {bare['median_run_s'] * 1000:9.0f}ms {bare['ratio_to_host']:7.2f}"
          "   (host, PYTEST_DISABLE_PLUGIN_AUTOLOAD=1)")
    for backend in args.backends.split(","):
        r = result[backend]
        print(f"{backend:8} {r['median_run_s'] * 1000:9.0f}ms {r['ratio_to_host']:7.2f} "
              f"{r['median_reset_s'] * 1000:7.0f}ms {r['cold_start_s'] * 1000:9.0f}ms "
              f"{r['passed']:7d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
