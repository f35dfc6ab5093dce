"""The model-free repair engine: generate-and-validate, acting through the ordinary actions.

1. ``localize``: the environment ranks suspicious lines (Ochiai over per-test coverage, boosted by
   traceback frames); the search reads that typed ranking and its run (coverage, durations) from
   the episode's workspace, adds the frames of the first test run's failures after it, and puts
   first the lines where code cannot run at all (a SyntaxError, a name nothing binds, the frames
   of a module that fails to import, code quoted into a string) and the def line of a function
   that a call's TypeError says was called against its signature.
2. At each ranked line every family of ``agent.repair`` proposes fixes (mutation operators,
   repair templates, expressions over names in scope, conditions, ingredients from the program
   itself, misspelled names, token-level syntax fixes); ``agent.repair.rank`` orders them by the
   line's rank and the family's measured prior and drops AST duplicates and code that does not
   compile: ``candidates``, the one place that proposes. When the first batch holds no fix,
   angelic runs (``_angelic``) force the conditions of the top lines in the failing tests and
   record the values in scope; conditions synthesized from those records come next.
3. Candidates are validated in the episode's own sandbox by ``validate_worker``, which imports
   pytest once and forks per candidate: the failing tests first, then the passing tests whose
   coverage touches the edited file (stopping at the first failure), then, for a candidate that
   fixes everything, the rest of the suite once. Each test's limit comes from the first run's
   durations. After the first plausible fix a small extra budget looks for a smaller, more local
   one (``rank.choose``). When none passes, the best candidate that fixes some failing tests
   without breaking others becomes the base of another round (localized afresh, so only the
   tests that still fail point at lines): faults that span two lines or two files are found one
   half at a time. A round whose candidates run dry with time left and nothing fixed goes on
   (``_go_on``, ``agent.policies.reach``): the candidates at the lines ranked below the top,
   interleaved with pairs of the round's own candidates (those that each moved how a failing
   test fails first), for faults where neither edit alone makes a test pass. The sandbox's
   files are put back as the episode left them.
4. The policy then plays the path to the fix, not the search: ``open`` the region, ``edit`` it,
   ``run_tests`` on the failing tests, ``submit``. A resolved episode is therefore a clean
   demonstration for SFT. ``SearchPolicy.stats`` says which family won, after how many
   candidates, in which stage, the rank of its line and the tests that cover it.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import logging
import sys
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from agent.policies import reach
from agent.policies.validate_worker import is_group
from agent.prompts import Message
from agent.repair import Candidate, angelic, evidence, rank
from agent.repair.proposals import in_order, naive_order, problem_lines
from envs.actions import (
    ActionError,
    Apply,
    Candidates,
    Localize,
    Open,
    RunTests,
    Submit,
    format_action,
    make_edit,
)
from envs.candidates import failing_outputs, source_files
from envs.limits import coverage_limits, passing_run_s, statuses_of, test_limits
from envs.localize import localize_report, traceback_frames
from envs.reward import apply_changes, is_test_path, task_test_files
from sandboxes.errors import SandboxError, UsageError

if TYPE_CHECKING:
    from agent.policies.base import Workspace
    from envs.task import Task
    from sandboxes.base import Sandbox

log = logging.getLogger("debug_agent.search")

WORKER_SOURCE = (Path(__file__).parent / "validate_worker.py").read_text()
RESULT_MARK = "@@RESULT "
COPIES_MARK = "@@COPIES "
MAX_REQUEST_CHARS = 90_000  # one command-line argument may not exceed 128 KiB

Location = tuple[str, int]
ENGINES = ("full", "naive")
PARTIAL_SHARE = 0.3
"""Share of the search's budget a round spends before a partial fix ends it early."""
ANGELIC_LINES = 5
"""How many of the top-ranked lines the angelic runs look at for condition sites..."""
ANGELIC_SITES = 4
"""...and how many sites they force at most."""
ANGELIC_MOST = 24
"""Synthesized conditions validated at most (the top-ranked sites' first)."""
ANGELIC_SHARE = 0.3
"""Share of what is left of the search's budget the angelic runs may take (at most
ANGELIC_MAX_S): they come after the first batch, often the larger part of a short budget."""
ANGELIC_MAX_S = 15.0
ANGELIC_MIN_BUDGET_S = 20.0
ANGELIC_MIN_LEFT_S = 5.0
"""With a search budget under ANGELIC_MIN_BUDGET_S, or under ANGELIC_MIN_LEFT_S of it left, the
search skips the angelic runs."""


