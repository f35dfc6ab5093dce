"""A repository's environment: an image derived from the sandbox image, built once per declaration.

Steps (each named in a `SetupFailed` when it fails):

1. ``download`` (host): ``pip wheel`` of the declared requirements and the build requirements into
   a temporary folder (``pip download --only-binary`` for the image's Python when it is not the
   host's), so nothing is built or fetched inside the image.
2. A build container from the base image, no network, the wheels and a copy of the repo at
   /work/repo (where every sandbox has it), then by ``docker exec``:
   ``install dependencies`` (``pip install --no-index``), ``install the project``
   (``pip install --no-index -e .[extras]``: an editable install whose paths point at
   /work/repo, so src/ imports, ``importlib.metadata`` and entry points work on the sandbox's
   copy), each ``setup`` command, ``probe`` (the options the image's pytest knows and the
   installed distributions, kept as image labels so `run_args` can neutralize the rest).
3. The repo copy and the wheels are removed and the container is committed as
   ``debug-agent-project:<hash>``: the hash of what the environment holds (requirements, extras,
   layout and packages, our settings: `ProjectSpec.environment_key`, not the declaring files'
   bytes, so a version bump or a linter setting does not rebuild it), the setup commands and the
   base image. The tag exists only once every step succeeded; the build
   container is removed whatever happens. The second run on the same repo finds the tag.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sandboxes import _files
from sandboxes.errors import SandboxError, SetupFailed
from sandboxes.image import DEFAULT_IMAGE, IMAGE_LABEL, docker_client, image_exists
from sandboxes.project import ProjectSpec, detect_project
from sandboxes.pytest_config import parse_help_options

log = logging.getLogger("debug_agent.sandboxes")

Progress = Callable[[str], None]
REPOSITORY = "debug-agent-project"
OPT = "/opt/debug-agent"
REPO = "/work/repo"
OPTIONS_LABEL, DISTS_LABEL, DIGEST_LABEL = ("debug-agent.pytest-options", "debug-agent.dists",
                                            "debug-agent.digest")
PIP_INSTALL = (f"python3 -m pip install --no-index --find-links {OPT}/wheels --no-cache-dir "
               "--break-system-packages --disable-pip-version-check --no-warn-script-location "
               "--root-user-action=ignore")
#: Run in an image: the options its pytest knows (no conftest, no addopts) and what is installed.
PROBE = """
import importlib.metadata as m, json, re, subprocess, sys
h = subprocess.run([sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider",
                    "--noconftest", "-o", "addopts="], capture_output=True, text=True, cwd="/tmp")
d = sorted({re.sub(r"[-_.]+", "-", x.metadata["Name"]).lower() for x in m.distributions()
            if x.metadata["Name"]})
print(json.dumps({"help": h.stdout, "dists": d}))
"""


@dataclass(frozen=True)
class ProjectEnvironment:
    """Where a repo's tests run and how: the image, and the pytest args its settings need."""

    image: str
    pytest_args: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    """What `run_args` dropped from the repo's pytest settings, and why."""
    cached: bool = True
    """False when this call built the image."""


def project_tag(spec: ProjectSpec, base_id: str, setup: Sequence[str] = ()) -> str:
    import hashlib

    digest = hashlib.sha256((base_id + spec.environment_key(tuple(setup))).encode()).hexdigest()
    return f"{REPOSITORY}:{digest[:16]}"


