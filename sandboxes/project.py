"""What a repository declares about itself: dependencies, test needs, layout, our settings.

`detect_project` reads, never runs, the files people declare a Python project with:

- ``pyproject.toml``: PEP 621 ``dependencies`` and the ``optional-dependencies`` named in
  ``TEST_EXTRAS``, PEP 735 ``dependency-groups`` of those names (``include-group`` followed),
  setuptools' ``dynamic`` dependencies read from files, ``[build-system] requires``;
- ``setup.cfg`` (configparser) and ``setup.py`` (parsed with ``ast``, literals and module-level
  names only: the user's setup.py is never executed on the host): ``install_requires``,
  ``extras_require``, ``tests_require``;
- ``requirements*.txt`` at the top and in ``requirements/`` folders, ``-r`` includes followed;
- ``tox.ini`` ``deps`` and ``noxfile.py`` ``session.install("...")`` literals, used as a hint only
  when nothing else names the test dependencies;
- ``src/`` or flat layout, and our own table (`AgentSettings`): ``[tool.debug-agent]`` in
  pyproject.toml or a ``.debug-agent.toml``.

The result, a `ProjectSpec`, also names every file that declared it (``inputs``); the
environment image built from it (sandboxes/project_image.py) is cached by the hash of what it
declares (`ProjectSpec.environment_key`), or of those files when some of it could not be read.
"""

from __future__ import annotations

import ast
import configparser
import functools
import hashlib
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from sandboxes.errors import UsageError
from sandboxes.pytest_config import PytestSettings, read_pytest_settings

#: Extras and dependency groups that hold test needs (dev only when none of the others exists).
TEST_EXTRAS = ("test", "tests", "testing", "dev")
CONFIG_FILE = ".debug-agent.toml"
#: What a build backend asks for besides its declared requirements, for an editable build (the
#: image build also fetches whatever else pip reports missing, one round at a time).
BACKEND_EXTRAS = {"hatchling": ("editables",)}
#: Bumped when what an environment image holds changes, so old images are not reused.
SPEC_FORMAT = "1"