@dataclass
class SearchConfig:
    max_candidates: int | None = None
    """Most candidates validated in one episode; None: as many as ``time_budget_s`` allows
    (a fixed cap would end a search that `agent fix --timeout` gave more time, at the same
    point as a short one)."""
    time_budget_s: float = 300.0
    """Wall-clock budget for the search."""
    top_locations: int = 20
    """How many ranked lines get candidates."""
    rounds: int = 2
    """Rounds of building on a partial fix (2 finds faults that need two edits)."""
    batch_size: int = 60
    """Candidates per validation command."""
    test_timeout_s: float = 20.0
    """Most seconds one test may run; the first run's durations set a lower limit per test."""
    extra_candidates: int = 30
    """After the first plausible fix, how many more candidates (that could beat it) are tried,
    so that the smallest, most local plausible edit wins rather than the first; after the
    first partial fix, how many more the round tries before the next round builds on it."""
    engine: str = "full"
    """"full": every repair family at the ranked lines, ranked; "naive": the baseline, single
    mutations (``envs.mutations``) of every source file in file order, neither localized nor
    ranked (``proposals.naive_order``)."""
    jobs: int = 1
    """Candidates validated at once, each in its own copy of the repo in the sandbox
    (``validate_worker``); the results are those of validating them one at a time, in order.
    Give the sandbox as many CPUs (``SandboxLimits.cpus``)."""
    angelic: bool = True
    """Run the failing tests with the top lines' conditions forced and synthesize conditions
    from the values they record (``agent.repair.angelic``), once the first batch of static
    candidates holds no fix; its candidates come before the rest."""
    prior: str | None = None
    """A trained adapter directory (`agent train sft` / `ppo`): its probabilities over the
    ``candidates`` listing of the top lines order their validation (``agent.policies.prior``)."""

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"SearchConfig.engine must be one of {', '.join(ENGINES)}, "
                             f"got {self.engine!r}")
        if self.extra_candidates < 0:
            raise ValueError(f"SearchConfig.extra_candidates must be >= 0, got {self.extra_candidates}")
        for name in ("max_candidates", "top_locations", "rounds", "batch_size", "jobs"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"SearchConfig.{name} must be at least 1, got {value}")
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
    candidate: Candidate | None = None
    rank: int = 0
    """Rank (0-based) of the candidate's line in the search's ranking."""
    fixed: frozenset[str] = frozenset()
    """The failing tests it makes pass."""
    stage: str = ""
    """Where it came from after a round ran dry ("lines", "pairs"; ``SearchStats.stage``)."""
    signature: dict[str, str] | None = None
    """Each failing test's status and crash-message checksum (the worker's ``f2p_sig``)."""

    def solved(self, n_f2p: int) -> bool:
        return self.f2p_passed == n_f2p and self.p2p_failed == 0


@dataclass
class SearchStats:
    """What the search did, and how the winning edit relates to the evidence."""

    candidates: int = 0
    """Candidates validated."""
    rounds: int = 0
    elapsed_s: float = 0.0
    fix: str = ""
    history: list[str] = field(default_factory=list)
    family: str = ""
    """The family that produced the winning edit ("" when none)."""
    line: str = ""
    """path:line the winning edit was made for."""
    line_rank: int = 0
    """1-based rank of that line in the search's ranking (0 when none won)."""
    covering_tests: list[str] = field(default_factory=list)
    """Tests of the first run that ran that line."""
    plausible: int = 0
    """Plausible fixes found (the first one and those of the extra budget)."""
    families: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per family: candidates validated ("tried") and plausible ones."""
    generate_s: float = 0.0
    """Seconds spent making candidates (every family, ranking, AST deduplication, compiling)."""
    validate_s: float = 0.0
    """Seconds spent validating them in the sandbox (worker round trips)."""
    localize_s: float = 0.0
    """Seconds spent localizing afresh after a partial fix (coverage runs of later rounds)."""
    prior_order: list[str] = field(default_factory=list)
    """With a prior: the listed candidates' ids, likeliest first, as validated."""
    prior_s: float = 0.0
    """Seconds the prior took to score them."""
    angelic_sites: int = 0
    """Condition sites the angelic runs forced."""
    angelic_found: int = 0
    """Of those, sites where a forcing made a failing test pass."""
    angelic_candidates: int = 0
    """Conditions synthesized from the recorded values (validated first)."""
    angelic_s: float = 0.0
    """Seconds the angelic runs and the synthesis took."""
    stage: str = ""
    """What found the winning edit: "round 1" / "round 2" (the round's own candidates, a round
    after the first building on a partial fix), "combined" (two partial fixes of one round
    joined), "lines" (a candidate at a line below the top ones) or "pairs" (two of the round's
    candidates at once), the last two once the round's candidates ran dry (``agent.policies.
    reach``); "" when none won."""
    reached: dict[str, int] = field(default_factory=dict)
    """Candidates validated after a round's ran dry: {"lines": n, "pairs": n}."""
    copies_made: int = 0
    """With jobs > 1: copies of the repo the validation worker made from nothing (one per job
    for the whole search, plus one for each copy a candidate spoiled); later batches only
    re-sync the files that changed."""


