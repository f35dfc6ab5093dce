"""The sandbox image, built here with no image registry: debootstrap, ``docker import``, a build step.

1. ``debootstrap --variant=minbase`` of the host's Debian suite from the host's apt mirror, with
   python3, pytest, coverage, pip (for offline dependency installs) and procps. The root tree is
   cached as a tarball under ~/.cache/debug-agent, so a rebuild skips this step.
2. ``docker import`` of that tarball.
3. A small ``docker build`` (no network) that adds the unprivileged user ``sandbox`` (uid 1000)
   and /work, and labels the image.

Repos that declare dependencies or a package get an environment image derived from this one
(sandboxes/project_image.py).
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

from sandboxes.errors import SandboxError, SandboxUnavailable, UsageError

log = logging.getLogger("debug_agent.sandboxes")

DEFAULT_IMAGE = "debug-agent-sandbox:latest"
PACKAGES = ("python3", "python3-pytest", "python3-coverage", "python3-pip", "procps")
IMAGE_LABEL = "debug-agent.image"
SANDBOX_UID = 1000

Progress = Callable[[str], None]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "debug-agent"


def host_codename() -> str:
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        text = ""
    match = re.search(r"^VERSION_CODENAME=\"?([\w-]+)\"?$", text, re.M)
    if not match:
        raise UsageError("cannot tell the host's Debian suite from /etc/os-release; "
                         "pass --suite (e.g. bookworm) and --mirror")
    return match.group(1)


def apt_sources(root: str = "/etc/apt") -> list[tuple[str, list[str]]]:
    """(URI, suites) of each ``deb`` source of the host, one-line and deb822 formats."""
    out: list[tuple[str, list[str]]] = []
    one_line = [os.path.join(root, "sources.list")] + sorted(
        glob.glob(os.path.join(root, "sources.list.d", "*.list")))
    for path in one_line:
        try:
            lines = Path(path).read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            line = re.sub(r"\[[^\]]*\]", "", line.split("#", 1)[0]).split()
            if len(line) >= 3 and line[0] == "deb":
                out.append((line[1], [line[2]]))
    for path in sorted(glob.glob(os.path.join(root, "sources.list.d", "*.sources"))):
        try:
            text = Path(path).read_text()
        except OSError:
            continue
        for stanza in re.split(r"\n\s*\n", text):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line or line[0].isspace():
                    continue
                key, value = line.split(":", 1)
                fields[key.strip().lower()] = value.strip()
            if "deb" in fields.get("types", "").split() and fields.get("enabled", "yes") != "no":
                for uri in fields.get("uris", "").split():
                    out.append((uri, fields.get("suites", "").split()))
    return out


def host_mirror(suite: str) -> str:
    """The host's apt mirror for ``suite`` (read at run time; nothing is hard-coded)."""
    for uri, suites in apt_sources():
        if suite in suites:
            return uri
    raise UsageError(f"no apt source of this host serves suite {suite!r} (looked in "
                     "/etc/apt/sources.list and sources.list.d); pass --mirror URL")


def rootfs_tarball(suite: str, mirror: str, refresh: bool = False,
                   progress: Progress = log.info) -> Path:
    """The cached debootstrap tree of ``suite`` as a tar, made when missing (or ``refresh``)."""
    if shutil.which("debootstrap") is None:
        raise SandboxUnavailable("debootstrap is not installed; install it with "
                                 "`apt-get install -y debootstrap`")
    if os.geteuid() != 0:
        raise SandboxUnavailable("debootstrap needs root; run `agent sandbox build` as root")
    cache = cache_dir()
    key = hashlib.sha256(" ".join((suite,) + PACKAGES).encode()).hexdigest()[:12]
    tarball = cache / f"rootfs-{suite}-{key}.tar"
    if tarball.exists() and not refresh:
        progress(f"using cached root tree {tarball}")
        return tarball
    (cache / "debs").mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="rootfs-", dir=cache))
    try:
        cmd = ["debootstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES),
               f"--cache-dir={cache / 'debs'}", suite, str(root), mirror]
        progress(f"debootstrap {suite} from {mirror}")
        _stream(cmd, progress)
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (root / junk).glob("*"):
                if path.is_file():
                    path.unlink()
        python = os.readlink(root / "usr/bin/python3")  # "python3.11"
        progress(f"packing the root tree into {tarball.name}")
        partial = tarball.with_suffix(".partial")
        subprocess.run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(partial), "."],
                       check=True)
        partial.rename(tarball)
        tarball.with_suffix(".json").write_text(json.dumps({"python": python[len("python"):]}))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return tarball


