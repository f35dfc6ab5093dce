"""A foreign development set from HumanEvalFix: 164 small programs with one human-written bug each.

Nothing of them is committed: ``build`` turns two mirrors given on the command line into a suite.

- ``--bugs``: the HumanEvalFix (Python) history, a commit pair per program: "Task instance
  Python/N" holds main.py with the buggy solution, "Task instance Python/N with tests" adds
  test.py, whose ``check(fn)`` holds the asserts.
- ``--reference``: the HumanEvalPack "fix" dataset, whose
  ``datasets/humanevalpack-fix/python_N/tests/full_test_script.py`` holds the canonical solution
  followed by ``check``: the reference fix.

Each program becomes a small project as a user would have it: ``main.py`` (the buggy module as
given, without the harness that called ``check`` on import) and ``test_main.py``, one pytest
function per top-level assert of ``check`` (kept verbatim, with the statements before it that it
needs), so that spectrum-based localization has passing and failing tests. Tasks are kept when
some test fails on the buggy module and every test passes with the reference; otherwise dropped
with the reason, in ``manifest.jsonl``. Even N are the development half, odd N the evaluation
half (``--split`` also writes OUT-dev/ and OUT-eval/).

    python benchmarks/humanevalfix.py build --bugs BUGS_MIRROR --reference REF_MIRROR --out DIR
        [--split] [--only N ...]
    python -m agent tasks validate DIR --sandbox docker     # pytest in the sandbox
    python benchmarks/fix_suite.py --tasks DIR-dev --json --timeout 60 > run.json
    python benchmarks/humanevalfix.py measure run.json --tasks DIR-dev [--json]
    python benchmarks/humanevalfix.py misses RUNS --tasks DIR-dev > misses.md

``measure`` adds, to a ``fix_suite.py --json`` run, how many resolved patches behave like the
reference (``benchmarks/behaviour.py``: the tests' arguments and perturbed variants).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from behaviour import compare, literal_calls  # a sibling script module
from foreign_set import changed_old_lines

from envs.mine import check_history, git
from envs.task import Task, TaskError, load_suite
from sandboxes.base import FAILING

SUBJECT = re.compile(r"^Task instance Python/(\d+)( with tests)?$")
REFERENCE_PATH = "datasets/humanevalpack-fix/python_{n}/tests/full_test_script.py"
MODULE, TESTS = "main.py", "test_main.py"


@dataclass(frozen=True)
class Program:
    """One HumanEvalFix program, as the mirrors give it."""

    n: int
    buggy: str
    """main.py of "Task instance Python/N"."""
    tests: str
    """test.py of "Task instance Python/N with tests"."""
    reference: str | None
    """The canonical solution's script, None when the reference mirror lacks it."""
    bug_commit: str
    test_commit: str

    @property
    def id(self) -> str:
        return f"hefix-{self.n}"

    @property
    def half(self) -> str:
        return "dev" if self.n % 2 == 0 else "eval"


def programs(bugs: Path, reference: Path | None) -> dict[int, Program]:
    """Every program of the HumanEvalFix history, by N."""
    commits: dict[int, dict[bool, str]] = {}
    for line in git(bugs, "log", "--format=%H %s").splitlines():
        sha, _, subject = line.partition(" ")
        match = SUBJECT.match(subject.strip())
        if match:
            commits.setdefault(int(match[1]), {})[bool(match[2])] = sha
    found = {}
    for n, pair in sorted(commits.items()):
        if False not in pair or True not in pair:
            continue
        ref = None
        if reference is not None:
            try:
                ref = git(reference, "show", f"HEAD:{REFERENCE_PATH.format(n=n)}")
            except TaskError:
                ref = None
        found[n] = Program(n, git(bugs, "show", f"{pair[False]}:main.py"),
                           git(bugs, "show", f"{pair[True]}:test.py"), ref, pair[False],
                           pair[True])
    return found


# -- turning a program into a project -------------------------------------------------------------