class SearchPolicy:
    """Model-free generate-and-validate repair (see the module docstring)."""

    def __init__(self, config: SearchConfig | None = None, **options) -> None:
        """Takes a SearchConfig, or its fields as keywords (``SearchPolicy(rounds=1)``)."""
        if config is not None and options:
            raise TypeError("pass either a SearchConfig or its fields, not both")
        self.config = config or SearchConfig(**options)
        self.name = "search"
        self.prior = None
        if self.config.prior is not None:
            from agent.policies.prior import load_prior

            self.prior = load_prior(self.config.prior)
            self.name = "search+prior"
        self._messages: list[Message] = []
        self.tokens_used = 0
        self.task: Task | None = None
        self.workspace: Workspace | None = None
        self.stats = SearchStats()
        self._plan: list[str] = []
        self._phase = "start"
        self._reset_evidence()

    def _reset_evidence(self) -> None:
        self._coverage: dict = {}
        self._scores: dict[Location, float] = {}
        """Suspiciousness of the localized lines (the ranking's ties share a rank)."""
        self._suite: dict = {}
        self._failures: dict[str, str] = {}
        """The failing tests' outputs, node id -> output (their hints raise families:
        rank.order), as the env's ``candidates`` listing gets them (``failing_outputs``)."""
        self._collection_errors: list[str] = []
        self._copies: str | None = None
        """With jobs > 1: the folder in the sandbox's scratch dir where the worker keeps the
        repo's copies between batches (the sandbox's reset at the search's end removes it)."""
        self._state: tuple = ()
        self._budget_s = self.config.time_budget_s
        self._solved_once = False
        """Whether a plausible fix was found (the angelic runs are then left out)."""

    def start_episode(self, task: Task, workspace: Workspace) -> None:
        """The task to repair, and the episode's workspace whose sandbox validates candidates."""
        self.task, self.workspace = task, workspace
        self.stats = SearchStats()
        self._plan = []
        self._phase = "start"
        self._reset_evidence()

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
            self._messages = messages  # what a prior sees before the listing
            fix = self.repair(self.ranking())
            self._plan = self.plan_for(fix)
            return self._plan.pop(0)
        return format_action(Submit())

    def ranking(self) -> list[Location]:
        """The env's ranking, then the lines named in the first run's failure tracebacks."""
        ranked = [(s.path, s.line) for s in self.workspace.localization or []]
        self._scores = {(s.path, s.line): s.score for s in self.workspace.localization or []}
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
        self._budget_s = self._budget(self.workspace.initial_report)
        self._evidence(self.workspace.initial_report,
                       self.workspace.localization_report)
        if self.config.jobs > 1:
            self._copies = f"{sandbox.scratch_dir}/jobs-{uuid.uuid4().hex[:12]}"
        # _files_kept's reset (also on a timeout or an interrupt) empties the scratch dir,
        # the copies folder with it.
        with _files_kept(sandbox):
            best, originals = self._search(sandbox, ranking, started)
        self.stats.elapsed_s = round(time.monotonic() - started, 2)
        for name in ("generate_s", "validate_s", "localize_s", "angelic_s"):
            setattr(self.stats, name, round(getattr(self.stats, name), 2))
        if best is None:
            return {}
        solved = best.solved(len(self.task.fail_to_pass))
        if solved:
            self._record_winner(best)
        self.stats.fix = "; ".join(self.stats.history + ([best.description] if solved else []))
        return {path: (originals[path], text) for path, text in best.files.items()
                if text != originals[path]}

    def _budget(self, initial) -> float:
        """The search's seconds: its own budget, within what the episode has left once the
        closing runs of a fix (its failing tests, then the final scoring run: twice what a
        passing first run would have cost) are set aside, so that ``--timeout`` holds and a
        fix found in time is also scored in time. With no fix to play, the scoring run reuses
        the first run (``envs.reward.score``'s ``baseline``) and costs nothing."""
        # The sandbox's deadline is the whole run's --timeout (inf when there is none).
        left = min(self.workspace.time_left_s, self.workspace.sandbox.deadline.remaining())
        # A fix makes the tests that hung finish: their hangs are not what the closing runs
        # cost (a first run of 14 hung tests left the search 1 s of its 27).
        reserve = 2 * passing_run_s(initial) + 5.0
        return max(min(self.config.time_budget_s, left - reserve), 1.0)

    def _search(self, sandbox: Sandbox, ranking: list[Location], started: float
                ) -> tuple[Outcome | None, dict[str, str]]:
        """Rounds of propose-and-validate; (the best outcome, the original texts it edits)."""
        cfg = self.config
        f2p, p2p = list(self.task.fail_to_pass), list(self.task.pass_to_pass)
        test_files = task_test_files(self.task)  # never "fix" the tests: the reward drops such edits
        originals = self._package(sandbox)
        current = dict(originals)
        base_passing = 0
        best: Outcome | None = None
        seen: set[tuple] = set()
        for round_ in range(cfg.rounds):
            self.stats.rounds = round_ + 1
            if round_ > 0:  # after a partial fix only the tests that still fail point at lines
                t0 = time.monotonic()
                ranking = self._localize(sandbox, started)
                self.stats.localize_s += time.monotonic() - t0
            ranking = [loc for loc in dict.fromkeys(self._problem_lines(current) + ranking)
                       if loc[0] in current and not is_test_path(loc[0], test_files)
                       and not self.task.leaves_alone(loc[0])]
            self._state = tuple(sorted(p for p in current if current[p] != originals[p]))
            t0 = time.monotonic()
            found = self.candidates(ranking[: cfg.top_locations], current)
            if round_ == 0 and self.prior is not None:
                found = self._prior_first(found, ranking)
            self.stats.generate_s += time.monotonic() - t0
            if round_ == 0:
                found = self._angelic_after(found, sandbox, ranking, current, f2p, p2p, started)
            ordered = _Stream(found)
            outcomes = self._validate(sandbox, ordered, current, f2p, p2p, base_passing,
                                      started, seen)
            log.info("search: round %d validated %d candidates at %d lines (top: %s)",
                     round_ + 1, len(outcomes), min(len(ranking), cfg.top_locations),
                     ", ".join(f"{p}:{n}" for p, n in ranking[:5]))
            solved = [o for o in outcomes if o.solved(len(f2p))]
            if solved:
                self._solved_once = True
                self.stats.stage = f"round {round_ + 1}"
                return self._choose(sandbox, solved, ordered, current, f2p, p2p, base_passing,
                                    started, seen), originals
            partial = [o for o in outcomes if _partial(o, base_passing)]
            if not partial:  # a module that now imports, its tests failing: a fix's first half
                partial = [o for o in outcomes if _imports_now(o)][:1]
            if not partial:  # the round's candidates ran dry (or the budget did): go on
                further = self._go_on(sandbox, ranking, outcomes, current, f2p, p2p,
                                      base_passing, started, seen)
                solved = [o for o in further if o.solved(len(f2p))]
                if solved:
                    self.stats.stage = solved[0].stage
                    return solved[0], originals
                partial = [o for o in further if _partial(o, base_passing)]
            if not partial:
                break
            best = max(partial, key=lambda o: (not _disables(o), not _overfits(o),
                                               o.f2p_passed))
            combined = self._combine(sandbox, best, partial, current, f2p, p2p, started)
            if combined is not None:
                self.stats.history.append(best.description)
                self.stats.stage = "combined"
                return combined, originals
            base_passing = best.f2p_passed
            for path, text in best.files.items():
                if text != current[path]:
                    current[path] = text
                    sandbox.write_file(path, text)
            self.stats.history.append(best.description)
            if time.monotonic() - started > self._budget_s:
                break
        return best, originals

    def candidates(self, ranking: list[Location], current: dict[str, str]
                   ) -> Iterator[tuple[int, Candidate]]:
        """Every family's candidate fixes at the ranked lines as (rank of the line, candidate),
        most promising first, without AST duplicates or code that does not compile (lazily:
        only what is validated is parsed). ``current`` maps each source file to its text now."""
        if self.config.engine == "naive":  # ``current`` holds no test files (``_package``)
            return naive_order(current, lambda p: not self.task.leaves_alone(p))
        # Making candidates is pure CPU; on a starved machine it alone could outlast the
        # budget, so it takes at most half of it, and half of what the run's --timeout leaves.
        limit = min(self._budget_s, self.workspace.sandbox.deadline.remaining()) / 2
        return in_order(ranking, current, self._scores, time_limit_s=limit,
                        failures=self._failures)

    def _angelic_after(self, found, sandbox, ranking, current, f2p, p2p, started
                       ) -> Iterator[tuple[int, Candidate]]:
        """``found`` with the angelic candidates (``_angelic``) after its first batch: the
        runs cost nothing where the first batch holds a fix (most faults a single mutation
        repairs), and their conditions come before every later static candidate."""
        found = iter(found)
        yield from itertools.islice(found, self.config.batch_size)
        if self._solved_once:  # the extra budget after a fix: only static candidates
            yield from found
            return
        t0 = time.monotonic()
        extra = self._angelic(sandbox, ranking, current, f2p, p2p, started)
        spent = time.monotonic() - t0
        self.stats.angelic_s += spent
        self.stats.generate_s -= spent  # _validate counts the batch's making, this with it
        yield from extra
        yield from found

    def _angelic(self, sandbox, ranking: list[Location], current: dict[str, str],
                 f2p: list[str], p2p: list[str], started: float) -> list[tuple[int, Candidate]]:
        """Angelic fix localization and condition synthesis (``agent.repair.angelic``): the
        failing tests run with each condition site of the top lines forced True, then False
        (one instrumented module per forcing, validated by the worker like any candidate), the
        failing and covering passing tests once more with every site recording its original
        value; conditions that match the records become candidates, (rank of the line, it).
        Bounded by ANGELIC_SHARE of the budget and skipped when the budget is short."""
        cfg = self.config
        left = min(self._left(started), sandbox.deadline.remaining())
        if not cfg.angelic or cfg.engine != "full" or not f2p \
                or self._budget_s < ANGELIC_MIN_BUDGET_S or left < ANGELIC_MIN_LEFT_S:
            return []
        sites: list[angelic.AngelicSite] = []
        for index, (path, line) in enumerate(ranking[:ANGELIC_LINES]):
            if path in current:
                sites += angelic.find_sites(path, current[path], line, index)
        sites = sites[:ANGELIC_SITES]
        if not sites:
            return []
        self.stats.angelic_sites = len(sites)
        allowed = min(left * ANGELIC_SHARE, ANGELIC_MAX_S)
        until = time.monotonic() + allowed
        tag = uuid.uuid4().hex[:10]
        name = lambda k: f"angelic-{tag}-{k}.jsonl"
        where = lambda k: f"{sandbox.scratch_dir}/{name(k)}"

        def entry(k: int, modes: dict[int, str]) -> dict:
            files = {}
            for path in dict.fromkeys(sites[i].path for i in modes):
                text = angelic.instrument(current[path], sites, {
                    i: m for i, m in modes.items() if sites[i].path == path}, where(k))
                files[path] = _span(current[path], text)
            return {"id": str(k), "files": files}

        forced = [(i, m) for i in range(len(sites)) for m in ("T", "F")]
        covering = [t for t in dict.fromkeys(
            t for s in sites for t in evidence.tests_covering(self._coverage, s.path, s.line))
            if t in set(p2p)][:20]
        # One worker run (one pytest import): the recording run, then the forcings, each on
        # the failing and the covering passing tests. The passing tests run forced too: one
        # that passes either way does not depend on the site, and its records would only
        # over-constrain the synthesis.
        payload = [entry(0, {i: "orig" for i in range(len(sites))})] + [
            entry(k + 1, {i: m}) for k, (i, m) in enumerate(forced)]
        tests = list(f2p) + covering
        remaining = until - time.monotonic()
        request = {"candidates": payload, "f2p": tests, "p2p": [],
                   "timeout": cfg.test_timeout_s, "stop_on_success": False,
                   "p2p_from": len(tests) + 1, "deadline_s": max(remaining, 1.0), "jobs": 1}
        try:
            _, by_id = run_worker(sandbox, request, {"limits": self._suite.get("limits", {})},
                                  timeout=max(remaining, 1.0) + 3)
        except (SandboxError, UsageError) as exc:
            log.warning("search: the angelic runs failed: %s", exc)
            return []
        statuses = {k: d.get("f2p", {}) for k, d in by_id.items()}
        try:
            raw = sandbox.take_scratch([name(k) for k in range(len(forced) + 1)])
        except (SandboxError, UsageError) as exc:
            log.warning("search: the angelic records could not be read: %s", exc)
            return []
        records = {k: angelic.parse_records(raw.get(name(k))) for k in range(len(forced) + 1)}
        out: list[tuple[int, Candidate]] = []
        for i, site in enumerate(sites):
            spec = angelic.Spec()
            for test in f2p:
                passed = {m: statuses.get(str(k + 1), {}).get(test) == "passed"
                          for k, (j, m) in enumerate(forced) if j == i}
                if passed.get("T") == passed.get("F"):
                    if not passed.get("T"):  # no constant repairs it: evidence against some
                        spec.negative.append([
                            (r["vals"], r.get("orig")) for r in records[0]
                            if r.get("site") == i and _same_test(r.get("test", ""), test)])
                    continue  # the site's value does not decide this test
                mode = "T" if passed.get("T") else "F"
                k = forced.index((i, mode)) + 1
                spec.rows += [(r["vals"], r.get("orig"), mode == "T") for r in records[k]
                              if r.get("site") == i and _same_test(r.get("test", ""), test)]
            if not spec.rows:
                continue
            self.stats.angelic_found += 1
            kept = {t for t in covering if statuses.get("0", {}).get(t) == "passed"
                    and not all(statuses.get(str(k + 1), {}).get(t) == "passed"
                                for k, (j, _) in enumerate(forced) if j == i)}
            spec.rows += [(r["vals"], r.get("orig"), bool(r.get("orig")))
                          for r in records[0] if r.get("site") == i and r.get("orig") is not None
                          and any(_same_test(r.get("test", ""), t) for t in kept)]
            if not angelic.worth_synthesis(site, spec):
                continue
            source = current[site.path]
            nums, strs = angelic.constants_of(source)
            preferred = [n for n in _names_in(site.text if site.kind == "cond"
                                              else source[site.start:site.end])]
            conditions = angelic.synthesize(spec, site.text if site.kind == "cond" else None,
                                            nums, strs, preferred)
            found = angelic.candidates(site, source, conditions)
            out += [(site.rank, c) for c in found]
        out = out[:ANGELIC_MOST]
        self.stats.angelic_candidates = len(out)
        log.info("search: angelic runs: %d sites, %d angelic, %d conditions in %.1f s",
                 len(sites), self.stats.angelic_found, len(out), allowed - (until - time.monotonic()))
        return out

    def _prior_first(self, found: Iterator[tuple[int, Candidate]], ranking: list[Location]
                     ) -> Iterator[tuple[int, Candidate]]:
        """The candidates of the env's listing in the prior's order, then the rest as the
        engine orders them (a candidate met twice is validated once: ``_validate``'s seen)."""
        try:
            listing = self.workspace.list_candidates()
        except ActionError as exc:
            log.warning("search: no candidates listing for the prior (%s)", exc)
            return found
        started = time.monotonic()
        keys = self.prior.order(self._messages, listing)
        self.stats.prior_order, self.stats.prior_s = keys, round(time.monotonic() - started, 2)
        wanted = {(listing.proposals[k].path, listing.proposals[k].text): k for k in keys}
        met, taken = {}, []
        for item in found:  # the listing is the engine's first few: find them in its stream
            taken.append(item)
            key = (item[1].path, item[1].text)
            if key in wanted:
                met[wanted[key]] = item
            if len(met) == len(wanted) or len(taken) >= 20 * len(wanted):
                break
        first = [met.get(k) or _as_candidate(listing.proposals[k], ranking) for k in keys]
        return itertools.chain(first, taken, found)

    def _package(self, sandbox: Sandbox) -> dict[str, str]:
        """The repo's Python sources that are not tests: where candidates are made, and where
        ingredients and imported names come from (``envs.candidates.source_files``, as the
        env's ``candidates`` listing reads them)."""
        return source_files(sandbox, self.task)

    def _problem_lines(self, current: dict[str, str]) -> list[Location]:
        """Lines where code cannot run at all (a SyntaxError; a name nothing binds when the
        failures mention a NameError; the frames of a module that fails to import; code quoted
        into a string), and def lines that a call's TypeError names: nothing else in the file
        is testable before them."""
        out = problem_lines(current, [*self._failures.values(), *self._collection_errors])
        workdir = self.workspace.sandbox.workdir
        out += [loc for loc in traceback_frames("\n".join(self._collection_errors), workdir)
                if loc[0] in current]
        return out

    def _evidence(self, initial, localized) -> None:
        """Per-test limits from the first run's durations, per-test coverage from the run of
        ``localize`` (either may be missing)."""
        cfg = self.config
        f2p, p2p = list(self.task.fail_to_pass), list(self.task.pass_to_pass)
        report = initial or localized
        if report is not None:
            durations = {t: r.duration_s for t, r in report.tests.items()}
            limits = test_limits(durations, statuses_of(report), ceiling=cfg.test_timeout_s)
            self._suite["limits"] = {t: limits[t] for t in f2p + p2p if t in limits}
            self._failures = failing_outputs(report, self.task)
            self._collection_errors = list(report.collection_errors)
        if localized is not None and localized.coverage:
            self._coverage = localized.coverage
            self._suite["p2p_by_file"] = evidence.tests_by_file(self._coverage, p2p)

    def _localize(self, sandbox: Sandbox, started: float) -> list[Location]:
        left = self._left(started)
        try:
            ranked, report = localize_report(
                sandbox, self.task, top_n=self.config.top_locations,
                timeout=max(min(self.config.test_timeout_s * 4, left / 2), 5.0),
                per_test_timeout=self.config.test_timeout_s,
                limits=coverage_limits(self.workspace.initial_report,
                                       self.config.test_timeout_s))
        except (SandboxError, UsageError) as exc:  # a hint: the round goes on without it
            log.warning("search: localization after the partial fix failed: %s", exc)
            return []
        if report.coverage:
            self._coverage = report.coverage
            self._suite["p2p_by_file"] = evidence.tests_by_file(
                self._coverage, list(self.task.pass_to_pass))
        self._scores = {(s.path, s.line): s.score for s in ranked}
        return [(s.path, s.line) for s in ranked]

    def _go_on(self, sandbox, ranking, outcomes, current, f2p, p2p, base_passing, started,
               seen) -> list[Outcome]:
        """After a round that fixed nothing with budget and candidates left: the candidates
        at the next ranked lines and pairs of the round's own candidates, interleaved
        (``agent.policies.reach``), up to the first plausible fix, or a few candidates past
        the first partial one (the next round builds on it). What they did."""
        cfg = self.config
        top = cfg.top_locations
        if cfg.engine != "full" or not self._left(started) or not self._room():
            return []
        bases = self._moves(sandbox, outcomes, current, f2p, started)
        t0 = time.monotonic()
        further = ranking[top:]
        lines = reach.singles(in_order(further, current, self._scores,
                                       time_limit_s=self._left(started) / 3,
                                       failures=self._failures), top) if further else iter(())
        share = reach.pair_share([self._scores.get(loc) for loc in ranking], top)
        stream = _Stream(reach.interleave(lines, reach.pairs(outcomes, bases, current), share))
        self.stats.generate_s += time.monotonic() - t0
        log.info("search: round's candidates ran dry after %d (%d changed how a failing test "
                 "fails); %d further lines, pairs of its candidates (share %.2f)", len(outcomes),
                 sum(reach.changed(o.signature, b) for o, b in zip(outcomes, bases)),
                 len(further), share)
        found: list[Outcome] = []
        room = self._room()

        def admit(item):
            stage, (index, cand, files, description) = item
            key = (cand.path, cand.text, self._state) if stage == "lines" \
                else (frozenset(files.items()), self._state)
            return key, files, lambda: Outcome(
                files={**current, **files}, description=description,
                family=cand.family if stage == "lines" else "pair", candidate=cand, rank=index,
                stage=stage)

        while room > 0 and self._left(started) and not sandbox.deadline.expired:
            t0 = time.monotonic()
            batch, payload, _ = self._fill(stream, room, current, seen, admit)
            self.stats.generate_s += time.monotonic() - t0
            if not batch:
                break
            t0 = time.monotonic()
            done = self._run_batch(sandbox, batch, payload, f2p, p2p, base_passing,
                                   self._left(started), True)
            self.stats.validate_s += time.monotonic() - t0
            for outcome in done:
                self.stats.reached[outcome.stage] = self.stats.reached.get(outcome.stage, 0) + 1
            found += done
            room -= len(batch)
            if any(o.solved(len(f2p)) for o in done):
                break
            if any(_partial(o, base_passing) and not _disables(o) for o in done):
                room = min(room, cfg.extra_candidates)
        return found

    def _room(self) -> int:
        """Candidates the episode may still validate (``SearchConfig.max_candidates``)."""
        if self.config.max_candidates is None:
            return sys.maxsize
        return max(self.config.max_candidates - self.stats.candidates, 0)

    def _left(self, started: float) -> float:
        """Seconds of the search's budget left (0 when spent)."""
        return max(self._budget_s - (time.monotonic() - started), 0.0)

    def _moves(self, sandbox, outcomes, current, f2p, started) -> list[dict | None]:
        """For each of the round's outcomes, how the failing tests fail on the code as it
        stands, to tell whether the outcome moved them (``reach.changed``): the worker's
        ``f2p_sig`` for no edit. A failed assert says what it compared only with asserts
        rewritten, which the round's validation leaves out (it costs a tenth to a quarter per
        candidate): the first ``reach.RESIGNED`` outcomes that failed an assert are validated
        again with them, within a quarter of the time left, and compared with a rewritten run
        of the unedited code."""
        again = [k for k, o in enumerate(outcomes[: reach.RESIGNED]) if o.signature and any(
            sig.startswith("failed:AssertionError") for sig in o.signature.values())]
        payload = [{"id": "plain", "files": {}}, {"id": "rewritten", "files": {}, "rewrite": True}]
        payload += [{"id": str(k), "rewrite": True, "files": {
            p: _span(current[p], t) for p, t in outcomes[k].files.items() if t != current[p]}}
            for k in again]
        left = self._left(started) / 4
        request = {"candidates": payload, "f2p": f2p, "p2p": [],
                   "timeout": self.config.test_timeout_s, "stop_on_success": False,
                   "p2p_from": len(f2p) + 1, "deadline_s": max(left, 1.0),
                   "jobs": self.config.jobs}
        if self._copies is not None:
            request["copies"] = self._copies
        t0 = time.monotonic()
        _, by_id = run_worker(sandbox, request, self._suite, timeout=left + 5)
        self.stats.validate_s += time.monotonic() - t0
        plain = by_id.get("plain", {}).get("f2p_sig")
        rewritten = by_id.get("rewritten", {}).get("f2p_sig")
        bases: list[dict | None] = [plain] * len(outcomes)
        for k in again:
            if str(k) in by_id and rewritten is not None:
                outcomes[k].signature, bases[k] = by_id[str(k)].get("f2p_sig"), rewritten
        return bases

    def _outcome(self, cand: Candidate, index: int, current) -> Outcome:
        files = dict(current)
        files[cand.path] = cand.text
        return Outcome(files=files, description=f"{cand.family} at {cand.path}:{cand.line}: "
                       f"{cand.description}", family=cand.family, candidate=cand, rank=index)

    def _validate(self, sandbox, ordered, current, f2p, p2p, base_passing, started, seen,
                  limit: int | None = None, stop_on_success: bool = True,
                  wanted=None) -> list[Outcome]:
        cfg = self.config
        outcomes: list[Outcome] = []
        budget = self._room() if limit is None else limit
        exhausted = partial_seen = False

        def admit(item):
            index, cand = item
            if wanted is not None and not wanted(index, cand):
                return None
            return ((cand.path, cand.text, self._state), {cand.path: cand.text},
                    lambda: self._outcome(cand, index, current))

        while budget > 0 and not exhausted:
            left = self._left(started)
            if left <= 0 or sandbox.deadline.expired:
                log.info("search: time budget of %.0f s spent", self._budget_s)
                break
            t0 = time.monotonic()
            batch, payload, exhausted = self._fill(ordered, budget, current, seen, admit)
            self.stats.generate_s += time.monotonic() - t0
            if not batch:
                break
            budget -= len(batch)
            t0 = time.monotonic()
            outcomes += self._run_batch(sandbox, batch, payload, f2p, p2p, base_passing, left,
                                        stop_on_success)
            self.stats.validate_s += time.monotonic() - t0
            if stop_on_success and any(o.solved(len(f2p)) for o in outcomes):
                break
            if stop_on_success and not partial_seen \
                    and time.monotonic() - started > self._budget_s * PARTIAL_SHARE and any(
                    _partial(o, base_passing) and not _disables(o) and not _overfits(o)
                    for o in outcomes):
                # Once a share of the budget is spent, a partial fix ends the round after a
                # small extra budget: the next round builds on it, localized afresh. Going
                # through every candidate first would spend the whole budget on a space that
                # grows with every family; ending at once would build on the accidental
                # partial fixes of a single fault (one that switches behaviour off, removing
                # the faulty lines, never counts).
                partial_seen = True
                budget = min(budget, cfg.extra_candidates)
        return outcomes

    def _fill(self, stream: _Stream, room: int, current: dict[str, str], seen: set, admit
              ) -> tuple[list[Outcome], list[dict], bool]:
        """One validation batch from ``stream``: up to ``room`` (and ``batch_size``) unseen
        items within half a worker request's size, as their outcomes and the worker's payload;
        and whether the stream ran out. ``admit(item)`` is None to skip an item, else its key
        in ``seen``, the files it changes and a callable that makes its outcome."""
        batch, payload, size = [], [], 0
        while len(batch) < min(self.config.batch_size, room):
            item = stream.next()
            if item is None:
                return batch, payload, True
            admitted = admit(item)
            if admitted is None or admitted[0] in seen:
                continue
            key, files, make = admitted
            entry = {"id": str(len(batch)),
                     "files": {p: _span(current[p], t) for p, t in files.items()}}
            entry_size = len(json.dumps(entry))
            if batch and size + entry_size > MAX_REQUEST_CHARS // 2:
                stream.push(item)
                break
            seen.add(key)
            batch.append(make())
            payload.append(entry)
            size += entry_size
        return batch, payload, False

    def _run_batch(self, sandbox, batch, payload, f2p, p2p, base_passing, left,
                   stop_on_success) -> list[Outcome]:
        request = {"candidates": payload, "f2p": f2p, "p2p": p2p,
                   "timeout": self.config.test_timeout_s, "stop_on_success": stop_on_success,
                   "p2p_from": base_passing + 1, "deadline_s": max(left, 1.0),
                   "jobs": self.config.jobs}
        if self._copies is not None:
            request["copies"] = self._copies
        t0 = time.monotonic()
        result, by_id = run_worker(sandbox, request, self._suite, timeout=left + 5)
        self.stats.copies_made += copies_done(result.output).get("made", 0)
        log.info("search: %d candidates validated in %.1f s", len(batch),
                 time.monotonic() - t0)
        for data in sorted(by_id.values(), key=lambda d: -d.get("elapsed_s", 0))[:3]:
            log.debug("search: %.2f s for %s", data.get("elapsed_s", 0),
                      batch[int(data["id"])].description)
        if not by_id:
            log.warning("candidate validation produced no results (exit %s): %s",
                        result.exit_code, result.output[-500:])
        outcomes = []
        for entry, cand in zip(payload, batch):
            data = by_id.get(entry["id"])
            if data is None:
                continue
            self.stats.candidates += 1
            family = self.stats.families.setdefault(cand.family, {"tried": 0, "plausible": 0})
            family["tried"] += 1
            cand.fixed = frozenset(t for t, s in data["f2p"].items() if s == "passed")
            cand.signature = data.get("f2p_sig")
            cand.f2p_passed = len(cand.fixed)
            checked = data["p2p"] or data.get("p2p_checked") or not p2p
            if checked and cand.f2p_passed > base_passing:
                cand.p2p_failed = sum(s != "passed" for s in data["p2p"].values())
            if cand.solved(len(f2p)):
                family["plausible"] += 1
            outcomes.append(cand)
        return outcomes

    def _combine(self, sandbox, best: Outcome, partial: list[Outcome], current, f2p, p2p,
                 started) -> Outcome | None:
        """The best partial fix joined with each other one that fixes tests it does not (in
        another file, or at lines it leaves alone): two faults found in one round cost one more
        batch instead of a round of localization and search. The first that fixes everything."""
        joined, payload = [], []
        for other in partial:
            if other is best or other.fixed <= best.fixed or other.candidate is None:
                continue
            files = _merged(current, best.files, other.files)
            if files is None:
                continue
            joined.append(Outcome(files=files, description=other.description,
                                  family=other.family, candidate=other.candidate,
                                  rank=other.rank))
            payload.append({"id": str(len(payload)), "files": {
                path: _span(current[path], text) for path, text in files.items()
                if text != current[path]}})
            if len(joined) >= self.config.extra_candidates:
                break
        left = self._left(started)
        if not joined or left <= 0:
            return None
        t0 = time.monotonic()
        outcomes = self._run_batch(sandbox, joined, payload, f2p, p2p, best.f2p_passed, left,
                                   True)
        self.stats.validate_s += time.monotonic() - t0
        return next((o for o in outcomes if o.solved(len(f2p))), None)

    def _choose(self, sandbox, solved, ordered, current, f2p, p2p, base_passing, started, seen):
        """Among the first plausible fix and those found within a small extra budget at lines
        ranked as high or higher, the most local and smallest edit (``rank.choose``)."""
        first = solved[0]
        bar = rank.preference(first.rank, first.candidate)
        more = []
        if bar > rank.preference(0, None):  # something could still beat it
            more = self._validate(sandbox, ordered, current, f2p, p2p, base_passing, started,
                                  seen, limit=self.config.extra_candidates, stop_on_success=False,
                                  wanted=lambda index, cand: rank.preference(index, cand) < bar)
        plausible = [first] + [o for o in more if o.solved(len(f2p))]
        self.stats.plausible = len(plausible)
        _, chosen = rank.choose([(o.rank, o.candidate) for o in plausible])
        return next(o for o in plausible if o.candidate is chosen)

    def _record_winner(self, best: Outcome) -> None:
        cand = best.candidate
        if cand is None:
            return
        self.stats.family = cand.family
        self.stats.line = f"{cand.path}:{cand.line}"
        self.stats.line_rank = best.rank + 1
        self.stats.covering_tests = evidence.tests_covering(self._coverage, cand.path, cand.line)

    # -- playing the fix through actions ----------------------------------------------------------

    def plan_for(self, fix: dict[str, tuple[str, str]]) -> list[str]:
        """The actions that make ``fix``: ``candidates`` + ``apply ID`` where it is one of the
        listed candidates (the copy-free way), ``open`` + ``edit`` otherwise; then the failing
        tests and ``submit``."""
        plan = self._plan_by_candidate(fix)
        for path in sorted(fix) if not plan else ():
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

    def _plan_by_candidate(self, fix: dict[str, tuple[str, str]]) -> list[str]:
        """``candidates`` + ``apply ID`` when the top localized lines' listing holds the fix."""
        if len(fix) != 1 or self.workspace is None:
            return []
        (path, (_, new)), = fix.items()
        try:
            key = self.workspace.list_candidates().find(path, new)
        except ActionError as exc:  # no proposer here: the edit says the same
            log.info("search: no candidates listing (%s); the fix is played as an edit", exc)
            return []
        if key is None:
            return []
        return [format_action(Candidates()), format_action(Apply(key))]


