"""Project environments for real (Docker engine, pip), and code that does not import.

Everything pip installs here is built by the test: two tiny wheels (a dependency and a pytest
plugin) in a local folder that pip reads through PIP_FIND_LINKS with PIP_NO_INDEX, and a
standard-library build backend in the project itself (PEP 517 ``backend-path``), so no network is
needed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import zipfile

import pytest
from test_project import write

from agent.cli import main
from envs.reward import score
from envs.task import Task
from sandboxes import open_sandbox, run_pytest
from sandboxes.errors import UsageError
from sandboxes.image import DEFAULT_IMAGE, docker_client, image_exists
from sandboxes.project import detect_project
from sandboxes.project_image import project_environment, project_tag

BACKEND = '''
import base64, hashlib, os, tomllib, zipfile

def _wheel(directory, editable):
    project = tomllib.load(open("pyproject.toml", "rb"))["project"]
    name, version = project["name"], project["version"]
    dist = f"{name}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n"
    meta += "".join(f"Requires-Dist: {r}\\n" for r in project.get("dependencies", []))
    for extra, reqs in project.get("optional-dependencies", {}).items():
        meta += f"Provides-Extra: {extra}\\n"
        meta += "".join(f'Requires-Dist: {r}; extra == "{extra}"\\n' for r in reqs)
    files = {f"{dist}/METADATA": meta,
             f"{dist}/WHEEL": "Wheel-Version: 1.0\\nGenerator: tiny\\nRoot-Is-Purelib: true\\n"
                              "Tag: py3-none-any\\n"}
    eps = project.get("entry-points", {})
    files[f"{dist}/entry_points.txt"] = "".join(
        f"[{group}]\\n" + "".join(f"{k} = {v}\\n" for k, v in items.items())
        for group, items in eps.items())
    if editable:
        files[f"_{name}.pth"] = os.path.abspath("src") + "\\n"
    else:
        for root, _, names in os.walk("src"):
            for n in names:
                path = os.path.join(root, n)
                files[os.path.relpath(path, "src")] = open(path).read()
    record = "".join(f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(t.encode()).digest()).rstrip(b'=').decode()},{len(t.encode())}\\n" for p, t in files.items())
    files[f"{dist}/RECORD"] = record + f"{dist}/RECORD,,\\n"
    wheel = f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, wheel), "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
    return wheel

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, False)

def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, True)

def get_requires_for_build_wheel(config_settings=None):
    return []

def get_requires_for_build_editable(config_settings=None):
    return ["tinyhelper"]  # asked for at build time only, as hatchling asks for editables
'''


def make_wheel(dest, name: str, version: str, files: dict[str, str], entry_points: str = ""):
    """A minimal pure-Python wheel of ``files`` in ``dest``."""
    dist = f"{name.replace('-', '_')}-{version}.dist-info"
    content = dict(files)
    content[f"{dist}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    content[f"{dist}/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                                "Tag: py3-none-any\n")
    if entry_points:
        content[f"{dist}/entry_points.txt"] = entry_points
    rows = []
    for path, text in content.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        rows.append(f"{path},sha256={digest.decode()},{len(text.encode())}\n")
    content[f"{dist}/RECORD"] = "".join(rows) + f"{dist}/RECORD,,\n"
    with zipfile.ZipFile(dest / f"{name.replace('-', '_')}-{version}-py3-none-any.whl", "w") as z:
        for path, text in content.items():
            z.writestr(path, text)


@pytest.fixture
def local_index(tmp_path, monkeypatch):
    """A folder of wheels that the host's pip uses instead of an index."""
    index = tmp_path / "index"
    index.mkdir()
    make_wheel(index, "tinydep", "1.2", {"tinydep.py": "def double(x):\n    return 2 * x\n"})
    make_wheel(index, "tinyhelper", "0.1", {"tinyhelper.py": ""})
    make_wheel(index, "pytest-tinyplug", "0.1", {"pytest_tinyplug.py": (
        "import pytest\n\ndef pytest_addoption(parser):\n"
        "    parser.addoption('--tiny-flag', action='store_true')\n\n"
        "@pytest.fixture\ndef tiny(request):\n    return request.config.getoption('--tiny-flag')\n")},
        entry_points="[pytest11]\ntinyplug = pytest_tinyplug\n")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    return index


