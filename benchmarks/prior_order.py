"""Does a trained model order the search's candidates better? `agent fix --prior` on held-out tasks.

The tasks are the learning benchmark's family (``benchmarks/learning.py``: single-function
modules with one mutation; held-out tasks come from source functions never trained on). Then:

1. demonstrations: the search policy on the training tasks (``trainers.data.collect``); it plays
   its fix as ``candidates`` + ``apply ID`` where the fix is in the listing, ``edit`` otherwise;
2. a tiny local base (``trainers.tiny``, or ``--base DIR``, e.g. the learning benchmark's cached
   pretrained one) and QLoRA SFT on those demonstrations (``trainers.sft``);
3. on every held-out task, two episodes of the search with ``extra_candidates=0`` (so that it
   stops at its first plausible fix): without a prior and with ``prior=ADAPTER``. Printed: the
   candidates validated until the fix (mean, median, per-task wins / losses), the search's
   seconds, the prior's scoring seconds and load time, and how often the fix was the first
   candidate of each order.

Run: ``python benchmarks/prior_order.py --work /tmp/prior-order`` (``--quick`` for a check that
the pipeline runs). Every stage's output stays in WORK; a rerun reuses it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path


def held_out_runs(tasks_dir: Path, adapter: str, args) -> list[dict]:
    """One row per held-out task: the search's candidates and seconds, without and with prior."""
    from agent.loop import run_episode
    from agent.policies.search import SearchPolicy
    from envs.env import DebugEnv, EnvConfig
    from envs.task import load_suite
    from sandboxes.config import SandboxConfig

    rows = []
    config = EnvConfig(sandbox=SandboxConfig("local"), max_steps=10, time_budget_s=300)
    for task in load_suite(tasks_dir):
        row: dict = {"task": task.id, "bug_class": task.bug_class}
        for label, prior in (("engine", None), ("prior", adapter)):
            policy = SearchPolicy(extra_candidates=0, prior=prior,
                                  time_budget_s=args.search_budget)
            with DebugEnv(config, tasks=[task]) as env:
                result = run_episode(policy, env, task=task)
            row[label] = {"resolved": result.resolved, "candidates": policy.stats.candidates,
                          "search_s": policy.stats.elapsed_s, "prior_s": policy.stats.prior_s,
                          "prior_order": policy.stats.prior_order}
        print(f"{task.id}: engine {row['engine']['candidates']} candidates, prior "
              f"{row['prior']['candidates']} (order {' '.join(row['prior']['prior_order'])})",
              flush=True)
        rows.append(row)
    return rows


def summary(rows: list[dict]) -> dict:
    both = [r for r in rows if r["engine"]["resolved"] and r["prior"]["resolved"]]

    def stat(label: str, key: str) -> dict:
        values = [r[label][key] for r in both]
        return {"mean": round(statistics.mean(values), 2) if values else None,
                "median": statistics.median(values) if values else None}

    return {
        "tasks": len(rows), "resolved_by_both": len(both),
        "candidates_until_fix": {k: stat(k, "candidates") for k in ("engine", "prior")},
        "search_s": {k: stat(k, "search_s") for k in ("engine", "prior")},
        "prior_scoring_s": stat("prior", "prior_s"),
        "prior_fewer": sum(r["prior"]["candidates"] < r["engine"]["candidates"] for r in both),
        "prior_more": sum(r["prior"]["candidates"] > r["engine"]["candidates"] for r in both),
        "first_candidate_fixes": {k: sum(r[k]["candidates"] == 1 for r in both)
                                  for k in ("engine", "prior")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", default="/tmp/debug-agent-prior-order")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="Tiny settings: checks the pipeline.")
    parser.add_argument("--base", default=None,
                        help="A base model directory to use instead of building a tiny one.")
    parser.add_argument("--held-out", type=int, default=4, help="Hand-written sources held out.")
    parser.add_argument("--generated", type=int, default=0, help="Generated training sources.")
    parser.add_argument("--generated-held-out", type=int, default=4)
    parser.add_argument("--per-source", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pretrain-steps", type=int, default=0)
    parser.add_argument("--sft-steps", type=int, default=60)
    parser.add_argument("--sft-lr", type=float, default=3e-3)
    parser.add_argument("--search-budget", type=float, default=120.0)
    args = parser.parse_args()
    if args.quick:
        args.held_out, args.generated, args.generated_held_out, args.per_source = 1, 1, 1, 1
        args.sft_steps = 5

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from learning import make_tasks  # the learning benchmark's task family

    from sandboxes.config import SandboxConfig
    from trainers.data import CollectConfig, collect
    from trainers.sft import SFTRunConfig, run_sft
    from trainers.tiny import TinyModelConfig, init_tiny

    work = Path(args.work)
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    if not (work / "tasks" / "train").is_dir():
        make_tasks(work / "tasks", args.seed, args.held_out, args.per_source, args.generated,
                   args.generated_held_out, 0)
    summary_ = collect(CollectConfig(tasks=str(work / "tasks" / "train"), out=str(work / "demos"),
                                     workers=args.workers, sandbox=SandboxConfig("local"),
                                     max_steps=10))
    rows = [json.loads(p.read_text()) for p in (work / "demos" / "trajectories").glob("*.json")]
    applied = sum(any(s["info"].get("action") == "apply" for s in t["steps"]) for t in rows)
    print(f"demonstrations: {summary_.resolved} resolved, {applied} by candidates + apply, "
          f"{summary_.resolved - applied} by edit", flush=True)
    timings["demonstrations_s"] = round(time.monotonic() - t0, 1)

    t0 = time.monotonic()
    base = args.base or str(work / "model")
    if args.base is None and not (work / "model" / "config.json").is_file():
        init_tiny(work / "model", TinyModelConfig(seed=args.seed,
                                                  pretrain_steps=args.pretrain_steps))
    adapter = work / "adapter"
    if not (adapter / "adapter_config.json").is_file():
        result = run_sft(SFTRunConfig(model=base, dataset=str(work / "demos" / "dataset"),
                                      output_dir=str(adapter), max_steps=args.sft_steps,
                                      learning_rate=args.sft_lr, batch_size=4,
                                      max_length=4096, report_to=["none"], seed=args.seed))
        print(f"SFT loss {result.losses[0]:.2f} -> {result.losses[-1]:.2f}", flush=True)
    timings["model_and_sft_s"] = round(time.monotonic() - t0, 1)

    t0 = time.monotonic()
    from agent.policies.prior import load_prior

    load_prior(str(adapter))
    timings["prior_load_s"] = round(time.monotonic() - t0, 1)
    t0 = time.monotonic()
    held = held_out_runs(work / "tasks" / "test", str(adapter), args)
    timings["held_out_s"] = round(time.monotonic() - t0, 1)
    figures = summary(held) | {"timings": timings, "demonstrations": {
        "resolved": summary_.resolved, "by_apply": applied}}
    (work / "results.json").write_text(json.dumps({"figures": figures, "rows": held}, indent=2))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
