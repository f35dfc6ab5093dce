"""The task family of ``benchmarks/learning.py``: single-function modules with one small mutation.

Each "source repo" is one function (``mod.py``) and its tests (``test_mod.py``); a task is that
module with one mutation of a few classes (arithmetic operator, comparison boundary, comparison
negation, integer constant; ``envs.mutations``). The functions are the hand-written
``FUNCTIONS`` plus ``generated_functions`` (same shape, made from templates, their tests computed
from the correct function). ``make_tasks`` splits them by source function, so the held-out tasks
come from functions that no training task has.
"""

from __future__ import annotations

import difflib
import random
import re
from pathlib import Path

FAMILIES = ("arith_op", "compare_boundary", "compare_negate", "int_constant")

# name -> (function source, {test name: assertion}); each test checks one behaviour so that a
# mutation breaks some tests and leaves others passing.
FUNCTIONS: dict[str, tuple[str, dict[str, str]]] = {
    "add": ("def add(a, b):\n    return a + b\n",
            {"small": "add(2, 3) == 5", "zero": "add(0, 4) == 4", "neg": "add(-1, -2) == -3"}),
    "area": ("def area(w, h):\n    return w * h\n",
             {"square": "area(3, 3) == 9", "rect": "area(2, 5) == 10", "zero": "area(0, 7) == 0"}),
    "adult": ("def is_adult(age):\n    return age >= 18\n",
              {"edge": "is_adult(18) is True", "young": "is_adult(12) is False",
               "old": "is_adult(40) is True"}),
    "even": ("def is_even(n):\n    return n % 2 == 0\n",
             {"four": "is_even(4) is True", "seven": "is_even(7) is False",
              "zero": "is_even(0) is True"}),
    "double": ("def double(x):\n    return x * 2\n",
               {"three": "double(3) == 6", "zero": "double(0) == 0", "neg": "double(-2) == -4"}),
    "perimeter": ("def perimeter(w, h):\n    return 2 * (w + h)\n",
                  {"square": "perimeter(1, 1) == 4", "rect": "perimeter(2, 3) == 10",
                   "zero": "perimeter(0, 0) == 0"}),
    "mean2": ("def mean2(a, b):\n    return (a + b) / 2\n",
              {"ints": "mean2(2, 4) == 3", "same": "mean2(5, 5) == 5",
               "half": "mean2(1, 2) == 1.5"}),
    "within": ("def within(x, limit):\n    return abs(x) <= limit\n",
               {"inside": "within(2, 5) is True", "edge": "within(-5, 5) is True",
                "outside": "within(7, 5) is False"}),
    "max2": ("def max2(a, b):\n    if a > b:\n        return a\n    return b\n",
             {"first": "max2(5, 1) == 5", "second": "max2(1, 5) == 5",
              "neg": "max2(-3, -8) == -3"}),
    "sign": (("def sign(x):\n    if x > 0:\n        return 1\n    if x < 0:\n        return -1\n"
             "    return 0\n"),
             {"pos": "sign(4) == 1", "neg": "sign(-4) == -1", "zero": "sign(0) == 0"}),
    "last": ("def last_index(items):\n    return len(items) - 1\n",
             {"three": "last_index([1, 2, 3]) == 2", "one": "last_index([9]) == 0",
              "empty": "last_index([]) == -1"}),
    "price": ("def total_price(qty, unit):\n    return qty * unit + 5\n",
              {"one": "total_price(1, 10) == 15", "none": "total_price(0, 10) == 5",
               "many": "total_price(3, 2) == 11"}),
    "diff": ("def abs_diff(a, b):\n    if a > b:\n        return a - b\n    return b - a\n",
             {"order": "abs_diff(5, 2) == 3", "reverse": "abs_diff(2, 5) == 3",
              "same": "abs_diff(4, 4) == 0"}),
    "square": ("def square_sum(a, b):\n    return a * a + b * b\n",
               {"small": "square_sum(1, 2) == 5", "zero": "square_sum(0, 0) == 0",
                "neg": "square_sum(-3, 0) == 9"}),
    "pass": ("def passed(score):\n    return score >= 50\n",
             {"edge": "passed(50) is True", "low": "passed(10) is False",
              "high": "passed(90) is True"}),
    "minutes": ("def minutes(hours):\n    return hours * 60\n",
                {"one": "minutes(1) == 60", "two": "minutes(2) == 120", "zero": "minutes(0) == 0"}),
    "discount": (("def discount(price):\n    if price > 100:\n        return price - 10\n"
                 "    return price\n"),
                 {"big": "discount(150) == 140", "small": "discount(50) == 50",
                  "edge": "discount(100) == 100"}),
    "count": (("def count_positive(xs):\n    n = 0\n    for x in xs:\n        if x > 0:\n"
              "            n += 1\n    return n\n"),
              {"mixed": "count_positive([1, -2, 3]) == 2", "none": "count_positive([-1, 0]) == 0",
               "empty": "count_positive([]) == 0"}),
    "next_even": ("def next_even(n):\n    return n + 2 - n % 2\n",
                  {"even": "next_even(4) == 6", "odd": "next_even(5) == 6",
                   "zero": "next_even(0) == 2"}),
    "cube": ("def cube(x):\n    return x * x * x\n",
             {"two": "cube(2) == 8", "one": "cube(1) == 1", "neg": "cube(-2) == -8"}),
}


