"""DebugEnv: a buggy repository in a sandbox as a Gymnasium environment with text in and text out."""

from __future__ import annotations

import re
import string
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import gymnasium as gym
from gymnasium import spaces

from envs import reward as scoring
from envs import tools
from envs.actions import (
    Action, ActionError, Apply, Candidates, Edit, Localize, Open, RunTests, Search, Submit,
    format_action, parse_action,
)
from envs.candidates import Listing, failing_outputs, load_proposer, source_files
from envs.limits import SCORING_SLOWDOWN, coverage_limits, hung_limits
from envs.localize import (
    Suspicious,
    format_ranking,
    localize_report,
    traceback_frames,
)
from envs.task import Task, load_suite, pytest_args
from sandboxes.base import Sandbox, TestReport
from sandboxes.config import SandboxConfig
from sandboxes.errors import UsageError

#: Characters an observation or action may hold: printable ASCII and whitespace, then Latin,
#: Greek, Cyrillic and the other alphabets up to U+1FFF, punctuation, arrows, maths, box drawing
#: and symbols (U+2000-U+2BFF). Anything else in an observation becomes "?".
CHARSET = frozenset(string.printable) | frozenset(map(chr, range(0xA0, 0x2C00)))
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_VERBS = {RunTests: "run_tests", Open: "open", Search: "search", Localize: "localize",
          Edit: "edit", Candidates: "candidates", Apply: "apply", Submit: "submit"}
_CHANGES_FILES = ("edit", "apply")


