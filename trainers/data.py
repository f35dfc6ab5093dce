"""Verified demonstrations: run a policy over tasks, keep resolved episodes, build a chat dataset.

Collection is an evaluation run (``agent.eval.run_eval``) whose resolved trajectories become the
dataset, so it runs on the same executors as ``agent eval``: worker processes or Ray, retries of
infrastructure errors, a crash-safe results.jsonl, and resume (a rerun skips the tasks that have a
record and runs again those an infrastructure error cut off). Episodes go through ``run_episode``
and ``DebugEnv``, the same loop and environment as inference, and each one's trajectory becomes
SFT examples (``turn_examples``): its message list less the last observation (what the env said
after ``submit``: nothing to learn from), each assistant turn trained on the context the same
``fit_messages`` the model policies apply at inference gave it (so the model is trained on the
text it will see); one example per trajectory unless the character budget trimmed an observation
a turn had seen whole.

Output directory (an eval run directory, plus)::

    OUT/
      trajectories/<task_id>.json   resolved episodes (the demonstrations)
      unresolved/<task_id>.json     the rest, kept for inspection
      dataset/                      a `datasets` Dataset on disk: messages (each with "train"),
                                    task_id, bug_class, ...
      manifest.json                 tasks, bug classes, counts, policy
      results.jsonl, run.json, summary.json, report.md, report.html   (as `agent eval` writes)
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.eval import EvalConfig, EvalRecord, PolicySpec, run_eval
from agent.eval.records import ResultsLog
from agent.eval.runner import RESULTS, Listener
from agent.prompts import Message, fit_messages
from agent.trajectory import Trajectory, write_json_atomic
from envs.task import Task, load_suite
from sandboxes.config import SandboxConfig

log = logging.getLogger("debug_agent.trainers.data")

MANIFEST_FORMAT = "debug-agent.demonstrations/1"


@dataclass
class CollectConfig:
    tasks: str
    """A task directory or a suite of them."""
    out: str
    """Output directory (trajectories/, unresolved/, dataset/, manifest.json, results.jsonl)."""
    policy: str = "search"
    """Policy that demonstrates: search (model-free), reference (replays reference.patch), ..."""
    policy_options: dict[str, Any] = field(default_factory=dict)
    """Extra options for make_policy."""
    workers: int = 1
    """Episodes run at once, each in its own sandbox and worker process."""
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    """Where episodes run (backend, image, limits)."""
    max_steps: int = 30
    """Step budget per episode."""
    time_budget_s: float = 600.0
    """Wall-clock budget per episode."""
    max_context_chars: int = 24_000
    """Character budget of fit_messages; match the hf policy's max_context_chars."""
    candidates_k: int = 8
    """Candidates a ``candidates`` listing shows (EnvConfig.candidates_k): the search
    demonstrates its fix as ``candidates`` + ``apply ID`` where the fix is among them."""
    retries: int = 1
    """Extra attempts for a task whose episode an infrastructure error cut off."""
    ray_address: str | None = None
    """None: local worker processes; "local" or an address: Ray tasks (as `agent eval --ray`)."""

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")

    def eval_config(self) -> EvalConfig:
        """The evaluation run that collects: one episode per task, always resuming."""
        options = {k: v for k, v in self.policy_options.items() if v is not None}
        return EvalConfig(
            tasks=self.tasks, out=self.out, policy=PolicySpec(self.policy, options),
            workers=self.workers, sandbox=self.sandbox, max_steps=self.max_steps, resume=True,
            retries=self.retries, task_timeout_s=2 * self.time_budget_s + 120,
            ray_address=self.ray_address,
            env_options={"time_budget_s": self.time_budget_s, "candidates_k": self.candidates_k})


@dataclass
class CollectSummary:
    attempted: int
    resolved: int
    skipped: int
    """Tasks already done by an earlier run."""
    errors: dict[str, str]
    """task id -> what went wrong, for episodes that could not run."""
    dataset_rows: int


