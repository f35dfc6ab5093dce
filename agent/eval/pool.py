"""Local executor: N long-lived worker processes (spawn), one job at a time each, running ``fn``.

It knows nothing of evaluation: it is handed the function to run, the jobs, and what to do with
each result or lost job (as mini-swe-agent's batch runner hands its executor
``process_instance``). ``fn``, the jobs and the results travel by pickle, so ``fn`` is a
module-level function (or a ``functools.partial`` of one).

Not ``concurrent.futures``: there a worker that dies breaks the whole pool and every pending
future. Here the parent watches each worker's pipe and process sentinel; a worker that dies (killed,
out of memory) or runs past ``timeout_s`` costs only the job it held, which goes to ``on_lost``,
and a new worker takes its place. Workers ignore SIGINT: Ctrl-C or SIGTERM reaches the parent,
whose deadline (``sandboxes.deadline``) this loop watches; it stops them with SIGTERM, which
cancels their own deadline (``agent.interrupts``), so that their sandboxes close and the job they
held sends no result. They also get SIGTERM when the parent dies (``PR_SET_PDEATHSIG``), and exit
by themselves on EOF on their pipe.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing as mp
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

from sandboxes import deadline as deadlines

log = logging.getLogger("debug_agent.eval")

J = TypeVar("J")
R = TypeVar("R")


@dataclass(frozen=True)
class Lost:
    """A job that produced no result: its worker died, or it ran past the timeout."""

    why: str
    wall_s: float
    worker: str


OnResult = Callable[[J, R], "J | None"]
"""on_result(job, result): the result arrived; may hand back a job to run next (a retry)."""
OnLost = Callable[[J, Lost], "J | None"]
"""on_lost(job, lost): the job was lost; may hand back a job to run next."""
OnDispatch = Callable[[J, str, "int | None"], None]
"""on_dispatch(job, worker name, pid or None): the job was handed to a worker."""


def _die_with_parent() -> None:
    """Ask Linux for SIGTERM when the parent dies, so that a killed run stops its workers."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the workers stop at EOF on their pipe, after their current job


def _worker_main(conn: Connection, fn: Callable[[Any], Any],
                 init: Callable[[], None] | None) -> None:
    from agent.interrupts import handled

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    with handled(signals=(signal.SIGTERM,), message=False):
        try:
            _serve(conn, fn, init)
        except deadlines.Cancelled:
            return  # the sandboxes closed on the way up; the job's result is not sent


def _serve(conn: Connection, fn: Callable[[Any], Any], init: Callable[[], None] | None) -> None:
    if init is not None:
        init()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if job is None:
            return
        result = fn(job)
        try:
            conn.send(result)
        except (BrokenPipeError, OSError):
            return


class _Worker(Generic[J]):
    def __init__(self, ctx: Any, fn: Callable, init: Callable | None, index: int) -> None:
        self.conn, child = ctx.Pipe()
        # Not daemonic: a daemonic process may not start processes, and fn may.
        self.process = ctx.Process(target=_worker_main, args=(child, fn, init),
                                   name=f"worker-{index}")
        self.process.start()
        child.close()
        self.job: J | None = None
        self.since = 0.0
        self.told = False

    @property
    def name(self) -> str:
        return f"pid {self.process.pid}"

    def give(self, job: J) -> None:
        self.conn.send(job)
        self.job, self.since = job, time.monotonic()

    def stop(self, grace_s: float = 10.0) -> None:
        """Ask an idle worker to exit, or terminate a busy one; kill it if it does not go.
        With ``grace_s`` 0, only ask: a later ``stop`` waits."""
        if self.process.is_alive() and not self.conn.closed:
            try:
                if not self.told and self.job is None:
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
    fn: Callable[[J], R],
    jobs: Iterable[J],
    workers: int,
    on_result: OnResult,
    on_lost: OnLost,
    *,
    init: Callable[[], None] | None = None,
    on_dispatch: OnDispatch | None = None,
    timeout_s: float | None = None,
) -> None:
    """Run ``fn(job)`` for every job on up to ``workers`` processes (each runs ``init()`` first)
    until no job is left, including those the callbacks hand back."""
    ctx = mp.get_context("spawn")
    pending: deque[J] = deque(jobs)
    pool: list[_Worker[J]] = []
    started = 0

    def settle(worker: _Worker[J], again: J | None) -> None:
        worker.job = None
        if again is not None:
            pending.append(again)

    def lost(worker: _Worker[J], why: str) -> None:
        job = worker.job
        log.warning("%s: %s", job, why)
        pool.remove(worker)
        worker.stop(grace_s=2)
        settle(worker, on_lost(job, Lost(why, time.monotonic() - worker.since, worker.name)))

    def died(worker: _Worker[J]) -> None:
        worker.process.join(1)
        lost(worker, f"worker {worker.name} died (exit code {worker.process.exitcode}) while "
                     "running the job")

    def dispatch() -> None:
        nonlocal started
        while pending and (len(pool) < workers or any(w.job is None for w in pool)):
            idle = next((w for w in pool if w.job is None), None)
            if idle is None:
                started += 1
                idle = _Worker(ctx, fn, init, started)
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
            if on_dispatch is not None:
                on_dispatch(job, idle.name, idle.process.pid)

    run_deadline = deadlines.current()
    try:
        while pending or any(w.job is not None for w in pool):
            run_deadline.check()  # SIGINT / SIGTERM: stop the workers (finally) and unwind
            dispatch()
            busy = [w for w in pool if w.job is not None]
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy],
                         timeout=deadlines.POLL_S)
            for worker in busy:
                if worker.conn in ready or worker.conn.poll():
                    try:
                        result = worker.conn.recv()
                    except (EOFError, OSError):
                        died(worker)
                        continue
                    settle(worker, on_result(worker.job, result))
                elif worker.process.sentinel in ready or not worker.process.is_alive():
                    died(worker)
                elif timeout_s is not None and time.monotonic() - worker.since > timeout_s:
                    lost(worker, f"timed out after {timeout_s:g} s; worker {worker.name} stopped")
    finally:
        for worker in pool:  # all are told first, so that they stop at the same time
            worker.stop(grace_s=0)
        for worker in pool:
            worker.stop()
