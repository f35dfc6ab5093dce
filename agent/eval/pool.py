"""The local pool: N long-lived worker processes (spawn), one task at a time each.

Not ``concurrent.futures``: there a worker that dies breaks the whole pool and every pending
future. Here the parent watches each worker's pipe and process sentinel; a worker that dies (killed,
out of memory) costs only the task it held, which is recorded as an infrastructure error, and a new
worker takes its place. Workers ignore SIGINT: Ctrl-C or SIGTERM reaches the parent, which stops
them with SIGTERM, which cancels their deadline (``agent.interrupts``), so that their sandboxes
close and the task they held leaves no record (``--resume`` runs it). They also get SIGTERM when
the parent dies (``PR_SET_PDEATHSIG``), and exit by themselves on EOF on their pipe.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing as mp
import signal
import time
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import Any

from agent.eval.records import INFRA, error_record
from envs.task import Task
from sandboxes import deadline as deadlines

log = logging.getLogger("debug_agent.eval")

Job = tuple[Task, int]


def _die_with_parent() -> None:
    """Ask Linux for SIGTERM when the parent dies, so that a killed eval stops its workers."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the workers stop at EOF on their pipe, after their current task


def setup_worker_logging(level: int, log_file: str | None) -> None:
    root = logging.getLogger("debug_agent")
    root.setLevel(level)
    root.handlers.clear()
    if log_file:
        handler = logging.FileHandler(log_file)
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.propagate = False


def _worker_main(conn: Connection, config: Any) -> None:
    from agent.interrupts import handled
    from sandboxes.deadline import Cancelled

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    with handled(signals=(signal.SIGTERM,), message=False):
        try:
            _serve(conn, config)
        except Cancelled:
            return  # the sandboxes closed on the way up; the task's record is not sent


def _serve(conn: Connection, config: Any) -> None:
    setup_worker_logging(config.log_level, config.log_file)
    from agent.eval.runner import evaluate_task

    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if job is None:
            return
        task, attempt = job
        record = evaluate_task(task, config, attempt)
        try:
            conn.send(record)
        except (BrokenPipeError, OSError):
            return


class _Worker:
    def __init__(self, ctx: Any, config: Any, index: int) -> None:
        self.conn, child = ctx.Pipe()
        # Not daemonic: a daemonic process may not start processes, and policies may.
        self.process = ctx.Process(target=_worker_main, args=(child, config),
                                   name=f"eval-worker-{index}")
        self.process.start()
        child.close()
        self.job: Job | None = None
        self.since = 0.0
        self.told = False

    @property
    def name(self) -> str:
        return f"pid {self.process.pid}"

    def give(self, job: Job) -> None:
        self.conn.send(job)
        self.job, self.since = job, time.monotonic()

    def stop(self, grace_s: float = 10.0) -> None:
        """Ask an idle worker to exit, or terminate a busy one; kill it if it does not go.
        With ``grace_s`` 0, only ask: a later ``stop`` waits."""
        if self.process.is_alive() and not self.conn.closed:
            try:
                if self.job is None and not self.told:
                    self.conn.send(None)
                elif not self.told:
                    self.process.terminate()
            except (BrokenPipeError, OSError):
                self.process.terminate()
            self.told = True
            if grace_s == 0:
                return
            self.process.join(grace_s)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(5)
        self.conn.close()


def run_local(
    jobs: list[Job],
    config: Any,
    workers: int,
    *,
    on_record: Callable[[dict[str, Any]], Job | None],
    on_event: Callable[[str, dict[str, Any]], None],
    task_timeout_s: float | None = None,
) -> None:
    """Run ``jobs`` on ``workers`` processes; ``on_record`` gets each record as it arrives and may
    hand back a job to run again."""
    ctx = mp.get_context("spawn")
    pending: deque[Job] = deque(jobs)
    pool: list[_Worker] = []
    started = 0

    def new_worker() -> _Worker:
        nonlocal started
        started += 1
        return _Worker(ctx, config, started)

    def finish(worker: _Worker, record: dict[str, Any]) -> None:
        worker.job = None
        again = on_record(record)
        if again is not None:
            pending.append(again)

    def lost(worker: _Worker, why: str) -> None:
        task, attempt = worker.job
        log.warning("task %s: %s", task.id, why)
        record = error_record(task, config.policy.name, INFRA, why,
                              wall_s=time.monotonic() - worker.since, attempt=attempt,
                              worker=worker.name)
        pool.remove(worker)
        worker.stop(grace_s=2)
        finish(worker, record)

    run_deadline = deadlines.current()
    try:
        while pending or any(w.job is not None for w in pool):
            run_deadline.check()  # SIGINT / SIGTERM: stop the workers (finally) and unwind
            while pending and (len(pool) < workers or any(w.job is None for w in pool)):
                idle = next((w for w in pool if w.job is None), None)
                if idle is None:
                    idle = new_worker()
                    pool.append(idle)
                job = pending.popleft()
                try:
                    idle.give(job)
                except (BrokenPipeError, OSError):  # it died while idle: replace it, keep the job
                    log.warning("worker %s died while idle; starting another", idle.name)
                    pool.remove(idle)
                    idle.job = None
                    idle.stop(grace_s=1)
                    pending.appendleft(job)
                    continue
                on_event("dispatch", {"task_id": job[0].id, "worker": idle.name,
                                      "pid": idle.process.pid})
            busy = [w for w in pool if w.job is not None]
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy],
                         timeout=deadlines.POLL_S)
            for worker in busy:
                if worker.conn in ready or worker.conn.poll():
                    try:
                        record = worker.conn.recv()
                    except (EOFError, OSError):
                        worker.process.join(1)
                        lost(worker, f"worker {worker.name} died (exit code "
                                     f"{worker.process.exitcode}) while running the task")
                        continue
                    finish(worker, record)
                elif worker.process.sentinel in ready or not worker.process.is_alive():
                    worker.process.join(1)
                    lost(worker, f"worker {worker.name} died (exit code "
                                 f"{worker.process.exitcode}) while running the task")
                elif task_timeout_s is not None and time.monotonic() - worker.since > task_timeout_s:
                    lost(worker, f"task timed out after {task_timeout_s:g} s; worker "
                                 f"{worker.name} stopped")
    finally:
        for worker in pool:  # all are told first, so that they stop at the same time
            worker.stop(grace_s=0)
        for worker in pool:
            worker.stop()
