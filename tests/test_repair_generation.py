"""Candidate generation at scale: a file's analysis is made once per text, so a line costs its
neighbourhood, not the file; what the families propose is the same whether the caches are cold
or warm; and a time limit ends generation with what it has, whatever the module's size."""

from __future__ import annotations

import ast
import textwrap
import time

import pytest

from agent.repair import candidates_at, rank
from agent.repair.proposals import candidate_groups
from envs import mutations
from envs.mutations import Mutation, apply, enumerate_mutations

SNIPPET = textwrap.dedent('''
    import os


    class Counter:
        """Counts."""

        def __init__(self, start=0):
            self.count = start
            self.seen = []

        @property
        def double(self):
            return self.count * 2

        def add(self, item, times=1):
            if item is None or times < 1:
                return self.count
            for _ in range(times):
                self.count += 1
                self.seen.append(item)
            return self.count - len(self.seen[:-1])


    def total(values, lo=0, hi=None):
        def clamp(x):
            return max(lo, min(x, hi if hi is not None else x))
        out = 0
        for i, v in enumerate(values):
            if i % 2 == 0 and v > lo:
                out += clamp(v) // 2
        return out if out >= 0 else -out


    LIMIT = total([1, 2, 3], hi=os.cpu_count())
    ''').lstrip("\n")


def _module(functions: int, tag: str) -> str:
    """A big module of plain functions (``tag`` makes its text, hence its caches, its own)."""
    parts = []
    for k in range(functions):
        parts.append(textwrap.dedent(f'''
            def {tag}_{k}(items, limit={k}):
                total = 0
                seen = []
                for i, item in enumerate(items):
                    if item is None or i > limit:
                        continue
                    total += item * {k + 1} - i
                    seen.append(item)
                if not seen:
                    return -1
                return total // len(seen) + min(seen) - max(seen[:2] or [0])


            '''))
    return "".join(parts)


def _as_tuples(found) -> list[tuple]:
    return [(c.path, c.line, c.text, c.family, c.description, c.size, c.disables) for c in found]


def _statement_lines(source: str) -> list[int]:
    return sorted({n.lineno for n in ast.walk(ast.parse(source)) if isinstance(n, ast.stmt)})


def test_mutations_checked_on_their_def_are_those_that_parse_as_a_whole() -> None:
    analysis = mutations._analysis(SNIPPET, "m.py")
    whole = []
    for m in analysis.mutations:  # the reference: every mutant parsed as a whole file
        try:
            ast.parse(apply(SNIPPET, m))
        except SyntaxError:
            continue
        whole.append(m)
    assert enumerate_mutations(SNIPPET, "m.py") == whole
    for line in _statement_lines(SNIPPET):
        assert enumerate_mutations(SNIPPET, "m.py", [line]) == [m for m in whole if line in m.lines]


@pytest.mark.parametrize("needle", ["if item is None or times < 1:", "if i % 2 == 0 and v > lo:",
                                    "LIMIT = total("])
def test_a_mutant_that_breaks_the_syntax_is_rejected_in_a_def_and_at_module_level(needle) -> None:
    row = next(i for i, line in enumerate(SNIPPET.split("\n"), 1) if needle in line)
    col = SNIPPET.split("\n")[row - 1].index(needle)
    analysis = mutations._analysis(SNIPPET, "m.py")
    broken = Mutation("m.py", (row, col), (row, col + 2), needle[:2], "((", "x", "broken")
    fine = Mutation("m.py", (row, col + len(needle) - 1), (row, col + len(needle)),
                    needle[-1], needle[-1] + " ", "x", "a space")
    assert not analysis.parses(broken) and analysis.parses(fine)