def _is_harness(node: ast.stmt) -> bool:
    """``def check``, a top-level ``check(...)`` call, or an ``if __name__ == ...`` block."""
    if isinstance(node, ast.FunctionDef) and node.name == "check":
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        return isinstance(node.value.func, ast.Name) and node.value.func.id == "check"
    return isinstance(node, ast.If) and "__name__" in ast.unparse(node.test)


def strip_harness(source: str) -> str:
    """``source`` without the statements that ran the tests on import (the rest verbatim)."""
    lines = source.splitlines()
    drop: set[int] = set()
    for node in ast.parse(source).body:
        if _is_harness(node):
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            drop.update(range(first - 1, node.end_lineno))
    kept = [line for i, line in enumerate(lines) if i not in drop]
    return "\n".join(kept).rstrip() + "\n"


def _segment(lines: list[str], node: ast.stmt) -> str:
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return "\n".join(lines[first - 1: node.end_lineno])


def with_reference(buggy: str, reference: str) -> str:
    """The buggy module with each function that the reference also defines replaced by the
    reference's version (only where they differ beyond blank lines, so that the reference
    patch is the fix and not a reformatting), and the reference's imports of names that the
    buggy module reads but does not bind added at the top."""
    ref_lines = reference.splitlines()
    ref_tree = ast.parse(reference)
    functions = {n.name: _segment(ref_lines, n).splitlines() for n in ref_tree.body
                 if isinstance(n, ast.FunctionDef) and n.name != "check"}
    lines = buggy.splitlines()
    tree = ast.parse(buggy)
    out: list[str] = []
    at = 0
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in functions:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            out += lines[at: first - 1] + _closest(lines[first - 1: node.end_lineno],
                                                   functions[node.name])
            at = node.end_lineno
    out += lines[at:]
    fixed = "\n".join(out).rstrip() + "\n"
    missing = _missing_imports(fixed, ref_tree)
    return "\n".join(missing) + "\n" + fixed if missing else fixed


def _closest(ours: list[str], theirs: list[str]) -> list[str]:
    """``ours`` with the lines of ``theirs`` that differ, blank lines aside, put in; ``theirs``
    itself when that is not the same program as ``theirs``."""
    groups: list[list[str]] = [[]]  # each non-blank line of ours with the blank lines after it
    for line in ours:
        if line.strip():
            groups.append([line])
        else:
            groups[-1].append(line)
    prefix, groups = groups[0], groups[1:]
    filled = [line for line in theirs if line.strip()]
    merged = list(prefix)
    matcher = difflib.SequenceMatcher(None, [g[0].rstrip() for g in groups],
                                      [line.rstrip() for line in filled], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            merged += [line for group in groups[i1:i2] for line in group]
        else:
            merged += filled[j1:j2]
    try:
        if ast.dump(ast.parse("\n".join(merged))) == ast.dump(ast.parse("\n".join(theirs))):
            return merged
    except SyntaxError:
        pass  # a merge that does not parse: the reference's own text is the answer
    return theirs


def _missing_imports(source: str, reference: ast.Module) -> list[str]:
    """The reference's import statements that bind a name ``source`` reads but never binds."""
    tree = ast.parse(source)
    bound = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {a.asname or a.name.split(".")[0] for a in node.names}
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - bound
    missing = []
    for node in reference.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a for a in node.names if (a.asname or a.name.split(".")[0]) in read]
            if names:
                node = type(node)(**{**node.__dict__, "names": names})
                missing.append(ast.unparse(node))
    return missing


def _check(tests: str) -> ast.FunctionDef:
    for node in ast.parse(tests).body:
        if isinstance(node, ast.FunctionDef) and node.name == "check":
            return node
    raise ValueError("test.py has no check function")


def _entry_point(tests: str) -> str:
    for node in ast.parse(tests).body:
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
                and getattr(node.value.func, "id", None) == "check" and node.value.args
                and isinstance(node.value.args[0], ast.Name)):
            return node.value.args[0].id
    raise ValueError("test.py never calls check(FUNCTION)")


