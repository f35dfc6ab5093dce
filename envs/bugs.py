"""Synthetic bugs: turn a repository whose tests pass into buggy tasks by mutation.

For one repo: check that its tests pass, enumerate mutations (``envs.mutations``) over its source
files (never its tests), order them by a seeded draw that takes the families in turn (so one
prolific family does not crowd out the rest), and run the tests on each mutant in one sandbox. A
mutant becomes a task when at least one test fails and at least one still passes, nothing hangs
and every module still imports; mutants with the same resulting source are dropped. The task's
reference patch is the inverse edit as a git diff, its bug class the mutation family, and
``task.json`` records the mutation (file and lines: ground truth for fault localization).
Same repo, same seed, same tasks.
"""

from __future__ import annotations

import hashlib
import logging
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from envs.mutations import FAMILIES, Mutation, apply, enumerate_mutations
from envs.task import Task, TaskError, is_test_file
from sandboxes import copy_repo, diff_texts, run_pytest
from sandboxes.base import IGNORED_NAMES
from sandboxes.config import SandboxConfig

log = logging.getLogger("debug_agent.envs")


@dataclass(frozen=True)
class BugConfig:
    """How many bugs to make from one repo, and how."""

    n: int = 20
    """Tasks to keep."""
    seed: int = 0
    """Seed of the draw; the same seed gives the same tasks."""
    source: str | None = None
    """Source name recorded in each task (default: the repo directory's name)."""
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    """Where the mutants' tests run (backend, image, limits)."""
    max_tries: int | None = None
    """Mutants to test at most (default: 10 * n)."""
    per_test_timeout: float = 10.0
    """A test that runs longer hangs; its mutant is dropped."""

    def __post_init__(self) -> None:
        if self.n < 1:
            raise TaskError(f"BugConfig.n must be at least 1, got {self.n}")
        if self.max_tries is not None and self.max_tries < 1:
            raise TaskError(f"BugConfig.max_tries must be at least 1, got {self.max_tries}")


@dataclass(frozen=True)
class Attempt:
    """What happened to one mutant (for progress reporting)."""

    mutation: Mutation
    kept: bool
    reason: str
    task: Task | None = None


def source_files(repo: Path) -> list[str]:
    """Python files of the repo that are not tests, setup scripts or caches, sorted."""
    files = []
    for path in sorted(repo.rglob("*.py")):
        rel = path.relative_to(repo).as_posix()
        parts = rel.split("/")
        if any(p in IGNORED_NAMES or p.startswith(".") for p in parts):
            continue
        if is_test_file(rel) or rel in ("setup.py", "noxfile.py"):
            continue
        files.append(rel)
    return files


def draw_order(mutations: list[Mutation], seed: int) -> list[Mutation]:
    """All mutations in a seeded order that cycles through the families."""
    rng = random.Random(seed)
    by_family: dict[str, list[Mutation]] = {}
    for m in mutations:
        by_family.setdefault(m.family, []).append(m)
    queues = []
    for family in sorted(by_family, key=FAMILIES.index):
        items = list(by_family[family])
        rng.shuffle(items)
        queues.append(items)
    order = []
    while queues:
        rng.shuffle(queues)
        for q in queues:
            order.append(q.pop())
        queues = [q for q in queues if q]
    return order


def mutation_id(source: str, m: Mutation) -> str:
    digest = hashlib.sha1(
        f"{m.path}:{m.start}:{m.end}:{m.new_text}".encode()).hexdigest()[:8]
    return f"{source}-{m.family}-{digest}"


