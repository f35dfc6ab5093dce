"""`agent eval`: run a policy over a suite of tasks, each in its own sandbox, and measure it.

    runner.py      EvalConfig, run_eval (a whole run: what to run, resume, retries, outputs)
    worker.py      PolicySpec, evaluate_task (one task, in a worker process or a Ray task)
    pool.py        the local executor: run_local(fn, jobs, workers, on_result, on_lost)
    ray_pool.py    the same over Ray: run_ray(fn, jobs, workers, on_result, on_lost)
    worker_log.py  logging inside workers
    records.py     EvalRecord, the results.jsonl line, and its append-only, crash-safe log
    metrics.py     fault-localization hits and the run summary
    harness.py     per task the fields of the SWE-bench harness report
    sessions.py    run.json across resumes: started, each session, total elapsed
    report.py      report.md, report.html (task pages by agent.view), swebench_report.json
    compare.py     compare two runs; export SWE-bench predictions
"""

from agent.eval.records import ErrorKind, EvalRecord
from agent.eval.runner import EvalConfig, rebuild_outputs, run_eval
from agent.eval.worker import PolicySpec, evaluate_task

__all__ = ["ErrorKind", "EvalConfig", "EvalRecord", "PolicySpec", "evaluate_task",
           "rebuild_outputs", "run_eval"]
