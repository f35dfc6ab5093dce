"""The families that bring the module's own checks to the line (``agent.repair.invariants``) and
the flattened conjunction of ``condition_ingredient``: exact texts, and silence where the module
checks nothing twice or has no collection to extend."""

from __future__ import annotations

from test_repair import src
from test_repair_families2 import texts

JOB = src("""
    class Job:
        @property
        def day(self):
            assert self.interval == 1
            return self

        @property
        def hour(self):
            assert self.interval == 1
            return self

        def shift(self, now):
            if self.unit == "days" and self.at > now:
                return 1
            return 0
""")


def test_conjoin_invariant_adds_a_comparison_the_module_tests_twice() -> None:
    fixed = JOB.replace('self.at > now:', 'self.at > now and self.interval == 1:')
    assert texts("conjoin_invariant", JOB, "if self.unit") == [fixed]
    once = JOB.replace("assert self.interval == 1", "pass", 1)
    assert texts("conjoin_invariant", once, "if self.unit") == []  # tested only once


def test_condition_ingredient_grows_an_and_chain_by_one_operand() -> None:
    found = texts("condition_ingredient", JOB, "if self.unit")
    assert JOB.replace('self.at > now:', 'self.at > now and self.interval == 1:') in found


def test_extend_tuple_adds_a_type_the_module_checks_elsewhere() -> None:
    buggy = src("""
        def compare(self, other):
            kinds = (Version, dict)
            if isinstance(other, (tuple, list)):
                other = Version(*other)
            if not isinstance(other, kinds):
                raise TypeError(other)

        class Version:
            pass
    """)
    assert texts("extend_tuple", buggy, "kinds =") == [
        buggy.replace("(Version, dict)", "(Version, dict, tuple)"),
        buggy.replace("(Version, dict)", "(Version, dict, list)"),
        buggy.replace("(Version, dict)", "(Version, dict, tuple, list)"),
    ]
    assert texts("extend_tuple", "def f(x):\n    return x in (1, 2)\n", "return") == []


def test_missing_init_sets_the_key_the_module_sets_elsewhere_after_the_run() -> None:
    buggy = src("""
        class Retrying:
            def begin(self):
                self.stats["start"] = 0
                self.stats["tries"] = 0

            def stop(self, state):
                self.stats["delay"] = state.elapsed
                self.stats["tries"] += 1
    """)
    fixed = buggy.replace('        self.stats["tries"] = 0\n',
                          '        self.stats["tries"] = 0\n        self.stats["delay"] = 0\n')
    assert texts("missing_init", buggy, '"start"') == [fixed]
    assert texts("missing_init", buggy, '"tries"] = 0') == [fixed]
    lone = buggy.replace('        self.stats["start"] = 0\n', "")
    assert texts("missing_init", lone, '"tries"] = 0') == []  # one statement is no run