def ensure_project_image(repo: str | os.PathLike, spec: ProjectSpec | None = None,
                         base: str = DEFAULT_IMAGE, *, setup: Sequence[str] = (),
                         progress: Progress = log.info, time_limit: float | None = None) -> str:
    """The image tag to run ``repo``'s tests in: ``base`` when the repo declares nothing to
    install, else its cached environment image, built first when missing (module docstring).
    Raises SetupFailed (which step, its output, the fix) when a step fails, or when the build
    is still running after ``time_limit`` s (each step also stops at ``setup-timeout``)."""
    spec = spec or detect_project(repo)
    setup = tuple(setup)
    if not spec.needs_image and not setup:
        return base
    client = docker_client(timeout=int(spec.settings.setup_timeout) + 120)
    try:
        base_image = client.images.get(base)
        if base_image.labels.get(IMAGE_LABEL) == "project":
            return base  # already a project's environment (agent fix hands it on)
        tag = project_tag(spec, base_image.id, setup)
        if image_exists(client, tag):
            return tag
        deadline = time.monotonic() + (time_limit or float("inf"))
        _build(client, spec, base, tag, setup, base_image.labels.get("debug-agent.python", ""),
               progress, deadline)
        return tag
    finally:
        client.close()


def project_environment(repo: str | os.PathLike, base: str = DEFAULT_IMAGE, *,
                        setup: Sequence[str] = (), progress: Progress = log.info,
                        spec: ProjectSpec | None = None) -> ProjectEnvironment:
    """`ensure_project_image` plus the pytest args the repo's settings need in that image."""
    spec = spec or detect_project(repo)
    built: list[str] = []
    image = ensure_project_image(repo, spec, base, setup=setup,
                                 progress=lambda m: (built.append(m), progress(m)))
    args: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    if spec.pytest.addopts or spec.pytest.required_plugins:  # else nothing to adapt: no probe
        args, notes = spec.pytest.run_args(*image_probe(image))
    return ProjectEnvironment(image, args, notes, cached=not built)


def image_probe(image: str) -> tuple[frozenset[str], frozenset[str]]:
    """(pytest options, installed distributions) of ``image``: from its labels for a project
    image, else probed once with a throwaway container and cached under ~/.cache/debug-agent."""
    from sandboxes.image import cache_dir

    client = docker_client()
    try:
        img = client.images.get(image)
        labels = img.labels or {}
        if OPTIONS_LABEL in labels:
            return (frozenset(labels[OPTIONS_LABEL].split()),
                    frozenset(labels.get(DISTS_LABEL, "").split()))
        cache = cache_dir() / f"probe-{img.id.split(':')[-1][:16]}.json"
        if not cache.is_file():
            out = client.containers.run(image, ["python3", "-c", PROBE], remove=True,
                                        network_mode="none", user="0:0", labels=_labels())
            data = json.loads(out)
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps({"options": sorted(parse_help_options(data["help"])),
                                         "dists": data["dists"]}))
        data = json.loads(cache.read_text())
        return frozenset(data["options"]), frozenset(data["dists"])
    finally:
        client.close()


def _labels() -> dict[str, str]:
    """Our containers' labels: prune finds them, and removes them once their owner is dead."""
    from sandboxes._common import owner_id
    from sandboxes.docker import LABEL, OWNER_LABEL, SESSION_LABEL, session_id

    return {LABEL: "1", SESSION_LABEL: session_id(), OWNER_LABEL: owner_id()}


# -- the build -----------------------------------------------------------------------------------

