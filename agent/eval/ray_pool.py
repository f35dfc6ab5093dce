"""Ray executor: ``fn(job)`` as Ray tasks, at most N in flight, on whichever node Ray picks.

Like the local executor (pool.py) it is handed the function, the jobs and the two callbacks, and
knows nothing of what the jobs are. Ray does not retry (``max_retries=0``): a job whose worker or
node dies, or that runs past ``timeout_s`` (then cancelled), goes to ``on_lost`` like a lost local
job. Nodes need not share a file system with the driver; shipping what a job needs is the caller's
business (eval packs each task directory into its job).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from agent.eval.pool import Lost, OnDispatch, OnLost, OnResult
from sandboxes import deadline as deadlines
from sandboxes.errors import UsageError

log = logging.getLogger("debug_agent.eval")

J = TypeVar("J")
R = TypeVar("R")
PACKAGES = ("agent", "envs", "sandboxes")


def _connect(address: str, workers: int) -> bool:
    """ray.init unless Ray is already up in this process; whether this call started it."""
    import ray

    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    if address == "local":
        kwargs["num_cpus"] = workers
    else:
        kwargs["address"] = address
        # Nodes of a real cluster may not have this package: ship its source with the job.
        root = Path(__file__).resolve().parents[2]
        kwargs["runtime_env"] = {"py_modules": [str(root / p) for p in PACKAGES]}
    ray.init(**kwargs)
    return True


def _call(fn: Callable[[Any], Any], job: Any) -> Any:
    """The Ray task: ``fn`` may be a functools.partial, which ray.remote does not take itself."""
    return fn(job)


def run_ray(
    fn: Callable[[J], R],
    jobs: Iterable[J],
    workers: int,
    on_result: OnResult,
    on_lost: OnLost,
    *,
    address: str = "local",
    ship: Callable[[J], Any] | None = None,
    on_dispatch: OnDispatch | None = None,
    timeout_s: float | None = None,
) -> None:
    """Run ``fn(ship(job))`` for every job as Ray tasks, until none is left (with those handed
    back); ``ship`` (default: the job itself) makes what crosses to the node.

    ``address`` "local" starts a Ray instance on this machine with ``workers`` CPUs; anything else
    is passed to ``ray.init(address=...)`` ("auto", "ray://head:10001", ...). When Ray is already
    initialized in this process (a test, a notebook), that instance is used as it is.
    """
    try:
        import ray
    except ImportError:
        raise UsageError("--ray needs Ray: pip install 'debug-agent[ray]'") from None
    started_here = _connect(address, workers)
    remote = ray.remote(num_cpus=1, max_retries=0)(_call)
    ship = ship or (lambda job: job)
    pending = list(jobs)
    in_flight: dict[Any, tuple[J, float]] = {}

    def settle(again: J | None) -> None:
        if again is not None:
            pending.append(again)

    try:
        while pending or in_flight:
            deadlines.current().check()  # SIGINT / SIGTERM: cancel what runs (finally), unwind
            while pending and len(in_flight) < workers:
                job = pending.pop(0)
                in_flight[remote.remote(fn, ship(job))] = (job, time.monotonic())
                if on_dispatch is not None:
                    on_dispatch(job, "ray", None)
            done, _ = ray.wait(list(in_flight), num_returns=1, timeout=1.0)
            for ref in done:
                job, since = in_flight.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    why = f"Ray task failed: {type(exc).__name__}: {str(exc).splitlines()[0]}"
                    settle(on_lost(job, Lost(why, time.monotonic() - since, "ray")))
                    continue
                settle(on_result(job, result))
            if timeout_s is not None:
                for ref, (job, since) in list(in_flight.items()):
                    if time.monotonic() - since > timeout_s:
                        ray.cancel(ref, force=True)
                        del in_flight[ref]
                        why = f"timed out after {timeout_s:g} s; Ray task cancelled"
                        settle(on_lost(job, Lost(why, time.monotonic() - since, "ray")))
    finally:
        for ref in in_flight:
            ray.cancel(ref, force=True)
        if started_here:
            ray.shutdown()
