"""One exception hierarchy for the whole project.

Each error also inherits the built-in it resembles, so callers that know nothing of ours can still
catch it (``except TimeoutError``). Messages say what failed, the value, and what to do next.
"""


class DebugAgentError(Exception):
    """Base of every error this project raises on purpose."""

    exit_status = 2
    """What `agent` exits with when this error ends a command (2: bad input / usage)."""


class UsageError(DebugAgentError, ValueError):
    """Bad input from a user: a path that is not a repo, an unknown option value, ..."""


class SandboxError(DebugAgentError, RuntimeError):
    """A sandbox could not be started, used or cleaned up."""


class SandboxUnavailable(SandboxError, ConnectionError):
    """The backend cannot run here (no Docker engine, no image); the message says how to fix it."""


class SandboxTimeout(SandboxError, TimeoutError):
    """An operation on the sandbox itself (not a user command) took too long."""


class RepoTooLarge(UsageError):
    """The repository is over the copy size limit."""


class PatchError(UsageError):
    """A patch that does not apply to the directory it was meant for."""


class PathNotFound(UsageError, FileNotFoundError):
    """A file operation named a path that is not in the sandbox's repo."""


class SetupFailed(SandboxError):
    """The project's environment could not be built: which step, its output, the option that fixes it.

    Not bad input (the repository may be fine) and not a test outcome: its own exit status.
    """

    exit_status = 3

    def __init__(self, step: str, output: str, fix: str, detail: str = "") -> None:
        self.step, self.output, self.fix = step, output, fix
        tail = "\n".join(output.rstrip().splitlines()[-25:])[-3000:]
        super().__init__(f"set-up failed at step {step!r}{': ' + detail if detail else ''}\n"
                         + (f"{tail}\n" if tail else "") + f"fix: {fix}")


class CollectionHung(DebugAgentError, TimeoutError):
    """The first test run was stopped (its time limit, ``--timeout``) before pytest had
    collected a single test: code run at import loops or waits. The repository's failure, not
    bad input: `agent fix` exits 1, as for a repository it could not fix."""

    exit_status = 1
