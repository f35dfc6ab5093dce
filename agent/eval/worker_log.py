"""Logging inside a worker process (local or Ray): the package logger at the parent's level,
to the run's log file when there is one, and never to the parent's console (the progress display
owns it)."""

from __future__ import annotations

import logging


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
