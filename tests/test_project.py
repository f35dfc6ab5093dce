"""Detection of how a repository declares itself (sandboxes/project.py, sandboxes/pytest_config.py).

Pure reading of files: nothing here runs the repository's code.
"""

from __future__ import annotations

import shlex

import pytest

from sandboxes.errors import UsageError
from sandboxes.project import detect_project
from sandboxes.pytest_config import read_pytest_settings


def write(root, files: dict[str, str]):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_pyproject_extras_groups_and_src_layout(tmp_path):
    write(tmp_path, {
        "pyproject.toml": """
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"
[project]
name = "Demo_Pkg"
dependencies = ["attrs>=22", "packaging"]
[project.optional-dependencies]
test = ["hypothesis", "demo-pkg[speed]"]
speed = ["ujson"]
docs = ["sphinx"]
[dependency-groups]
lint = ["ruff"]
dev = ["pytest-mock", {include-group = "lint"}]
""",
        "src/demo_pkg/__init__.py": "", "tests/test_x.py": "",
    })
    spec = detect_project(tmp_path)
    assert (spec.name, spec.layout, spec.packages) == ("Demo_Pkg", "src", ("demo_pkg",))
    assert spec.installable and spec.build_requires == ("hatchling", "editables")
    # the self-reference demo-pkg[speed] pulls in the speed extra; docs is not a test extra
    assert spec.extras == ("test", "speed")
    assert spec.requirements == ("attrs>=22", "packaging", "hypothesis", "ujson", "pytest-mock",
                                 "ruff")
    assert dict(spec.origins)["ruff"] == "pyproject.toml dependency-groups.dev"
    assert spec.inputs == ("pyproject.toml",) and spec.needs_image


def test_setup_py_is_read_not_run(tmp_path):
    write(tmp_path, {
        "setup.py": """
import pathlib
pathlib.Path("RAN").write_text("setup.py was executed")
BASE = ["requests>=2"]
setup_kwargs = dict(name="legacy")
from setuptools import setup
setup(
    install_requires=BASE + ["idna"],
    extras_require={"testing": ["pytest-xdist"], "doc": ["sphinx"]},
    tests_require=["mock"],
    **setup_kwargs,
)
""",
        "legacy/__init__.py": "", "test_legacy.py": "",
    })
    spec = detect_project(tmp_path)
    assert not (tmp_path / "RAN").exists()
    assert spec.name == "legacy" and spec.layout == "flat" and spec.packages == ("legacy",)
    assert spec.requirements == ("requests>=2", "idna", "mock", "pytest-xdist")
    assert spec.extras == ("testing",)
    assert spec.build_requires == ("setuptools>=40.8.0", "wheel")


def test_setup_py_with_computed_requirements_is_noted(tmp_path):
    write(tmp_path, {"setup.py": "from setuptools import setup\n"
                                 "setup(name='x', install_requires=open('r.txt').read().split())\n"})
    spec = detect_project(tmp_path)
    assert spec.requirements == ()
    assert any("setup.py computes install_requires" in n for n in spec.notes)


def test_setup_cfg_and_requirement_files_with_includes(tmp_path):
    write(tmp_path, {
        "setup.cfg": "[metadata]\nname = cfgpkg\n[options]\npackage_dir =\n    =src\n"
                     "install_requires =\n    click>=8  # the CLI\n    rich\n"
                     "[options.extras_require]\ntests =\n    pytest-cov\n"
                     "[tool:pytest]\naddopts = --cov cfgpkg -q\n",
        "requirements.txt": "-r requirements/base.txt\n# a comment\nsix==1.16.0 \\\n  ; python_version >= '3'\n",
        "requirements/base.txt": "-e .\nurllib3<3\n--index-url https://mirror.invalid/simple\n",
        "requirements/extra.txt": "-r base.txt\ncertifi\n",
        "src/cfgpkg/__init__.py": "",
    })
    spec = detect_project(tmp_path)
    assert spec.name == "cfgpkg" and spec.installable and spec.layout == "src"
    assert spec.requirements == ("click>=8", "rich", "pytest-cov", "urllib3<3",
                                 "six==1.16.0 ; python_version >= '3'", "certifi")
    assert set(spec.inputs) == {"setup.cfg", "requirements.txt", "requirements/base.txt",
                                "requirements/extra.txt"}
    assert spec.pytest.config_file == "setup.cfg"
    assert spec.pytest.addopts == ("--cov", "cfgpkg", "-q")
    assert any("--index-url" in n for n in spec.notes)