def canonical(name: str) -> str:
    """PEP 503 normalized project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class AgentSettings:
    """``[tool.debug-agent]`` (or ``.debug-agent.toml``): what detection cannot guess."""

    setup: tuple[str, ...] = ()
    """Shell commands run once, as root and with no network, in the environment image build
    (after the dependencies and the project are installed); pip there installs from the
    downloaded files only (``requirements`` adds to them)."""
    requirements: tuple[str, ...] = ()
    """Extra requirements to download on the host and install in the image."""
    extras: tuple[str, ...] | None = None
    """Extras of the project to install [default: those of TEST_EXTRAS it declares]."""
    install: bool = True
    """Install the project itself (editable) in the image."""
    test_command: str | None = None
    """How the tests run, when not plain ``pytest`` from the repo root."""
    timeout: float | None = None
    """Seconds for a whole ``agent fix`` episode."""
    test_timeout: float | None = None
    """Seconds per test."""
    setup_timeout: float = 900.0
    """Seconds for each set-up step of the image build."""
    exclude: tuple[str, ...] = ()
    """Repo paths (files or folders) that fixes must leave alone."""
    source: str = ""
    """Where the settings came from (for messages)."""

    def __post_init__(self) -> None:
        for name in ("timeout", "test_timeout", "setup_timeout"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise UsageError(f"{self.source or 'debug-agent settings'}: {name.replace('_', '-')}"
                                 f" must be a positive number of seconds, got {value}")


_SETTING_KEYS = {"setup": "setup", "requirements": "requirements", "extras": "extras",
                 "install": "install", "test-command": "test_command", "timeout": "timeout",
                 "test-timeout": "test_timeout", "setup-timeout": "setup_timeout",
                 "exclude": "exclude"}


def _settings(table: dict, source: str) -> AgentSettings:
    unknown = sorted(set(table) - set(_SETTING_KEYS))
    if unknown:
        raise UsageError(f"{source}: unknown key(s) {', '.join(unknown)}; known: "
                         + ", ".join(sorted(_SETTING_KEYS)))
    values: dict = {"source": source}
    for key, attr in _SETTING_KEYS.items():
        if key not in table:
            continue
        value = table[key]
        if attr in ("setup", "requirements", "extras", "exclude"):
            value = [value] if isinstance(value, str) else value
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise UsageError(f"{source}: {key} must be a string or a list of strings, "
                                 f"got {value!r}")
            value = tuple(value)
        elif attr == "install" and not isinstance(value, bool):
            raise UsageError(f"{source}: install must be true or false, got {value!r}")
        elif attr == "test_command" and not isinstance(value, str):
            raise UsageError(f"{source}: test-command must be a string, got {value!r}")
        elif attr in ("timeout", "test_timeout", "setup_timeout") and (
                isinstance(value, bool) or not isinstance(value, (int, float))):
            raise UsageError(f"{source}: {key} must be a number of seconds, got {value!r}")
        values[attr] = value
    return AgentSettings(**values)


@dataclass(frozen=True)
class ProjectSpec:
    """How one repository declares itself; see the module docstring."""

    root: Path
    name: str | None = None
    layout: str = "flat"
    """"src" (importable code under src/) or "flat"."""
    packages: tuple[str, ...] = ()
    """Top-level importable names of the project."""
    installable: bool = False
    """Declares a package that pip can install (pyproject [project] / setup.py / setup.cfg)."""
    build_requires: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()
    """Every third-party requirement to install, in order, without duplicates."""
    origins: tuple[tuple[str, str], ...] = ()
    """(requirement, where it was declared) for each of ``requirements``."""
    extras: tuple[str, ...] = ()
    """Extras of the project installed with it (test / dev ones)."""
    pytest: PytestSettings = field(default_factory=PytestSettings)
    settings: AgentSettings = field(default_factory=AgentSettings)
    inputs: tuple[str, ...] = ()
    """Repo-relative files that declared any of this (hashed into the image tag)."""
    notes: tuple[str, ...] = ()
    """What detection could not read (dynamic values), and hints used."""

    @property
    def needs_image(self) -> bool:
        """Whether the base sandbox image is not enough."""
        return bool(self.requirements or self.settings.setup
                    or (self.installable and self.settings.install))

    def digest(self, setup: tuple[str, ...] = ()) -> str:
        """Hash of everything that declared the environment, plus extra ``setup`` commands."""
        h = hashlib.sha256(f"debug-agent.project/{SPEC_FORMAT}".encode())
        for rel in sorted(self.inputs):
            h.update(b"\0" + rel.encode() + b"\0" + (self.root / rel).read_bytes())
        for part in (*self.requirements, "\0", *self.extras, "\0", *self.settings.setup, "\0",
                     *setup, "\0", *self.packages):
            h.update(part.encode() + b"\n")
        h.update(f"{self.settings.install}".encode())
        return h.hexdigest()

    def environment_key(self, setup: tuple[str, ...] = ()) -> str:
        """Hash of what the environment image holds: the requirements, build requirements,
        extras, name, layout and top-level packages, our settings and ``setup``; not the bytes
        of the declaring files, which change with every version bump or linter setting (mined
        commits of one project, or a user's next commit, then share one image). The project is
        installed editable, so its code is the sandbox's copy whatever the image was built from;
        its installed metadata (version, entry points) is the build's. When detection could not
        read all of it (``notes``: computed or dynamic requirements, a setup.py that does not
        parse), what the install does is unknown here and the files are hashed whole
        (`digest`)."""
        if self.notes:
            return self.digest(setup)
        h = hashlib.sha256(f"debug-agent.environment/{SPEC_FORMAT}".encode())
        for part in (self.name or "", self.layout, f"{self.installable}", "\0",
                     *self.packages, "\0", *self.build_requires, "\0", *self.requirements,
                     "\0", *self.extras, "\0", *self.settings.requirements, "\0",
                     *self.settings.setup, "\0", *setup, "\0", f"{self.settings.install}"):
            h.update(part.encode() + b"\n")
        return h.hexdigest()


# -- the readers ---------------------------------------------------------------------------------

class _Collected:
    """Requirements found so far, with where each came from, and the files read."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.reqs: dict[str, str] = {}
        self.inputs: list[str] = []
        self.notes: list[str] = []

    def add(self, requirements, origin: str) -> None:
        for req in requirements:
            req = " ".join(str(req).split())
            if req and req not in self.reqs:
                self.reqs[req] = origin

    def read(self, rel: str) -> str:
        if rel not in self.inputs:
            self.inputs.append(rel)
        return (self.root / rel).read_text(encoding="utf-8", errors="replace")


def read_requirements_file(col: _Collected, rel: str, seen: set[str] | None = None) -> None:
    """Requirement lines of a requirements file, ``-r`` / ``-c`` includes followed."""
    seen = seen if seen is not None else set()
    if rel in seen or not (col.root / rel).is_file():
        return
    seen.add(rel)
    base = Path(rel).parent
    for raw in _joined_lines(col.read(rel)):
        line = re.split(r"(^|\s)#", raw, maxsplit=1)[0].strip()
        if not line:
            continue
        words = shlex.split(line, posix=True) if line.startswith("-") else [line]
        head = words[0]
        if head in ("-r", "--requirement", "-c", "--constraint") and len(words) > 1:
            read_requirements_file(col, (base / words[1]).as_posix(), seen)
        elif head.startswith(("-r", "--requirement=")):
            read_requirements_file(col, (base / head.split("=", 1)[-1].removeprefix("-r")).as_posix(),
                                   seen)
        elif head in ("-e", "--editable") and len(words) > 1 and words[1] in (".", "./"):
            continue  # the project itself: installed anyway
        elif head.startswith("-"):
            col.notes.append(f"{rel}: ignored option line {line!r} (indexes are the host's pip's)")
        elif line in (".", "./") or line.startswith((".[", "./[")):
            continue
        else:
            col.add([line], rel)


def _joined_lines(text: str) -> list[str]:
    return text.replace("\\\n", " ").splitlines()


def _self_extras(reqs, name: str | None) -> tuple[list[str], list[str]]:
    """Split ``reqs`` into (third-party requirements, extras of the project itself named there)."""
    out, extras = [], []
    for req in reqs:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[([^\]]*)\])?", req)
        if name and match and canonical(match[1]) == canonical(name):
            extras += [e.strip() for e in (match[3] or "").split(",") if e.strip()]
        else:
            out.append(req)
    return out, extras