def src_project(root, marker: str):
    return write(root, {
        "pyproject.toml": f"""
[build-system]
requires = []
build-backend = "tinybackend"
backend-path = ["_build"]

[project]
name = "proj"
version = "0.3"
dependencies = ["tinydep>=1"]

[project.optional-dependencies]
test = ["pytest-tinyplug"]
docs = ["no-such-package-is-needed"]

[project.entry-points."proj.plugins"]
hello = "proj.core:quad"

[tool.debug-agent]
setup = "true {hashlib.sha256(marker.encode()).hexdigest()[:16]}"  # a fresh image for this test

[tool.pytest.ini_options]
addopts = "-ra --tiny-flag --cov=proj --cov-report=term -n 2"
""",
        "_build/tinybackend.py": BACKEND,
        "src/proj/__init__.py": "",
        "src/proj/core.py": "from tinydep import double\n\ndef quad(x):\n    return double(double(x))\n",
        "tests/test_core.py": """
import importlib.metadata as md

from proj.core import quad

def test_quad():
    assert quad(2) == 8

def test_installed_metadata():
    assert md.version("proj") == "0.3"
    assert [e.name for e in md.entry_points(group="proj.plugins")] == ["hello"]

def test_plugin_from_the_test_extra(tiny):
    assert tiny is True
""",
    })


def _remove_image(tag):
    client = docker_client()
    try:
        if image_exists(client, tag):
            client.images.remove(tag, force=True)
    finally:
        client.close()


@pytest.mark.docker
@pytest.mark.slow
def test_src_layout_project_with_dependencies_and_test_extras(docker_ready, tmp_path,
                                                              local_index, request):
    repo = src_project(tmp_path / "proj", request.node.nodeid + str(tmp_path))
    spec = detect_project(repo)
    tag = project_tag(spec, docker_client().images.get(DEFAULT_IMAGE).id)
    steps: list[str] = []
    try:
        env = project_environment(repo, progress=steps.append)
        assert env.image == tag and not env.cached
        assert "install dependencies" in steps and "install the project" in steps
        assert "install the project: downloading what it asked for: tinyhelper" in steps
        # --tiny-flag's plugin is installed (the test extra): kept; pytest-cov, xdist are not
        assert env.pytest_args == ("-o", "addopts=-ra --tiny-flag")
        assert any("pytest-cov is not installed" in n for n in env.notes)
        with open_sandbox(repo, backend="docker") as sb:
            assert sb.image == tag
            report = run_pytest(sb)
        assert report.statuses == {f"tests/test_core.py::{t}": "passed" for t in
                                   ("test_quad", "test_installed_metadata",
                                    "test_plugin_from_the_test_extra")}, report.output[-3000:]

        again: list[str] = []  # the second set-up: the cached image, no step runs
        env2 = project_environment(repo, progress=again.append)
        assert env2.cached and env2.image == tag and again == []
        # an edit to the source is not a new environment; one to the declaration is
        (repo / "src/proj/core.py").write_text("def quad(x):\n    return x ** 2\n")
        assert project_tag(detect_project(repo), docker_client().images.get(DEFAULT_IMAGE).id) \
            == tag
        # nor is a version bump or a comment in the declaring file; a new dependency is
        base_id = docker_client().images.get(DEFAULT_IMAGE).id
        text = (repo / "pyproject.toml").read_text()
        (repo / "pyproject.toml").write_text(text.replace('version = "0.3"', 'version = "0.4"')
                                             + "\n# new\n")
        assert project_tag(detect_project(repo), base_id) == tag
        (repo / "pyproject.toml").write_text(text.replace('["tinydep>=1"]',
                                                          '["tinydep>=1", "tinyhelper"]'))
        assert project_tag(detect_project(repo), base_id) != tag
    finally:
        _remove_image(tag)