# Procedurally generated functions of the same shape (one small integer function, three tests
# whose expected values are computed from the correct function): more training sources than the
# hand-written ones above, and a second held-out set drawn from the same generator.
_WORDS = ("score", "total", "level", "width", "budget", "speed", "weight", "points", "limit",
          "offset", "count", "height", "amount", "steps", "rank", "size", "delay", "margin",
          "bonus", "depth", "ratio", "stock", "fee", "load")
_VARS = ("a", "b", "x", "y", "n", "m", "k", "p", "q", "v", "w", "t")
_TEMPLATES = (
    "    return {a} {op} {b}\n",
    "    return {a} {op} {c}\n",
    "    return {a} {cmp} {c}\n",
    "    return ({a} {op} {b}) {op2} {c}\n",
    "    if {a} {cmp} {b}:\n        return {a}\n    return {b}\n",
    "    if {a} {cmp} {c}:\n        return {a} {op} {c2}\n    return {a}\n",
    "    {t} = {a} {op} {b}\n    return {t} {op2} {c}\n",
)


def generated_functions(count: int, seed: int) -> dict[str, tuple[str, dict[str, str]]]:
    """``count`` generated functions (name -> (source, tests)), reproducible from ``seed``."""
    rng = random.Random(seed)
    out: dict[str, tuple[str, dict[str, str]]] = {}
    while len(out) < count:
        template = rng.choice(_TEMPLATES)
        a, b, t = rng.sample(_VARS, 3)
        c, c2 = rng.randint(1, 9), rng.randint(1, 9)
        name = f"{rng.choice(_WORDS)}_{rng.choice(_WORDS)}"
        if name in out or name in FUNCTIONS:
            continue
        body = template.format(a=a, b=b, t=t, c=c, c2=c2, op=rng.choice("+-*"),
                               op2=rng.choice("+-*"), cmp=rng.choice((">", ">=", "<", "<=")))
        params = [v for v in (a, b) if re.search(rf"\b{v}\b", body)]
        src = f"def {name}({', '.join(params)}):\n{body}"
        namespace: dict = {}
        exec(src, namespace)
        # Inputs around the constant (boundaries matter for comparisons) and a few others.
        pool = sorted({c - 1, c, c + 1, 0, 2, 5, 11, -3})
        calls: list[list[int]] = []
        while len(calls) < 3:
            args = [rng.choice(pool) for _ in params]
            if args not in calls or len(set(pool)) ** len(params) < 3:
                calls.append(args)
        tests = {}
        for i, args in enumerate(calls):
            call = f"{name}({', '.join(map(str, args))})"
            tests[f"case{i}"] = f"{call} == {namespace[name](*args)!r}"
        out[name] = (src, tests)
    return out


def test_source(name: str, func_src: str, tests: dict[str, str]) -> str:
    func = func_src.split("(")[0].removeprefix("def ")
    lines = [f"from mod import {func}\n"]
    for test, assertion in tests.items():
        lines.append(f"\ndef test_{test}():\n    assert {assertion}\n")
    return "".join(lines)


def statuses(module_src: str, tests_src: str, tests: dict[str, str]) -> dict[str, str]:
    """Per-test outcome, computed in-process (pure functions; pytest agrees on these)."""
    namespace: dict = {}
    exec(compile(module_src, "mod.py", "exec"), namespace)
    out = {}
    for test, assertion in tests.items():
        try:
            ok = eval(assertion, dict(namespace))
        except Exception:
            ok = False
        out[f"test_mod.py::test_{test}"] = "passed" if ok else "failed"
    return out