def _asserts(node: ast.stmt) -> bool:
    """Whether a statement tests something: it holds an assert that is not ``assert True``."""
    return any(isinstance(n, ast.Assert) and not (isinstance(n.test, ast.Constant) and n.test.value)
               for n in ast.walk(node))


def test_module(tests: str, module_source: str) -> tuple[str, str, list[str]]:
    """(test_main.py, the entry point, its test names) from HumanEvalFix's test.py: one test
    function per top-level statement of ``check`` that asserts, each preceded by the statements
    of ``check`` before it that assert nothing (imports, set-up), all verbatim."""
    entry = _entry_point(tests)
    check = _check(tests)
    lines = tests.splitlines()
    param = check.args.args[0].arg if check.args.args else entry
    module_names = {n.name for n in ast.parse(module_source).body
                    if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    used = {n.id for n in ast.walk(check) if isinstance(n, ast.Name)}
    imported = sorted((used & module_names) - {param} | {entry})
    head = [f"from main import {', '.join(imported)}"]
    if param != entry:
        head.append(f"{param} = {entry}")
    setup: list[str] = []
    bodies: list[str] = []
    for statement in check.body:
        text = textwrap.dedent(_segment(lines, statement))
        if _asserts(statement):
            bodies.append("\n".join(setup + [text]))
        elif not isinstance(statement, (ast.Assert, ast.Pass)):
            setup.append(text)
    width = len(str(len(bodies)))
    names = [f"test_{entry}_{i:0{width}}" for i in range(1, len(bodies) + 1)]
    functions = [f"def {name}():\n{textwrap.indent(body, '    ')}\n"
                 for name, body in zip(names, bodies)]
    source = "\n".join(head) + "\n\n\n" + "\n\n".join(functions)
    return source, entry, names


def unified(before: str, after: str, path: str = MODULE) -> str:
    """A ``git apply``-able diff of one file."""
    return "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True),
                                        f"a/{path}", f"b/{path}"))


# -- deciding and writing the tasks ---------------------------------------------------------------

def _project(where: Path, module: str, tests: str) -> Path:
    where.mkdir(parents=True)
    (where / MODULE).write_text(module)
    (where / TESTS).write_text(tests)
    return where


# Deciding a task runs its tests three times; pytest starts in seconds on a loaded 2-core
# machine, these test functions take microseconds, so a small child process calls them itself
# (each under a time limit). `agent tasks validate` then checks the kept tasks with pytest in the
# sandbox, as every suite is checked.
_RUNNER = r'''
import importlib, json, os, resource, signal, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
sys.path.insert(0, os.getcwd())
names = json.loads(sys.argv[1])

class TestTimeout(BaseException):
    pass

def alarm(signum, frame):
    raise TestTimeout()

signal.signal(signal.SIGALRM, alarm)
result, sys.stdout = sys.stdout, open(os.devnull, "w")
try:
    module = importlib.import_module("test_main")
except BaseException:
    module = None
statuses = {}
for name in names:
    status = "error" if module is None else "passed"
    if module is not None:
        signal.setitimer(signal.ITIMER_REAL, 3)  # HumanEval tests take microseconds
        try:
            getattr(module, name)()
        except TestTimeout:
            status = "timeout"
        except BaseException:
            status = "failed"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    statuses[f"test_main.py::{name}"] = status
result.write(json.dumps(statuses) + "\n")
'''


def _statuses(repo: Path, names: list[str]) -> dict[str, str]:
    """Each test's status ("passed", "failed", "error", "timeout") in ``repo``."""
    try:
        done = subprocess.run([sys.executable, "-I", "-c", _RUNNER, json.dumps(names)],
                              cwd=repo, capture_output=True, text=True, timeout=len(names) * 4 + 10,
                              check=False)
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, json.JSONDecodeError, IndexError):
        return {f"{TESTS}::{name}": "timeout" for name in names}


