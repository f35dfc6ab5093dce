"""The reference policy: replays a task's reference.patch as ``edit`` actions, then submits.

It is the upper bound of a suite (every task should resolve with it) and a cheap, real policy for
evaluation tests and benchmarks: it goes through the same loop, actions, sandbox and scoring as
any other policy.
"""

from __future__ import annotations

from pathlib import Path

from agent.patches import Hunk, parse_patch
from agent.policies.base import ScriptedPolicy
from envs.actions import Edit, EditBlock, Localize, RunTests, format_action
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


def reference_policy(task, *, localize: bool = True, run_tests: bool = False) -> ScriptedPolicy:
    """A ScriptedPolicy that plays ``task``'s reference.patch (after a ``localize``), then submits."""
    if task is None:
        raise UsageError("the reference policy needs the task (make_policy('reference', task=...))")
    if not task.reference_patch:
        # Nothing to replay: the policy submits at once and the task stays unresolved.
        return ScriptedPolicy([], name="reference")
    replies = reference_actions(task.reference_patch, Path(task.repo), localize=localize,
                                run_tests=run_tests)
    return ScriptedPolicy(replies, name="reference")