def _build(client, spec: ProjectSpec, base: str, tag: str, setup: tuple[str, ...], python: str,
           progress: Progress, deadline: float) -> None:
    started = time.monotonic()

    def timeout() -> float:  # what a step may take: setup-timeout, within the whole deadline
        return max(1.0, min(spec.settings.setup_timeout, deadline - time.monotonic()))
    with tempfile.TemporaryDirectory(prefix="debug-agent-env-") as ctx:
        wheels = Path(ctx, "wheels")
        wheels.mkdir()
        reqs = list(spec.requirements)
        Path(ctx, "requirements.txt").write_text("".join(r + "\n" for r in reqs))
        if reqs or (spec.installable and spec.settings.install):
            progress(f"downloading {len(reqs)} requirements and the build requirements")
            _download(ctx, [*reqs, *spec.build_requires], python, timeout())
        _files.copy_repo(spec.root, Path(ctx, "repo"), max_mb=500)
        container = client.containers.run(
            base, ["sleep", "infinity"], detach=True, init=True, user="0:0", network_mode="none",
            cap_drop=["ALL"], cap_add=["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID"],
            security_opt=["no-new-privileges"], mem_limit="4g", pids_limit=1024,
            labels=_labels() | {"debug-agent.build": tag})
        try:
            container.put_archive("/", _context_tar(ctx))
            for step, command, env in _steps(spec, setup):
                progress(step)
                _run_step(container, ctx, step, command, env, spec, python, progress, timeout)
            out = _exec(container, "probe", f"python3 -c '{PROBE}'", {}, timeout(), spec)
            probe = json.loads(out.strip().splitlines()[-1])
            _exec(container, "clean up", f"rm -rf {REPO} {OPT} /root/.cache", {}, timeout(), spec)
            labels = {IMAGE_LABEL: "project", "debug-agent.python": python,
                      "debug-agent.base": base, DIGEST_LABEL: tag.split(":")[1],
                      OPTIONS_LABEL: " ".join(sorted(parse_help_options(probe["help"]))),
                      DISTS_LABEL: " ".join(probe["dists"]),
                      # not the build container's: an image has no session and no owner
                      "debug-agent.session": "none", "debug-agent.owner": "none"}
            container.commit(repository=REPOSITORY, tag=tag.split(":")[1],
                             conf={"Labels": labels, "WorkingDir": "/work"})
        finally:
            container.remove(force=True, v=True)
    progress(f"built {tag} in {time.monotonic() - started:.0f} s")


def _steps(spec: ProjectSpec, setup: tuple[str, ...]):
    pip_env = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": f"{OPT}/wheels",
               "PIP_BREAK_SYSTEM_PACKAGES": "1", "PIP_ROOT_USER_ACTION": "ignore", "HOME": "/root"}
    if spec.requirements:
        yield ("install dependencies", f"{PIP_INSTALL} -r {OPT}/requirements.txt", pip_env)
    if spec.installable and spec.settings.install:
        target = "." + (f"[{','.join(spec.extras)}]" if spec.extras else "")
        env = dict(pip_env)
        if not (spec.root / "PKG-INFO").is_file():  # no .git in the copy: give scm tools a version
            env["SETUPTOOLS_SCM_PRETEND_VERSION"] = "0.0.0+debug.agent"
        yield ("install the project", f"cd {REPO} && {PIP_INSTALL} --use-pep517 -e '{target}'",
               env)
    for k, command in enumerate((*spec.settings.setup, *setup)):
        source = spec.settings.source if k < len(spec.settings.setup) else "--setup"
        yield (f"setup command {k + 1} (from {source}): {command}", f"cd {REPO} && {command}",
               pip_env)


_FIXES = {
    "install dependencies": "a dependency did not install from the downloaded files; pin a "
                            "version with a wheel for the sandbox's Python, or install it with "
                            "--setup 'CMD'",
    "install the project": "if the project needs more to build or run than it declares, list it "
                           "in [tool.debug-agent] requirements; or set install = false there and "
                           "install it with --setup 'CMD'",
    "probe": "the image's pytest does not start; a dependency may have replaced it with a broken "
             "one: pin pytest in the test requirements",
}


#: pip's words for a requirement that the downloaded files do not satisfy.
_MISSING = re.compile(r"No matching distribution found for (\S+)")
#: Bytes of a step's output kept (its tail).
_OUTPUT_TAIL = 200_000
#: Rounds of "download what pip asked for, try again" per step.
_ROUNDS = 8


