"""SandboxConfig: where and how sandboxes open, the one value every config that opens them holds."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal, get_args

from sandboxes.base import Sandbox, SandboxLimits
from sandboxes.errors import UsageError

Backend = Literal["auto", "docker", "local"]
BACKENDS: tuple[str, ...] = get_args(Backend)
"""auto: docker when an engine and the image are there, else local (with a warning)."""


@dataclass(frozen=True)
class SandboxConfig:
    """Which backend, which image, which limits."""

    backend: Backend = "auto"
    """docker, local (weaker isolation) or auto (docker when an engine and the image are there)."""
    image: str | None = None
    """Docker sandbox image; None for the one `agent sandbox build` makes."""
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    """Resource bounds of every command."""

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise UsageError(f"unknown sandbox backend {self.backend!r}; choose one of "
                             f"{', '.join(BACKENDS)}")
        if self.image is not None and not self.image.strip():
            raise UsageError("the sandbox image name is empty; give a name or leave it out")

    def open(self, repo_dir: str | os.PathLike, *, deps: bool = True) -> Sandbox:
        """A sandbox of ``repo_dir`` (see ``sandboxes.open_sandbox``)."""
        from sandboxes import open_sandbox

        return open_sandbox(repo_dir, self.backend, limits=self.limits, image=self.image,
                            deps=deps)
