"""What ``candidates`` lists and ``apply`` applies: repair candidates chosen by id, not written out.

The env does not make candidates itself: a *proposer* does, named by an import path in
``EnvConfig.proposer`` (the repair engine's, ``agent.repair.proposals:propose``, by default), so
that envs keeps importing nothing of the agent at module level. A proposer is called as
``propose(files, ranking, limit=K, failures=OUTPUTS, errors=TEXTS, editable=FN, scores=MAP)``
with the repo's source files (path -> text, tests left out), the ranked suspicious lines ((path,
line), best first), each failing test's output (``failing_outputs``: node id -> output, one
entry per test, so that each test weighs once), the collection errors, which files may be edited
(``Task.leave_alone``) and the localization's score of each line, and returns up to K
``Proposal``s in the order worth trying.

A ``Listing`` numbers them ``c1`` ... ``cK`` and keeps, for each, the edit that makes it: a
SEARCH/REPLACE ``Edit`` computed against the file as it read when listed (``make_edit``), so
``apply cN`` is exactly that ``edit`` action, and a file changed since makes it fail as that edit
would.
"""

from __future__ import annotations

import difflib
import importlib
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

from envs.actions import Edit, make_edit
from envs.reward import is_test_path, task_test_files
from envs.task import Task
from envs.tools import ToolError
from sandboxes.base import Sandbox

log = logging.getLogger("debug_agent.envs")

MAX_SOURCE_CHARS = 4_000_000
"""Source read for candidates, at most (a huge repo is listed from its first files)."""


@dataclass(frozen=True)
class Proposal:
    """One candidate fix: the whole new text of one file."""

    path: str
    line: int
    """The suspicious line it was made for."""
    text: str
    family: str
    """The generator family's name ("swap_operator", ...)."""
    words: str
    """What it does, in words ("replace - with +")."""


Proposer = Callable[..., list[Proposal]]


@lru_cache(maxsize=8)
def load_proposer(spec: str) -> Proposer:
    """The function an import path ``module:function`` names; ToolError when it cannot load."""
    module, _, name = spec.partition(":")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ToolError(f"candidates are not available here: cannot load the proposer {spec!r} "
                        f"({exc}); use edit") from None
    return found


@dataclass
class Listing:
    """The latest ``candidates`` answer: id -> proposal and the edit that makes it."""

    proposals: dict[str, Proposal] = field(default_factory=dict)
    edits: dict[str, Edit] = field(default_factory=dict)
    text: str = ""
    """The observation that shows it (``format_listing``)."""

    @classmethod
    def of(cls, proposals: list[Proposal], sources: dict[str, str], where: str) -> "Listing":
        """The listing of ``proposals`` made from ``sources``, at ``where`` (in words)."""
        listing = cls()
        for proposal in proposals:
            edit = make_edit(proposal.path, sources[proposal.path], proposal.text)
            if edit is None:
                continue  # no change: nothing to choose
            key = f"c{len(listing.proposals) + 1}"
            listing.proposals[key] = proposal
            listing.edits[key] = edit
        listing.text = format_listing(listing, sources, where)
        return listing

    def __len__(self) -> int:
        return len(self.proposals)

    def find(self, path: str, text: str) -> str | None:
        """The id of the proposal that makes ``path`` read ``text``, if one does."""
        return next((key for key, p in self.proposals.items()
                     if p.path == path and p.text == text), None)


def format_listing(listing: Listing, sources: dict[str, str], where: str) -> str:
    """The observation: one entry per candidate, its id, site, words and new line(s), then a
    last line ``choose one: apply c1 | apply c2 | ...``."""
    if not listing:
        return (f"no candidates at {where}; `open` the code and write an `edit`, or "
                "`candidates PATH:LINE` at another line")
    parts = [f"{len(listing)} candidates at {where}; `apply ID` makes one (ids hold until the "
             "next edit or listing):"]
    for key, proposal in listing.proposals.items():
        parts.append(f"{key}  {proposal.path}:{proposal.line}  {proposal.words}")
        parts += ["      " + line for line in changed_lines(sources[proposal.path], proposal.text)]
    # The listing ends in the answers it expects, so that its last line (all a small model reads
    # well) tells this turn from the others, whose observations also end in a line of code.
    parts.append("choose one: " + " | ".join(f"apply {key}" for key in listing.proposals))
    return "\n".join(parts)


def changed_lines(old: str, new: str, most: int = 3) -> list[str]:
    """The lines of ``new`` that differ from ``old``, numbered as in ``new`` (at most ``most``;
    a pure deletion shows the old lines it removes)."""
    a, b = old.split("\n"), new.split("\n")
    out: list[str] = []
    for tag, i0, i1, j0, j1 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if j1 > j0:
            out += [f"{j + 1:>4}  {b[j].rstrip()}" for j in range(j0, j1)]
        else:
            out += [f"{i + 1:>4}  (removed) {a[i].rstrip()}" for i in range(i0, i1)]
    if len(out) > most:
        out = out[:most] + [f"      ... {len(out) - most} more changed lines"]
    return out


def failing_outputs(report, task: Task) -> dict[str, str]:
    """{node id: output} of the task's failing tests in a run (a ``TestReport``), in the run's
    order: what a proposer reads, and what the search reads, so that both order alike."""
    if report is None:
        return {}
    return {t: r.message for t, r in report.tests.items() if t in task.fail_to_pass}


def source_files(sandbox: Sandbox, task: Task) -> dict[str, str]:
    """The repo's Python sources that are not tests, as the sandbox has them now: read from the
    task's repo on the host (a sandbox round trip per file costs seconds on a big project), the
    files the episode changed from the sandbox."""
    repo = Path(task.repo).resolve()
    tests = task_test_files(task)
    changed = sandbox.changed_files()
    out, size = {}, 0
    for path in sandbox.list_files():
        if not path.endswith(".py") or is_test_path(path, tests):
            continue
        try:
            if path in changed:
                data = changed[path]
                if data is None:
                    continue
            else:
                host = (repo / path).resolve()
                if not host.is_relative_to(repo):
                    continue  # a link out of the repo: not the repo's source
                data = host.read_bytes()
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError):  # not text: no candidates there
            continue
        size += len(text)
        if size > MAX_SOURCE_CHARS:
            log.info("sources past %d characters are not read for candidates", MAX_SOURCE_CHARS)
            break
        out[path] = text
    return out
