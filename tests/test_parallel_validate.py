"""Validation on several copies of the repo at once gives what one-at-a-time validation gives."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from agent.policies.search import _span, run_worker
from sandboxes.errors import PathNotFound

CALC = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
ADD = "tests/test_calc.py::test_add"
LOG = "tests/test_calc.py::test_log"
MUL = "tests/test_calc.py::test_mul"
# test_log writes its result into a file next to itself and reads it back a moment later: two
# candidates validated at once in one folder would read each other's.
TESTS = """import time
from pathlib import Path

import calc


def test_add():
    assert calc.add(2, 3) == 5


def test_log():
    out = Path(__file__).parent / "written.txt"
    out.write_text(repr(calc.add(2, 3)))
    time.sleep(0.3)
    assert out.read_text() == "5"


def test_mul():
    assert calc.mul(2, 3) == 6
"""


@pytest.fixture
def calc(tmp_path: Path) -> Path:
    (tmp_path / "calc.py").write_text(CALC)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_calc.py").write_text(TESTS)
    return tmp_path


def candidate(name: str, text: str) -> dict:
    return {"id": name, "files": {"calc.py": _span(CALC, text)}}


def fix(body: str = "a + b") -> str:
    return CALC.replace("a - b", body)


def validate(sandbox, candidates, jobs: int, f2p=(ADD, LOG), p2p=(MUL,), stop=True,
             limits=None) -> dict[str, dict]:
    request = {"candidates": candidates, "f2p": list(f2p), "p2p": list(p2p), "timeout": 10,
               "stop_on_success": stop, "p2p_from": 1, "deadline_s": 120, "jobs": jobs}
    result, by_id = run_worker(sandbox, request, {"limits": limits or {}}, timeout=150)
    assert by_id, result.output[-2000:]
    return by_id


def statuses(results: dict[str, dict]) -> dict[str, tuple]:
    return {k: (r["f2p"], r["p2p"], r.get("p2p_checked", False), r["error"])
            for k, r in results.items()}


HANG = CALC.replace("    return a - b\n", "    while True:\n        pass\n")
CANDIDATES = [
    candidate("still_wrong", fix("a - b + 1")),
    candidate("hang", HANG),
    candidate("breaks_mul", fix("a + b").replace("a * b", "a + b")),
    candidate("fix", fix("a + b")),
    candidate("off_by_one", fix("a + b + 1")),
    candidate("other_fix", fix("b + a")),
]


@pytest.mark.slow
def test_two_and_three_jobs_give_the_statuses_of_one(make_sandbox, calc):
    sandbox = make_sandbox(calc, cpus=2)
    limits = {ADD: 1.0, LOG: 2.0, MUL: 1.0}
    runs = {jobs: validate(sandbox, CANDIDATES, jobs, stop=False, limits=limits)
            for jobs in (1, 2, 3)}
    one = runs[1]
    assert list(one) == [c["id"] for c in CANDIDATES]
    assert one["hang"]["f2p"][ADD] == "timeout"
    assert one["still_wrong"]["f2p"] == {ADD: "failed", LOG: "failed"}
    assert one["breaks_mul"]["p2p"] == {MUL: "failed"}
    for name in ("fix", "other_fix"):
        assert one[name]["f2p"] == {ADD: "passed", LOG: "passed"}
        assert one[name]["p2p"] == {MUL: "passed"}
    for jobs in (2, 3):
        assert statuses(runs[jobs]) == statuses(one), jobs
        assert sorted(runs[jobs]) == sorted(one)
    assert sandbox.read_file("calc.py") == CALC  # every candidate's files put back


@pytest.mark.slow
def test_the_first_solving_candidate_in_order_wins(make_sandbox, calc):
    """The slow fix comes first: the quick one after it finishes before it, yet the slow one is
    reported and nothing after it, as one at a time would."""
    sandbox = make_sandbox(calc, cpus=2)
    slow = fix("a + b").replace("def add(a, b):\n", "def add(a, b):\n    import time\n"
                                "    time.sleep(1.5)\n")
    cands = [candidate("wrong", fix("a * b")), candidate("slow_fix", slow),
             candidate("quick_fix", fix("b + a")), candidate("never_run", fix("a + b"))]
    for jobs in (1, 2, 3):
        results = validate(sandbox, cands, jobs, f2p=(ADD,), p2p=(MUL,))
        assert list(results) == ["wrong", "slow_fix"], jobs
        assert results["slow_fix"]["p2p"] == {MUL: "passed"}


@pytest.mark.slow
def test_each_candidate_runs_in_a_copy_of_its_own_at_the_same_time(make_sandbox, calc):
    """Each of two candidates' tests waits for the other's to start (in a folder shared by both,
    outside the repo): they pass only when validated at once. Their tests' files stay in the
    copies: the repo is left as it was."""
    rendezvous = ("import os, time\nfrom pathlib import Path\n\nimport calc\n\n\n"
                  "def test_meet():\n"
                  "    shared = Path(os.environ.get('TMPDIR', '/tmp')) / 'meet-{tag}'\n"
                  "    shared.mkdir(exist_ok=True)\n"
                  "    (shared / str(calc.add(2, 3))).write_text(os.getcwd())\n"
                  "    (Path(__file__).parent / 'written.txt').write_text('x')\n"
                  "    assert os.getcwd() != {repo!r}\n"
                  "    until = time.time() + 8\n"
                  "    while len(os.listdir(shared)) < 2 and time.time() < until:\n"
                  "        time.sleep(0.05)\n"
                  "    assert len(os.listdir(shared)) == 2\n")
    sandbox = make_sandbox(calc, cpus=2)
    sandbox.write_file("tests/test_calc.py",
                       rendezvous.format(tag=uuid.uuid4().hex, repo=sandbox.workdir))
    meet = "tests/test_calc.py::test_meet"
    cands = [candidate("five", fix("a + b")), candidate("six", fix("a + b + 1"))]
    results = validate(sandbox, cands, 2, f2p=(meet,), p2p=(), stop=False)
    assert results["five"]["f2p"] == {meet: "passed"}
    assert results["six"]["f2p"] == {meet: "passed"}
    with pytest.raises(PathNotFound):
        sandbox.read_file("tests/written.txt")
    assert sandbox.read_file("calc.py") == CALC


@pytest.mark.slow
def test_a_repo_imported_by_its_absolute_path_is_validated_in_place(make_sandbox, calc):
    """A conftest that puts the repo's own absolute path first makes a copy's children import
    the original: the worker sees it and validates the rest in place, with the same results."""
    sandbox = make_sandbox(calc, cpus=2)
    sandbox.write_file("tests/conftest.py",
                       f"import sys\n\nsys.path.insert(0, {sandbox.workdir!r})\n")
    cands = [candidate("still_wrong", fix("a - b + 1")),
             candidate("breaks_mul", fix("a + b").replace("a * b", "a + b")),
             candidate("fix", fix("a + b"))]
    one, two = (validate(sandbox, cands, jobs) for jobs in (1, 2))
    assert list(one) == ["still_wrong", "breaks_mul", "fix"]
    assert one["fix"]["p2p"] == {MUL: "passed"}
    assert statuses(two) == statuses(one)
    assert all("leak" not in r for r in two.values())


@pytest.mark.slow
def test_a_candidate_that_kills_its_validating_process_spoils_no_copy(make_sandbox, calc):
    """Its process ends without putting its files back: the copy is made afresh, and the
    candidates after it (in either copy) get the results they get on their own."""
    sandbox = make_sandbox(calc, cpus=2)
    killer = "import os\n\nos.kill(os.getppid(), 9)\n" + fix("a + b")  # at its import
    rest = [candidate(f"fix{i}", fix("a + b")) if i % 2 else candidate(f"wrong{i}", fix("a * b"))
            for i in range(6)]
    results = validate(sandbox, [candidate("killer", killer)] + rest, 2, f2p=(ADD,), p2p=(MUL,),
                       stop=False)
    assert results["killer"]["error"] and results["killer"]["f2p"] == {}
    for c in rest:
        want = "passed" if c["id"].startswith("fix") else "failed"
        assert results[c["id"]]["f2p"] == {ADD: want}, c["id"]


# -- copies kept for a whole search ---------------------------------------------------------------

def snapshot(repo: Path) -> dict[str, bytes]:
    return {str(p.relative_to(repo)): p.read_bytes() for p in sorted(repo.rglob("*")) if p.is_file()}


def batch(sandbox, candidates, copies, f2p, p2p) -> tuple[dict, dict]:
    from agent.policies.search import copies_done

    request = {"candidates": candidates, "f2p": list(f2p), "p2p": list(p2p), "timeout": 20,
               "stop_on_success": False, "p2p_from": 1, "deadline_s": 120, "jobs": 2,
               "copies": copies}
    result, by_id = run_worker(sandbox, request, {}, timeout=150)
    assert len(by_id) == len(candidates), result.output[-2000:]
    return by_id, copies_done(result.output)


@pytest.mark.slow
def test_kept_copies_see_an_edit_made_between_batches(make_sandbox, calc):
    """Two batches share one copies folder: the first makes the copies, the second only
    re-syncs them, and both copies see the partial fix the search wrote in between. The copies
    go with the sandbox's reset; the user's repo is never touched."""
    before = snapshot(calc)
    sandbox = make_sandbox(calc, cpus=2)
    copies = f"{sandbox.scratch_dir}/jobs-test"
    first, done = batch(sandbox, [candidate("fix", fix("a + b")), candidate("other", fix("b + a")),
                                  candidate("wrong", fix("a * b"))], copies, (ADD, LOG), (MUL,))
    assert {k: r["f2p"][ADD] for k, r in first.items()} == {
        "fix": "passed", "other": "passed", "wrong": "failed"}
    assert done["made"] == 2
    # The search's partial fix, applied to the repo between batches: add fixed, mul broken.
    edited = fix("a + b").replace("a * b", "a + b")
    sandbox.write_file("calc.py", edited)
    cands = [{"id": name, "files": {"calc.py": _span(edited, edited.replace(
        "def mul(a, b):\n    return a + b", f"def mul(a, b):\n    return {body}"))}}
        for name, body in (("mul", "a * b"), ("mul_swapped", "b * a"))]
    second, done = batch(sandbox, cands, copies, (MUL,), (ADD, LOG))
    for name in ("mul", "mul_swapped"):  # one in each copy: both saw the edit
        assert second[name]["f2p"] == {MUL: "passed"}, name
        assert second[name]["p2p"] == {ADD: "passed", LOG: "passed"}, name
    assert done["made"] == 0 and done["synced"] == 2, done
    assert done["removed"] == 2, done  # the written.txt test_log left in each copy
    listed = sandbox.run(["ls", f"{copies}/0", f"{copies}/1"], timeout=30).output
    assert listed.count(Path(sandbox.workdir).name) == 2, listed
    assert sandbox.read_file("calc.py") == edited
    sandbox.reset()  # the search's cleanup: the copies folder goes with the scratch dir
    assert sandbox.run(["ls", copies], timeout=30).exit_code != 0
    assert snapshot(calc) == before


@pytest.mark.slow
def test_a_virtualenv_in_the_repo_is_linked_not_copied(make_sandbox, calc):
    """A folder holding pyvenv.cfg (a virtualenv) is a symlink to the original in each copy."""
    (calc / "venv").mkdir()
    (calc / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (calc / "venv" / "big.bin").write_bytes(b"x" * 1000)
    sandbox = make_sandbox(calc, cpus=2)
    copies = f"{sandbox.scratch_dir}/jobs-venv"
    results, done = batch(sandbox, [candidate("fix", fix("a + b")), candidate("other", fix("b + a"))],
                          copies, (ADD,), (MUL,))
    assert all(r["f2p"] == {ADD: "passed"} for r in results.values()), results
    name = Path(sandbox.workdir).name
    links = sandbox.run(["sh", "-c", f"readlink {copies}/0/{name}/venv {copies}/1/{name}/venv"],
                        timeout=30).output.split()
    assert links == [f"{sandbox.workdir}/venv"] * 2, links


GIT_TEST = """import subprocess

