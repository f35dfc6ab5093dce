"""`agent eval`: run a policy over a suite of tasks, each in its own sandbox, and measure it.

    runner.py    EvalConfig, evaluate_task (one task, in a worker), run_eval (a whole run)
    pool.py      local worker processes;  ray_pool.py  the same over Ray
    records.py   the results.jsonl record and its append-only, crash-safe log
    metrics.py   fault-localization hits and the run summary
    report.py    report.md and a self-contained report.html
    compare.py   compare two runs; export SWE-bench predictions
"""

from agent.eval.runner import EvalConfig, PolicySpec, evaluate_task, rebuild_outputs, run_eval

__all__ = ["EvalConfig", "PolicySpec", "evaluate_task", "rebuild_outputs", "run_eval"]
