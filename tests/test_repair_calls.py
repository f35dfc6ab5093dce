"""The call and attribute families (``agent.repair.calls``) on small hand-written sources: each
proposes the exact text of the fix it is meant for and stays silent without the program's
evidence (a call seen elsewhere, a class of the module, a local built by the same function)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_repair import src
from test_repair_families2 import texts

# -- call_attribute --------------------------------------------------------------------------

def test_call_attribute_calls_a_method_read_as_a_property_and_back() -> None:
    buggy = src("""
        def late(job, now):
            if job.start.date() < now.date:
                return True
    """)
    assert texts("call_attribute", buggy, "if job") == [src("""
        def late(job, now):
            if job.start.date() < now.date():
                return True
    """)]
    prop = src("""
        class Box:
            @property
            def size(self):
                return 3

            def twice(self):
                return self.size() * 2
    """)
    assert texts("call_attribute", prop, "return self.size") == [
        prop.replace("self.size() * 2", "self.size * 2")]
    assert texts("call_attribute", "def f(p):\n    return p.name\n", "return") == []


# -- type_self -------------------------------------------------------------------------------

def test_type_self_builds_the_instance_own_class_inside_a_method() -> None:
    buggy = src("""
        class Money:
            def __init__(self, cents):
                self.cents = cents

            def __add__(self, other):
                if not isinstance(other, Money):
                    return NotImplemented
                return Money(self.cents + other.cents)
    """)
    assert texts("type_self", buggy, "return Money") == [
        buggy.replace("return Money(", "return type(self)(")]
    assert texts("type_self", buggy, "isinstance") == []  # the base class is meant there
    assert texts("type_self", "class A:\n    pass\n\ndef f(x):\n    return A(x)\n",
                 "return") == []  # no self in scope


# -- call_to_local ---------------------------------------------------------------------------

def test_call_to_local_reuses_the_object_built_before_the_line() -> None:
    buggy = src("""
        def find(pattern, text, flags=0):
            p = Pattern(pattern, flags=flags)
            return Pattern(pattern).search(text)
    """)
    assert texts("call_to_local", buggy, "return") == [src("""
        def find(pattern, text, flags=0):
            p = Pattern(pattern, flags=flags)
            return p.search(text)
    """)]
    assert texts("call_to_local", "def f(a):\n    return Pattern(a).search(a)\n", "return") == []


# -- subscript_get ---------------------------------------------------------------------------

def test_subscript_get_reads_a_missing_key_as_none_and_back() -> None:
    buggy = "def fmt(formats, field):\n    if formats[field] is not None:\n        return 1\n"
    assert texts("subscript_get", buggy, "if") == [
        buggy.replace("formats[field]", "formats.get(field)")]
    back = "def f(d, k):\n    return d.get(k) + 1\n"
    assert texts("subscript_get", back, "return") == ["def f(d, k):\n    return d[k] + 1\n"]
    assert texts("subscript_get", "def f(xs):\n    return xs[0] + xs[i - 1]\n", "return") == []


# -- compare_like ----------------------------------------------------------------------------

def test_compare_like_measures_both_sides_the_same_way_names_near_the_line_first() -> None:
    buggy = src("""
        class Job:
            def due(self, now):
                self.last = None
                if self.at > now.time():
                    self.next = self.next - 1
    """)
    found = texts("compare_like", buggy, "if self.at")
    assert found[0] == buggy.replace("if self.at >", "if self.at.time() >")
    assert buggy.replace("if self.at >", "if self.next.time() >") in found
    assert len(found) == 3  # self.at, then self.next and self.last, read near the line
    assert texts("compare_like", "def f(a, b):\n    return a < b\n", "return") == []


# -- end to end ------------------------------------------------------------------------------

MONEY = '''"""Amounts of money in cents, one class per currency."""


class Money:
    symbol = "?"

    def __init__(self, cents):
        self.cents = cents

    def __add__(self, other):
        return Money(self.cents + other.cents)

    def __repr__(self):
        return f"{self.symbol}{self.cents / 100:.2f}"


class Euro(Money):
    symbol = "EUR "
'''

MONEY_TESTS = '''from wallet.money import Euro, Money


def test_sum_keeps_the_currency():
    assert repr(Euro(150) + Euro(250)) == "EUR 4.00"


def test_plain_sum():
    total = Money(1) + Money(2)
    assert type(total) is Money and total.cents == 3
'''


def agent_fix(repo: Path, out: Path) -> dict:
    """``agent fix REPO --sandbox docker --json``'s payload (the command must succeed)."""
    done = subprocess.run([sys.executable, "-m", "agent", "fix", str(repo), "--sandbox", "docker",
                           "--json", "--timeout", "120", "--out", str(out)],
                          check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def assert_agent_fix_finds(tmp_path: Path, files: dict[str, str], family: str,
                           added_line: str) -> None:
    """Write the project ``files`` (relative path -> text), run `agent fix` on it in the Docker
    sandbox and check that the fix is found by ``family``, that its patch adds ``added_line``,
    and that the project is left as it was (nothing was asked to be applied)."""
    repo = tmp_path / "project"
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    payload = agent_fix(repo, tmp_path / "run")
    assert payload["resolved"] is True, payload.get("policy_stats")
    assert payload["policy_stats"]["family"] == family
    assert f"+{added_line}\n" in payload["patch"]
    assert {name: (repo / name).read_text() for name in files} == files


@pytest.mark.slow
@pytest.mark.docker
def test_agent_fix_builds_the_subclass_with_type_self(tmp_path: Path, docker_ready) -> None:
    """A method that builds its base class by name loses the subclass (no mutation operator
    makes ``type(self)``): `agent fix` in the Docker sandbox finds it with type_self."""
    assert_agent_fix_finds(
        tmp_path, {"wallet/__init__.py": "", "wallet/money.py": MONEY,
                   "tests/test_money.py": MONEY_TESTS},
        "type_self", "        return type(self)(self.cents + other.cents)")