def _listed(statuses: dict[str, str], names: list[str]) -> str:
    shown = ", ".join(f"{n} ({statuses[n]})" for n in names[:2])
    return shown + (f" and {len(names) - 2} more" if len(names) > 2 else "")


def decide(program: Program, out: Path) -> dict:
    """Build, run and (when kept) write one task; its manifest record."""
    record = {"id": program.id, "n": program.n, "half": program.half, "kept": False}
    if program.reference is None:
        return record | {"reason": "no canonical solution in the reference mirror"}
    try:
        buggy = strip_harness(program.buggy)
        fixed = with_reference(buggy, strip_harness(program.reference))
        tests, entry, names = test_module(program.tests, buggy)
    except (SyntaxError, ValueError) as exc:
        return record | {"reason": f"cannot read the program: {exc}"}
    if not names:
        return record | {"reason": "check() holds no assert to turn into a test"}
    with tempfile.TemporaryDirectory(prefix="debug-agent-hefix-") as tmp:
        buggy_repo = _project(Path(tmp) / "buggy", buggy, tests)
        after = _statuses(_project(Path(tmp) / "fixed", fixed, tests), names)
        bad = [n for n in sorted(after) if after[n] != "passed"]
        if bad or not after:
            return record | {"reason": f"the reference fails its tests: {_listed(after, bad)}"
                             if bad else "no test ran with the reference"}
        before = _statuses(buggy_repo, names)
        f2p = sorted(n for n in after if before.get(n) in FAILING)
        if not f2p:
            return record | {"reason": f"the buggy module passes all {len(after)} tests"}
        again = _statuses(buggy_repo, names)  # random inputs in some checks: drop flip-flops
        flaky = sorted(n for n in after if (before.get(n) in FAILING) != (again.get(n) in FAILING))
        f2p = [n for n in f2p if n not in flaky]
        p2p = sorted(n for n in after if before.get(n) == "passed" and n not in flaky)
        if not f2p:
            return record | {"reason": f"the failing tests are flaky: {flaky[0]}"}
        target = out / program.id
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        shutil.move(str(buggy_repo), target / "repo")
    Task(id=program.id, repo=target / "repo", fail_to_pass=tuple(f2p), pass_to_pass=tuple(p2p),
         bug_class="humanevalfix", source="humanevalfix", reference_patch=unified(buggy, fixed),
         extra={"n": program.n, "half": program.half, "entry_point": entry,
                "probe_calls": literal_calls(program.tests, entry),
                "bug_commit": program.bug_commit, "test_commit": program.test_commit,
                "fail_before": {n: before[n] for n in f2p}, "flaky": flaky}).save(target)
    return record | {"kept": True, "reason": f"{len(f2p)} fail_to_pass, {len(p2p)} pass_to_pass"}


def build(programs_by_n: dict[int, Program], out: Path, split: bool) -> list[dict]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    out.mkdir(parents=True, exist_ok=True)
    records = []
    console = Console(stderr=True)
    with (out / "manifest.jsonl").open("w") as manifest, \
            Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                     console=console) as progress:
        bar = progress.add_task("humanevalfix", total=len(programs_by_n))
        for program in programs_by_n.values():
            progress.update(bar, description=program.id)
            record = decide(program, out)
            records.append(record)
            manifest.write(json.dumps(record) + "\n")
            manifest.flush()
            if split and record["kept"]:
                half = out.with_name(f"{out.name}-{program.half}") / program.id
                if half.exists():
                    shutil.rmtree(half)
                shutil.copytree(out / program.id, half)
            progress.advance(bar)
    kept = [r for r in records if r["kept"]]
    console.print(f"{len(kept)} of {len(records)} programs kept in {out} "
                  f"({sum(r['half'] == 'dev' for r in kept)} dev, "
                  f"{sum(r['half'] == 'eval' for r in kept)} eval)")
    return records


# -- measuring a fix_suite run --------------------------------------------------------------------

