"""The repository's pytest settings, and the arguments that make its suite run in our sandbox.

pytest reads the first of ``pytest.ini`` / ``.pytest.ini``, ``pyproject.toml``
``[tool.pytest.ini_options]``, ``tox.ini`` ``[pytest]``, ``setup.cfg`` ``[tool:pytest]``; so do we.

``addopts`` often names options of plugins (``--cov``, ``-n auto``, ``--timeout 10``). In the
sandbox an option of a plugin that is not installed would stop pytest before any test runs
("unrecognized arguments"), and a few that are installed get in the way of how we run the suite
(a second coverage tracer, parallel workers, stopping at the first failure, cache options that
``-p no:cacheprovider`` removes). `run_args` rewrites ``addopts`` (``-o addopts=...``) without
those, and drops ``required_plugins`` that are missing, so the suite runs as it does on the host.
"""

from __future__ import annotations

import configparser
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

#: Options of common plugins: (distribution, option prefixes or names, options that take a value).
PLUGINS: tuple[tuple[str, tuple[str, ...], frozenset[str]], ...] = (
    ("pytest-cov", ("--cov", "--no-cov"), frozenset({"--cov-report", "--cov-config",
                                                     "--cov-fail-under", "--cov-context"})),
    ("pytest-xdist", ("-n", "--numprocesses", "--dist", "--maxprocesses", "--max-worker-restart",
                      "--tx", "--looponfail"),
     frozenset({"-n", "--numprocesses", "--dist", "--maxprocesses", "--max-worker-restart",
                "--tx"})),
    ("pytest-timeout", ("--timeout", "--timeout-method", "--timeout_method"),
     frozenset({"--timeout", "--timeout-method", "--timeout_method"})),
    ("pytest-rerunfailures", ("--reruns", "--reruns-delay", "--only-rerun"),
     frozenset({"--reruns", "--reruns-delay", "--only-rerun"})),
    ("pytest-randomly", ("--randomly-",), frozenset({"--randomly-seed"})),
    ("pytest-benchmark", ("--benchmark-",), frozenset()),
    ("pytest-html", ("--html", "--self-contained-html", "--css"), frozenset({"--html", "--css"})),
    ("pytest-asyncio", ("--asyncio-mode",), frozenset({"--asyncio-mode"})),
    ("pytest-doctestplus", ("--doctest-plus", "--doctest-rst"), frozenset()),
    ("pytest-mypy", ("--mypy",), frozenset()),
    ("pytest-flake8", ("--flake8",), frozenset()),
    ("pytest-black", ("--black",), frozenset()),
    ("hypothesis", ("--hypothesis-",), frozenset({"--hypothesis-profile", "--hypothesis-seed"})),
)
#: Options removed even when their plugin is there: they fight how we run and read the suite.
ALWAYS_DROP = (
    "--cov", "--no-cov", "-n", "--numprocesses", "--dist", "--maxprocesses", "--tx",
    "--looponfail", "--timeout", "--timeout-method", "--timeout_method", "-x", "--exitfirst",
    "--maxfail", "--sw", "--stepwise", "--stepwise-skip", "--lf", "--last-failed", "--ff",
    "--failed-first", "--nf", "--new-first", "--lfnf", "--last-failed-no-failures",
    "--cache-clear", "--cache-show", "--pdb", "--pdbcls", "--trace", "--junitxml", "--junit-xml",
    "--strict-config", "--collect-only", "--co", "--setup-only", "--setup-plan",
)
#: Builtin options that take a value (pytest's own, as in `pytest --help`).
BUILTIN_VALUED = frozenset({
    "-k", "-m", "-p", "-r", "-W", "-c", "-o", "--maxfail", "--tb", "--show-capture",
    "--durations", "--durations-min", "--junitxml", "--junit-xml", "--junit-prefix", "--basetemp",
    "--confcutdir", "--rootdir", "--import-mode", "--capture", "--ignore", "--ignore-glob",
    "--deselect", "--log-level", "--log-format", "--log-date-format", "--log-cli-level",
    "--log-file", "--log-file-level", "--color", "--code-highlight", "--pdbcls", "--doctest-glob",
    "--doctest-report", "--pythonwarnings", "--override-ini", "--config-file", "--inifile",
    "--log-cli-format", "--log-cli-date-format", "--log-file-format",
    "--log-file-date-format", "--log-auto-indent", "--cache-show", "--assert", "--debug",
})
#: ini keys that only a plugin reads, so the doctor can say which plugin a config expects.
PLUGIN_INI = {"timeout": "pytest-timeout", "timeout_method": "pytest-timeout",
              "asyncio_mode": "pytest-asyncio", "DJANGO_SETTINGS_MODULE": "pytest-django",
              "env": "pytest-env", "mock_use_standalone_module": "pytest-mock",
              "flakes-ignore": "pytest-flakes", "mypy-ignore": "pytest-mypy"}