def test_tox_and_nox_are_hints_only_when_nothing_else_names_test_deps(tmp_path):
    write(tmp_path, {"tox.ini": "[testenv]\ndeps =\n    pytest-randomly\n    -rreq-test.txt\n"
                                "    py{27,py}: ipython<6.0.0\n    !pypy3: numpy\n"
                                "commands = pytest\n",
                     "req-test.txt": "freezegun\n",
                     "noxfile.py": "def tests(session):\n    session.install('-e', '.', 'responses')\n"})
    spec = detect_project(tmp_path)
    assert spec.requirements == ("pytest-randomly", "freezegun", "responses")
    assert dict(spec.origins)["responses"] == "noxfile.py session.install (hint)"
    write(tmp_path, {"pyproject.toml": "[project]\nname='p'\n"
                                       "[project.optional-dependencies]\ntest = ['pytest-mock']\n"})
    assert detect_project(tmp_path).requirements == ("pytest-mock",)


def test_plain_repo_needs_no_image(tmp_path):
    write(tmp_path, {"calc.py": "", "test_calc.py": ""})
    spec = detect_project(tmp_path)
    assert not spec.needs_image and not spec.installable and spec.packages == ("calc",)


def test_debug_agent_settings_and_their_checks(tmp_path):
    write(tmp_path, {"pyproject.toml": """
[tool.debug-agent]
setup = "make data"
requirements = ["numpy"]
test-command = "pytest tests/unit"
timeout = 300
exclude = ["vendor/"]
"""})
    spec = detect_project(tmp_path)
    s = spec.settings
    assert (s.setup, s.test_command, s.timeout, s.exclude) == (("make data",), "pytest tests/unit",
                                                              300, ("vendor/",))
    assert spec.requirements == ("numpy",) and spec.needs_image
    digest = spec.digest()
    assert digest == detect_project(tmp_path).digest() != spec.digest(("echo more",))
    (tmp_path / ".debug-agent.toml").write_text("timeout = -1\n")
    with pytest.raises(UsageError, match=r"\.debug-agent\.toml: timeout must be a positive"):
        detect_project(tmp_path)
    (tmp_path / ".debug-agent.toml").write_text("set-up = 'x'\n")
    with pytest.raises(UsageError, match="unknown key.*set-up; known:"):
        detect_project(tmp_path)
    (tmp_path / ".debug-agent.toml").write_text("setup = [1]\n")
    with pytest.raises(UsageError, match="setup must be a string or a list of strings"):
        detect_project(tmp_path)


def test_environment_key_is_what_the_image_holds_not_the_files_bytes(tmp_path):
    setup_py = ("from setuptools import setup\nsetup(name='calc', version='{v}', "
                "install_requires=[{reqs}], packages=['calc'])\n")
    write(tmp_path, {"setup.py": setup_py.format(v="1.0", reqs="'attrs'"),
                     "setup.cfg": "[flake8]\nmax-line-length = 88\n", "calc/__init__.py": ""})
    key = detect_project(tmp_path).environment_key()
    # a release's version bump and a linter setting: the same environment, the same image
    write(tmp_path, {"setup.py": setup_py.format(v="1.1", reqs="'attrs'"),
                     "setup.cfg": "[flake8]\nmax-line-length = 100\n"})
    spec = detect_project(tmp_path)
    assert spec.environment_key() == key != spec.environment_key(("make data",))
    assert spec.digest() != key  # the files' bytes did change
    write(tmp_path, {"setup.py": setup_py.format(v="1.1", reqs="'attrs', 'six'")})
    assert detect_project(tmp_path).environment_key() != key
    write(tmp_path, {"calc2/__init__.py": ""})  # a new top-level package: the editable install's
    assert detect_project(tmp_path).environment_key() != key
    # what detection could not read: the files are hashed whole
    computed = "from setuptools import setup\nREQS = open('r.txt').read().split()\n" \
               "setup(name='calc', install_requires=REQS)\n"
    write(tmp_path, {"setup.py": computed})
    spec = detect_project(tmp_path)
    whole = spec.environment_key()
    assert spec.notes and whole == spec.digest()
    write(tmp_path, {"setup.py": computed + "# v2\n"})
    assert detect_project(tmp_path).environment_key() != whole


def test_bad_toml_is_a_usage_error(tmp_path):
    write(tmp_path, {"pyproject.toml": "[project\n"})
    with pytest.raises(UsageError, match="cannot read .*pyproject.toml"):
        detect_project(tmp_path)