def _same_test(recorded: str, nodeid: str) -> bool:
    """Whether a record's PYTEST_CURRENT_TEST names the node id (paths may be rooted apart)."""
    return bool(recorded) and (recorded == nodeid or recorded.endswith("/" + nodeid)
                               or nodeid.endswith("/" + recorded))


def _names_in(code: str) -> list[str]:
    import ast

    try:
        tree = ast.parse(code.strip(), mode="exec")
    except SyntaxError:
        return []
    return list(dict.fromkeys(n.id for n in ast.walk(tree) if isinstance(n, ast.Name)))


def _as_candidate(proposal, ranking: list[Location]) -> tuple[int, Candidate]:
    """A listed proposal the engine's stream did not yield (its lines differ), as a candidate."""
    where = (proposal.path, proposal.line)
    index = ranking.index(where) if where in ranking else 0
    return index, Candidate(proposal.path, proposal.line, proposal.text, proposal.family,
                            proposal.words)


def _merged(current: dict[str, str], a: dict[str, str], b: dict[str, str]
            ) -> dict[str, str] | None:
    """Both edits (whole-file texts over ``current``) at once; None where they overlap."""
    files = dict(a)
    for path, text in b.items():
        if text == current[path]:
            continue
        if a[path] == current[path]:
            files[path] = text
            continue
        one, two = _span(current[path], a[path]), _span(current[path], text)
        if not (one["end"] <= two["start"] or two["end"] <= one["start"]) \
                or one["start"] == two["start"]:
            return None
        lines = current[path].splitlines(True)
        for span in sorted((one, two), key=lambda sp: -sp["start"]):  # later lines first
            lines[span["start"]:span["end"]] = [span["text"]]
        files[path] = "".join(lines)
    return files