def _from_pyproject(col: _Collected, data: dict, extras_wanted) -> tuple[str | None, list[str]]:
    """Requirements of pyproject.toml; returns (project name, extras used)."""
    project = data.get("project", {})
    name = project.get("name")
    dynamic = project.get("dynamic", [])
    col.add(_self_extras(project.get("dependencies", []), name)[0], "pyproject.toml dependencies")
    dyn = data.get("tool", {}).get("setuptools", {}).get("dynamic", {})
    if "dependencies" in dynamic:
        files = dyn.get("dependencies", {}).get("file", [])
        for rel in [files] if isinstance(files, str) else files:
            read_requirements_file(col, rel)
        if not files:
            col.notes.append("pyproject.toml: dependencies are dynamic; set [tool.debug-agent] "
                             "requirements if the install misses some")
    optional = dict(project.get("optional-dependencies", {}))
    for extra, spec in dyn.get("optional-dependencies", {}).items():
        files = spec.get("file", []) if isinstance(spec, dict) else []
        optional.setdefault(extra, [])
        for rel in [files] if isinstance(files, str) else files:
            sub = _Collected(col.root)
            read_requirements_file(sub, rel)
            col.inputs += [p for p in sub.inputs if p not in col.inputs]
            optional[extra] = list(optional[extra]) + list(sub.reqs)
    used = _expand_extras(col, optional, extras_wanted, name, "pyproject.toml")
    groups = data.get("dependency-groups", {})
    for group in _default_names(groups):
            col.add(_group(groups, group, set()), f"pyproject.toml dependency-groups.{group}")
    return name, used


def _default_names(available) -> tuple[str, ...]:
    """The test extras / groups to use: test / tests / testing, or dev when there is none
    (dev ones tend to add linters, docs and release tools the tests do not need)."""
    tests = tuple(n for n in TEST_EXTRAS if n != "dev" and n in available)
    return tests or tuple(n for n in ("dev",) if n in available)


def _expand_extras(col: _Collected, optional: dict, wanted, name, where: str) -> list[str]:
    used: list[str] = []
    todo = [e for e in (wanted if wanted is not None else _default_names(optional))
            if e in optional]
    while todo:
        extra = todo.pop(0)
        if extra in used:
            continue
        used.append(extra)
        reqs, nested = _self_extras(optional.get(extra, []), name)
        col.add(reqs, f"{where} extra [{extra}]")
        todo += [e for e in nested if e in optional]
    return used