@dataclass(frozen=True)
class PytestSettings:
    """What the repo's pytest configuration says (the parts that matter to us)."""

    config_file: str | None = None
    """Repo-relative file the settings came from (``pyproject.toml``, ...), or None."""
    addopts: tuple[str, ...] = ()
    testpaths: tuple[str, ...] = ()
    required_plugins: tuple[str, ...] = ()
    pythonpath: tuple[str, ...] = ()
    ini_keys: tuple[str, ...] = ()
    conftest_options: tuple[str, ...] = ()
    """Options the repo's conftest.py files add (read statically)."""

    @property
    def plugins_named(self) -> tuple[str, ...]:
        """Distributions the settings expect (by addopts options, ini keys, required_plugins)."""
        named = [dist for opt in self.addopts for dist in [plugin_of(opt)] if dist]
        named += [PLUGIN_INI[k] for k in self.ini_keys if k in PLUGIN_INI]
        named += [re.split(r"[<>=!~ ]", r, maxsplit=1)[0] for r in self.required_plugins]
        return tuple(dict.fromkeys(named))

    def run_args(self, known: frozenset[str] | None,
                 installed: frozenset[str] = frozenset()) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(extra pytest args, notes on what was dropped and why).

        ``known``: the options the sandbox's pytest accepts (from ``pytest --help`` there), or
        None when unknown (then only the plugin table decides). ``installed``: canonical names of
        the distributions installed there.
        """
        if not self.addopts and not self.required_plugins:
            return (), ()
        known = (known or frozenset()) | frozenset(self.conftest_options)
        # A probe that read no help (pytest would not start) knows nothing: trust the table then
        # rather than drop every option.
        kept, notes = _filter_addopts(list(self.addopts), known if len(known) > 20 else None,
                                      installed)
        args: list[str] = []
        if tuple(kept) != self.addopts:
            args += ["-o", "addopts=" + shlex.join(kept)]
        missing = [r for r in self.required_plugins
                   if _canon(re.split(r"[<>=!~ ]", r, maxsplit=1)[0]) not in installed]
        if missing:
            args += ["-o", "required_plugins="]
            notes.append(f"required_plugins {', '.join(missing)} not installed: requirement "
                         "dropped")
        return tuple(args), tuple(notes)


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def plugin_of(option: str) -> str | None:
    """The distribution whose plugin adds ``option`` (``--cov=x`` -> pytest-cov), if known."""
    opt = option.split("=", 1)[0]
    for dist, names, _ in PLUGINS:
        if any(opt == n or (n.endswith("-") and opt.startswith(n))
               or (n.startswith("--") and opt.startswith(n + "-")) for n in names):
            return dist
    return None


def _takes_value(opt: str) -> bool:
    return opt in BUILTIN_VALUED or any(opt in valued for _, _, valued in PLUGINS) or opt == "--cov"


def _filter_addopts(words: list[str], known: frozenset[str] | None,
                    installed: frozenset[str]) -> tuple[list[str], list[str]]:
    kept, notes, i = [], [], 0
    while i < len(words):
        word = words[i]
        i += 1
        if not word.startswith("-") or word == "-":
            kept.append(word)  # a path or a stray value
            continue
        opt = word.split("=", 1)[0] if word.startswith("--") else word[:2]
        value: list[str] = []
        attached = "=" in word or (not word.startswith("--") and len(word) > 2)
        if _takes_value(opt) and not attached and i < len(words) and not words[i].startswith("-"):
            value, i = [words[i]], i + 1
        if not word.startswith("--") and len(word) > 2 and not _takes_value(opt):
            cluster = "".join(c for c in word[1:] if c != "x")  # -xvs: drop only the x
            if cluster != word[1:]:
                notes.append("dropped -x from addopts: the whole suite must run")
            if cluster:
                kept.append("-" + cluster)
            continue
        dist = plugin_of(opt)
        shown = " ".join([word, *value])
        if dist and _canon(dist) not in installed:
            notes.append(f"dropped {shown} from addopts: {dist} is not installed")
            continue
        if opt in ALWAYS_DROP or opt.startswith("--cov-"):
            notes.append(f"dropped {shown} from addopts: " + (
                "it would stop or change how the sandbox runs and reads the whole suite"
                if not dist else f"{dist} is there, but the sandbox runs the tests in one "
                "process with its own coverage and per-test timeouts"))
            continue
        if dist is None and known is not None and opt not in known and opt != "-p":
            notes.append(f"dropped {' '.join([word, *value])} from addopts: the sandbox's pytest "
                         "does not know it")
            continue
        kept += [word, *value]
    return kept, notes


def _conftest_options(root: Path) -> tuple[str, ...]:
    found: list[str] = []
    for path in sorted(root.glob("conftest.py")) + sorted(root.glob("*/conftest.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        for args in re.findall(r"addoption\(([^)]*)", text):
            found += re.findall(r"[\"'](--?[\w-]+)[\"']", args)
    return tuple(dict.fromkeys(found))


def _words(value) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return tuple(shlex.split(str(value or "")))


def _ini(root: Path, rel: str, section: str) -> dict[str, str] | None:
    path = root / rel
    if not path.is_file():
        return None
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(path.read_text(encoding="utf-8", errors="replace"))
    except configparser.Error:
        return None  # pytest itself will say what is wrong with it
    return dict(parser.items(section)) if parser.has_section(section) else None


def read_pytest_settings(root: str | Path) -> tuple[PytestSettings, str | None]:
    """(settings, the repo-relative file they came from) in pytest's order of precedence."""
    root = Path(root)
    found: tuple[dict, str] | None = None
    for rel in ("pytest.ini", ".pytest.ini"):
        if (root / rel).is_file():
            found = (_ini(root, rel, "pytest") or {}, rel)
            break
    if found is None and (root / "pyproject.toml").is_file():
        try:
            data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError:
            data = {}
        table = data.get("tool", {}).get("pytest", {}).get("ini_options")
        if table is not None:
            found = (table, "pyproject.toml")
    for rel, section in (("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
        if found is None:
            table = _ini(root, rel, section)
            if table is not None:
                found = (table, rel)
    conftest = _conftest_options(root)
    if found is None:
        return PytestSettings(conftest_options=conftest), None
    table, rel = found
    return PytestSettings(
        config_file=rel, addopts=_words(table.get("addopts")),
        testpaths=_words(table.get("testpaths")),
        required_plugins=_words(table.get("required_plugins")),
        pythonpath=_words(table.get("pythonpath")),
        ini_keys=tuple(sorted(table)), conftest_options=conftest,
    ), rel


def parse_help_options(text: str) -> frozenset[str]:
    """The options that a ``pytest --help`` output lists."""
    return frozenset(re.findall(r"(?:^|[\s,])(--?[A-Za-z][\w-]*)", text, re.MULTILINE))
