"""What a page shows, read from the files a run leaves: trajectories, eval records, run.json.

Everything here is plain data (dataclasses of strings and numbers) so that the templates only lay
it out. A trajectory does not store the files it edited; when the original sources are at hand
(the task's ``repo/`` of an eval run, or ``--repo``), the diff after each step is rebuilt by
replaying the episode's edits with the environment's own edit semantics, and checked against the
final patch the environment reported.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.trajectory import FORMAT
from sandboxes.errors import UsageError

if TYPE_CHECKING:
    from agent.eval.records import EvalRecord

#: One row of a ``localize`` observation: ``path:line  score  text``.
_RANK_ROW = re.compile(r"^(?P<loc>\S+:\d+)\s+(?P<score>-?\d+(?:\.\d+)?)\s{2}(?P<text>.*)$")
#: A non-passing test in a test report observation: ``FAILED tests/x.py::t``.
_BAD_TEST = re.compile(r"^(?P<status>FAILED|ERROR|ERRORED|TIMEOUT|[A-Z_]+) (?P<node>\S+::\S.*)$")


@dataclass
class RankedLine:
    rank: int
    location: str
    score: float | None = None
    text: str = ""
    edited: bool = False
    """The final patch changes this line."""
    reference: bool = False
    """The task's reference patch changes this line (eval runs with a reference)."""


@dataclass
class StepView:
    number: int
    verb: str
    action: str
    observation: str
    reward: float
    elapsed_s: float
    format_error: bool = False
    diff: str | None = None
    """The whole change to the repository after this step; None when it could not be rebuilt."""
    diff_changed: bool = False
    """This step changed the diff (an edit that took)."""
    diff_from: int = 0
    """The step whose diff this still is (0: none yet), so a page shows each diff once."""
    edit: str = ""
    """For an ``apply``: the equivalent ``edit`` action the env carried out."""


@dataclass
class TestRow:
    name: str
    before: str
    after: str
    group: str = ""
    """fail_to_pass | pass_to_pass | "" when the trajectory alone cannot say."""

    @property
    def flipped(self) -> bool:
        return self.before != self.after


@dataclass
class TrajectoryView:
    task_id: str
    policy: str
    source: str
    """The trajectory file this page was made from."""
    steps: list[StepView]
    resolved: bool | None = None
    reward: float | None = None
    exit_status: str = ""
    elapsed_s: float | None = None
    patch: str = ""
    tests: list[TestRow] = field(default_factory=list)
    ranking: list[RankedLine] = field(default_factory=list)
    intro: str = ""
    """The first observation (the failing tests and their errors)."""
    diffs_note: str = ""
    """Why the diff after each step is missing or approximate, if it is."""
    record: EvalRecord | None = None
    """The eval record of the task, when the page is part of an eval run."""
    explanation: dict[str, Any] | None = None
    """`agent fix`'s explanation of its fix (agent.explain), when the run left one."""


