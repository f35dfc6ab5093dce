"""Condition synthesis from runtime values (``agent.repair.angelic``): the sites, the recorder
in an instrumented module run by real pytest, the synthesis over recorded values, and `agent
fix` on a bug that needs a missing conjunct, which only this family proposes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.fix import FixConfig, fix
from agent.repair import angelic
from sandboxes.config import SandboxConfig

SHOP = '''"""Prices at the till."""


def price(total, items):
    """The price to pay: a tenth off a basket over 50 with at least 3 items."""
    if total > 50:
        return round(total * 0.9, 2)
    return total


def label(total, items):
    return f"{items} items: {price(total, items)}"
'''

SHOP_TESTS = '''from shop import label, price


def test_big_basket():
    assert price(80, 4) == 72.0


def test_small_total():
    assert price(20, 5) == 20


def test_few_items():
    assert price(80, 2) == 80


def test_one_item():
    assert price(60, 1) == 60


def test_label():
    assert label(10, 1) == "1 items: 10"
'''


def shop_repo(root: Path) -> Path:
    (root / "tests").mkdir(parents=True)
    (root / "shop.py").write_text(SHOP)
    (root / "tests" / "test_shop.py").write_text(SHOP_TESTS)
    return root


def test_sites_are_tests_and_simple_statements_inside_functions() -> None:
    src = ("X = 1\nif X:\n    pass\n\n\ndef f(xs, n):\n    '''doc'''\n"
           "    ys = [x for x in xs if x > n]\n    while n and ys:\n        n -= 1\n"
           "    return ys[0] if ys else None\n")
    kinds = {line: [(s.kind, s.text) for s in angelic.find_sites("m.py", src, line, 0)]
             for line in range(1, 12)}
    assert kinds[2] == []  # module level: the recorder is defined at the module's end
    assert kinds[7] == []  # a docstring needs no guard
    assert kinds[8] == [("cond", "x > n"), ("pre", "True")]
    assert kinds[9] == [("cond", "n and ys")]
    assert kinds[10] == [("pre", "True")]
    assert kinds[11] == [("cond", "ys"), ("pre", "True")]


def test_synthesis_matches_every_record_smallest_first() -> None:
    # if total > 50: the failing tests needed False where items < 3, the passing ones the
    # original value; records as the recorder writes them.
    rows = []
    for total, items, want in [(80, 4, True), (20, 5, False), (80, 2, False), (60, 1, False),
                               (55, 3, True), (10, 1, False)]:
        rows.append(({"total": ["n", total], "items": ["n", items]}, total > 50, want))
    spec = angelic.Spec(rows)
    found = angelic.synthesize(spec, "total > 50", [0, 1, 50, 0.9, 3], [], ["total"])
    assert found, found
    for cond in found:  # each one yields the wanted value on every record
        for vals, _, want in rows:
            env = {k: v[1] for k, v in vals.items()}
            assert bool(eval(cond, {}, env)) == want, cond
    assert found[0] == "(total > 50) and items >= 3"  # the original, joined: the smallest
    assert "items >= 3" not in found  # (20, 5) wants False
    assert len(found) <= angelic.MAX_PER_SITE


def test_a_failing_test_no_forcing_repairs_refutes_constant_conditions() -> None:
    # elif i % 3 != 0 (should be: and i % 4 == 0): forcing False repaired the short lists'
    # test (i = 1, 2); the long lists' test, repaired by neither forcing, saw i = 1, 2, 4, 5.
    def vals(i):
        return {"i": ["n", i]}
    spec = angelic.Spec([(vals(1), True, False), (vals(2), True, False)],
                        negative=[[(vals(i), True) for i in (1, 2, 4, 5)]])
    found = angelic.synthesize(spec, "i % 3 != 0", [0, 1, 2, 3], [], ["i"])
    assert "i < 0" not in found  # False at every evaluation, as the failed forcing
    assert "i % 4 == 0" in found and "(i % 3 != 0) and i % 4 == 0" in found
    without = angelic.synthesize(angelic.Spec(spec.rows), "i % 3 != 0", [0, 1, 2, 3], [],
                                 ["i"])
    assert "i < 0" in without  # what the records alone cannot tell apart


def test_a_statement_always_skipped_or_always_run_asks_for_no_guard() -> None:
    src = "def f(xs):\n    out = []\n    out.append(1)\n    return out\n"
    stmt, = angelic.find_sites("m.py", src, 3, 0)
    cond, = [s for s in angelic.find_sites("m.py", "def g(a):\n    return 1 if a else 2\n", 2, 0)
             if s.kind == "cond"]
    row = {"out": ["c", 0]}
    skipped = angelic.Spec([(row, True, False), (row, True, False)])
    mixed = angelic.Spec([(row, True, False), ({"out": ["c", 1]}, True, True)])
    assert not angelic.worth_synthesis(stmt, skipped)  # a deletion, which other families make
    assert not angelic.worth_synthesis(stmt, angelic.Spec([(row, True, True)]))
    assert not angelic.worth_synthesis(stmt, angelic.Spec([]))
    assert angelic.worth_synthesis(stmt, mixed)
    assert angelic.worth_synthesis(cond, skipped)  # a condition may still generalize


def test_synthesis_over_lengths_none_and_modulo() -> None:
    rows = [({"xs": ["c", n], "k": ["n", k], "v": v}, None, want)
            for n, k, v, want in [(0, 4, ["none"], False), (3, 8, ["n", 1], True),
                                  (2, 6, ["none"], False), (5, 12, ["n", 2], True)]]
    found = angelic.synthesize(angelic.Spec(rows), None, [0, 1], [], [])
    assert "v is not None" in found
    for cond in found:
        for vals, _, want in rows:
            env = {name: (None if f[0] == "none" else [0] * f[1] if f[0] == "c" else f[1])
                   for name, f in vals.items()}
            assert bool(eval(cond, {}, env)) == want, cond
    # no record: nothing to match
    assert angelic.synthesize(angelic.Spec([]), "x", [0], [], []) == []


@pytest.mark.slow
def test_instrumented_module_records_and_forces_under_pytest(tmp_path: Path) -> None:
    repo = shop_repo(tmp_path / "r")
    sites = angelic.find_sites("shop.py", SHOP, 6, 0)
    assert [s.kind for s in sites] == ["cond"]
    record = tmp_path / "records.jsonl"

    def run(mode: str) -> int:
        (repo / "shop.py").write_text(angelic.instrument(SHOP, sites, {0: mode}, str(record)))
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "tests/test_shop.py::test_few_items"], cwd=repo,
                              capture_output=True).returncode

    assert run("orig") == 1  # the bug, as it was
    records = angelic.parse_records(record.read_bytes())
    assert [(r["test"], r["orig"], r["value"]) for r in records] == [
        ("tests/test_shop.py::test_few_items", True, True)]
    assert records[0]["vals"] == {"total": ["n", 80], "items": ["n", 2]}
    record.unlink()
    assert run("F") == 0  # forced False, the failing test passes: the site is angelic
    assert [(r["orig"], r["value"]) for r in angelic.parse_records(record.read_bytes())] == [
        (True, False)]
    cands = angelic.candidates(sites[0], SHOP, ["(total > 50) and items >= 3"])
    assert cands[0].family == "angelic"
    assert "    if (total > 50) and items >= 3:\n" in cands[0].text


@pytest.mark.slow
def test_agent_fix_adds_the_missing_conjunct_only_with_angelic_runs(tmp_path: Path) -> None:
    """A conjunct over another parameter and a constant: the syntactic families do not find
    it (the engine without the angelic runs fails), the angelic runs do."""
    results = {}
    for on in (False, True):
        repo = shop_repo(tmp_path / f"repo-{on}")
        results[on] = fix(repo, FixConfig(sandbox=SandboxConfig("docker"),
                                          policy_options={"angelic": on},
                                          out=tmp_path / f"run-{on}"))
    assert not results[False].resolved
    result = results[True]
    assert result.resolved
    assert result.policy_stats["family"] == "angelic"
    assert result.policy_stats["angelic_found"] >= 1
    assert "items >" in result.best.to_json()["patch"]  # the conjunct over items
    assert (tmp_path / "repo-True" / "shop.py").read_text() == SHOP  # not applied unasked
