"""run.json across resumes: when the run started, each session (the first one and every
``--resume``), and the total elapsed time, so that a resumed run reports its whole cost rather
than that of its last session."""

from __future__ import annotations

import time
from typing import Any


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def carry_over(previous: dict[str, Any] | None, run_info: dict[str, Any]) -> None:
    """Fill ``run_info`` (this session's settings) with what the earlier sessions recorded."""
    if not previous:
        run_info.update(resumed=0, sessions=[])
        return
    run_info["started_at"] = previous.get("started_at", run_info["started_at"])
    run_info["resumed"] = int(previous.get("resumed", 0)) + 1
    sessions = list(previous.get("sessions") or [])
    if not sessions and "elapsed_s" in previous:  # a run.json from before sessions were kept
        sessions = [{"started_at": previous.get("started_at"),
                     "finished_at": previous.get("finished_at"),
                     "elapsed_s": float(previous["elapsed_s"]), "tasks_run": None}]
    run_info["sessions"] = sessions


def finish(run_info: dict[str, Any], *, session_started_at: str, elapsed_s: float,
           tasks_run: int) -> None:
    """Record this session and the totals over all of them."""
    run_info["sessions"] = [*run_info.get("sessions", []), {
        "started_at": session_started_at, "finished_at": now(),
        "elapsed_s": round(elapsed_s, 3), "tasks_run": tasks_run}]
    run_info["session_elapsed_s"] = round(elapsed_s, 3)
    run_info["elapsed_s"] = round(sum(float(s.get("elapsed_s") or 0)
                                      for s in run_info["sessions"]), 3)
    run_info["finished_at"] = run_info["sessions"][-1]["finished_at"]
