"""One evaluation record per task, and results.jsonl: the append-only log of them.

Only the coordinating process writes the log, one whole line per ``os.write`` on an ``O_APPEND``
descriptor, flushed to disk before the next task is reported. A crash can therefore leave at most
one torn line, at the end; readers skip it and ``ResultsLog.open`` cuts it off before appending.
When a task appears more than once (a retried infrastructure error), its last record counts.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agent.trajectory import EpisodeResult

log = logging.getLogger("debug_agent.eval")

INFRA = "infra"
"""error_kind of a task that infrastructure failed (sandbox, Docker engine, worker, Ray node)."""
CRASH = "crash"
"""error_kind of an unexpected exception in our own code while running the task."""
POLICY = "policy"
"""error_kind of an episode the policy could not finish (model server down, generation error)."""
RETRIED_KINDS = frozenset({INFRA, CRASH})
"""Records that say nothing about the policy: ``--resume`` runs their tasks again."""


def outcome_split(tests: dict[str, str], names: Iterable[str]) -> dict[str, str]:
    return {name: tests.get(name, "missing") for name in names}


def task_record(task: Any, result: EpisodeResult, *, wall_s: float, attempt: int = 1,
                samples: list[dict] | None = None, worker: str = "") -> dict[str, Any]:
    """The results.jsonl line for one task: the kept EpisodeResult plus what eval adds."""
    from agent.eval.harness import harness_fields, patch_applies
    from agent.eval.metrics import localization_hits

    record = result.to_json()
    f2p = outcome_split(result.tests, task.fail_to_pass)
    p2p = outcome_split(result.tests, task.pass_to_pass)
    status = result.exit_status
    record.update(
        bug_class=task.bug_class or "unknown",
        fail_to_pass=f2p,
        pass_to_pass=p2p,
        f2p_passed=sum(s == "passed" for s in f2p.values()),
        f2p_total=len(f2p),
        p2p_passed=sum(s == "passed" for s in p2p.values()),
        p2p_total=len(p2p),
        wall_s=round(wall_s, 3),
        error_kind=POLICY if status.startswith("error") else None,
        localization_eval=localization_hits(task.reference_patch, result.localization,
                                            result.edited_lines),
        attempt=attempt,
        samples=samples or [],
        worker=worker,
        finished_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    record["harness"] = harness_fields(record, applied=patch_applies(task.repo, result.patch))
    return record


def error_record(task: Any, policy: str, kind: str, message: str, *, wall_s: float = 0.0,
                 attempt: int = 1, worker: str = "") -> dict[str, Any]:
    """The record of a task that produced no episode result (``kind`` is INFRA or CRASH)."""
    from agent.eval.harness import harness_fields

    result = EpisodeResult(task_id=task.id, policy=policy,
                           exit_status=f"{'infra_error' if kind == INFRA else 'crash'}: {message}")
    record = task_record(task, result, wall_s=wall_s, attempt=attempt, worker=worker)
    record["error_kind"] = kind
    record["harness"] = harness_fields(record, applied=False)
    return record


class ResultsLog:
    """results.jsonl of one evaluation run."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def read(self) -> list[dict[str, Any]]:
        """Every whole record in file order; a torn or unreadable last line is skipped."""
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        records = []
        lines = data.split(b"\n")
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                if i == len(lines) - 1:  # no newline after it: the write was cut by a crash
                    log.warning("%s: ignoring a torn last line (%d bytes)", self.path, len(line))
                    continue
                raise ValueError(f"{self.path}:{i + 1}: not a JSON line; the file was edited or "
                                 "written by something else") from None
            records.append(record)
        return records

    def latest(self) -> dict[str, dict[str, Any]]:
        """The last record of each task id."""
        return {r["task_id"]: r for r in self.read()}

    def open(self) -> ResultsLog:
        """Open for appending, first cutting off a torn last line so new lines start clean."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            data = self.path.read_bytes()
            if data and not data.endswith(b"\n"):
                keep = data.rfind(b"\n") + 1
                with open(self.path, "r+b") as f:
                    f.truncate(keep)
                    os.fsync(f.fileno())
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return self

    def append(self, record: dict[str, Any]) -> None:
        if self._fd is None:
            raise RuntimeError("ResultsLog.append before open()")
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        written = os.write(self._fd, line)  # one write: O_APPEND puts it whole at the end
        if written != len(line):
            raise OSError(f"{self.path}: short write ({written} of {len(line)} bytes)")
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ResultsLog:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