@pytest.mark.docker
def test_failing_setup_exits_3_and_leaves_nothing(docker_ready, tmp_path, capsys, request):
    repo = write(tmp_path / "r", {"test_a.py": "def test_a():\n    pass\n"})
    command = f"echo preparing; exit 7  # {request.node.nodeid} {tmp_path}"
    tag = project_tag(detect_project(repo), docker_client().images.get(DEFAULT_IMAGE).id,
                      (command,))
    assert main(["fix", str(repo), "--sandbox", "docker", "--setup", command]) == 3
    err = capsys.readouterr().err
    assert "set-up failed at step 'setup command 1 (from --setup)" in err
    assert "exit status 7" in err and "preparing" in err and "fix: fix the command" in err
    client = docker_client()
    try:
        assert not image_exists(client, tag)
        assert client.containers.list(all=True, filters={"label": f"debug-agent.build={tag}"}) \
            == []
    finally:
        client.close()


BROKEN_SOURCES = {
    "misspelled import": "from collections import Ordereddict\n\ndef table():\n"
                         "    return Ordereddict(a=1)\n",
    "syntax error": "from collections import OrderedDict\n\ndef table(:\n"
                    "    return OrderedDict(a=1)\n",
    "indentation error": "from collections import OrderedDict\n\ndef table():\n"
                         "return OrderedDict(a=1)\n",
    "name error at import": "from collections import OrderedDict\n\nDEFAULT = OrderedDct()\n\n"
                            "def table():\n    return OrderedDict(a=1)\n",
    # two faults: the comment written in another language's syntax hides a misspelled name
    "syntax error hiding a name error": "from collections import OrderedDict\n\ndef table():\n"
                                        "    pairs = OrderedDict(a=1)  // a table\n"
                                        "    return pair\n",
}
FIXED = "from collections import OrderedDict\n\ndef table():\n    return OrderedDict(a=1)\n"


def broken_repo(root, source: str):
    return write(root, {
        "calc/__init__.py": "", "calc/util.py": source,
        "calc/ops.py": "def add(a, b):\n    return a + b\n",
        "tests/test_util.py": "from calc.util import table\n\ndef test_table():\n"
                              "    assert list(table()) == ['a']\n\ndef test_again():\n"
                              "    assert table()['a'] == 1\n",
        "tests/test_ops.py": "from calc.ops import add\n\ndef test_add():\n    assert add(1, 2) == 3\n",
    })


@pytest.mark.parametrize("kind", sorted(BROKEN_SOURCES))
def test_module_that_does_not_import_is_a_failing_test(make_sandbox, tmp_path, kind):
    repo = broken_repo(tmp_path / "r", BROKEN_SOURCES[kind])
    sb = make_sandbox(repo)
    report = run_pytest(sb)
    assert report.statuses == {"tests/test_util.py": "error", "tests/test_ops.py::test_add": "passed"}
    line = {"misspelled import": 1, "syntax error": 3, "indentation error": 4,
            "name error at import": 3, "syntax error hiding a name error": 4}[kind]
    assert report.uncollected == {"tests/test_util.py": f"calc/util.py:{line}"}
    message = report.tests["tests/test_util.py"].message
    assert "calc/util.py" in message  # the frame that localization reads points at the source
    task = Task(id="t", repo=repo, fail_to_pass=("tests/test_util.py",),
                pass_to_pass=("tests/test_ops.py::test_add",))
    assert score(sb, task).reward == 0.0
    sb.write_file("calc/util.py", FIXED)
    result = score(sb, task)
    assert (result.reward, result.resolved) == (1.0, True)
    assert result.tests == {"tests/test_util.py": "passed", "tests/test_ops.py::test_add": "passed"}


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("kind", ["misspelled import", "syntax error",
                                  "syntax error hiding a name error"])
