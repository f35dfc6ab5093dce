"""One exception hierarchy for the whole project.

Each error also inherits the built-in it resembles, so callers that know nothing of ours can still
catch it (``except TimeoutError``). Messages say what failed, the value, and what to do next.
"""


class DebugAgentError(Exception):
    """Base of every error this project raises on purpose."""


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
