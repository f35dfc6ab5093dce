"""SIGINT and SIGTERM: stop within seconds, close every sandbox, exit 130 / 143.

``handled()`` is the one place signals are turned into the shared mechanism of
``sandboxes.deadline``: the first signal cancels the process's root deadline, so every sandbox
command in flight raises ``Cancelled`` within a fraction of a second and the context managers
close the sandboxes on the way up; the command prints what it has and exits 128 + signal.

Code that never waits on a sandbox (a training step, a model's generation) does not look at the
deadline; if the run has not stopped ``grace_s`` after the signal, ``Cancelled`` is raised in the
main thread wherever it is. A second signal exits at once (``os._exit``): what is left open then
ends by itself (the containers' keepers see their owner gone).

Python ignores SIGINT in a process started in the background by a non-interactive shell; the
handlers here are installed all the same, since a user's ``kill -INT`` means stop.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import signal
import threading
from typing import Iterator

from sandboxes.deadline import Cancelled, Deadline, root

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def handled(signals: tuple[int, ...] = SIGNALS, grace_s: float | None = 5.0,
            message: bool = True) -> Iterator[Deadline]:
    """Within the block, ``signals`` cancel the root deadline (see the module docstring).

    ``grace_s`` None: never raise into the main thread (for a coordinator that polls the
    deadline itself and needs the time to stop its workers). Only in the main thread; elsewhere
    the block runs without handlers.
    """
    deadline = root()
    deadline.noticed = False
    if threading.current_thread() is not threading.main_thread():
        yield deadline
        return
    state = {"escalating": False, "timer": None}

    def escalate(signum: int) -> None:
        if deadline.noticed:
            return  # a sandbox call saw the cancellation: the run is already unwinding
        state["escalating"] = True
        _thread.interrupt_main(signum)  # runs `handler` in the main thread, which raises

    def handler(signum: int, frame: object) -> None:
        if state["escalating"]:
            state["escalating"] = False
            raise Cancelled(deadline.cancelled or signum)
        if deadline.cancelled is not None:
            os.write(2, b"interrupted again: exiting now\n")
            os._exit(128 + signum)
        deadline.cancel(signum)
        if message:
            os.write(2, f"\n{signal.Signals(signum).name}: stopping (a second Ctrl-C exits at "
                        "once)\n".encode())
        if grace_s is not None:
            timer = threading.Timer(grace_s, escalate, args=(signum,))
            timer.daemon = True
            timer.start()
            state["timer"] = timer

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield deadline
    finally:
        if state["timer"] is not None:
            state["timer"].cancel()
        for s, old in previous.items():
            signal.signal(s, old)