def test_agent_fix_does_not_call_a_broken_import_nothing_to_fix(docker_ready, tmp_path, capsys,
                                                                 kind):
    repo = broken_repo(tmp_path / "r", BROKEN_SOURCES[kind])
    code = main(["fix", str(repo), "--sandbox", "docker", "--json", "--max-steps", "3",
                 "--timeout", "60", "--out", str(tmp_path / "out")])
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert not payload.get("nothing_to_fix")
    assert payload["localization"][0].startswith("calc/util.py:")
    # the failing entry is the module by its path: a candidate that makes it import and its
    # tests pass counts as fixing it, in the search's validation as in the scoring run; one
    # that makes it import with its tests failing is the next round's base
    assert payload["resolved"] and code == 0
    assert payload["tests"] == {"tests/test_util.py": "passed", "tests/test_ops.py::test_add": "passed"}


def test_broken_test_file_is_reported_as_such(tmp_path, capsys):
    repo = broken_repo(tmp_path / "r", FIXED)
    (repo / "tests/test_util.py").write_text("from calc.util import table\n\ndef test_table(:\n"
                                             "    pass\n")
    assert main(["fix", str(repo), "--sandbox", "local", "--json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["resolved"] is False and not payload["nothing_to_fix"]
    assert payload["broken_test_files"] == {
        "tests/test_util.py": "tests/test_util.py:3: SyntaxError: invalid syntax"}
    assert "the test files themselves do not import" in payload["message"]


def test_conftest_that_does_not_import_names_its_folder(make_sandbox, tmp_path):
    repo = broken_repo(tmp_path / "r", BROKEN_SOURCES["misspelled import"])
    (repo / "tests/conftest.py").write_text("from calc.util import table\n")
    report = run_pytest(make_sandbox(repo))
    assert report.uncollected == {"tests": "calc/util.py:1"}
    assert report.tests["tests"].status == "error"
    assert "Ordereddict" in report.tests["tests"].message


def test_settings_table_gives_the_test_command(tmp_path):
    from agent.fix import FixConfig, fix
    from sandboxes.config import SandboxConfig

    repo = broken_repo(tmp_path / "r", BROKEN_SOURCES["syntax error"])
    (repo / ".debug-agent.toml").write_text('test-command = "pytest tests/test_ops.py"\n'
                                            "test-timeout = 5\n")
    result = fix(repo, FixConfig(sandbox=SandboxConfig(backend="local")))
    assert result.nothing_to_fix and result.initial_tests == {"tests/test_ops.py::test_add":
                                                               "passed"}
    (repo / ".debug-agent.toml").write_text('test-command = "tox"\n')
    with pytest.raises(UsageError, match="must run pytest"):
        fix(repo, FixConfig(sandbox=SandboxConfig(backend="local")))


def test_settings_timeout_bounds_the_whole_fix_when_no_timeout_is_given(tmp_path):
    """No candidate fixes this fault and each one hangs, so only the repo's own `timeout = 10`
    ends the fix early (without it, the default of 900 s would)."""
    from agent.fix import FixConfig, fix
    from sandboxes.config import SandboxConfig

    repo = write(tmp_path / "r", {
        "spin.py": "def spin(n):\n    while n >= 0:\n        n = n + 0\n    return n\n",
        "test_spin.py": "from spin import spin\n\ndef test_spin():\n    assert spin(3) == 'never'\n",
        ".debug-agent.toml": "timeout = 10\ntest-timeout = 2\n",
    })
    started = time.monotonic()
    result = fix(repo, FixConfig(sandbox=SandboxConfig(backend="local")))
    assert not result.resolved
    assert time.monotonic() - started < 10 + 10


def test_local_backend_puts_src_on_the_path_and_drops_missing_plugin_options(tmp_path):
    repo = write(tmp_path / "r", {
        "pyproject.toml": "[tool.pytest.ini_options]\naddopts = '-q --no-such-plugin-opt -x'\n",
        "src/lib/__init__.py": "VALUE = 3\n",
        "tests/test_lib.py": "from lib import VALUE\n\ndef test_value():\n    assert VALUE == 3\n",
    })
    with open_sandbox(repo, backend="local") as sb:
        assert "pythonpath=src" in sb.pytest_args
        assert run_pytest(sb).statuses == {"tests/test_lib.py::test_value": "passed"}


@pytest.mark.docker
def test_setup_step_past_its_timeout_fails_on_time(docker_ready, tmp_path, capsys, request):
    repo = write(tmp_path / "r", {"test_a.py": "def test_a():\n    pass\n",
                                  ".debug-agent.toml": f"setup = 'yes | head -c 30000000; "
                                                       f"sleep 60'  # {request.node.nodeid}\n"
                                                       "setup-timeout = 3\n"})
    assert main(["fix", str(repo), "--sandbox", "docker"]) == 3
    err = capsys.readouterr().err
    assert "(from .debug-agent.toml)" in err and "timed out after 3 s" in err
    assert len(err) < 10_000  # the tail of 30 MB of output
    (repo / ".debug-agent.toml").unlink()
    started = time.monotonic()  # --timeout bounds the set-up too
    assert main(["fix", str(repo), "--sandbox", "docker", "--timeout", "5",
                 "--setup", f"sleep 60  # {request.node.nodeid}"]) == 3
    assert time.monotonic() - started < 30
    assert re.search(r"timed out after [1-5] s", capsys.readouterr().err)


@pytest.mark.docker
def test_eval_records_a_setup_failure_as_such_and_does_not_retry_it(docker_ready, tmp_path,
                                                                     request):
    from agent.eval.records import ErrorKind
    from agent.eval.worker import WorkerConfig, evaluate_task
    from sandboxes.config import SandboxConfig

    repo = broken_repo(tmp_path / "r", BROKEN_SOURCES["misspelled import"])
    (repo / ".debug-agent.toml").write_text(f"setup = 'exit 5  # {request.node.nodeid}'\n")
    task = Task(id="t", repo=repo, fail_to_pass=("tests/test_util.py",))
    record = evaluate_task(task, WorkerConfig(sandbox=SandboxConfig(backend="docker"), max_steps=2))
    assert record.error_kind == ErrorKind.SETUP and record.status == "setup_failed"
    assert not record.retried and "exit status 5" in record.result.error


def test_exclude_setting_leaves_its_paths_alone(tmp_path):
    """[tool.debug-agent] exclude: no edit touches those files, whatever the policy; the same
    repo without the setting is fixed there."""
    from agent.fix import FixConfig, fix
    from envs.env import DebugEnv, EnvConfig
    from envs.task import Task
    from sandboxes.config import SandboxConfig

    local = SandboxConfig(backend="local")
    repo = write(tmp_path / "r", {
        "calc/__init__.py": "", "calc/ops.py": "def add(a, b):\n    return a - b\n",
        "tests/test_ops.py": "from calc.ops import add\n\ndef test_add():\n    assert add(1, 2) == 3\n"
                             "\ndef test_zero():\n    assert add(0, 0) == 0\n",
    })
    assert fix(repo, FixConfig(sandbox=local, timeout_s=120)).resolved
    (repo / ".debug-agent.toml").write_text('exclude = ["calc/ops.py"]\n')
    result = fix(repo, FixConfig(sandbox=local, timeout_s=120))
    assert result.task.leave_alone == ("calc/ops.py",)
    assert not result.resolved and "calc/ops.py" not in (result.best.patch or "")
    assert (repo / "calc/ops.py").read_text() == "def add(a, b):\n    return a - b\n"

    with DebugEnv(EnvConfig(sandbox=local)) as env:
        env.reset(options={"repo": repo, "leave_alone": ("calc/*",)})
        edit = ("```\nedit calc/ops.py\n<<<<<<< SEARCH\n    return a - b\n=======\n"
                "    return a + b\n>>>>>>> REPLACE\n```")
        observation, _, _, _, info = env.step(edit)
        assert "left alone" in observation and info.get("format_error")
        assert env.sandbox.read_file("calc/ops.py").endswith("a - b\n")
    task = Task.from_report(repo, env.initial_report, leave_alone=("calc/*",))
    assert task.leaves_alone("calc/ops.py") and not task.leaves_alone("tests/test_ops.py")
    assert task.to_json()["leave_alone"] == ["calc/*"]
