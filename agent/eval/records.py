"""One evaluation record per task (``EvalRecord``), and results.jsonl: the append-only log of them.

A record is the kept ``EpisodeResult`` plus what evaluation adds; it becomes JSON only here, at
the JSONL edge, as one flat object (the episode's keys and the record's side by side). Keys a
reader does not know are kept in ``extra`` and written back, so a newer writer's fields survive a
resume by an older reader. To add a field, give ``EvalRecord`` one with a default: ``to_json`` and
``from_json`` pick it up.

Only the coordinating process writes the log, one whole line per ``os.write`` on an ``O_APPEND``
descriptor, flushed to disk before the next task is reported. A crash can therefore leave at most
one torn line, at the end; readers skip it and ``ResultsLog.open`` cuts it off before appending.
When a task appears more than once (a retried infrastructure error), its last record counts.
"""

from __future__ import annotations

import enum
import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from agent.trajectory import EpisodeResult, ExitStatus

log = logging.getLogger("debug_agent.eval")


class ErrorKind(enum.StrEnum):
    """Why a record says nothing (INFRA, CRASH) or little (POLICY) about the policy's skill."""

    INFRA = "infra"
    """Infrastructure failed: the sandbox, the Docker engine, a worker process, a Ray node."""
    CRASH = "crash"
    """An unexpected exception in our own code while running the task."""
    POLICY = "policy"
    """The policy could not finish the episode (model server down, generation error)."""
    SETUP = "setup"
    """The task's project environment could not be built (SetupFailed): not retried, the same
    declaration fails the same way."""


RETRIED_KINDS = frozenset({ErrorKind.INFRA, ErrorKind.CRASH})
"""Records that say nothing about the policy: ``--resume`` and ``--retries`` run them again."""


@dataclass
class Sample:
    """One of several episodes on a task (``--samples``); the kept one is the record's result."""

    resolved: bool
    reward: float
    tests_passed: int
    patch_lines: int
    steps: int
    exit_status: str
    trajectory_path: str | None
    kept: bool


_EPISODE_KEYS = frozenset(f.name for f in fields(EpisodeResult))
_DERIVED_KEYS = frozenset({"f2p_passed", "f2p_total", "p2p_passed", "p2p_total"})


@dataclass
class EvalRecord:
    """The results.jsonl line of one task."""

    result: EpisodeResult
    bug_class: str = "unknown"
    fail_to_pass: dict[str, str] = field(default_factory=dict)
    """Each fail_to_pass test's status after the episode ("missing" when it did not run)."""
    pass_to_pass: dict[str, str] = field(default_factory=dict)
    wall_s: float = 0.0
    error_kind: ErrorKind | None = None
    localization_eval: dict[str, Any] | None = None
    """metrics.localization_hits against the reference patch; None without one."""
    attempt: int = 1
    samples: list[Sample] = field(default_factory=list)
    worker: str = ""
    finished_at: str = ""
    harness: dict[str, Any] = field(default_factory=dict)
    """The task's entry of the SWE-bench harness report (``agent.eval.harness``)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys of the JSON line this version does not know, written back unchanged."""

    @property
    def task_id(self) -> str:
        return self.result.task_id

    @property
    def resolved(self) -> bool:
        return self.result.resolved

    @property
    def retried(self) -> bool:
        """An infrastructure error or a crash: a run that says nothing about the policy."""
        return self.error_kind in RETRIED_KINDS

    @property
    def status(self) -> str:
        """How the task ended, for tables: the exit status, or infra_error / crash."""
        if self.error_kind == ErrorKind.INFRA:
            return "infra_error"
        if self.error_kind == ErrorKind.CRASH:
            return "crash"
        if self.error_kind == ErrorKind.SETUP:
            return "setup_failed"
        return str(self.result.exit_status)

    @property
    def status_text(self) -> str:
        """``status``, with what failed when something did."""
        return f"{self.status}: {self.result.error}" if self.result.error else self.status

    def passed(self, which: dict[str, str]) -> int:
        return sum(s == "passed" for s in which.values())

    def to_json(self) -> dict[str, Any]:
        data = self.result.to_json()
        for f in fields(self):
            if f.name not in ("result", "extra"):
                value = getattr(self, f.name)
                data[f.name] = [asdict(s) for s in value] if f.name == "samples" else value
        data.update(f2p_passed=self.passed(self.fail_to_pass), f2p_total=len(self.fail_to_pass),
                    p2p_passed=self.passed(self.pass_to_pass), p2p_total=len(self.pass_to_pass))
        return {**self.extra, **data}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvalRecord:
        own = {f.name for f in fields(cls)} - {"result", "extra"}
        episode = {k: v for k, v in data.items() if k in _EPISODE_KEYS}
        episode.setdefault("policy", "")
        status, error = _exit_status(str(episode.get("exit_status", "")),
                                     str(episode.get("error", "")))
        episode.update(exit_status=status, error=error)
        kwargs = {k: v for k, v in data.items() if k in own}
        if kwargs.get("error_kind") is not None:
            kwargs["error_kind"] = ErrorKind(kwargs["error_kind"])
        kwargs["samples"] = [Sample(**s) for s in kwargs.get("samples") or []]
        extra = {k: v for k, v in data.items()
                 if k not in own and k not in _EPISODE_KEYS and k not in _DERIVED_KEYS}
        return cls(result=EpisodeResult(**episode), extra=extra, **kwargs)


def _exit_status(status: str, error: str) -> tuple[ExitStatus | str, str]:
    """The typed exit status of a JSON line; lines from before the type spelled errors as
    "error: MESSAGE", "infra_error: MESSAGE" or "crash: MESSAGE"."""
    if status in {s.value for s in ExitStatus}:
        return ExitStatus(status), error
    head, sep, message = status.partition(": ")
    if sep and head in ("error", "infra_error", "crash"):
        return ExitStatus.ERROR, error or message
    return status, error


class ResultsLog:
    """results.jsonl of one evaluation run."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def read(self) -> list[EvalRecord]:
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
            if not isinstance(record, dict) or "task_id" not in record:
                raise ValueError(f"{self.path}:{i + 1}: not an eval record (no task_id)")
            records.append(EvalRecord.from_json(record))
        return records

    def latest(self) -> dict[str, EvalRecord]:
        """The last record of each task id."""
        return {r.task_id: r for r in self.read()}

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

    def append(self, record: EvalRecord) -> None:
        if self._fd is None:
            raise RuntimeError("ResultsLog.append before open()")
        line = (json.dumps(record.to_json(), separators=(",", ":")) + "\n").encode()
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
