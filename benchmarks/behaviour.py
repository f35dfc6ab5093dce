"""Whether a fix behaves like the reference fix: a differential check of one function.

A resolved task only says that the tests pass. Two programs that pass the same tests can still
differ on inputs the tests never try, so this runs the patched and the reference module's
function side by side on the tests' own arguments and on perturbed variants of them (integers
moved by one, zeroed, negated; strings, lists and tuples truncated, reversed, emptied) and counts
the calls whose results, or raised exception types, differ.

Both modules run in one child process, with a time limit per call and for the whole check, a
memory limit, and the working directory in a temporary folder: they are code under repair.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

MAX_PROBES = 400
"""At most this many argument tuples are tried (the tests' own first, then their variants)."""


@dataclass(frozen=True)
class Behaviour:
    """What the differential check found."""

    probes: int
    """Argument tuples both functions were called with."""
    differ: int
    """Of them, the calls whose outcomes differ."""
    examples: list[str] = field(default_factory=list)
    """A few of the differing calls, as ``f(args): ours -> reference``."""
    error: str | None = None
    """Why the check could not run (a module that does not load, the whole check timing out)."""

    @property
    def same(self) -> bool:
        return self.error is None and self.probes > 0 and self.differ == 0

    def to_json(self) -> dict:
        return {"probes": self.probes, "differ": self.differ, "same": self.same,
                "examples": self.examples, "error": self.error}


def literal_calls(source: str, name: str) -> list[str]:
    """The argument lists of every call ``name(...)`` in ``source`` whose arguments are all
    literals, as the source text of a tuple (``"([1, 2], 3)"``); duplicates once."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == name) or node.keywords:
            continue
        try:
            args = tuple(ast.literal_eval(arg) for arg in node.args)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue  # computed arguments (a loop variable, a call): not replayable here
        text = repr(args)
        if text not in found:
            found.append(text)
    return found


def variants(value: object) -> list[object]:
    """Values near ``value`` that a different program is likely to treat differently."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value - 1, 0, -value]
    if isinstance(value, float):
        return [value + 1.0, value - 1.0, 0.0, -value]
    if isinstance(value, (str, list, tuple)):
        return [value[:-1], value[::-1], value[:0], value[:1]]
    return []


def probes(calls: list[str], limit: int = MAX_PROBES) -> list[tuple]:
    """The tests' argument tuples, then each with one argument perturbed, deduplicated."""
    seen: set[str] = set()
    out: list[tuple] = []

    def add(args: tuple) -> None:
        key = repr(args)
        if key not in seen and len(out) < limit:
            seen.add(key)
            out.append(args)

    originals = [ast.literal_eval(text) for text in calls]
    for args in originals:
        add(args)
    for args in originals:
        for i, value in enumerate(args):
            for other in variants(value):
                add(args[:i] + (other,) + args[i + 1:])
    return out


# The child: loads both modules, calls both functions per probe, prints one JSON line.
_CHILD = r'''
import copy, json, math, os, resource, signal, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
job = json.loads(sys.stdin.read())
sys.setrecursionlimit(3000)
result = sys.stdout
sys.stdout = open(os.devnull, "w")  # what the functions print is not their result

class CallTimeout(BaseException):
    pass

def alarm(signum, frame):
    raise CallTimeout()

signal.signal(signal.SIGALRM, alarm)

def load(source):
    space = {"__name__": "candidate_module"}
    exec(compile(source, "main.py", "exec"), space)
    return space[job["name"]]

def outcome(fn, args):
    signal.setitimer(signal.ITIMER_REAL, job["call_timeout"])
    try:
        value = fn(*copy.deepcopy(args))
        return ("value", value)
    except CallTimeout:
        return ("timeout", None)
    except RecursionError:
        return ("raise", "RecursionError")
    except Exception as exc:
        return ("raise", type(exc).__name__)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)

def same(a, b):
    if a[0] != b[0]:
        return False
    if a[0] != "value":
        return a[1] == b[1]
    x, y = a[1], b[1]
    if isinstance(x, float) and isinstance(y, float):
        return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12) or (x != x and y != y)
    try:
        return bool(x == y) and type(x) is type(y)
    except Exception:
        return repr(x) == repr(y)

ours, theirs = load(job["ours"]), load(job["reference"])
differ, examples = 0, []
for text in job["probes"]:
    args = eval(text, {"__builtins__": {}}, {"inf": float("inf"), "nan": float("nan"), "set": set})
    a, b = outcome(ours, args), outcome(theirs, args)
    if not same(a, b):
        differ += 1
        if len(examples) < 3:
            examples.append(f"{job['name']}{text}: {a[0]} {a[1]!r:.80} -> reference "
                            f"{b[0]} {b[1]!r:.80}")
result.write(json.dumps({"probes": len(job["probes"]), "differ": differ, "examples": examples}) + "\n")
'''


def compare(ours: str, reference: str, name: str, calls: list[str], *,
            call_timeout: float = 1.0, timeout: float = 120.0) -> Behaviour:
    """Run ``name`` from module source ``ours`` and from ``reference`` on the probes made
    from ``calls`` (see ``literal_calls``) and count the outcomes that differ."""
    job = {"ours": ours, "reference": reference, "name": name, "call_timeout": call_timeout,
           "probes": [repr(args) for args in probes(calls)]}
    if not job["probes"]:
        return Behaviour(0, 0, error="no call with literal arguments to replay")
    with tempfile.TemporaryDirectory(prefix="debug-agent-behaviour-") as tmp:
        try:
            done = subprocess.run([sys.executable, "-I", "-c", _CHILD], input=json.dumps(job),
                                  capture_output=True, text=True, cwd=tmp, timeout=timeout,
                                  check=False)
        except subprocess.TimeoutExpired:
            return Behaviour(len(job["probes"]), 0, error=f"the check ran past {timeout:g} s")
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        return Behaviour(len(job["probes"]), 0, error=f"the check failed: {last[:200]}")
    found = json.loads(lines[-1])
    return Behaviour(found["probes"], found["differ"], found["examples"])