def _run_step(container, ctx: str, step: str, command: str, env: dict, spec: ProjectSpec,
              python: str, progress: Progress, timeout: Callable[[], float]) -> None:
    """One install step; what it asks for beyond the declared requirements (a build backend's
    own needs such as hatchling's ``editables``, a setup.py's computed dependencies) is
    downloaded on the host and the step tried again."""
    asked: set[str] = set()
    for round_ in range(_ROUNDS):
        try:
            _exec(container, step, command, env, timeout(), spec)
            return
        except SetupFailed as exc:
            missing = set(_MISSING.findall(exc.output)) - asked
            if not step.startswith("install") or not missing or round_ == _ROUNDS - 1:
                raise
            asked |= missing
            progress(f"{step}: downloading what it asked for: {', '.join(sorted(missing))}")
            more = Path(ctx, f"more-{round_}")
            more.mkdir()
            _download(ctx, sorted(missing), python, timeout(), more)
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
                for wheel in sorted(more.iterdir()):
                    tar.add(wheel, arcname=f"{OPT[1:]}/wheels/{wheel.name}")
            container.put_archive("/", buf.getvalue())


def _exec(container, step: str, command: str, env: dict, timeout: float, spec) -> str:
    import docker
    import requests

    # The output goes to a file and only its tail comes back: a step that prints without end
    # must not fill this process's memory. The command is $0 of the outer shell: no quoting.
    script = (f'timeout -s KILL {int(timeout)} sh -c "$0" > /tmp/.step.log 2>&1; c=$?; '
              f"tail -c {_OUTPUT_TAIL} /tmp/.step.log; rm -f /tmp/.step.log; exit $c")
    wrapped = ["sh", "-c", script, command]
    try:
        code, out = container.exec_run(wrapped, environment=env, user="0", workdir="/")
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise SandboxError(f"the Docker engine failed during set-up step {step!r}: {exc}; "
                           "check that dockerd runs, then retry") from None
    text = out.decode("utf-8", errors="replace")
    if code != 0:
        if step.startswith("setup command"):
            fix = (f"fix the command; it runs as root in {REPO}, with no network: pip there "
                   "installs only from the downloaded requirements (add more in "
                   "[tool.debug-agent] requirements)")
        else:
            fix = _FIXES.get(step, "see the output above")
        if code == 137:
            detail = f"timed out after {timeout:.0f} s"
            fix = ("raise setup-timeout in [tool.debug-agent] (or --timeout, which bounds the "
                   "whole set-up too), or make the step faster; " + fix)
        else:
            detail = f"exit status {code}"
        raise SetupFailed(step, text, fix, detail)
    return text


def _download(ctx: str, requirements: list[str], python: str, timeout: float,
              dest: Path | None = None) -> None:
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    dest = dest or Path(ctx, "wheels")
    req = dest.with_name(dest.name + "-requirements.txt")
    req.write_text("".join(r + "\n" for r in requirements))
    if not python or python == here:
        cmd = [sys.executable, "-m", "pip", "wheel", "--disable-pip-version-check", "-q",
               "--wheel-dir", str(dest), "-r", str(req)]
    else:  # wheels for the image's Python, not ours
        cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q",
               "--dest", str(dest), "--only-binary=:all:", "--python-version",
               python, "--implementation", "cp", "--platform", "manylinux2014_x86_64",
               "--platform", "linux_x86_64", "-r", str(req)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ctx, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired as exc:
        raise SetupFailed("download", (exc.stdout or b"").decode(errors="replace")
                          if isinstance(exc.stdout, bytes) else (exc.stdout or ""),
                          "raise [tool.debug-agent] setup-timeout, or check this machine's "
                          "access to the package index", f"timed out after {timeout:g} s") from None
    if proc.returncode != 0:
        raise SetupFailed("download", proc.stdout + proc.stderr,
                          "the sandbox has no network, so every requirement is downloaded here "
                          "first: check the requirement named above (a typo, a private index, a "
                          "version with no build for Python " + (python or here) + "); extra "
                          "ones go in [tool.debug-agent] requirements",
                          f"pip exit status {proc.returncode}")


def _context_tar(ctx: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        tar.add(Path(ctx, "wheels"), arcname=f"{OPT[1:]}/wheels")
        tar.add(Path(ctx, "requirements.txt"), arcname=f"{OPT[1:]}/requirements.txt")
        tar.add(Path(ctx, "repo"), arcname=REPO[1:])
    return buf.getvalue()