def test_pytest_settings_precedence(tmp_path):
    write(tmp_path, {"setup.cfg": "[tool:pytest]\naddopts = -x\n",
                     "tox.ini": "[pytest]\naddopts = -q\n",
                     "pyproject.toml": "[tool.pytest.ini_options]\naddopts = ['-ra', '-n', '2']\n"})
    assert read_pytest_settings(tmp_path)[0].addopts == ("-ra", "-n", "2")
    write(tmp_path, {"pytest.ini": "[pytest]\ntestpaths = tests\n"})
    settings, source = read_pytest_settings(tmp_path)
    assert source == "pytest.ini" and settings.addopts == () and settings.testpaths == ("tests",)


KNOWN = frozenset({"-r", "-q", "-v", "-s", "-p", "-W", "--strict-markers", "--doctest-modules",
                   "--tb", "-k"} | {f"--x{i}" for i in range(30)})


@pytest.mark.parametrize("addopts, installed, kept", [
    # plugin missing: its options go, with their values
    ("-ra --cov=pkg --cov-report term-missing -q", set(), "-ra -q"),
    ("--cov pkg tests", set(), "tests"),
    ("-n auto --dist loadfile --strict-markers", set(), "--strict-markers"),
    # installed, but in the way of how the sandbox runs the suite
    ("--timeout 10 -p no:warnings", {"pytest-timeout"}, "-p no:warnings"),
    ("-xvs --maxfail=2 --lf --strict-config", set(), "-vs"),
    # installed and harmless: kept; unknown to the sandbox's pytest: dropped
    ("--reruns 2 -W error --bogus", {"pytest-rerunfailures"}, "--reruns 2 -W error"),
    ("--doctest-modules --tb=short -k 'not slow'", set(), None),
])
def test_addopts_are_neutralized(tmp_path, addopts, installed, kept):
    write(tmp_path, {"pytest.ini": f"[pytest]\naddopts = {addopts}\n"})
    settings, _ = read_pytest_settings(tmp_path)
    args, notes = settings.run_args(KNOWN, frozenset(installed))
    if kept is None:
        assert args == () and notes == ()
    else:
        assert args == ("-o", "addopts=" + shlex.join(shlex.split(kept)))
        assert notes


def test_conftest_options_and_missing_required_plugins(tmp_path):
    write(tmp_path, {"pytest.ini": "[pytest]\naddopts = --run-slow --cov\n"
                                   "required_plugins = pytest-cov>=4 pytest-mock\n",
                     "tests/conftest.py": "def pytest_addoption(parser):\n"
                                          "    parser.addoption('--run-slow', action='store_true')\n"})
    settings, _ = read_pytest_settings(tmp_path)
    assert settings.conftest_options == ("--run-slow",)
    assert settings.plugins_named == ("pytest-cov", "pytest-mock")
    args, notes = settings.run_args(KNOWN, frozenset({"pytest-mock"}))
    assert args == ("-o", "addopts=--run-slow", "-o", "required_plugins=")
    assert any("pytest-cov>=4 not installed" in n for n in notes)


def test_dev_extras_only_when_there_are_no_test_ones(tmp_path):
    write(tmp_path, {"pyproject.toml": "[project]\nname = 'p'\n[project.optional-dependencies]\n"
                                       "dev = ['p[tests]', 'tox', 'pre-commit']\ntests = ['pytz']\n"
                                       "[dependency-groups]\ndev = ['sphinx']\n"})
    spec = detect_project(tmp_path)
    assert spec.extras == ("tests",) and spec.requirements == ("pytz", "sphinx")
    assert detect_project(write(tmp_path, {".debug-agent.toml": "extras = ['dev']\n"})).extras \
        == ("dev", "tests")


def test_poetry_dependencies_groups_and_extras(tmp_path):
    write(tmp_path, {"pyproject.toml": """
[build-system]
requires = ["poetry-core>=1.0"]
build-backend = "poetry.core.masonry.api"
[tool.poetry]
name = "poet"
[tool.poetry.dependencies]
python = "^3.9"
requests = "^2.28"
attrs = "~21.4"
tiny = "0.0.3"
fast = {version = "^0.2.1", optional = true}
local = {path = "../local"}
either = "^1.0 || ^2.0"
[tool.poetry.extras]
test = ["fast"]
[tool.poetry.group.test.dependencies]
pytest-mock = "*"
[tool.poetry.group.docs.dependencies]
sphinx = "*"
""", "src/poet/__init__.py": ""})
    spec = detect_project(tmp_path)
    assert spec.name == "poet" and spec.installable and spec.layout == "src"
    assert spec.requirements == ("requests>=2.28,<3", "attrs>=21.4,<21.5", "tiny==0.0.3",
                                 "either", "pytest-mock", "fast>=0.2.1,<0.3")
    assert spec.extras == ("test",)
    assert any("local comes from git / a path" in n for n in spec.notes)
