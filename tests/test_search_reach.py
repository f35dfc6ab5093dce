"""Where the search goes once a round's candidates run dry (``agent.policies.reach``): the next
ranked lines, then pairs of the round's candidates; and the worker's evidence for the pairs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from test_repair_sandbox import make_repo
from test_search_policy import run_worker

from agent.loop import run_episode
from agent.policies import reach
from agent.policies.search import Outcome, SearchPolicy
from agent.repair import Candidate
from envs.env import DebugEnv, EnvConfig
from envs.task import Task
from sandboxes.config import SandboxConfig

SOURCE = "def f(a, b):\n    x = a - b\n    return hashlib.md5('x').hexdigest()\n"


def _outcome(current: dict[str, str], old: str, new: str, *, sig=None, disables=False,
             family="fam") -> Outcome:
    text = current["m.py"].replace(old, new, 1)
    line = text[: text.index(new)].count("\n") + 1
    cand = Candidate("m.py", line, text, family, f"{old} -> {new}", disables=disables)
    return Outcome(files={"m.py": text}, description=f"{family} at m.py:{line}: {old} -> {new}",
                   family=family, candidate=cand, rank=line, signature=sig)


def test_two_edits_merge_at_two_lines_and_at_two_spots_of_one_line() -> None:
    current = {"m.py": SOURCE}
    minus = _outcome(current, "a - b", "a + b")
    name = _outcome(current, "'x'", "x")
    encode = _outcome(current, "'x')", "'x'.encode())")
    assert reach.merged(current, minus.files, name.files)["m.py"] == SOURCE.replace(
        "a - b", "a + b").replace("'x'", "x")
    # two spots of one line: the name, then the call after it
    assert "hashlib.md5(x.encode())" in reach.merged(current, name.files, encode.files)["m.py"]
    # the same characters twice, or one edit twice: no pair
    quoted = _outcome(current, "'x'", "'y'")
    assert reach.merged(current, name.files, quoted.files) is None
    assert reach.merged(current, name.files, name.files) is None


def test_a_candidate_counts_as_moved_when_a_failure_changes_and_none_gets_worse() -> None:
    base = {"t1": "failed:AssertionError:aaaa", "t2": "failed:TypeError:bbbb"}
    assert reach.changed({"t1": "failed:AssertionError:cccc", "t2": "failed:TypeError:bbbb"}, base)
    assert reach.changed({"t1": "failed:AssertionError:aaaa",
                          "t2": "failed:AssertionError:dddd"}, base)  # a crash became a value
    assert not reach.changed(dict(base), base)
    assert not reach.changed({"t1": "failed:TypeError:eeee", "t2": "failed:TypeError:bbbb"}, base)
    assert not reach.changed({"t1": "timeout:", "t2": "failed:AssertionError:ffff"}, base)
    assert not reach.changed(None, base) and not reach.changed(base, None)


def test_pairs_of_moved_candidates_come_first_and_switching_off_last() -> None:
    current = {"m.py": SOURCE}
    base = {"t": "failed:TypeError:0"}
    moved, still = {"t": "failed:AssertionError:1"}, dict(base)
    outcomes = [_outcome(current, "a - b", "a + b", sig=still),          # 0
                _outcome(current, "'x'", "x", sig=moved),                # 1
                _outcome(current, "a - b", "b - a", sig=moved),          # 2
                _outcome(current, "'x')", "'x'.encode())", sig=moved),   # 3
                _outcome(current, "x = a - b", "pass", sig=moved, disables=True)]  # 4
    order = reach.pair_order(outcomes, [base] * len(outcomes))
    assert order[0] == (1, 2)  # both moved, the smallest product of places
    assert order.index((1, 3)) < order.index((0, 1))  # both moved before one moved
    off = [k for k, pair in enumerate(order) if 4 in pair]  # the one that switches code off
    assert off and min(off) > max(k for k, pair in enumerate(order) if 4 not in pair)
    made = list(reach.pairs(outcomes, [base] * len(outcomes), current))
    texts = [files["m.py"] for _, _, files, _ in made]
    assert "    return hashlib.md5(x.encode()).hexdigest()\n" in "".join(texts)
    _, cand, _, description = made[0]
    assert cand.family == "fam+fam" and ";" in description and cand.size == 2


def test_further_lines_take_more_of_the_stream_when_the_ranking_is_flat() -> None:
    assert reach.pair_share([1.0, 0.9], 2) == 1.0  # nothing below the top: pairs only
    flat, steep = reach.pair_share([1.0, 1.0, 1.0], 2), reach.pair_share([1.0, 1.0, 0.1], 2)
    assert flat == 0.5 and steep > 0.8
    names = [name for name, _ in reach.interleave(iter(range(10)), iter(range(10)), 0.5)]
    assert names[:4] == ["pairs", "lines", "pairs", "lines"] and len(names) == 20


def test_the_worker_says_how_each_failing_test_fails(tmp_path: Path) -> None:
    """The failing tests' signature: the same for the same failure, another for other values
    compared by a failed assert (asked for: "rewrite", pytest rewriting the asserts) or another
    exception, and no hex address in it."""
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (tmp_path / "test_calc.py").write_text("from calc import add\n\n\ndef test_add():\n"
                                           "    assert add(2, 3) == 5\n")
    span, on = {"start": 1, "end": 2}, {"rewrite": True}
    request = {"candidates": [
        {"id": "none", "files": {}, **on},
        {"id": "same", "files": {"calc.py": {**span, "text": "    return (a - b)\n"}}, **on},
        {"id": "value", "files": {"calc.py": {**span, "text": "    return a * b\n"}}, **on},
        {"id": "plain", "files": {"calc.py": {**span, "text": "    return a * b\n"}}},
        {"id": "plain_none", "files": {}},
        {"id": "crash", "files": {"calc.py": {**span, "text": "    return a - object()\n"}}},
        {"id": "crash2", "files": {"calc.py": {**span, "text": "    return a - object()\n"}}},
    ], "f2p": ["test_calc.py::test_add"], "p2p": [], "timeout": 30, "stop_on_success": False}
    sig = {r["id"]: r["f2p_sig"]["test_calc.py::test_add"] for r in run_worker(tmp_path, request)}
    assert sig["none"] == sig["same"] and sig["none"].startswith("failed:AssertionError:")
    assert sig["value"] != sig["none"] and sig["value"].startswith("failed:AssertionError:")
    assert sig["plain"] == sig["plain_none"]  # without rewriting, a failed assert is just that
    assert sig["crash"].startswith("failed:TypeError:") and sig["crash"] == sig["crash2"]


@pytest.mark.slow
@pytest.mark.docker
def test_two_coordinated_edits_are_found_as_a_pair(docker_ready, tmp_path: Path) -> None:
    """Neither edit alone makes a test pass (main's engine validated its 248 candidates and
    stopped with nothing): once the round ran dry, its candidates are tried two at a time."""
    repo = make_repo(tmp_path / "two", {
        "stats.py": "def mean_abs(xs):\n    total = 0\n    for x in xs:\n"
                    "        total -= abs(x)\n    return total * len(xs)\n",
        "tests/test_stats.py": "from stats import mean_abs\n\n\ndef test_three():\n"
                               "    assert mean_abs([1, -2, 3]) == 2\n\n\ndef test_two():\n"
                               "    assert mean_abs([2, -4]) == 3\n\n\ndef test_zero():\n"
                               "    assert mean_abs([0, 0]) == 0\n",
    })
    task = Task(id="two", repo=repo, fail_to_pass=("tests/test_stats.py::test_three",
                                                   "tests/test_stats.py::test_two"),
                pass_to_pass=("tests/test_stats.py::test_zero",))
    policy = SearchPolicy(time_budget_s=180)  # its first round alone took 95 s on a loaded machine
    with DebugEnv(EnvConfig(SandboxConfig(backend="docker"), time_budget_s=240)) as env:
        result = run_episode(policy, env, task)
    assert result.resolved, result.exit_status
    assert "+        total += abs(x)" in result.patch and "+    return total / len(xs)" in result.patch
    stats = policy.stats
    assert stats.stage == "pairs" and stats.reached["pairs"] >= 1 and stats.rounds == 1
    assert "+" in stats.family


@pytest.mark.slow
@pytest.mark.docker
def test_a_fault_below_the_top_lines_is_found_within_the_timeout(docker_ready,
                                                                   tmp_path: Path) -> None:
    """With two top lines (main's engine tried their 70 candidates and stopped), the fault at
    the fourth ranked line is reached once their candidates run dry, and `agent fix` still
    ends within its --timeout."""
    from agent.fix import FixConfig, fix
    from sandboxes.config import SandboxConfig

    repo = make_repo(tmp_path / "deep", {
        "calc.py": "def scale(x):\n    return x * 2\n\n\ndef report(values):\n    pass\n"
                   "    pass\n    return [scale(v) for v in values]\n",
        "test_calc.py": "from calc import report, scale\n\n\ndef test_three():\n"
                        "    assert report([3]) == [5]\n\n\ndef test_one():\n"
                        "    assert report([1]) == [3]\n\n\ndef test_two():\n"
                        "    assert scale(2) == 4\n",
    })
    started = time.monotonic()
    result = fix(repo, FixConfig(sandbox=SandboxConfig(backend="docker"), timeout_s=90,
                                 policy_options={"top_locations": 2}, out=tmp_path / "run"))
    assert time.monotonic() - started < 90 + 5
    assert result.best.resolved
    stats = result.policy_stats
    assert stats["stage"] == "lines" and stats["line_rank"] > 2 and stats["reached"]["lines"]
    assert "x + 2" in result.best.patch
