"""Trajectories: one JSON file per episode, rewritten after every step so a crash loses nothing."""

from __future__ import annotations

import enum
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.prompts import Message

FORMAT = "debug-agent.trajectory/1"


class ExitStatus(enum.StrEnum):
    """How an episode ended: what ``run_episode`` produces (a str, so it is JSON as it stands)."""

    SUBMITTED = "submitted"
    """The policy submitted (the env terminated the episode)."""
    STEP_LIMIT = "step_limit"
    """The env truncated the episode: its step budget ran out."""
    TIME_LIMIT = "time_limit"
    """The env truncated the episode: its time budget ran out."""
    FORMAT_ERRORS = "format_errors"
    """Too many malformed actions in a row; the loop submitted on the policy's behalf."""
    ERROR = "error"
    """The policy failed (model server down, generation error); ``EpisodeResult.error`` says how."""
    INTERRUPTED = "interrupted"
    """SIGINT / SIGTERM stopped the run; the result holds what was found so far (not scored)."""


@dataclass
class Step:
    action: str
    observation: str
    reward: float
    elapsed_s: float
    info: dict[str, Any] = field(default_factory=dict)
    """The small, JSON-safe part of the env's info (verb, format_error; for an ``apply``, the
    equivalent ``edit`` action as text)."""


@dataclass
class EpisodeResult:
    task_id: str
    policy: str
    resolved: bool = False
    reward: float = 0.0
    patch: str = ""
    tests: dict[str, str] = field(default_factory=dict)
    steps: int = 0
    elapsed_s: float = 0.0
    exit_status: ExitStatus | str = ""
    """An ExitStatus once run_episode has finished the episode."""
    error: str = ""
    """With ExitStatus.ERROR: what failed ("ConnectionError: ...")."""
    truncated: bool = False
    localization: list[str] = field(default_factory=list)
    edited_lines: dict[str, list[int]] = field(default_factory=dict)
    trajectory_path: str | None = None
    tokens: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Trajectory:
    task_id: str
    policy: str
    messages: list[Message] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    result: EpisodeResult | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "task_id": self.task_id,
            "policy": self.policy,
            "messages": self.messages,
            "steps": [asdict(s) for s in self.steps],
            "result": self.result.to_json() if self.result else None,
        }

    def save(self, path: str | Path) -> None:
        write_json_atomic(Path(path), self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> "Trajectory":
        data = json.loads(Path(path).read_text())
        if data.get("format") != FORMAT:
            raise ValueError(f"{path}: not a {FORMAT} trajectory (format={data.get('format')!r})")
        result = EpisodeResult(**data["result"]) if data.get("result") else None
        return cls(
            task_id=data["task_id"],
            policy=data["policy"],
            messages=data["messages"],
            steps=[Step(**s) for s in data["steps"]],
            result=result,
        )


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that a reader never sees half a file: temp file in the same dir, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