def test_candidates_are_the_same_with_cold_and_warm_caches() -> None:
    source = SNIPPET.replace("Counter", "CounterColdWarm")  # a text nothing has cached yet
    package = {"m.py": source, "other.py": "def helper(x):\n    return x + 1\n"}
    lines = _statement_lines(source)
    cold = {lines[-1]: _as_tuples(candidates_at("m.py", source, lines[-1], package))}
    warm = {line: _as_tuples(candidates_at("m.py", source, line, package)) for line in lines}
    assert cold[lines[-1]] == warm[lines[-1]]
    assert sum(map(len, warm.values())) > 100  # the families did propose


def test_twenty_lines_of_a_big_module_parse_and_walk_it_a_bounded_number_of_times(monkeypatch) -> None:
    source = _module(250, "bounded")  # ~3,000 lines
    assert source.count("\n") > 3000
    lines = [n for n in _statement_lines(source) if n > 1500][:20]
    parses, walks = [], []
    parse, walk = ast.parse, ast.walk

    def counting_parse(text, *args, **kwargs):
        if len(text) > len(source) // 2:
            parses.append(1)
        return parse(text, *args, **kwargs)

    def counting_walk(node):
        if isinstance(node, ast.Module) and len(node.body) > 100:
            walks.append(1)
        return walk(node)

    monkeypatch.setattr(ast, "parse", counting_parse)
    monkeypatch.setattr(ast, "walk", counting_walk)
    groups = candidate_groups([("m.py", line) for line in lines], {"m.py": source})
    assert len(groups) == 20 and all(found for _, _, found in groups)
    # Once per text, not once per line and family (it was dozens of times a line).
    assert len(parses) <= 2 and len(walks) <= 3, (len(parses), len(walks))


def test_a_spent_time_limit_ends_generation_on_a_big_module() -> None:
    source = _module(250, "late")
    lines = [n for n in _statement_lines(source) if n > 1500][:20]
    started = time.monotonic()
    assert candidate_groups([("m.py", line) for line in lines], {"m.py": source},
                            time_limit_s=0.0) == []
    # Within a line the families after the deadline are not asked: only the mutations come.
    found = candidates_at("m.py", source, lines[0], deadline=started)
    assert found and {c.family for c in found} <= set(mutations.FAMILIES)
    assert len(found) < len(candidates_at("m.py", source, lines[0]))


def _edits(source: str) -> list[str]:
    """Edits of ``source`` that a statement-sized check could get wrong."""
    def sub(old: str, new: str) -> str:
        assert old in source
        return source.replace(old, new, 1)
    return [
        sub("    def add(", "  def add("),  # its indentation changed: nothing parses
        sub("    def add(", "        seen = 1\n    def add("),  # the method above goes on
        sub("    def add(", "    size = 2\n    def add("),  # a class attribute
        sub("    @property\n", "    @staticmethod\n"),  # a decorator
        sub("return self.count * 2", "return self.count ** 2"),  # a decorated method
        sub("return self.count * 2", "return (self.count * 2)"),  # no change in the AST
        sub("        self.seen = []\n", "        nonlocal missing\n"),  # does not compile
        sub("LIMIT = total(", "return 1\nLIMIT = total("),  # neither
        sub("a = 1; b = 2", "a = 1; b = 3"),  # a line of two statements
        sub("def clamp(x):", "def clamp(x, y=1):"),  # a function's inner function
        sub("import os\n", "import os\nimport sys\n"),
        sub("    def add(", "    def double(self):\n        return 0\n\n    def add("),
    ]


def test_ast_keys_from_a_piece_are_the_whole_files() -> None:
    source = SNIPPET + "a = 1; b = 2\n"
    keys = [(rank.ast_key("m.py", text), rank.ast_key("m.py", text, source))
            for text in _edits(source)]
    assert [whole for whole, _ in keys] == [piece for _, piece in keys]
    assert keys[0][0] is None and keys[6][0] is None and keys[7][0] is None
    assert keys[5][0] == rank.ast_key("m.py", source) and keys[1][0] is not None
    for line in _statement_lines(source):  # and every family's candidates
        for cand in candidates_at("m.py", source, line):
            assert rank.ast_key("m.py", cand.text, source) == rank.ast_key("m.py", cand.text)