def behaviour_of(task: Task, patch: str) -> dict:
    """The differential check of one resolved task's patch against its reference patch."""
    from fix_suite import patched_tree

    ours = patched_tree(task.repo, patch)
    reference = patched_tree(task.repo, task.reference_patch or "")
    if ours is None or reference is None:
        return {"same": False, "error": "a patch does not apply", "probes": 0, "differ": 0}
    found = compare(ours.get(MODULE, ""), reference.get(MODULE, ""),
                    task.extra["entry_point"], task.extra.get("probe_calls", []))
    return found.to_json()


def run_from_folder(runs: Path, tasks: dict[str, Task]) -> dict:
    """A ``fix_suite.py --json``-shaped run from the result.json files of its ``--runs``
    folder, for a run that was cut short (times are agent fix's own, without its start-up)."""
    from fix_suite import patched_tree, same_program

    from agent.eval.metrics import distribution

    rows = []
    for task_id, task in sorted(tasks.items()):
        path = runs / task_id / "result.json"
        if not path.is_file():
            continue
        result = json.loads(path.read_text())
        resolved = bool(result.get("resolved"))
        same = resolved and same_program(patched_tree(task.repo, result.get("patch", "")),
                                         patched_tree(task.repo, task.reference_patch or ""))
        stats = result.get("policy_stats") or {}
        rows.append({"task": task_id, "resolved": resolved, "patch": result.get("patch", ""),
                     "same_program_as_reference": same, "family": stats.get("family", ""),
                     "candidates": stats.get("candidates", 0),
                     "wall_s": result.get("total_elapsed_s", 0.0)})
    times = distribution([r["wall_s"] for r in rows])
    return {"tasks": len(rows), "resolved": sum(r["resolved"] for r in rows),
            "same_program_as_reference": sum(r["same_program_as_reference"] for r in rows),
            "median_s": times["median"], "p90_s": times["p90"], "rows": rows}


def load_run(run: Path, suite: Path) -> tuple[dict, dict[str, Task]]:
    """A ``fix_suite.py --json`` run (its JSON, or its ``--runs`` folder) and the suite's tasks."""
    tasks = {t.id: t for t in load_suite(suite)}
    return (run_from_folder(run, tasks) if run.is_dir() else json.loads(run.read_text())), tasks


def measure(run: dict, tasks: dict[str, Task]) -> dict:
    """Per resolved row of a ``fix_suite.py --json`` run: its behaviour against the reference."""
    rows = []
    for row in run["rows"]:
        if not row.get("resolved") or row["task"] not in tasks:
            continue
        if "patch" not in row:
            raise TaskError("the fix_suite run has no patches in its rows; rerun it with this "
                            "version of benchmarks/fix_suite.py")
        found = behaviour_of(tasks[row["task"]], row["patch"])
        if tasks[row["task"]].extra.get("half") == "eval":
            found["examples"] = []  # the evaluation half is measured, never read case by case
        rows.append({"task": row["task"], "half": tasks[row["task"]].extra.get("half"),
                     "same_program": row["same_program_as_reference"], **found})
    return {"tasks": run["tasks"], "resolved": run["resolved"], "median_s": run.get("median_s"),
            "p90_s": run.get("p90_s"),
            "same_program_as_reference": run["same_program_as_reference"],
            "same_behaviour": sum(r["same"] for r in rows),
            "behaviour_unchecked": sum(r["error"] is not None for r in rows), "rows": rows}