def load_trajectory_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read the trajectory {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise UsageError(f"{path} is not a {FORMAT} trajectory (format: {found!r})")
    return data


def trajectory_view(path: Path, *, repo: Path | None = None,
                    record: EvalRecord | None = None,
                    reference_patch: str | None = None) -> TrajectoryView:
    """The page model of one trajectory file (``repo``: the original sources, if at hand)."""
    data = load_trajectory_json(path)
    result = data.get("result") or {}
    messages = data.get("messages") or []
    intro = next((m["content"] for m in messages if m.get("role") == "user"), "")
    steps = [_step(i, s) for i, s in enumerate(data.get("steps") or [], 1)]
    patch = result.get("patch") or ""
    note = replay_diffs(steps, repo, patch)
    edited = _edited(patch)
    view = TrajectoryView(
        task_id=data["task_id"], policy=data["policy"], source=str(path), steps=steps,
        resolved=result.get("resolved"), reward=result.get("reward"),
        exit_status=result.get("exit_status", ""), elapsed_s=result.get("elapsed_s"),
        patch=patch, intro=intro, diffs_note=note, record=record,
        tests=test_rows(intro, result.get("tests") or {}, record),
        ranking=ranking(steps, result.get("localization") or [], edited,
                        _edited(reference_patch or "")),
    )
    return view


def _step(number: int, step: dict[str, Any]) -> StepView:
    info = step.get("info") or {}
    format_error = bool(info.get("format_error"))
    # The env names the verb it carried out; a malformed action has none.
    verb = info.get("action") or ("?" if format_error else _verb(step["action"]))
    return StepView(number=number, verb=verb, action=step["action"],
                    observation=step["observation"], reward=step["reward"],
                    elapsed_s=step["elapsed_s"], format_error=format_error,
                    edit=str(info.get("edit") or ""))


def _verb(action: str) -> str:
    words = action.replace("`", " ").split()
    return words[0] if words else "?"


def _edited(patch: str) -> set[tuple[str, int]]:
    from agent.patches import edited_lines

    return {(p, n) for p, lines in edited_lines(patch).items() for n in lines}


def test_rows(intro: str, after: dict[str, str], record: EvalRecord | None) -> list[TestRow]:
    """Each test's status before the episode and after it.

    An eval record names the task's fail_to_pass (failing before, by the task's definition) and
    pass_to_pass tests; a bare trajectory only has its first observation, which lists the tests
    that did not pass (every other test of the final run passed before).
    """
    if record and (record.fail_to_pass or record.pass_to_pass):
        rows = [TestRow(n, "failed", s, "fail_to_pass") for n, s in record.fail_to_pass.items()]
        rows += [TestRow(n, "passed", s, "pass_to_pass") for n, s in record.pass_to_pass.items()]
        return rows
    before: dict[str, str] = {}
    for line in intro.splitlines():
        match = _BAD_TEST.match(line)
        if match:
            before[match["node"]] = match["status"].lower()
    names = list(before) + [n for n in after if n not in before]
    return [TestRow(n, before.get(n, "passed"), after.get(n, "not run"),
                    "fail_to_pass" if n in before else "pass_to_pass") for n in names]


def ranking(steps: list[StepView], localization: list[str], edited: set[tuple[str, int]],
            reference: set[tuple[str, int]]) -> list[RankedLine]:
    """The localization ranking: the last ``localize`` observation (scores and code), else the
    result's list of locations."""
    rows: list[RankedLine] = []
    for step in reversed(steps):
        if step.verb == "localize" and not step.format_error:
            for line in step.observation.splitlines():
                match = _RANK_ROW.match(line.strip())
                if match:
                    rows.append(RankedLine(len(rows) + 1, match["loc"], float(match["score"]),
                                           match["text"]))
            if rows:
                break
    if not rows:
        rows = [RankedLine(i, loc) for i, loc in enumerate(localization, 1)]
    for row in rows:
        path, _, line = row.location.rpartition(":")
        key = (path, int(line)) if line.isdigit() else (row.location, -1)
        row.edited, row.reference = key in edited, key in reference
    return rows


# -- the diff after each step ----------------------------------------------------------------------


def replay_diffs(steps: list[StepView], repo: Path | None, final_patch: str) -> str:
    """Fill in ``step.diff`` by replaying the edits over the files of ``repo``; returns a note
    when that is not possible or does not end in ``final_patch`` (then no step gets a diff)."""
    from envs.actions import ActionError

    if repo is None or not repo.is_dir():
        return "the original sources are not at hand, so the diff after each step is not shown"
    original: dict[str, str] = {}
    current: dict[str, str] = {}
    last_change = 0
    for step in steps:
        took = ((step.verb == "edit" and step.observation.startswith("edited "))
                or (step.verb == "apply" and step.observation.startswith("applied ")))
        if took:
            try:
                step.diff_changed = _replay_edit(step.edit or step.action, repo, original,
                                                 current)
            except (ActionError, OSError) as exc:
                _clear(steps)
                return f"replaying step {step.number} failed ({exc}); the diff after each step is not shown"
        step.diff = unified_diff(original, current)
        last_change = step.number if step.diff_changed else last_change
        step.diff_from = last_change
    if steps and _changed_lines(steps[-1].diff or "") != _changed_lines(final_patch):
        _clear(steps)
        return ("the replayed edits do not give the final patch (the sources changed since, or "
                "an action other than edit changed files); only the final patch is shown")
    return ""


def _replay_edit(action_text: str, repo: Path, original: dict[str, str],
                 current: dict[str, str]) -> bool:
    """Apply one edit action to ``current`` (files read from ``repo`` on first use); whether it
    changed anything. Raises ActionError (or ToolError) as the env would have."""
    from envs.actions import Edit, parse_action
    from envs.tools import _apply_block, clean_path  # the env's own SEARCH/REPLACE semantics

    action = parse_action(action_text)
    if not isinstance(action, Edit):
        return False
    path = clean_path(action.path)
    if path not in current:
        original[path] = current[path] = (repo / path).read_text(errors="replace")
    text = current[path]
    for i, block in enumerate(action.blocks, 1):
        text, _ = _apply_block(text, block, i if len(action.blocks) > 1 else 0, path)
    changed = text != current[path]
    current[path] = text
    return changed


def _clear(steps: list[StepView]) -> None:
    for step in steps:
        step.diff, step.diff_changed, step.diff_from = None, False, 0


def unified_diff(original: dict[str, str], current: dict[str, str]) -> str:
    parts = []
    for path in sorted(current):
        if current[path] == original[path]:
            continue
        lines = difflib.unified_diff(original[path].splitlines(keepends=True),
                                     current[path].splitlines(keepends=True),
                                     f"a/{path}", f"b/{path}")
        parts.append(f"diff --git a/{path} b/{path}\n"
                     + "".join(line if line.endswith("\n") else line + "\n" for line in lines))
    return "".join(parts)


def _changed_lines(patch: str) -> list[str]:
    """The -/+ lines of a patch, a comparison that ignores headers and context widths."""
    return [line for line in patch.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]