@dataclass
class EnvConfig:
    """How DebugEnv runs an episode."""

    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    """Where the episode's sandbox opens (backend, image, limits)."""
    max_steps: int = 30
    """Steps before the episode is truncated (truncated_reason "steps")."""
    time_budget_s: float = 600.0
    """Wall-clock seconds from reset before the episode is truncated (truncated_reason "time")."""
    test_timeout_s: float = 120.0
    """Limit on one whole test run (run_tests, localize, scoring)."""
    per_test_timeout_s: float = 30.0
    """Limit on one test inside a run."""
    format_penalty: float = -0.05
    """Reward for a step whose action is malformed or cannot be carried out (<= 0)."""
    step_penalty: float = 0.0
    """Reward added to every step (<= 0); 0 leaves the episode's reward to the final score."""
    max_observation_chars: int = 16_000
    """Observations are cut to this many characters, with a note saying so."""
    max_action_chars: int = 32_000
    """Size of the action space's Text; longer actions are still read in full."""
    open_window: int = 100
    """Lines ``open`` shows when no END is given."""
    search_max_matches: int = 50
    """Matches ``search`` lists before it only counts."""
    localize_top_n: int = 10
    """Ranked lines ``localize`` shows."""
    localization_depth: int = 50
    """Ranked lines kept in ``info["localization"]``, for policies that search below what the
    observation shows."""
    intro_max_files: int = 200
    """Files listed in the reset observation."""
    candidates_k: int = 8
    """Repair candidates ``candidates`` lists (ids c1 .. cK)."""
    proposer: str = "agent.repair.proposals:propose"
    """Import path (``module:function``) of what makes the candidates (envs.candidates): the
    repair engine's by default, loaded when ``candidates`` first runs."""

    def __post_init__(self) -> None:
        module, colon, name = self.proposer.partition(":")
        if not (module and colon and name.isidentifier()):
            raise ValueError(f"EnvConfig.proposer must be an import path module:function, got "
                             f"{self.proposer!r}")
        for name in ("max_steps", "max_observation_chars", "max_action_chars", "open_window",
                     "search_max_matches", "localize_top_n", "localization_depth",
                     "intro_max_files", "candidates_k"):
            if getattr(self, name) < 1:
                raise ValueError(f"EnvConfig.{name} must be at least 1, got {getattr(self, name)}")
        for name in ("time_budget_s", "test_timeout_s", "per_test_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"EnvConfig.{name} must be positive, got {getattr(self, name)}")
        for name in ("format_penalty", "step_penalty"):
            if not -1.0 <= getattr(self, name) <= 0.0:
                raise ValueError(f"EnvConfig.{name} must be in [-1, 0], got {getattr(self, name)}")
        if self.max_observation_chars < 200:
            raise ValueError("EnvConfig.max_observation_chars must be at least 200, got "
                             f"{self.max_observation_chars}")


class DebugEnv(gym.Env[str, str]):
    """Fix a buggy Python repository by acting on it in a sandbox, one text action per step.

    ## Action Space

    ``Text(max_action_chars)`` over ``CHARSET``: one action in the grammar of ``envs.actions``
    (``run_tests [NODE_ID ...]``, ``open PATH [START [END]]``, ``search PATTERN [PATH]``,
    ``localize``, ``edit PATH`` + SEARCH/REPLACE blocks, ``candidates [PATH:LINE]``, ``apply ID``,
    ``submit``), usually inside one fenced block; text around the block is ignored.
    ``candidates`` lists up to ``candidates_k`` repair candidates (ids ``c1`` ...) at the top
    localized lines (localizing first when no ``localize`` ran) or at PATH:LINE, made by
    ``EnvConfig.proposer`` (envs.candidates); ``apply ID`` is exactly the ``edit`` that makes that
    candidate (same diff, same reward). Ids hold until the next listing or change of files; an
    unknown or stale id is a format error. Anything the policy writes is accepted: a malformed
    action, or one that cannot be carried out (no such file, a path outside the repo, SEARCH text
    found nowhere or in several places), yields an observation saying what went wrong and how to
    write it, the ``format_penalty`` and ``info["format_error"] = True``.

    ## Observation Space

    ``Text(max_observation_chars)`` over ``CHARSET``. After reset: the tests that fail with their
    trimmed failure output, and the repository's files. After a step: the action's result
    (numbered file lines, ``file:line: text`` matches, the per-test report, the edited region,
    ranked suspicious lines). Observations longer than the bound are cut in the middle with a note.

    ## Rewards

    ``step_penalty`` (default 0) every step, plus ``format_penalty`` (default -0.05) on a step whose
    action failed. On the final step the episode's score is added: 1.0 when every fail_to_pass test
    passes and every pass_to_pass test still passes, partial credit below (see ``envs.reward`` for
    the formula), computed after every change to tests and test configuration is dropped.

    ## Starting State

    A new sandbox (docker or local) holding a fresh copy of the task's repository, chosen by
    ``options["task"]`` (a Task, a task id among ``tasks``, or a task directory) or drawn from
    ``tasks`` with the seeded ``np_random``. The tests have run once to write the first
    observation. With ``options["repo"]`` (and optionally ``"test_command"``, ``"source"``, ``"leave_alone"``) the
    task is that repository as it is: ``Task.from_report`` of this very run (its failing tests
    become fail_to_pass; none may fail, which the caller checks in ``env.task``).

    ## Episode End

    Terminated when the policy submits. Truncated when ``max_steps`` steps are taken or
    ``time_budget_s`` seconds have passed since reset (``info["truncated_reason"]`` is "steps" or
    "time"); the edits are scored all the same so that trainers may use or mask the episode. The
    final step's info holds "resolved", "tests" (node id -> status from the scoring run) and
    "reward" (the score).

    Every step's info holds "action" (the verb, or None when unparsable), "format_error",
    "patch" (the diff of the repo against its start) and "steps"; "localization" (the ranking of
    the latest ``localize`` as ``envs.localize.Suspicious``, ``localization_depth`` lines) once
    localize has run; "edit" (the equivalent ``edit`` action's text) after an ``apply`` that
    took.

    ## Version History

    * v0: first version.
    """

    metadata = {"render_modes": []}

    def __init__(
        self, config: EnvConfig | None = None, tasks: Sequence[Task] | str | Path | None = None
    ) -> None:
        self.config = config or EnvConfig()
        if isinstance(tasks, (str, Path)):
            tasks = load_suite(tasks)
        self.tasks: list[Task] = list(tasks or [])
        self.observation_space = spaces.Text(
            self.config.max_observation_chars, min_length=0, charset=CHARSET
        )
        self.action_space = spaces.Text(self.config.max_action_chars, min_length=0, charset=CHARSET)
        self.task: Task | None = None
        self.sandbox: Sandbox | None = None
        self.initial_report: TestReport | None = None
        self._started = 0.0
        self._steps = 0
        self._done = True
        self._patch = ""
        self._localization: list[Suspicious] | None = None
        self.localization_report: TestReport | None = None
        """The run of the latest ``localize``, with per-test coverage and durations."""
        self._listing: Listing | None = None
        self._listing_gone = ""
        """Why there is no listing now (for the message of a stale ``apply``)."""
        self._applied = ""
        """The edit the step's ``apply`` made, as action text (info["edit"])."""

    # -- Gymnasium API -------------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        self._close_sandbox()
        options = options or {}
        self._steps, self._done, self._patch, self._localization = 0, False, "", None
        self.localization_report = self.initial_report = None  # the first run has no caps
        self._listing, self._listing_gone = None, "no `candidates` listing yet"
        if "repo" in options:
            self.task, self.initial_report = self._start_from_repo(options)
        else:
            self.task = self._choose_task(options.get("task"))
            self.sandbox = self._open_sandbox(self.task.repo)
            self._started = time.monotonic()
            self.initial_report = self._run_tests(None, self.task.test_command)
        observation = self._intro(self.task, self.initial_report)
        info = {"task_id": self.task.id, "action": None, "format_error": False, "patch": "",
                "steps": 0, "initial_tests": self.initial_report.statuses}
        return self._observe(observation), info

    def _start_from_repo(self, options: dict[str, Any]) -> tuple[Task, TestReport]:
        """A task built from one run of a repository's tests, in the episode's own sandbox."""
        test_command = options.get("test_command")
        pytest_args(test_command)  # a bad command fails here, before a sandbox opens
        self.sandbox = self._open_sandbox(Path(options["repo"]))
        self._started = time.monotonic()
        try:
            report = self._run_tests(None, test_command)
            task = Task.from_report(options["repo"], report, test_command=test_command,
                                    source=options.get("source"),
                                    leave_alone=tuple(options.get("leave_alone", ())))
        except BaseException:
            self._close_sandbox()
            raise
        return task, report

    @property
    def time_left_s(self) -> float:
        """Seconds of the episode's time budget still left (the budget counts from the start of
        the first test run)."""
        return self.config.time_budget_s - (time.monotonic() - self._started)

    @property
    def localization(self) -> list[Suspicious] | None:
        """The ranking of the latest ``localize`` (``localization_depth`` lines, best first)."""
        return None if self._localization is None else list(self._localization)

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.sandbox is None or self.task is None:
            raise UsageError("DebugEnv.step called before reset(); call reset() first")
        if self._done:
            raise UsageError("DebugEnv.step called after the episode ended; call reset() first")
        self._steps += 1
        reward = self.config.step_penalty
        verb, format_error, terminated = None, False, False
        self._applied = ""
        try:
            parsed = parse_action(action if isinstance(action, str) else str(action))
            verb = _VERBS[type(parsed)]
            if isinstance(parsed, Submit):
                terminated = True
                observation = "submitted"
            else:
                observation = self._act(parsed)
        except ActionError as exc:
            format_error = True
            reward += self.config.format_penalty
            observation = f"error: {exc}"
        except UsageError as exc:  # a path the sandbox refused (a symlink, a directory)
            format_error = True
            reward += self.config.format_penalty
            observation = f"error: {exc}"
        if verb in ("edit", "apply", "run_tests", "localize"):
            self._patch = self.sandbox.diff()
        if verb in _CHANGES_FILES and not format_error:
            self._listing = None
            self._listing_gone = f"the {verb} of step {self._steps} changed the files"
        truncated_reason = None
        if not terminated:
            # the run's deadline (agent fix --timeout) ends the episode as its own budget does
            if (time.monotonic() - self._started >= self.config.time_budget_s
                    or self.sandbox.deadline.expired):
                truncated_reason = "time"
            elif self._steps >= self.config.max_steps:
                truncated_reason = "steps"
        info: dict[str, Any] = {"action": verb, "format_error": format_error,
                                "patch": self._patch, "steps": self._steps}
        if self._localization is not None:
            info["localization"] = self.localization
        if self._applied:
            info["edit"] = self._applied
        if terminated or truncated_reason:
            result = self._score()
            reward += result.reward
            info.update(resolved=result.resolved, tests=dict(result.tests), reward=result.reward)
            if truncated_reason:
                info["truncated_reason"] = truncated_reason
                observation += (f"\n\nthe episode ran out of "
                                f"{'steps' if truncated_reason == 'steps' else 'time'}")
            observation += "\n\n" + _score_summary(result)
            self._done = True
        return self._observe(observation), float(reward), terminated, truncated_reason is not None, info

    def close(self) -> None:
        self._close_sandbox()
        super().close()

    # -- actions -------------------------------------------------------------------------------

    def _act(self, action: Action) -> str:
        sandbox, config = self.sandbox, self.config
        match action:
            case Open():
                return tools.open_file(sandbox, action, window=config.open_window)
            case Search():
                return tools.search(sandbox, action, max_matches=config.search_max_matches)
            case Edit():
                return self._edit(action)
            case Candidates():
                note = ""
                if action.path is None and self._localization is None:
                    self._act(Localize())
                    note = "(ran localize first)\n"
                self._listing = self._list(action)
                self._listing_gone = "the listing was replaced"
                return note + self._listing.text
            case Apply():
                return self._apply(action)
            case RunTests():
                report = self._run_tests(list(action.node_ids) or None, self.task.test_command)
                return tools.format_report(report, max_chars=config.max_observation_chars - 500)
            case Localize():
                ranking, self.localization_report = localize_report(
                    sandbox, self.task, top_n=max(config.localize_top_n, config.localization_depth),
                    timeout=self._timeout(),
                    per_test_timeout=config.per_test_timeout_s,
                    limits=coverage_limits(self.initial_report, config.per_test_timeout_s))
                self._localization = ranking
                return format_ranking(ranking[: config.localize_top_n])
        raise TypeError(f"not an action: {action!r}")

    def _edit(self, action: Edit) -> str:
        if self.task.leaves_alone(tools.clean_path(action.path)):
            raise tools.ToolError(
                f"{action.path} is left alone (the repository's [tool.debug-agent] "
                "exclude); edit the code elsewhere")
        text = tools.apply_edit(self.sandbox, action)
        if scoring.is_test_path(tools.clean_path(action.path),
                                scoring.task_test_files(self.task)):
            text += ("\nnote: this is a test file or test configuration; changes to it are "
                     "dropped when the episode is scored")
        return text

    def _apply(self, action: Apply) -> str:
        listing = self._listing
        if listing is None:
            raise ActionError(f"no candidate {action.id}: {self._listing_gone}; run `candidates` "
                              "and apply one of its ids")
        if action.id not in listing.edits:
            known = f"c1 .. c{len(listing)}" if len(listing) else "none"
            raise ActionError(f"no candidate {action.id} in the latest listing (its ids: {known})")
        proposal, edit = listing.proposals[action.id], listing.edits[action.id]
        text = self._edit(edit)
        self._applied = format_action(edit)
        return f"applied {action.id} ({proposal.words})\n{text}"

    def list_candidates(self, at: tuple[str, int] | None = None) -> Listing:
        """The listing ``candidates`` (with ``at`` = (PATH, LINE): ``candidates PATH:LINE``) would
        show now, without taking a step; an empty one before localize when no test failed."""
        return self._list(Candidates() if at is None else Candidates(*at))

    def _list(self, action: Candidates) -> Listing:
        task = self.task
        files = source_files(self.sandbox, task)
        if action.path is not None:
            path = tools.clean_path(action.path)
            if task.leaves_alone(path):
                raise tools.ToolError(f"{path} is left alone (the repository's [tool.debug-agent] "
                                      "exclude); look for candidates elsewhere")
            if path not in files:
                what = ("a test file or not a Python source" if path in self.sandbox.list_files()
                        else "not a file of the repository")
                raise tools.ToolError(f"candidates: {path} is {what}; give a source file's "
                                      "PATH:LINE, e.g. one that `localize` ranks")
            n_lines = files[path].count("\n") + 1
            if action.line > n_lines:
                raise tools.ToolError(f"candidates: {path} has {n_lines} lines; line "
                                      f"{action.line} is past the end")
            ranking, where = [(path, action.line)], f"{path}:{action.line}"
        else:
            ranking, where = self._candidate_ranking(), "the top localized lines"
        report = self.initial_report
        propose = load_proposer(self.config.proposer)
        scores = {(s.path, s.line): s.score for s in self._localization or []}
        # Each failing test's output as the search reads it, so that the listing's order is the
        # order the search validates in (each test's hints weigh once).
        found = propose(files, ranking, limit=self.config.candidates_k,
                        failures=failing_outputs(report, task),
                        errors=list(report.collection_errors) if report is not None else [],
                        editable=lambda p: not task.leaves_alone(p),
                        scores=scores if action.path is None else None)
        return Listing.of(found, files, where)

    def _candidate_ranking(self) -> list[tuple[str, int]]:
        """What the search ranks (``SearchPolicy.ranking``): the frames of a module that fails to
        import, the latest localization, then the frames of the failing tests' tracebacks."""
        report, workdir = self.initial_report, self.sandbox.workdir
        ranked = []
        if report is not None:
            ranked += traceback_frames("\n".join(report.collection_errors), workdir)
        ranked += [(s.path, s.line) for s in self._localization or []]
        for test in self.task.fail_to_pass:
            result = report.tests.get(test) if report is not None else None
            if result is not None:
                ranked += traceback_frames(result.message, workdir)
        return list(dict.fromkeys(ranked))

    def _run_tests(self, node_ids: list[str] | None, test_command: str | None) -> TestReport:
        from sandboxes.pytest_runner import run_pytest

        # The task's test command narrows a whole-suite run; node ids name their tests exactly.
        extra = () if node_ids else pytest_args(test_command)
        return run_pytest(self.sandbox, node_ids, timeout=self._timeout(),
                          per_test_timeout=self.config.per_test_timeout_s,
                          limits=self._hung_limits(), extra_args=extra)

    def _hung_limits(self) -> dict[str, float]:
        """A short cap for the tests that hung in the first run: an edit that does not fix
        them would make every later run wait their whole limit again (``envs.limits``)."""
        return hung_limits(self.initial_report, self.config.per_test_timeout_s,
                           slowdown=SCORING_SLOWDOWN)

    def _timeout(self) -> float:
        """The test-run limit, cut to what is left of the time budget (scoring gets it in full)."""
        left = self.config.time_budget_s - (time.monotonic() - self._started)
        return max(min(self.config.test_timeout_s, left), min(10.0, self.config.test_timeout_s))

    def _score(self) -> scoring.Score:
        return scoring.score(self.sandbox, self.task, timeout=self.config.test_timeout_s,
                             per_test_timeout=self.config.per_test_timeout_s,
                             limits=self._hung_limits(), baseline=self.initial_report)

    # -- plumbing ------------------------------------------------------------------------------

    def _choose_task(self, choice: Task | str | Path | None) -> Task:
        if isinstance(choice, Task):
            return choice
        if choice is None:
            if not self.tasks:
                raise UsageError("DebugEnv has no tasks to draw from; pass tasks=[...] or "
                                 "reset(options={'task': TASK_OR_ID_OR_PATH})")
            return self.tasks[int(self.np_random.integers(len(self.tasks)))]
        for task in self.tasks:
            if task.id == str(choice):
                return task
        if Path(choice).is_dir():
            return Task.load(choice)
        known = ", ".join(t.id for t in self.tasks[:10]) + (", ..." if len(self.tasks) > 10 else "")
        raise UsageError(f"no task {str(choice)!r}: not an id among this env's tasks ({known or 'none'})"
                         " nor a task directory")

    def _open_sandbox(self, repo: Path) -> Sandbox:
        return self.config.sandbox.open(repo)

    def _close_sandbox(self) -> None:
        sandbox, self.sandbox = self.sandbox, None
        self._done = True
        if sandbox is not None:
            sandbox.close()

    def _intro(self, task: Task, report: TestReport) -> str:
        failing = report.failing
        # No task id here: suite ids describe the bug ("calc-subtraction-adds").
        head = (f"{len(failing)} of {len(report.tests)} tests fail in this repository."
                if failing else "No test of this repository fails at the start.")
        files = self.sandbox.list_files()
        shown = files[: self.config.intro_max_files]
        listing = "\n".join(shown)
        if len(files) > len(shown):
            listing += f"\n... and {len(files) - len(shown)} more files"
        budget = self.config.max_observation_chars - len(head) - len(listing) - 200
        tests = tools.format_report(report, max_chars=max(budget, 500))
        return f"{head}\n\n{tests}\n\nFiles in the repository ({len(files)}):\n{listing}"

    def _observe(self, text: str) -> str:
        """``text`` made to fit the observation space: known characters, bounded length."""
        text = _ANSI.sub("", text)
        text = "".join(c if c in CHARSET else "?" for c in text)
        return tools.trim(text, self.config.max_observation_chars, "observation")


def _score_summary(result: scoring.Score) -> str:
    f2p = [t for t, s in result.tests.items() if s != "passed"]
    lines = [f"resolved: {'yes' if result.resolved else 'no'}; score {result.reward:.3f}"]
    if f2p:
        lines.append("tests not passing: " + ", ".join(f"{t} ({result.tests[t]})" for t in f2p[:20]))
    if result.dropped:
        lines.append("changes not scored (tests / test configuration): " + ", ".join(result.dropped))
    return "\n".join(lines)