def _stream(cmd: list[str], progress: Progress) -> None:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail: list[str] = []
    for line in proc.stdout:
        line = line.rstrip()
        tail = (tail + [line])[-20:]
        if line.startswith(("I: Retrieving", "I: Extracting", "I: Unpacking", "I: Configuring",
                            "I: Base system", "E:", "W:")):
            progress(line[3:])
    if proc.wait() != 0:
        raise SandboxError(f"{cmd[0]} failed with exit status {proc.returncode}:\n"
                           + "\n".join(tail))


def docker_client(timeout: int = 120):
    import docker

    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except docker.errors.DockerException as exc:
        raise SandboxUnavailable(
            f"no Docker engine reachable ({exc}); start it with `dockerd &` as root, or install "
            "it with `apt-get install -y docker.io`") from None
    return client


def image_exists(client, tag: str) -> bool:
    import docker

    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


DOCKERFILE = """\
FROM {rootfs}
RUN groupadd --gid {uid} sandbox \\
 && useradd --uid {uid} --gid {uid} --no-create-home --home-dir /tmp --shell /bin/sh sandbox \\
 && mkdir -p /work && chmod 1777 /work
ENV LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /work
CMD ["sleep", "infinity"]
"""


def build_image(tag: str = DEFAULT_IMAGE, *, mirror: str | None = None, suite: str | None = None,
                rebuild: bool = False, refresh_rootfs: bool = False,
                progress: Progress = log.info) -> str:
    """Build the sandbox image as ``tag`` unless it exists (or ``rebuild``); return its id."""
    client = docker_client()
    if image_exists(client, tag) and not (rebuild or refresh_rootfs):
        progress(f"image {tag} exists; pass --rebuild to build it again")
        return client.images.get(tag).id
    suite = suite or host_codename()
    tarball = rootfs_tarball(suite, mirror or host_mirror(suite), refresh_rootfs, progress)
    python = json.loads(tarball.with_suffix(".json").read_text())["python"]
    rootfs = f"debug-agent-rootfs:{tarball.stem.removeprefix('rootfs-')}"
    progress(f"docker import {tarball.name} as {rootfs}")
    client.api.import_image(src=str(tarball), repository=rootfs.split(":")[0],
                            tag=rootfs.split(":")[1])
    labels = {IMAGE_LABEL: "base", "debug-agent.python": python, "debug-agent.suite": suite}
    with tempfile.TemporaryDirectory() as ctx:
        Path(ctx, "Dockerfile").write_text(DOCKERFILE.format(rootfs=rootfs, uid=SANDBOX_UID))
        progress(f"docker build {tag} (user sandbox, /work)")
        image = _build(client, ctx, tag, labels, progress)
    progress(f"built {tag} ({image.short_id}, Python {python})")
    return image.id


def _build(client, ctx: str, tag: str, labels: dict[str, str], progress: Progress):
    import docker

    try:
        image, logs = client.images.build(path=ctx, tag=tag, rm=True, forcerm=True, pull=False,
                                          network_mode="none", labels=labels)
    except docker.errors.BuildError as exc:
        lines = "".join(chunk.get("stream", "") for chunk in exc.build_log)[-3000:]
        raise SandboxError(f"docker build of {tag} failed: {exc.msg}\n{lines}") from None
    for chunk in logs:
        if chunk.get("stream", "").startswith("Step "):
            progress(chunk["stream"].strip())
    return image