def _overfits(outcome: Outcome) -> bool:
    """Whether it is a synthesized condition: one that repairs only some failing tests was made
    to fit exactly those tests' records, so it neither ends a round early nor, beside another
    partial fix, becomes the next round's base (hefix-122's did, and the fix was missed)."""
    return outcome.family == angelic.FAMILY


def _disables(outcome: Outcome) -> bool:
    return outcome.candidate is not None and outcome.candidate.disables


def _imports_now(outcome: Outcome) -> bool:
    """Whether a candidate makes a module that did not import (a failing entry named by its
    path) import and run its tests, breaking nothing else that is known, without switching
    behaviour off: a SyntaxError mended, and a second fault under it (``//`` comments and the
    name they hid) left for the next round, localized by the tests that now run."""
    entries = {node: sig for node, sig in (outcome.signature or {}).items() if is_group(node)}
    return bool(entries) and not _disables(outcome) and not outcome.p2p_failed and all(
        sig.split(":", 1)[0] in ("failed", "passed") for sig in entries.values())


def _partial(outcome: Outcome, base_passing: int) -> bool:
    """Whether a candidate fixes more failing tests than the round's base, breaking none."""
    return outcome.f2p_passed > base_passing and outcome.p2p_failed == 0


class _Stream:
    """An iterator that takes an item back (one that did not fit in a batch)."""

    def __init__(self, items) -> None:
        self.items, self.back = items, []

    def next(self):
        return self.back.pop() if self.back else next(self.items, None)

    def push(self, item) -> None:
        self.back.append(item)


def run_worker(sandbox: Sandbox, request: dict, suite: dict, *, timeout: float,
               source: str = WORKER_SOURCE):
    """One batch through ``validate_worker`` (``source``: its text) in ``sandbox``: the command's
    result and each candidate's result line by id."""
    argv = [sandbox.python, "-c", source, _encode(request)]
    if suite:
        argv.append(_encode(suite))
    result = sandbox.run(argv, timeout=timeout)
    by_id = {}
    for line in result.output.splitlines():
        if line.startswith(RESULT_MARK):
            data = json.loads(line[len(RESULT_MARK):])
            by_id[data["id"]] = data
    return result, by_id


def copies_done(output: str) -> dict:
    """What a worker did to the repo's copies (its "@@COPIES " line; {} when it made none)."""
    for line in output.splitlines():
        if line.startswith(COPIES_MARK):
            return json.loads(line[len(COPIES_MARK):])
    return {}


def _encode(data: dict) -> str:
    """One worker argument: zlib-compressed JSON in base64 (node ids compress ~10x)."""
    return base64.b64encode(zlib.compress(json.dumps(data).encode(), 6)).decode()


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