def _from_poetry(col: _Collected, poetry: dict, extras_wanted) -> list[str]:
    """[tool.poetry] dependencies, its test / dev groups and extras; returns the extras used."""
    optional: set[str] = set()
    for name, spec in poetry.get("dependencies", {}).items():
        if isinstance(spec, dict) and spec.get("optional"):
            optional.add(canonical(name))
        elif name != "python":
            col.add(_poetry_requirement(col, name, spec), "pyproject.toml [tool.poetry]")
    groups = {g: t.get("dependencies", {}) for g, t in poetry.get("group", {}).items()}
    if "dev-dependencies" in poetry:
        groups.setdefault("dev", poetry["dev-dependencies"])
    for group in _default_names(groups):
        for name, spec in groups[group].items():
            col.add(_poetry_requirement(col, name, spec), f"pyproject.toml poetry group {group}")
    extras = poetry.get("extras", {})
    used = [e for e in (extras_wanted if extras_wanted is not None else _default_names(extras))
            if e in extras]
    specs = poetry.get("dependencies", {})
    for extra in used:
        for name in extras[extra]:
            if canonical(name) in optional:
                col.add(_poetry_requirement(col, name, next(
                    (v for k, v in specs.items() if canonical(k) == canonical(name)), "*")),
                    f"pyproject.toml poetry extra [{extra}]")
    return used


def _poetry_requirement(col: _Collected, name: str, spec) -> list[str]:
    """PEP 508 for one Poetry dependency (``^1.2`` is ``>=1.2,<2.0``); [] for git / path ones."""
    version = spec.get("version", "*") if isinstance(spec, dict) else str(spec)
    if isinstance(spec, dict) and {"git", "path", "url"} & set(spec):
        col.notes.append(f"poetry dependency {name} comes from git / a path / a URL; not read")
        return []
    if "||" in version:
        col.notes.append(f"poetry dependency {name} = {version!r}: alternatives not converted, "
                         "left unpinned")
        return [name]
    parts = []
    for part in (p.strip() for p in version.split(",") if p.strip() and p.strip() != "*"):
        bare = part.lstrip("^~=")
        nums = [int(n) if n.isdigit() else 0 for n in bare.split(".")]
        if part.startswith("^"):
            k = next((i for i, n in enumerate(nums) if n), len(nums) - 1)
            upper = nums[:k] + [nums[k] + 1]
            parts.append(f">={bare},<{'.'.join(map(str, upper))}")
        elif part.startswith("~") and not part.startswith("~="):
            upper = nums[:2] if len(nums) > 1 else nums[:1]
            upper = upper[:-1] + [upper[-1] + 1]
            parts.append(f">={bare},<{'.'.join(map(str, upper))}")
        elif part[0].isdigit():
            parts.append(f"=={part}")
        else:
            parts.append(part.replace(" ", ""))
    return [name + ",".join(parts)]


def _group(groups: dict, name: str, stack: set[str]) -> list[str]:
    """PEP 735 group ``name`` with its ``include-group`` entries expanded."""
    if name in stack:
        raise UsageError(f"pyproject.toml: dependency group {name!r} includes itself")
    out = []
    for item in groups.get(name, []):
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and "include-group" in item:
            out += _group(groups, item["include-group"], stack | {name})
    return out


def _from_setup_cfg(col: _Collected, extras_wanted) -> tuple[str | None, list[str], bool]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(col.read("setup.cfg"))
    
    def get(section: str, key: str) -> str:
        return parser.get(section, key, fallback="")

    name = get("metadata", "name") or None

    def lines(text: str) -> list[str]:
        if text.strip().startswith("file:"):
            for rel in text.strip()[5:].split(","):
                read_requirements_file(col, rel.strip())
            return []
        return [ln.split("#", 1)[0] for ln in text.splitlines() if ln.split("#", 1)[0].strip()]

    col.add(_self_extras(lines(get("options", "install_requires")), name)[0],
            "setup.cfg install_requires")
    col.add(lines(get("options", "tests_require")), "setup.cfg tests_require")
    optional = ({k: lines(v) for k, v in parser.items("options.extras_require")}
                if parser.has_section("options.extras_require") else {})
    used = _expand_extras(col, optional, extras_wanted, name, "setup.cfg")
    return name, used, bool(name or parser.has_section("options"))