def turn_examples(messages: list[Message], max_chars: int) -> list[list[Message]]:
    """The SFT examples of one trajectory: every assistant turn trained on the context it had.

    At inference the policy answering turn ``i`` sees ``fit_messages(messages[:i], max_chars)``:
    the budget trims older observations to a note as the episode grows, and never the latest. A
    trajectory fitted once, as its last turn saw it, would train an earlier turn on a note where
    that turn saw the whole observation. So the examples are built from the last turn backwards:
    an example is the last untrained turn's context and its action, and it trains (``"train":
    True`` on the message) every earlier turn whose own context is its prefix; the turns it cannot
    train (a later trim changed what came before them) get an example of their own. A trajectory
    the budget never cut is one example that trains every turn, as before. Every message carries
    ``"train"`` (False on observations and on the turns another example trains), which
    ``trainers.sft`` turns into the loss mask. Examples come in the order of their last turns.
    """
    messages = list(messages)
    while messages and messages[-1]["role"] != "assistant":
        messages.pop()
    turns = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
    contexts = {i: fit_messages(messages[:i], max_chars) for i in turns}

    def same(a: list[Message], b: list[Message]) -> bool:
        return [(m["role"], m["content"]) for m in a] == [(m["role"], m["content"]) for m in b]

    examples, left = [], list(turns)
    while left:
        last = left[-1]
        example = [{"role": m["role"], "content": m["content"], "train": False}
                   for m in contexts[last] + [messages[last]]]
        trained = [i for i in left if same(example[:i], contexts[i])]
        for i in trained:
            example[i]["train"] = True
        left = [i for i in left if i not in trained]
        examples.append(example)
    return examples[::-1]


def collect(config: CollectConfig, on_event: Listener | None = None) -> CollectSummary:
    """Run the policy over every task not done yet, then rebuild the dataset and the manifest.

    ``on_event`` hears the evaluation's events ("start", "dispatch", "record", "retry", "end").
    """
    out = Path(config.out)
    todo = 0

    def listen(kind: str, data: dict[str, Any]) -> None:
        nonlocal todo
        if kind == "start":
            todo = data["todo"]
        if on_event is not None:
            on_event(kind, data)

    run_eval(config.eval_config(), on_event=listen)
    tasks = load_suite(config.tasks)
    records = ResultsLog(out / RESULTS).latest()
    for record in records.values():
        file_unresolved(record, out)
    rows = build_dataset(out, tasks, records, config)
    return CollectSummary(
        attempted=todo, resolved=sum(r.resolved for r in records.values()),
        skipped=len(tasks) - todo,
        errors={r.task_id: r.status_text for r in records.values() if r.retried},
        dataset_rows=rows)


def file_unresolved(record: EvalRecord, out: Path) -> None:
    """Move the trajectory of an episode that did not resolve from trajectories/ to unresolved/,
    so that trajectories/ holds the demonstrations only."""
    path = record.result.trajectory_path
    if record.resolved or not path or not Path(path).is_file():
        return
    target = out / "unresolved" / Path(path).name
    target.parent.mkdir(parents=True, exist_ok=True)
    Path(path).replace(target)
    record.result.trajectory_path = str(target)


def build_dataset(out: Path, tasks: list[Task], records: dict[str, EvalRecord],
                  config: CollectConfig) -> int:
    """Write dataset/ and manifest.json from the records and their trajectories; returns the row
    count."""
    from datasets import Dataset

    rows: list[dict[str, Any]] = []
    entries = []
    for task in tasks:
        record = records.get(task.id)
        entry = {"id": task.id, "bug_class": task.bug_class, "source": task.source,
                 "resolved": None, "steps": None, "reward": None}
        if record is not None and not record.retried:
            result = record.result
            entry.update(resolved=result.resolved, steps=result.steps, reward=result.reward)
            if result.resolved:
                trajectory = Trajectory.load(result.trajectory_path)
                rows += [{
                    "messages": messages,
                    "task_id": task.id,
                    "bug_class": task.bug_class or "",
                    "source": task.source or "",
                    "reward": result.reward,
                    "steps": result.steps,
                } for messages in turn_examples(trajectory.messages, config.max_context_chars)]
        entries.append(entry)
    if rows:
        Dataset.from_list(rows).save_to_disk(str(out / "dataset"))
    resolved = [e for e in entries if e["resolved"]]
    manifest = {
        "format": MANIFEST_FORMAT,
        "policy": config.policy,
        "tasks_dir": str(config.tasks),
        "config": asdict(config),
        "counts": {
            "tasks": len(tasks),
            "attempted": sum(e["resolved"] is not None for e in entries),
            "resolved": len(resolved),
            "examples": len(rows),
            "by_bug_class": dict(Counter(e["bug_class"] or "unknown" for e in resolved)),
            "by_source": dict(Counter(e["source"] or "unknown" for e in resolved)),
        },
        "tasks": entries,
        "dataset": "dataset" if rows else None,
    }
    write_json_atomic(out / "manifest.json", manifest)
    return len(rows)
