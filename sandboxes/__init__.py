"""Isolated, resettable copies of a repository in which commands and tests run."""

from sandboxes.base import ExecResult, Sandbox, SandboxLimits, TestReport, TestResult
from sandboxes.errors import (
    DebugAgentError,
    RepoTooLarge,
    SandboxError,
    SandboxTimeout,
    SandboxUnavailable,
    UsageError,
)

__all__ = [
    "DebugAgentError", "ExecResult", "RepoTooLarge", "Sandbox", "SandboxError", "SandboxLimits",
    "SandboxTimeout", "SandboxUnavailable", "TestReport", "TestResult", "UsageError",
]
