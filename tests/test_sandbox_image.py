"""The image build (idempotence, apt sources, deps images) and the `agent sandbox` commands."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from agent.cli import main
from sandboxes import open_sandbox, run_pytest
from sandboxes.image import (
    DEFAULT_IMAGE, apt_sources, deps_tag, ensure_deps_image, requirement_files,
)


def test_apt_sources_both_formats(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text(
        "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://one.example/debian trixie main\n"
        "deb-src http://src.example/debian trixie main\n")
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\n# note\nURIs: http://two.example/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\n\nTypes: deb\nURIs: http://off.example/debian\nSuites: sid\n"
        "Enabled: no\n")
    assert apt_sources(str(tmp_path)) == [
        ("http://one.example/debian", ["trixie"]),
        ("http://two.example/debian", ["bookworm", "bookworm-updates"]),
    ]


def test_requirement_files_and_tag(tmp_path):
    assert requirement_files(tmp_path) == {}
    (tmp_path / "requirements.txt").write_text("six\n")
    (tmp_path / "requirements-dev.txt").write_text("# nothing\n")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["toolz>=0.12"]\n')
    files = requirement_files(tmp_path)
    assert files == {"requirements-dev.txt": "# nothing\n", "requirements.txt": "six\n",
                     "pyproject-deps.txt": "toolz>=0.12\n"}
    tag = deps_tag(files, "sha256:base")
    assert tag.startswith("debug-agent-deps:") and tag == deps_tag(dict(files), "sha256:base")
    assert tag != deps_tag({**files, "requirements.txt": "six==1.17.0\n"}, "sha256:base")
    assert tag != deps_tag(files, "sha256:other-base")


@pytest.mark.docker
def test_build_is_idempotent(docker_ready, capsys):
    assert main(["sandbox", "build"]) == 0
    assert capsys.readouterr().out.strip() == DEFAULT_IMAGE


@pytest.mark.docker
def test_doctor_and_prune(docker_ready, tmp_path, capsys):
    assert main(["sandbox", "doctor"]) == 0
    out = capsys.readouterr().out
    assert "docker: usable" in out and "auto:   docker" in out
    assert main(["sandbox", "doctor", "--image", "debug-agent-sandbox:no-such-tag"]) == 1
    assert "`agent sandbox build`" in capsys.readouterr().out

    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    sb = open_sandbox(tmp_path, backend="docker")  # left open on purpose: prune finds it
    assert main(["sandbox", "prune", "--session", os.environ["DEBUG_AGENT_SESSION"]]) == 0
    assert f"removed {sb.name}" in capsys.readouterr().out
    sb.close()  # already gone: close still succeeds


def _can_download(requirement: str, dest) -> bool:
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--dest",
                           str(dest), requirement], capture_output=True, timeout=120)
    return proc.returncode == 0


@pytest.mark.docker
@pytest.mark.slow
def test_repo_with_dependencies_gets_a_deps_image(docker_ready, tmp_path):
    repo = tmp_path / "needs_six"
    repo.mkdir()
    assert ensure_deps_image(repo) == DEFAULT_IMAGE  # no dependencies: the base image
    if not _can_download("six", tmp_path / "probe"):
        pytest.skip("pip cannot download the `six` wheel here (no index reachable)")
    (repo / "requirements.txt").write_text("six\n")
    (repo / "test_six.py").write_text("import six\n\ndef test_six():\n    assert six.PY3\n")
    tag = ensure_deps_image(repo)
    assert tag.startswith("debug-agent-deps:")
    assert ensure_deps_image(repo) == tag  # cached
    with open_sandbox(repo, backend="docker") as sb:  # no network inside, six is installed
        assert sb.image == tag
        assert run_pytest(sb).statuses == {"test_six.py::test_six": "passed"}


def test_no_engine_falls_back_to_local(tmp_path, monkeypatch, caplog, capsys):
    """A daemon that is down (an engine address where nothing listens) is reported with the
    command that fixes it; auto falls back to the local backend with a warning."""
    from sandboxes import SandboxUnavailable

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    with pytest.raises(SandboxUnavailable, match="no Docker engine reachable.*dockerd"):
        open_sandbox(tmp_path, backend="docker")
    with caplog.at_level("WARNING", logger="debug_agent"):
        with open_sandbox(tmp_path, backend="auto") as sb:
            assert sb.backend == "local"
            assert run_pytest(sb).statuses == {"test_x.py::test_x": "passed"}
    assert "Docker backend not usable, using the local sandbox" in caplog.text
    assert main(["sandbox", "doctor"]) == 1
    out = capsys.readouterr().out
    assert "docker: not usable: no Docker engine reachable" in out and "auto:   local" in out
    assert main(["sandbox", "build"]) == 2
    assert "error: no Docker engine reachable" in capsys.readouterr().err
