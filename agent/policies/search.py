"""The model-free repair engine: generate-and-validate, acting through the ordinary actions.

1. ``localize``: the environment ranks suspicious lines (Ochiai over per-test coverage, boosted by
   traceback frames); the search reads that typed ranking from the episode's workspace, and adds
   the frames of the first test run's failures after it.
2. At each suspicious line, in rank order, candidate fixes come from the mutation operators
   (``envs.mutations``: the inverse of a bug is usually another mutation) and from the repair
   templates (``agent.policies.templates``: inserted guards, fresh mutable defaults):
   ``candidates_at``, the one place that proposes.
3. Candidates are validated in the episode's own sandbox by ``validate_worker``, which imports
   pytest once and forks per candidate: the failing tests first, then every test that passed.
   The first candidate that passes everything wins. When none does, the best candidate that fixes
   some failing tests without breaking others becomes the base of another round (localized
   afresh, so only the tests that still fail point at lines): faults that span two lines or two
   files are found one half at a time. The sandbox's files are put back as the episode left them.
4. The policy then plays the path to the fix, not the search: ``open`` the region, ``edit`` it,
   ``run_tests`` on the failing tests, ``submit``. A resolved episode is therefore a clean
   demonstration for SFT.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from envs.actions import Localize, Open, RunTests, Submit, format_action, make_edit
from envs.localize import localize, traceback_frames
from envs.mutations import MutationError, enumerate_mutations
from envs.mutations import apply as apply_mutation
from envs.reward import apply_changes, is_test_path, task_test_files
from sandboxes.errors import SandboxError, UsageError

from agent.policies import templates
from agent.prompts import Message

if TYPE_CHECKING:
    from envs.task import Task
    from sandboxes.base import Sandbox

    from agent.policies.base import Workspace

log = logging.getLogger("debug_agent.search")

WORKER_SOURCE = (Path(__file__).parent / "validate_worker.py").read_text()
RESULT_MARK = "@@RESULT "
MAX_REQUEST_CHARS = 90_000  # one command-line argument may not exceed 128 KiB

Location = tuple[str, int]


@dataclass
class SearchConfig:
    max_candidates: int = 1500
    """Most candidates validated in one episode."""
    time_budget_s: float = 300.0
    """Wall-clock budget for the search."""
    top_locations: int = 20
    """How many ranked lines get candidates."""
    rounds: int = 2
    """Rounds of building on a partial fix (2 finds faults that need two edits)."""
    batch_size: int = 60
    """Candidates per validation command."""
    test_timeout_s: float = 20.0
    """Limit for one candidate's test run."""

    def __post_init__(self) -> None:
        for name in ("max_candidates", "top_locations", "rounds", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"SearchConfig.{name} must be at least 1, got {getattr(self, name)}")
        for name in ("time_budget_s", "test_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"SearchConfig.{name} must be positive, got {getattr(self, name)}")


@dataclass
class Outcome:
    """How one candidate (a set of whole-file texts) did."""

    files: dict[str, str]
    description: str
    family: str = ""
    f2p_passed: int = 0
    p2p_failed: int | None = None
    """None when the pass-to-pass tests were not run."""

    def solved(self, n_f2p: int) -> bool:
        return self.f2p_passed == n_f2p and self.p2p_failed == 0


@dataclass
class SearchStats:
    candidates: int = 0
    rounds: int = 0
    elapsed_s: float = 0.0
    fix: str = ""
    history: list[str] = field(default_factory=list)


class SearchPolicy:
    """Model-free generate-and-validate repair (see the module docstring)."""

    def __init__(self, config: SearchConfig | None = None, **options) -> None:
        """Takes a SearchConfig, or its fields as keywords (``SearchPolicy(rounds=1)``)."""
        if config is not None and options:
            raise TypeError("pass either a SearchConfig or its fields, not both")
        self.config = config or SearchConfig(**options)
        self.name = "search"
        self.tokens_used = 0
        self.task: Task | None = None
        self.workspace: Workspace | None = None
        self.stats = SearchStats()
        self._plan: list[str] = []
        self._phase = "start"
        self._candidate_timeout = self.config.test_timeout_s

    def start_episode(self, task: Task, workspace: Workspace) -> None:
        """The task to repair, and the episode's workspace whose sandbox validates candidates."""
        self.task, self.workspace = task, workspace
        self.stats = SearchStats()
        self._plan = []
        self._phase = "start"

    def act(self, messages: list[Message]) -> str:
        if self._plan:
            return self._plan.pop(0)
        if self._phase == "start":
            self._phase = "localized"
            return format_action(Localize())
        if self._phase == "localized":
            self._phase = "done"
            if self.task is None or self.workspace is None:
                raise RuntimeError("the search policy needs its episode: run it through "
                                   "run_episode, which calls start_episode")
            fix = self.repair(self.ranking())
            self._plan = self.plan_for(fix)
            return self._plan.pop(0)
        return format_action(Submit())

    def ranking(self) -> list[Location]:
        """The env's ranking, then the lines named in the first run's failure tracebacks."""
        ranked = [(s.path, s.line) for s in self.workspace.localization or []]
        report, workdir = self.workspace.initial_report, self.workspace.sandbox.workdir
        for test in self.task.fail_to_pass:
            result = report.tests.get(test) if report is not None else None
            if result is not None:
                ranked += traceback_frames(result.message, workdir)
        return list(dict.fromkeys(ranked))

    # -- the search -------------------------------------------------------------------------------

    def repair(self, ranking: list[Location]) -> dict[str, tuple[str, str]]:
        """{path: (original text, fixed text)} for the best fix found; empty when none helps."""
        sandbox = self.workspace.sandbox
        started = time.monotonic()
        self._candidate_timeout = self._timeout_from(self.workspace.initial_report)
        with _files_kept(sandbox):
            best, originals = self._search(sandbox, ranking, started)
        self.stats.elapsed_s = round(time.monotonic() - started, 2)
        if best is None:
            return {}
        solved = best.solved(len(self.task.fail_to_pass))
        self.stats.fix = "; ".join(self.stats.history + ([best.description] if solved else []))
        return {path: (originals[path], text) for path, text in best.files.items()
                if text != originals[path]}

    def _search(self, sandbox: Sandbox, ranking: list[Location], started: float
                ) -> tuple[Outcome | None, dict[str, str]]:
        """Rounds of propose-and-validate; (the best outcome, the original texts it edits)."""
        cfg = self.config
        f2p, p2p = list(self.task.fail_to_pass), list(self.task.pass_to_pass)
        test_files = task_test_files(self.task)  # never "fix" the tests: the reward drops such edits
        originals: dict[str, str] = {}
        current: dict[str, str] = {}
        base_passing = 0
        best: Outcome | None = None
        seen: set[tuple] = set()
        for round_ in range(cfg.rounds):
            self.stats.rounds = round_ + 1
            if round_ > 0:  # after a partial fix only the tests that still fail point at lines
                ranking = self._localize(sandbox)
            ranking = [loc for loc in ranking if not is_test_path(loc[0], test_files)]
            candidates = self.candidates(sandbox, ranking[: cfg.top_locations], originals,
                                         current, seen)
            candidates = candidates[: cfg.max_candidates - self.stats.candidates]
            outcomes = self._validate(sandbox, candidates, current, f2p, p2p, base_passing,
                                      started)
            solved = [o for o in outcomes if o.solved(len(f2p))]
            if solved:
                return solved[0], originals
            partial = [o for o in outcomes if o.f2p_passed > base_passing and o.p2p_failed == 0]
            if not partial:
                break
            best = max(partial, key=lambda o: o.f2p_passed)
            base_passing = best.f2p_passed
            for path, text in best.files.items():
                current[path] = text
                sandbox.write_file(path, text)
            self.stats.history.append(best.description)
            if time.monotonic() - started > cfg.time_budget_s:
                break
        return best, originals

    def candidates(self, sandbox: Sandbox, ranking: list[Location], originals: dict[str, str],
                   current: dict[str, str], seen: set[tuple]) -> list[Outcome]:
        """Every candidate fix at the ranked lines, in the order to validate them.

        ``current`` holds the files as the search has them now (after a partial fix) and gains
        each file read; ``seen`` keeps a candidate from being proposed twice.
        """
        found = []
        for rank, (path, line) in enumerate(ranking):
            if path not in current:
                try:
                    originals[path] = current[path] = sandbox.read_file(path)
                except UsageError as exc:  # a frame in a file that is not in the repo
                    log.debug("skipping %s: %s", path, exc)
                    continue
            found += [(rank, c) for c in self._candidates_at(path, line, current[path], current,
                                                             seen)]
        return [c for _, c in sorted(found, key=lambda rc: _priority(*rc))]

    def _timeout_from(self, report) -> float:
        # Mutants often loop forever; waiting the full limit on each would eat the budget. A
        # candidate runs a part of the suite whose whole run took `took`: it gets a few times that.
        took = report.duration_s if report is not None else self.config.test_timeout_s
        return min(self.config.test_timeout_s, max(3.0, 4 * took + 2))

    def _localize(self, sandbox: Sandbox) -> list[Location]:
        try:
            ranked = localize(sandbox, self.task, top_n=self.config.top_locations,
                              timeout=self.config.test_timeout_s * 4)
        except (SandboxError, UsageError) as exc:  # a hint: the round goes on without it
            log.warning("search: localization after the partial fix failed: %s", exc)
            return []
        return [(s.path, s.line) for s in ranked]

    def _candidates_at(self, path, line, source, current, seen) -> list[Outcome]:
        """Candidate fixes at one line; ``Outcome.family`` says which operator made each."""
        out = []
        try:
            mutations = enumerate_mutations(source, path, lines=[line])
        except MutationError as exc:  # the file does not parse: no mutation applies
            log.debug("no mutations for %s: %s", path, exc)
            mutations = []
        texts = [(apply_mutation(source, m), m.family,
                  f"{m.family} at {path}:{m.line}: {m.description}") for m in mutations]
        texts += [(c.text, c.family, f"{c.family} at {path}:{line}: {c.description}")
                  for c in templates.template_candidates(source, path, line)]
        for text, family, description in texts:
            key = (path, text) + tuple(sorted((p, t) for p, t in current.items() if p != path))
            if text == source or key in seen:
                continue
            seen.add(key)
            files = dict(current)
            files[path] = text
            out.append(Outcome(files=files, description=description, family=family))
        return out

    def _validate(self, sandbox, candidates, current, f2p, p2p, base_passing, started) -> list[Outcome]:
        cfg = self.config
        outcomes: list[Outcome] = []
        i = 0
        while i < len(candidates):
            if time.monotonic() - started > cfg.time_budget_s or sandbox.deadline.expired:
                log.info("search: time budget of %.0f s spent", cfg.time_budget_s)
                break
            batch, payload = [], []
            size = 0
            while i < len(candidates) and len(batch) < cfg.batch_size:
                cand = candidates[i]
                spans = {p: _span(current[p], t) for p, t in cand.files.items() if t != current[p]}
                entry = {"id": str(i), "files": spans}
                entry_size = len(json.dumps(entry))
                if batch and size + entry_size > MAX_REQUEST_CHARS * 3 // 4:
                    break
                batch.append(cand)
                payload.append(entry)
                size += entry_size
                i += 1
            request = {"candidates": payload, "f2p": f2p, "p2p": p2p,
                       "timeout": self._candidate_timeout, "stop_on_success": True,
                       "p2p_from": base_passing + 1}
            encoded = base64.b64encode(json.dumps(request).encode()).decode()
            result = sandbox.run([sandbox.python, "-c", WORKER_SOURCE, encoded],
                                 timeout=self._candidate_timeout * 2 * len(batch) + 30)
            by_id = {}
            for line in result.output.splitlines():
                if line.startswith(RESULT_MARK):
                    data = json.loads(line[len(RESULT_MARK):])
                    by_id[data["id"]] = data
            if not by_id:
                log.warning("candidate validation produced no results (exit %s): %s",
                            result.exit_code, result.output[-500:])
            for entry, cand in zip(payload, batch):
                data = by_id.get(entry["id"])
                if data is None:
                    continue
                self.stats.candidates += 1
                cand.f2p_passed = sum(s == "passed" for s in data["f2p"].values())
                if data["p2p"] or not p2p:
                    if cand.f2p_passed > base_passing:
                        cand.p2p_failed = sum(s != "passed" for s in data["p2p"].values())
                outcomes.append(cand)
                if cand.solved(len(f2p)):
                    return outcomes
        return outcomes

    # -- playing the fix through actions ----------------------------------------------------------

    def plan_for(self, fix: dict[str, tuple[str, str]]) -> list[str]:
        plan = []
        for path in sorted(fix):
            old, new = fix[path]
            edit = make_edit(path, old, new)
            if edit is None:
                continue
            first = _span(old, new)["start"] + 1
            plan.append(format_action(Open(path, max(first - 5, 1), first + 15)))
            plan.append(format_action(edit))
        if plan:  # the failing tests, as the prompt asks; scoring then runs every test
            plan.append(format_action(RunTests(tuple(self.task.fail_to_pass))))
        plan.append(format_action(Submit()))
        return plan


#: Which operators to try first. Small, local changes (a flipped comparison, an off-by-one)
#: are the most common faults and the cheapest to confirm; substitutions among names come next;
#: deleting or inserting code is the last resort since it also "fixes" tests by accident.
TIERS = {
    **dict.fromkeys(("compare_boundary", "compare_direction", "compare_negate", "is_eq",
                     "int_constant", "off_by_one_bound", "arith_op", "aug_assign", "bool_op",
                     "remove_not", "bool_constant", "api_swap", "exception_type",
                     "mutable_default", "format_spec", "return_literal", "insert_not"), 0),
    **dict.fromkeys(("wrong_variable", "wrong_key", "wrong_attribute", "swap_operands",
                     "swap_arguments", "negate_condition", "remove_condition", "insert_guard",
                     "argument_literal", "return_name"), 1),
    **dict.fromkeys(("remove_statement", "return_value"), 2),
}
LOCATION_GROUP = 5
"""Lines are taken five at a time: within a group, all cheap operators before any costly one."""


def _priority(rank: int, candidate: Outcome) -> tuple[int, int, int]:
    return (rank // LOCATION_GROUP, TIERS.get(candidate.family, 1), rank)


def _span(old: str, new: str) -> dict:
    """The smallest run of lines that turns ``old`` into ``new`` (see validate_worker)."""
    a, b = old.splitlines(True), new.splitlines(True)
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    return {"start": start, "end": end_a, "text": "".join(b[start:end_b])}


@contextlib.contextmanager
def _files_kept(sandbox: Sandbox) -> Iterator[None]:
    """Put the sandbox's files back as they were (the search writes partial fixes, and candidates'
    tests may write anything), killing what candidates left running."""
    before = sandbox.changed_files()
    try:
        yield
    finally:
        sandbox.reset()
        apply_changes(sandbox, before)
