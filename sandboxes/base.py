"""The Sandbox protocol and the typed results that cross it.

A sandbox is an isolated, resettable copy of one repository in which commands run. Where it runs
(a warm Docker container, a temporary directory) is the backend's business; what you can do in it
is this protocol, and every backend is held to it by the same parametrized tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Protocol, Sequence, runtime_checkable

from sandboxes.deadline import Deadline

#: Files never copied into a sandbox nor reported in its diff.
IGNORED_NAMES = frozenset(
    {".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".tox", ".venv",
     ".coverage", ".hypothesis", "node_modules"}
)
IGNORED_SUFFIXES = (".pyc", ".pyo")
#: The statuses of a test that did not pass and was not skipped.
FAILING = frozenset({"failed", "error", "timeout"})


@dataclass(frozen=True)
class ExecResult:
    """What one command did."""

    exit_code: int | None
    """Exit status; None when the command was killed (timeout)."""
    output: str
    """stdout and stderr interleaved, cut to the sandbox's output bound."""
    duration_s: float
    timed_out: bool = False
    truncated: bool = False
    """True when output went past the bound; a note saying how much was dropped ends ``output``."""
    limit: str = ""
    """Which resource limit the command ran into ("process limit reached (256 processes)"), when
    the backend can tell; "" otherwise."""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@dataclass(frozen=True)
class SandboxLimits:
    """Resource bounds for commands run in a sandbox."""

    memory_mb: int = 2048
    """Address space per process (both backends) and cgroup memory per sandbox (docker)."""
    cpus: float = 1.0
    """CPU share (docker) and thread-pool size of numeric libraries (both backends)."""
    pids: int = 256
    """Most processes at once (a fork bomb stops here)."""
    file_size_mb: int = 256
    """Largest file a command may write."""
    output_bytes: int = 1_000_000
    """Most output kept per command; the rest is counted and dropped."""
    max_repo_mb: int = 200
    """Largest repository a sandbox copies in."""
    tmpfs_mb: int = 512
    """Size of the writable /tmp and work dir (docker)."""

    def __post_init__(self) -> None:
        for name in ("memory_mb", "pids", "file_size_mb", "output_bytes", "max_repo_mb", "tmpfs_mb"):
            value = getattr(self, name)
            if value <= 0:
                raise ValueError(f"SandboxLimits.{name} must be positive, got {value}")
        if self.cpus <= 0:
            raise ValueError(f"SandboxLimits.cpus must be positive, got {self.cpus}")

    def thread_env(self) -> dict[str, str]:
        """Thread-pool sizes for the numeric libraries, from the CPU share: they size their pools
        by the host's cores otherwise, and each thread's reserved stack and heap arena counts
        against the address-space limit (a NumPy import on a many-core host would reserve it all)."""
        n = str(max(1, int(self.cpus)))
        return {"OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n,
                "NUMEXPR_NUM_THREADS": n, "MALLOC_ARENA_MAX": "2"}


@runtime_checkable
class Sandbox(Protocol):
    """An isolated copy of one repository.

    Paths given to file operations are relative to the repo root and may not leave it. Commands run
    with the repo root as working directory. ``close`` is idempotent, and a sandbox is a context
    manager that closes on exit.
    """

    backend: str
    """"docker" or "local"."""
    workdir: str
    """Absolute path of the repo root as commands see it."""
    python: str
    """The Python interpreter to run inside the sandbox (``python3`` in the image)."""
    tools_dir: str
    """Absolute dir outside the repo, read-only to commands, holding our helper modules (the
    pytest plugin); put it on PYTHONPATH to use them."""
    scratch_dir: str
    """Absolute dir outside the repo where commands may write results (junit XML, ...); emptied
    by reset. Read back with ``read_scratch``."""
    deadline: Deadline
    """What its commands respect: their timeouts are cut to it, its cancellation stops them."""

    def run(
        self,
        command: str | Sequence[str],
        *,
        timeout: float = 60.0,
        env: Mapping[str, str] | None = None,
    ) -> ExecResult:
        """Run a command (a shell string, or an argv list) in the repo root.

        Never raises for what the command does: a timeout kills every process it started and
        comes back as ``timed_out=True``; what it leaves running is killed when it ends. The
        timeout is cut to what is left of the sandbox's deadline (``sandboxes.deadline``), and
        a cancelled deadline raises ``Cancelled`` within a fraction of a second.
        """
        ...

    def read_file(self, path: str) -> str: ...

    def write_file(self, path: str, content: str) -> None: ...

    def delete_file(self, path: str) -> None: ...

    def read_scratch(self, name: str) -> bytes:
        """Bytes of the file ``name`` (relative) in ``scratch_dir``; PathNotFound if absent."""
        ...

    def take_scratch(self, names: Sequence[str]) -> dict[str, bytes | None]:
        """Read and remove several scratch files at once (one round trip); None if absent."""
        ...

    def list_files(self) -> list[str]:
        """Every file of the repo now, relative, sorted (caches and .git left out)."""
        ...

    def changed_files(self) -> dict[str, bytes | None]:
        """Files that differ from the start state: new content, or None for a deleted file."""
        ...

    def diff(self) -> str:
        """Unified diff from the start state to now, which ``git apply`` accepts on the repo."""
        ...

    def reset(self) -> None:
        """Kill every process left behind and put every file back as it was at the start."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> "Sandbox": ...

    def __exit__(self, *exc: object) -> None: ...


@dataclass
class TestResult:
    """One test's outcome."""

    __test__ = False  # not a pytest test class

    nodeid: str
    status: str
    """passed | failed | error | skipped | timeout."""
    duration_s: float = 0.0
    message: str = ""
    """Failure text (assertion, traceback) for a test that did not pass."""


@dataclass
class TestReport:
    """What one pytest run said, per test."""

    __test__ = False

    tests: dict[str, TestResult] = field(default_factory=dict)
    collection_errors: list[str] = field(default_factory=list)
    """One text per module that failed to import or parse."""
    uncollected: dict[str, str] = field(default_factory=dict)
    """Node ids in ``tests`` that stand for a module (or a conftest's folder) that failed to
    import (status "error", pytest's error text as the message) -> where the error is, as
    "path:line" of the innermost repo frame ("" when the text names none)."""
    exit_code: int | None = None
    duration_s: float = 0.0
    timed_out: bool = False
    output: str = ""
    coverage: dict[str, dict[str, set[int]]] | None = None
    """With ``run_pytest(coverage=True)``: per test, the lines it ran per repo file
    ({nodeid: {relpath: {line, ...}}}); the input of spectrum-based fault localization."""

    groups: dict[str, TestResult] = field(default_factory=dict)
    """One result per module or folder that the run was asked for by its path (``tests/t.py``):
    "passed" when every test in it passed. How a task's entry for a module that did not import
    is scored once it does."""

    @property
    def statuses(self) -> dict[str, str]:
        return {nodeid: result.status for nodeid, result in self.tests.items()}

    def result(self, nodeid: str) -> TestResult | None:
        """The result of a test, or of a module / folder asked for by its path."""
        return self.tests.get(nodeid) or self.groups.get(nodeid)

    def passed(self, nodeid: str) -> bool:
        result = self.result(nodeid)
        return result is not None and result.status == "passed"

    @property
    def failing(self) -> list[str]:
        return [n for n, r in self.tests.items() if r.status in FAILING]