def generate(repo: str | Path, out: str | Path, config: BugConfig = BugConfig(),
             on_attempt: Callable[[Attempt], None] | None = None) -> list[Task]:
    """Make up to ``config.n`` buggy tasks from ``repo`` into ``out``; returns them in order."""
    repo, out = Path(repo).resolve(), Path(out)
    if not repo.is_dir():
        raise TaskError(f"repo {repo} is not a directory; give the path of a repository")
    source = config.source or repo.name
    files = source_files(repo)
    if not files:
        raise TaskError(f"no source files to mutate in {repo} (test files are never mutated)")
    originals = {rel: (repo / rel).read_text() for rel in files}
    mutations = [m for rel in files for m in enumerate_mutations(originals[rel], rel)]
    order = draw_order(mutations, config.seed)
    max_tries = config.max_tries or 10 * config.n
    kept: list[Task] = []
    seen: set[str] = set()
    with config.sandbox.open(repo) as sandbox:
        baseline = run_pytest(sandbox, per_test_timeout=config.per_test_timeout)
        failing = [n for n, s in baseline.statuses.items() if s != "passed"]
        if baseline.collection_errors or failing or not baseline.tests:
            what = (f"{len(failing)} of {len(baseline.tests)} tests do not pass "
                    f"(first: {failing[0]})" if failing else
                    "collection errors" if baseline.collection_errors else "no tests were found")
            raise TaskError(f"the tests of {repo} must all pass before mutating it: {what}; "
                            "fix the repo or pick another")
        all_tests = set(baseline.tests)
        for tries, m in enumerate(order):
            if len(kept) >= config.n or tries >= max_tries:
                break
            mutant = apply(originals[m.path], m)
            digest = hashlib.sha1(f"{m.path}\0{mutant}".encode()).hexdigest()
            if digest in seen:
                _report(on_attempt, Attempt(m, False, "duplicate source"))
                continue
            seen.add(digest)
            sandbox.write_file(m.path, mutant)
            try:
                report = run_pytest(sandbox, per_test_timeout=config.per_test_timeout,
                                    timeout=max(60.0, 5 * baseline.duration_s))
            finally:
                sandbox.write_file(m.path, originals[m.path])
            statuses = report.statuses
            fail = sorted(report.failing)
            passing = sorted(n for n, s in statuses.items() if s == "passed")
            reason = ("collection error" if report.collection_errors or set(statuses) != all_tests
                      else "a test hangs" if report.timed_out or "timeout" in statuses.values()
                      else "no test fails" if not fail
                      else "no test passes" if not passing else "")
            if reason:
                _report(on_attempt, Attempt(m, False, reason))
                continue
            task_id = mutation_id(source, m)
            target = out / task_id
            if target.exists():
                shutil.rmtree(target)
            task_repo = copy_repo(repo, target / "repo")
            (task_repo / m.path).write_text(mutant)
            task = Task(id=task_id, repo=task_repo, fail_to_pass=tuple(fail),
                        pass_to_pass=tuple(passing), bug_class=m.family, source=source,
                        reference_patch=diff_texts({m.path: mutant}, {m.path: originals[m.path]}),
                        extra={"mutation": m.to_json(), "seed": config.seed}, path=target)
            task.save(target)
            kept.append(task)
            _report(on_attempt, Attempt(m, True, f"{len(fail)} failing", task))
    if len(kept) < config.n:
        log.warning("%s: kept %d of %d requested bugs (%d mutants tried of %d)", source,
                    len(kept), config.n, min(max_tries, len(order)), len(order))
    return kept


def _report(callback: Callable[[Attempt], None] | None, attempt: Attempt) -> None:
    if callback is not None:
        callback(attempt)


def split_by_source(tasks: list[Task], eval_fraction: float, seed: int = 0
                    ) -> tuple[list[Task], list[Task]]:
    """(train, eval) with no source repository in both; about eval_fraction of the sources
    (at least one, and never all) go to eval."""
    if not 0 < eval_fraction < 1:
        raise TaskError(f"eval_fraction must be between 0 and 1, got {eval_fraction}")
    missing = [t.id for t in tasks if not t.source]
    if missing:
        raise TaskError(f"task {missing[0]} has no source; splits by source need it "
                        "(set \"source\" in task.json)")
    sources = sorted({t.source for t in tasks})
    if len(sources) < 2:
        raise TaskError(f"a split by source needs at least 2 sources, got {sources}; "
                        "generate bugs from more repositories")
    random.Random(seed).shuffle(sources)
    n_eval = min(len(sources) - 1, max(1, round(len(sources) * eval_fraction)))
    held_out = set(sources[:n_eval])
    train = [t for t in tasks if t.source not in held_out]
    evaluation = [t for t in tasks if t.source in held_out]
    return train, evaluation