def passes(module_src: str, tests_src: str) -> bool:
    """Whether every test function of ``tests_src`` (a ``test_mod.py``) passes against the module
    ``module_src``, run in-process: the family's functions are pure and their tests plain asserts,
    so this agrees with pytest at a fraction of a run's cost (the ceiling checks many candidates)."""
    namespace: dict = {}
    try:
        exec(compile(module_src, "mod.py", "exec"), namespace)
        # the tests import from mod: give them the module's namespace instead
        exec(compile(re.sub(r"^from mod import .*$", "", tests_src, flags=re.M), "test_mod.py",
                     "exec"), namespace)
    except Exception:  # a candidate that does not even load fails, like its pytest run
        return False
    for name, test in list(namespace.items()):
        if name.startswith("test_") and callable(test):
            try:
                test()
            except Exception:
                return False
    return True


def write_source_tasks(out: Path, name: str, func_src: str, tests: dict[str, str],
                       rng: random.Random, per_source: int) -> list[str]:
    """Up to ``per_source`` tasks of one source function, one mutation each, under ``out``.

    Each reference patch has no context lines (the one changed line), widened by the reference
    policy only where that line is not unique in the file.
    """
    from envs.mutations import apply, enumerate_mutations
    from envs.task import Task

    tests_src = test_source(name, func_src, tests)
    mutants = [m for m in enumerate_mutations(func_src, "mod.py") if m.family in FAMILIES]
    rng.shuffle(mutants)
    ids: list[str] = []
    for m in mutants:
        if len(ids) >= per_source:
            break
        buggy = apply(func_src, m)
        status = statuses(buggy, tests_src, tests)
        failing = sorted(k for k, v in status.items() if v != "passed")
        if not failing:
            continue
        task_id = f"{name}-{len(ids)}"
        task_dir = out / task_id
        (task_dir / "repo").mkdir(parents=True, exist_ok=True)
        (task_dir / "repo" / "mod.py").write_text(buggy)
        (task_dir / "repo" / "test_mod.py").write_text(tests_src)
        patch = "".join(difflib.unified_diff(
            buggy.splitlines(True), func_src.splitlines(True), "a/mod.py", "b/mod.py", n=0))
        Task(id=task_id, repo=task_dir / "repo", fail_to_pass=tuple(failing),
             pass_to_pass=tuple(sorted(set(status) - set(failing))), bug_class=m.family,
             source=name, reference_patch=patch).save(task_dir)
        ids.append(task_id)
    return ids


def make_tasks(out: Path, seed: int, held_out: int, per_source: int, generated: int = 0,
               generated_held_out: int = 0, extra_held_out: int = 0) -> dict[str, list[str]]:
    """Write the task family under out/train and out/held-out; the task ids of each part.

    Held out: ``held_out`` hand-written source repos and ``generated_held_out`` generated ones
    (part "test"), and ``extra_held_out`` more generated ones from a generator seeded apart (part
    "test-extra": more held-out tasks, without changing train or test), all in out/held-out;
    training: the other hand-written ones and ``generated`` generated ones. No source function is
    in two parts.
    """
    names = sorted(FUNCTIONS)
    rng = random.Random(seed)
    rng.shuffle(names)
    functions = dict(FUNCTIONS)
    extra = generated_functions(generated + generated_held_out, seed + 1)
    functions.update(extra)
    extra_names = list(extra)
    split = {"test": names[:held_out] + extra_names[generated:],
             "train": names[held_out:] + extra_names[:generated]}
    ids: dict[str, list[str]] = {"train": [], "test": [], "test-extra": []}
    for part, sources in split.items():
        where = out / ("train" if part == "train" else "held-out")
        for name in sources:
            ids[part] += write_source_tasks(where, name, *functions[name], rng, per_source)
    bodies = {src.split(":", 1)[1] for src, _ in functions.values()}
    candidates = generated_functions(2 * extra_held_out + 10, seed + 1000)
    more = {name: fn for name, fn in candidates.items()
            if name not in functions and fn[0].split(":", 1)[1] not in bodies}
    for name in list(more)[:extra_held_out]:
        ids["test-extra"] += write_source_tasks(out / "held-out", name, *more[name], rng,
                                                per_source)
    return ids


