"""The image build (idempotence, apt sources) and the `agent sandbox` commands (project
environments: tests/test_project_env.py)."""

from __future__ import annotations

import os

import pytest

from agent.cli import main
from sandboxes import open_sandbox, run_pytest
from sandboxes.image import DEFAULT_IMAGE, apt_sources


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