def _from_setup_py(col: _Collected, extras_wanted) -> tuple[str | None, list[str]]:
    try:
        tree = ast.parse(col.read("setup.py"))
    except SyntaxError as exc:
        col.notes.append(f"setup.py does not parse ({exc.msg}, line {exc.lineno}); not read")
        return None, []
    names: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            names[node.targets[0].id] = node.value
    call = next((n for n in ast.walk(tree) if isinstance(n, ast.Call)
                 and getattr(n.func, "id", getattr(n.func, "attr", None)) == "setup"), None)
    if call is None:
        col.notes.append("setup.py calls no setup(); its requirements were not read")
        return None, []
    kwargs = {kw.arg: kw.value for kw in call.keywords if kw.arg}
    for kw in call.keywords:  # setup(**metadata) with a module-level dict literal or dict(...)
        d = names.get(kw.value.id) if kw.arg is None and isinstance(kw.value, ast.Name) else None
        if isinstance(d, ast.Dict):
            kwargs.update({k.value: v for k, v in zip(d.keys, d.values)
                           if isinstance(k, ast.Constant)})
        elif isinstance(d, ast.Call) and getattr(d.func, "id", None) == "dict":
            kwargs.update({k.arg: k.value for k in d.keywords if k.arg})

    def value(key: str):
        if key not in kwargs:
            return None
        try:
            return _literal(kwargs[key], names)
        except ValueError:
            if key != "name":
                col.notes.append(f"setup.py computes {key}; set [tool.debug-agent] requirements "
                                 "if the install misses some")
            return None

    name = value("name")
    name = name if isinstance(name, str) else None
    col.add(_self_extras(value("install_requires") or [], name)[0], "setup.py install_requires")
    col.add(value("tests_require") or [], "setup.py tests_require")
    optional = value("extras_require") or {}
    return name, _expand_extras(col, optional if isinstance(optional, dict) else {},
                                extras_wanted, name, "setup.py")


def _literal(node: ast.expr, names: dict[str, ast.expr], depth: int = 0):
    """A literal, with module-level names and ``+`` of lists resolved; ValueError otherwise."""
    if depth > 20:
        raise ValueError("too deep")
    if isinstance(node, ast.Name) and node.id in names:
        return _literal(names[node.id], names, depth + 1)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _literal(node.left, names, depth + 1) + _literal(node.right, names, depth + 1)
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(e, names, depth + 1) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {_literal(k, names, depth + 1): _literal(v, names, depth + 1)
                for k, v in zip(node.keys, node.values)}
    return ast.literal_eval(node)


def _hints(col: _Collected) -> None:
    """tox / nox test dependencies, when nothing else declared any."""
    if (col.root / "tox.ini").is_file():
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read_string(col.read("tox.ini"))
        except configparser.Error as exc:
            col.notes.append(f"tox.ini does not parse ({exc.message.splitlines()[0]}); not read")
            return
        for line in parser.get("testenv", "deps", fallback="").splitlines():
            line = line.split("#", 1)[0].strip()
            if re.match(r"[\w{},.!-]+:\s", line):
                continue  # a factor-conditional dep ("py27: mock"): for some environments only
            if line.startswith("-r"):
                read_requirements_file(col, line[2:].strip())
            elif line and not line.startswith(("-", "{", ".")):
                col.add([line], "tox.ini [testenv] deps (hint)")
    if (col.root / "noxfile.py").is_file():
        try:
            tree = ast.parse(col.read("noxfile.py"))
        except SyntaxError:
            col.notes.append("noxfile.py does not parse; not read")
            return
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "install":
                col.add([a.value for a in node.args if isinstance(a, ast.Constant)
                         and isinstance(a.value, str) and not a.value.startswith((".", "-"))],
                        "noxfile.py session.install (hint)")


def _layout(root: Path) -> tuple[str, tuple[str, ...]]:
    src = root / "src"
    for base, layout in ((src, "src"), (root, "flat")):
        if not base.is_dir():
            continue
        names = sorted(
            p.stem for p in base.iterdir()
            if (p.is_dir() and (p / "__init__.py").is_file() and p.name not in ("tests", "test"))
            or (p.suffix == ".py" and p.name not in ("setup.py", "conftest.py", "noxfile.py")
                and not p.name.startswith("test_") and not p.name.endswith("_test.py"))
        )
        if names or layout == "flat":
            return layout, tuple(names)
    return "flat", ()


def _toml(root: Path, rel: str) -> dict:
    try:
        return tomllib.loads((root / rel).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"cannot read {root / rel}: {exc}; fix the file") from None