import calc


def test_history():
    log = subprocess.run(["git", "log", "--oneline"], capture_output=True, text=True, check=True)
    assert "the first commit" in log.stdout
    assert calc.add(2, 3) == 5
"""
HISTORY = "tests/test_calc.py::test_history"


@pytest.mark.slow
def test_a_test_that_reads_the_history_passes_in_kept_copies(make_sandbox, calc):
    """A test that runs `git log` passes in both copies: .git is copied once, when a copy is
    made, and left alone by later batches (a file put in it stays)."""
    sandbox = make_sandbox(calc, cpus=2)
    if sandbox.run(["git", "--version"], timeout=30).exit_code != 0:
        pytest.skip(f"no git in the {sandbox.backend} sandbox")
    sandbox.write_file("tests/test_calc.py", GIT_TEST)
    init = sandbox.run(["sh", "-c", "git init -q && git add -A && git -c user.name=t -c "
                        "user.email=t@t commit -qm 'the first commit'"], timeout=60)
    assert init.exit_code == 0, init.output
    copies = f"{sandbox.scratch_dir}/jobs-git"
    git = f"{copies}/*/{Path(sandbox.workdir).name}/.git"
    cands = [candidate("fix", fix("a + b")), candidate("other", fix("b + a"))]
    for run in range(2):
        results, done = batch(sandbox, cands, copies, (HISTORY,), ())
        assert {k: r["f2p"] for k, r in results.items()} == {
            "fix": {HISTORY: "passed"}, "other": {HISTORY: "passed"}}, results
        assert done["made"] == (2 if run == 0 else 0)
        if run == 0:
            marked = sandbox.run(["sh", "-c", f"for g in {git}; do touch $g/kept; done"], timeout=30)
            assert marked.exit_code == 0, marked.output
    kept = sandbox.run(["sh", "-c", f"ls {git}/kept"], timeout=30)
    assert kept.output.count("kept") == 2, kept.output


# -- the knob: agent fix --jobs ------------------------------------------------------------------


def test_jobs_is_refused_where_it_means_nothing():
    from agent.cli import main
    from agent.fix import FixConfig
    from sandboxes.errors import UsageError

    repo = Path(__file__).parent.parent / "examples" / "shop"
    assert main(["fix", str(repo), "--jobs", "2", "--policy", "openai", "--model", "m"]) == 2
    assert main(["fix", str(repo), "--jobs", "0"]) == 2
    with pytest.raises(UsageError, match="jobs must be at least 1, got 0"):
        FixConfig(jobs=0)


def test_the_sandbox_gets_a_cpu_per_job_up_to_the_machine():
    from agent.fix import sandbox_for_jobs
    from sandboxes.base import SandboxLimits
    from sandboxes.config import SandboxConfig

    config = SandboxConfig("docker")
    assert sandbox_for_jobs(config, 1, cores=2) is config
    assert sandbox_for_jobs(config, 2, cores=2).limits.cpus == 2.0
    assert sandbox_for_jobs(config, 8, cores=2).limits.cpus == 2.0  # Docker refuses more
    roomy = SandboxConfig("docker", limits=SandboxLimits(cpus=4.0))
    assert sandbox_for_jobs(roomy, 2, cores=8) is roomy


@pytest.mark.slow
@pytest.mark.docker
def test_agent_fix_finds_the_same_fix_with_two_jobs(docker_ready, tmp_path):
    import shutil

    from agent.fix import FixConfig, fix
    from sandboxes.config import SandboxConfig

    example = Path(__file__).parent.parent / "examples" / "shop"
    found = {}
    for jobs in (1, 2):
        repo = tmp_path / f"shop{jobs}"
        shutil.copytree(example, repo, ignore=shutil.ignore_patterns("__pycache__"))
        result = fix(repo, FixConfig(sandbox=SandboxConfig("docker"), jobs=jobs,
                                     out=tmp_path / f"out{jobs}", timeout_s=300))
        assert result.resolved, jobs
        stats = result.policy_stats
        found[jobs] = (result.best.patch, stats["candidates"], stats["family"], stats["line"])
    assert found[2] == found[1]


@pytest.mark.slow
@pytest.mark.docker
def test_agent_fix_with_two_jobs_makes_its_copies_once_per_search(docker_ready, tmp_path):
    """Batches of two candidates: several batches, yet two copies made, and the user's repo is
    left exactly as it was."""
    import shutil

    from agent.fix import FixConfig, fix
    from sandboxes.config import SandboxConfig

    repo = tmp_path / "shop"
    shutil.copytree(Path(__file__).parent.parent / "examples" / "shop", repo,
                    ignore=shutil.ignore_patterns("__pycache__"))
    before = snapshot(repo)
    result = fix(repo, FixConfig(sandbox=SandboxConfig("docker"), jobs=2, out=tmp_path / "out",
                                 timeout_s=300, policy_options={"batch_size": 2}))
    assert result.resolved
    stats = result.policy_stats
    assert stats["candidates"] > 2, stats  # more than one batch
    assert stats["copies_made"] == 2, stats
    assert snapshot(repo) == before
    shutil.rmtree(tmp_path / "out")