def minimal_block(buggy: str, fixed: str) -> tuple[str, str] | None:
    """The shortest SEARCH/REPLACE pair of whole words that turns ``buggy`` into ``fixed``.

    SEARCH is a substring of one line that occurs once in the file (the env replaces a unique
    SEARCH text wherever it is), grown word by word from the changed characters. None when the
    change spans several lines or no such pair exists.
    """
    old_lines, new_lines = buggy.split("\n"), fixed.split("\n")
    changed = [i for i, (a, b) in enumerate(zip(old_lines, new_lines)) if a != b]
    if len(old_lines) != len(new_lines) or len(changed) != 1:
        return None
    old, new = old_lines[changed[0]], new_lines[changed[0]]
    p = 0
    while p < min(len(old), len(new)) and old[p] == new[p]:
        p += 1
    q = 0
    while q < min(len(old), len(new)) - p and old[-1 - q] == new[-1 - q]:
        q += 1
    start, end = p, len(old) - q  # the changed span of old; new's is [p, len(new) - q)
    while start > 0 and not old[start - 1].isspace():
        start -= 1
    while end < len(old) and not old[end].isspace():
        end += 1
    while True:
        search = old[start:end]
        replace = new[start:len(new) - (len(old) - end)]
        if (search.strip() and buggy.count(search) == 1
                and buggy.replace(search, replace, 1) == fixed):
            return search, replace
        if start == len(old) - len(old.lstrip()) and end == len(old):
            return None
        # one more word on each side (the indentation is never part of SEARCH)
        while start > len(old) - len(old.lstrip()) and old[start - 1].isspace():
            start -= 1
        while start > len(old) - len(old.lstrip()) and not old[start - 1].isspace():
            start -= 1
        while end < len(old) and old[end].isspace():
            end += 1
        while end < len(old) and not old[end].isspace():
            end += 1


def minimal_edit_dataset(demos: Path, tasks_dir: Path) -> Path:
    """demos/dataset with each edit rewritten to its minimal_block, saved as demos/dataset-minimal.

    The rewritten edit leaves the file exactly as the demonstrated one did (checked here), so the
    env's answer, kept as recorded, is what it says to the new edit too. A shorter action is one
    a small model from scratch can learn: it names the wrong token instead of copying a line.
    """
    from datasets import load_from_disk

    from envs.actions import Edit, EditBlock, format_action, parse_action
    from envs.task import load_suite

    repos = {t.id: Path(t.repo) for t in load_suite(tasks_dir)}

    def rewrite(row):
        buggy = (repos[row["task_id"]] / "mod.py").read_text()
        messages = []
        for m in row["messages"]:
            if m["role"] == "assistant" and m["content"].lstrip("`\n").startswith("edit"):
                action = parse_action(m["content"])
                fixed = buggy
                for block in action.blocks:
                    fixed = fixed.replace(block.search, block.replace, 1)
                pair = minimal_block(buggy, fixed) if isinstance(action, Edit) else None
                if pair is not None:
                    m = {**m, "content": format_action(Edit(action.path, (EditBlock(*pair),)))}
            messages.append(m)
        return {"messages": messages}

    out = demos / "dataset-minimal"
    load_from_disk(str(demos / "dataset")).map(rewrite).save_to_disk(str(out))
    return out


def edits_from_candidates(demos: Path, out: Path) -> Path:
    """The edit style's demonstrations made from the candidates style's, without new episodes.

    Where a demonstration listed candidates and applied one, the pair of turns ``candidates`` (and
    its listing) is dropped and ``apply ID`` becomes the edit it made (the env records it in the
    step's info), answered by the env's own words for that edit (the apply observation less its
    first line, "applied ID (...)"); demonstrations that edited stay as they are. Saved as a
    demonstrations folder (``out/dataset`` and ``out/trajectories``), so that
    ``minimal_edit_dataset`` can shorten its edits as it does for collected ones.
    """
    from datasets import Dataset, load_from_disk

    from agent.trajectory import Trajectory

    def verb(message: dict) -> str:
        words = message["content"].strip("`\n ").split(maxsplit=1)
        return words[0] if message["role"] == "assistant" and words else ""

    def rewrite(row: dict) -> dict:
        steps = Trajectory.load(demos / "trajectories" / f"{row['task_id']}.json").steps
        edits = iter(s.info["edit"] for s in steps if s.info.get("action") == "apply")
        old, messages, i = row["messages"], [], 0
        while i < len(old):
            if verb(old[i]) == "candidates":  # the action and the listing that answers it
                i += 2
                continue
            if verb(old[i]) == "apply":
                messages.append({**old[i], "content": next(edits)})
                if i + 1 < len(old):  # "applied cN (words)\n" + what the edit says
                    messages.append({**old[i + 1],
                                     "content": old[i + 1]["content"].split("\n", 1)[-1]})
                i += 2
                continue
            messages.append(old[i])
            i += 1
        return {**row, "messages": messages}

    rows = [rewrite(row) for row in load_from_disk(str(demos / "dataset"))]
    out.mkdir(parents=True, exist_ok=True)
    Dataset.from_list(rows).save_to_disk(str(out / "dataset"))
    return out / "dataset"
