"""One deadline for a run: how long it may still take, and whether it was cancelled.

``agent fix --timeout`` and Ctrl-C / SIGTERM are one mechanism. A ``Deadline`` has an end (or
none) and can be cancelled; every blocking call of the sandboxes respects the deadline that was
current when the sandbox was opened: a command's timeout is cut to what is left, and a wait polls
``check()`` every ``POLL_S`` so that a cancellation stops it within a fraction of a second.

Deadlines nest: ``scope(30)`` opens a child of the current one, which ends at the earlier of the
two ends and is cancelled when any parent is. The root deadline of the process has no end; the
signal handlers (``agent.interrupts``) cancel it, and with it everything below.

Why not an exception raised from the signal handler? It could land anywhere, between a container
being created and being recorded; a flag checked at known points cannot. ``Cancelled`` is raised
at those points and unwinds through the context managers, which close the sandboxes.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import time
from typing import Any, Iterator

POLL_S = 0.25
"""Longest a blocking call waits before it looks at the deadline again."""


class Cancelled(BaseException):
    """The run was cancelled (SIGINT, SIGTERM).

    Not an ``Exception``: the boundaries that turn a task's failure into a record (``except
    Exception``) must not swallow it. ``partial`` holds what the interrupted work had found, when
    a layer that knows (the episode loop) attached it on the way up.
    """

    def __init__(self, signum: int = signal.SIGINT) -> None:
        self.signum = int(signum)
        self.partial: Any = None
        super().__init__(f"interrupted by {signal.Signals(self.signum).name}")

    @property
    def exit_code(self) -> int:
        """The shell's convention for a command ended by a signal: 130 for SIGINT, 143 SIGTERM."""
        return 128 + self.signum


class Deadline:
    """An end in time (monotonic clock) or none, plus a cancellation flag; see the module doc."""

    def __init__(self, seconds: float | None = None, *, parent: Deadline | None = None,
                 since: float | None = None) -> None:
        """``seconds`` from ``since`` (a ``time.monotonic()`` value; None: now)."""
        if seconds is not None and not seconds >= 0:
            raise ValueError(f"a deadline needs seconds >= 0 or None, got {seconds}")
        start = time.monotonic() if since is None else since
        self.end = None if seconds is None else start + seconds
        self.parent = parent
        self._signum: int | None = None
        self.noticed = False
        """(root only) Whether some ``check`` raised for the cancellation: the run is stopping."""

    def cancel(self, signum: int = signal.SIGINT) -> None:
        """Mark this deadline (and every child) cancelled; safe to call from a signal handler."""
        if self._signum is None:
            self._signum = int(signum)

    @property
    def cancelled(self) -> int | None:
        """The signal number that cancelled this deadline or a parent, else None."""
        node: Deadline | None = self
        while node is not None:
            if node._signum is not None:
                return node._signum
            node = node.parent
        return None

    def remaining(self) -> float:
        """Seconds left before the earliest end of this deadline and its parents (inf: none)."""
        left, node = math.inf, self
        while node is not None:
            if node.end is not None:
                left = min(left, node.end - time.monotonic())
            node = node.parent
        return max(left, 0.0)

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0

    @property
    def bounded(self) -> bool:
        return self.remaining() < math.inf

    def clip(self, timeout: float) -> float:
        """``timeout`` cut to what is left of the deadline."""
        return max(0.0, min(timeout, self.remaining()))

    def check(self) -> None:
        """Raise ``Cancelled`` if this deadline was cancelled."""
        signum = self.cancelled
        if signum is not None:
            _ROOT.noticed = True
            raise Cancelled(signum)

    def sleep(self, seconds: float) -> None:
        """``time.sleep`` that wakes for a cancellation (and then raises ``Cancelled``)."""
        end = time.monotonic() + min(seconds, self.remaining())
        while True:
            self.check()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, POLL_S))

    def child(self, seconds: float | None = None, since: float | None = None) -> Deadline:
        return Deadline(seconds, parent=self, since=since)

    def __repr__(self) -> str:
        left = f"{self.remaining():.1f} s left"
        state = f"cancelled by {self.cancelled}" if self.cancelled else left
        return f"Deadline({state})"


def process_start() -> float:
    """The ``time.monotonic()`` value at which this process started: ``agent fix --timeout``
    counts from there, so that the interpreter's start and the imports before the command runs
    are inside it. Linux tells it (/proc/self/stat); elsewhere, when this module was imported."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()  # the name in (...) may hold spaces
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        age = uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime
    except (OSError, ValueError, IndexError):
        return _IMPORTED
    return time.monotonic() - max(age, 0.0)


_IMPORTED = time.monotonic()
_ROOT = Deadline()
_stack: list[Deadline] = [_ROOT]


def root() -> Deadline:
    """The process's deadline: no end, cancelled by the signal handlers."""
    return _ROOT


def current() -> Deadline:
    """The innermost deadline opened by ``scope`` (the root when none is open)."""
    return _stack[-1]


@contextlib.contextmanager
def scope(seconds: float | None = None, since: float | None = None) -> Iterator[Deadline]:
    """Open a child of the current deadline that ends ``seconds`` after ``since`` (a
    ``time.monotonic()`` value, None: now; ``seconds`` None: no end of its own); sandboxes
    opened inside it respect it."""
    deadline = current().child(seconds, since)
    _stack.append(deadline)
    try:
        yield deadline
    finally:
        _stack.remove(deadline)