def misses(tasks: list[Task], runs: Path) -> str:
    """A Markdown page of the development half's unresolved tasks in a ``fix_suite.py --runs``
    folder (it can be read while the run goes on): the reference diff and what the engine
    tried. Evaluation-half tasks are never written up (they are for measuring only)."""
    parts = ["# HumanEvalFix development half: tasks the engine did not resolve\n"]
    for task in tasks:
        path = runs / task.id / "result.json"
        if task.extra.get("half") != "dev" or not path.is_file():
            continue
        result = json.loads(path.read_text())
        if result.get("resolved"):
            continue
        stats = result.get("policy_stats") or {}
        tried = ", ".join(f"{name} {c.get('tried', 0)}"
                          for name, c in (stats.get("families") or {}).items())
        ranked = result.get("localization", [])
        fault = [f"{path}:{line}" for path, lines in
                 changed_old_lines(task.reference_patch or "").items() for line in sorted(lines)]
        ranks = [f"{where} at {ranked.index(where) + 1}" if where in ranked else f"{where} unranked"
                 for where in fault]
        parts.append(
            f"## {task.id} (`{task.extra['entry_point']}`)\n\n"
            f"fail_to_pass {len(task.fail_to_pass)}, pass_to_pass {len(task.pass_to_pass)}; "
            f"{result.get('total_elapsed_s', '?')} s, {stats.get('candidates', 0)} candidates, "
            f"exit {result.get('exit_status', '?')}"
            + (f", error: {result['error'][:300]}" if result.get("error") else "") + "\n\n"
            f"- families tried: {tried or 'none'}\n"
            f"- localization (top 5): {', '.join(ranked[:5]) or '?'}; the reference's lines: "
            f"{', '.join(ranks) or '?'} (of {len(ranked)})\n\n"
            f"```diff\n{(task.reference_patch or '').strip()}\n```\n")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("build", help="Build the suite from the two mirrors.")
    make.add_argument("--bugs", type=Path, required=True, help="The HumanEvalFix history.")
    make.add_argument("--reference", type=Path, default=None,
                      help="The HumanEvalPack history with the canonical solutions (without "
                           "it, no task can be checked and none is kept).")
    make.add_argument("--out", type=Path, required=True, help="Suite directory to write.")
    make.add_argument("--split", action="store_true",
                      help="Also copy the tasks into OUT-dev/ (even N) and OUT-eval/ (odd N).")
    make.add_argument("--only", type=int, nargs="+", default=None, help="Only these N.")
    judge = sub.add_parser("measure", help="Same-behaviour figures of a fix_suite --json run.")
    judge.add_argument("run", type=Path, help="The JSON that fix_suite.py --json printed, or "
                       "its --runs folder (a run cut short).")
    judge.add_argument("--tasks", type=Path, required=True, help="The suite it ran.")
    judge.add_argument("--json", action="store_true")
    write = sub.add_parser("misses", help="The development half's unresolved tasks of a "
                           "fix_suite --runs folder, as Markdown on stdout.")
    write.add_argument("runs", type=Path, help="The folder fix_suite.py --runs wrote.")
    write.add_argument("--tasks", type=Path, required=True, help="The suite it ran.")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            found = programs(check_history(args.bugs),
                             check_history(args.reference) if args.reference else None)
            if not found:
                raise TaskError(f"{args.bugs} has no 'Task instance Python/N' commit pairs")
            if args.only:
                found = {n: p for n, p in found.items() if n in set(args.only)}
            build(found, args.out, args.split)
            return 0
        if args.command == "misses":
            print(misses(load_suite(args.tasks), args.runs))
            return 0
        summary = measure(*load_run(args.run, args.tasks))
    except (TaskError, OSError, json.JSONDecodeError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary, indent=1))
        return 0
    print(f"resolved {summary['resolved']}/{summary['tasks']}; the same program as the "
          f"reference (AST): {summary['same_program_as_reference']}/{summary['resolved']}; "
          f"the same behaviour (differential): {summary['same_behaviour']}/"
          f"{summary['resolved']} ({summary['behaviour_unchecked']} could not be checked)")
    if summary["median_s"] is not None:
        print(f"median {summary['median_s']} s, p90 {summary['p90_s']} s per task")
    for row in summary["rows"]:
        if not row["same"] and row["half"] != "eval":
            print(f"  {row['task']}: {row['differ']}/{row['probes']} probes differ"
                  + (f"; {row['error']}" if row["error"] else "")
                  + "".join(f"\n      {e}" for e in row["examples"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