def detect_project(repo: str | Path) -> ProjectSpec:
    """Read how ``repo`` declares itself (see the module docstring); never runs its code."""
    root = Path(repo)
    col = _Collected(root)
    pyproject = _toml(root, "pyproject.toml") if (root / "pyproject.toml").is_file() else {}
    if pyproject:
        col.inputs.append("pyproject.toml")
    table = pyproject.get("tool", {}).get("debug-agent")
    settings = AgentSettings()
    if (root / CONFIG_FILE).is_file():
        col.inputs.append(CONFIG_FILE)
        settings = _settings(_toml(root, CONFIG_FILE), CONFIG_FILE)
    elif isinstance(table, dict):
        settings = _settings(table, "pyproject.toml [tool.debug-agent]")
    wanted = settings.extras
    name, extras, installable = None, [], False
    if pyproject:
        name, extras = _from_pyproject(col, pyproject, wanted)
        installable = "project" in pyproject or "build-system" in pyproject
        poetry = pyproject.get("tool", {}).get("poetry")
        if isinstance(poetry, dict) and "project" not in pyproject:
            name = poetry.get("name")
            extras += [e for e in _from_poetry(col, poetry, wanted) if e not in extras]
    if (root / "setup.cfg").is_file():
        cfg_name, cfg_extras, cfg_pkg = _from_setup_cfg(col, wanted)
        name, installable = name or cfg_name, installable or cfg_pkg
        extras += [e for e in cfg_extras if e not in extras]
    if (root / "setup.py").is_file():
        py_name, py_extras = _from_setup_py(col, wanted)
        name, installable = name or py_name, True
        extras += [e for e in py_extras if e not in extras]
    req_files = sorted(p.relative_to(root).as_posix() for p in root.glob("requirements*.txt"))
    for folder in ("requirements", "requirements.d", "reqs"):
        req_files += sorted(p.relative_to(root).as_posix() for p in (root / folder).glob("*.txt")
                            if (root / folder).is_dir())
    for rel in req_files:
        read_requirements_file(col, rel)
    if not any(re.search(r"extra|group|test|dev", o) for o in col.reqs.values()):
        _hints(col)
    col.add(settings.requirements, "[tool.debug-agent] requirements")
    build = pyproject.get("build-system", {}).get("requires")
    if build is None and installable:
        build = ["setuptools>=40.8.0", "wheel"]  # pip's default for a project without one
    backend = pyproject.get("build-system", {}).get("build-backend", "")
    build = [*(build or ()), *BACKEND_EXTRAS.get(backend.split(".")[0], ())]
    if (root / "PKG-INFO").is_file():  # an sdist: the version scm tools read when there is no .git
        col.inputs.append("PKG-INFO")
    layout, packages = _layout(root)
    pytest_settings, pytest_file = read_pytest_settings(root)
    if pytest_file and pytest_file not in col.inputs:
        col.inputs.append(pytest_file)
    return ProjectSpec(
        root=root, name=name, layout=layout, packages=packages,
        installable=installable and bool(name or pyproject.get("build-system") or
                                         (root / "setup.py").is_file()),
        build_requires=tuple(build or ()), requirements=tuple(col.reqs),
        origins=tuple(col.reqs.items()), extras=tuple(extras), pytest=pytest_settings,
        settings=settings, inputs=tuple(dict.fromkeys(col.inputs)), notes=tuple(col.notes),
    )


def local_pytest_args(spec: ProjectSpec) -> tuple[str, ...]:
    """pytest args for the local backend, which runs the host's Python and installs nothing:
    the repo's addopts without options of plugins the host lacks, and src/ on the path."""
    args: tuple[str, ...] = ()
    if spec.pytest.addopts or spec.pytest.required_plugins:
        args, _ = spec.pytest.run_args(*_host_probe())
    if spec.layout == "src":
        args += ("-o", "pythonpath=" + " ".join((*spec.pytest.pythonpath, "src")))
    return args


@functools.cache
def _host_probe() -> tuple[frozenset[str], frozenset[str]]:
    """(options the host's pytest knows, distributions installed on the host)."""
    import importlib.metadata
    import subprocess
    import sys
    import tempfile

    from sandboxes.pytest_config import parse_help_options

    with tempfile.TemporaryDirectory() as empty:  # no conftest, no config
        proc = subprocess.run([sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider",
                               "--noconftest", "-o", "addopts="], capture_output=True, text=True,
                              cwd=empty, timeout=120, check=False)
    installed = frozenset(canonical(d.metadata["Name"]) for d in importlib.metadata.distributions()
                          if d.metadata["Name"])
    return parse_help_options(proc.stdout), installed
