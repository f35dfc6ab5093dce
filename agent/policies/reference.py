"""The reference policy: replays a task's reference.patch as ``edit`` actions, then submits.

It is the upper bound of a suite (every task should resolve with it) and a cheap, real policy for
evaluation tests and benchmarks: it goes through the same loop, actions, sandbox and scoring as
any other policy. With ``candidates=True`` it plays the fix the copy-free way where it can: after
``localize``, ``candidates`` and ``apply ID`` when the listing at the top localized lines holds
exactly the fixed file (as the search policy's demonstrations do), the edits otherwise.
"""

from __future__ import annotations

from pathlib import Path

from agent.patches import Hunk, parse_patch
from agent.policies.base import ScriptedPolicy
from envs.actions import (
    ActionError, Apply, Candidates, Edit, EditBlock, Localize, RunTests, format_action,
)
from sandboxes.errors import UsageError


def _unique_block(hunk: Hunk, source: list[str]) -> tuple[list[str], list[str]]:
    """Widen a hunk with lines of the original file until its old side occurs there only once.

    The env applies a SEARCH block where it matches; a hunk whose context repeats elsewhere in the
    file would be ambiguous.
    """
    old, new = list(hunk.old), list(hunk.new)
    n = len(old)
    starts = [i for i in range(len(source) - n + 1) if source[i : i + n] == old]
    if len(starts) <= 1 or not old:
        return old, new
    # The match nearest the @@ header's line is the hunk's; widen it until it is unique.
    at = min(starts, key=lambda i: abs(i - (hunk.old_start - 1)))
    start, end = at, at + n
    while start > 0 or end < len(source):
        start, end = max(start - 1, 0), min(end + 1, len(source))
        block = source[start:end]
        if sum(source[i : i + len(block)] == block for i in range(len(source) - len(block) + 1)) == 1:
            before, after = source[start:at], source[at + n : end]
            return before + old + after, before + new + after
    return old, new


def reference_actions(patch: str, repo: Path | None = None, *, localize: bool = True,
                      run_tests: bool = False) -> list[str]:
    """The assistant messages that apply ``patch`` as edits (``submit`` is left to the policy).

    With ``repo``, hunks are widened until unique in the original files. Created and deleted files
    cannot be expressed as SEARCH/REPLACE edits and are left out.
    """
    replies = [format_action(Localize())] if localize else []
    for file_patch in parse_patch(patch):
        if file_patch.created or file_patch.deleted or not file_patch.hunks:
            continue
        source: list[str] = []
        if repo is not None and (repo / file_patch.path).is_file():
            source = (repo / file_patch.path).read_text().splitlines()
        blocks = []
        for hunk in file_patch.hunks:
            old, new = _unique_block(hunk, source) if source else (hunk.old, hunk.new)
            blocks.append(EditBlock("\n".join(old), "\n".join(new)))
        replies.append(format_action(Edit(file_patch.path, tuple(blocks))))
    if run_tests:
        replies.append(format_action(RunTests()))
    return replies


def reference_policy(task, *, localize: bool = True, run_tests: bool = False,
                     candidates: bool = False) -> ScriptedPolicy:
    """A ScriptedPolicy that plays ``task``'s reference.patch (after a ``localize``), then submits;
    with ``candidates``, by ``candidates`` + ``apply ID`` where the listing holds the fix."""
    if task is None:
        raise UsageError("the reference policy needs the task (make_policy('reference', task=...))")
    if not task.reference_patch:
        # Nothing to replay: the policy submits at once and the task stays unresolved.
        return ScriptedPolicy([], name="reference")
    replies = reference_actions(task.reference_patch, Path(task.repo), localize=localize,
                                run_tests=run_tests)
    if candidates and localize:
        return _ByCandidate(replies, task)
    return ScriptedPolicy(replies, name="reference")


class _ByCandidate(ScriptedPolicy):
    """The reference replies, whose single edit becomes ``candidates`` + ``apply ID`` when the
    listing after ``localize`` holds the file as the edit leaves it."""

    def __init__(self, replies: list[str], task) -> None:
        super().__init__(replies, name="reference")
        self.played = list(replies)
        self.repo = Path(task.repo)
        self.workspace = None

    def start_episode(self, task, workspace) -> None:
        super().start_episode(task, workspace)
        self.replies, self.workspace = list(self.played), workspace
        edits = [r for r in self.replies if r.lstrip("`\n").startswith("edit")]
        self._swap = len(edits) == 1  # decided at the edit's turn, when localize has run

    def act(self, messages) -> str:
        from envs.actions import parse_action

        reply = super().act(messages)
        if not (self._swap and reply.lstrip("`\n").startswith("edit")):
            return reply
        self._swap = False
        edit = parse_action(reply)
        fixed = (self.repo / edit.path).read_text()
        for block in edit.blocks:
            fixed = fixed.replace(block.search, block.replace, 1)
        try:
            key = self.workspace.list_candidates().find(edit.path, fixed)
        except ActionError:
            key = None  # no proposer here: the edit says the same
        if key is None:
            return reply
        self.replies.insert(self._next, format_action(Apply(key)))
        return format_action(Candidates())
