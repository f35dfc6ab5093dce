"""HTML from the page models: one jinja2 environment over the templates beside this module."""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import agent.view.highlight as highlight
from agent.view.model import TrajectoryView


@lru_cache(maxsize=1)
def _env():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("agent.view", "templates"),
        autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
    )
    env.filters["diff"] = highlight.diff
    env.filters["code"] = highlight.code
    env.filters["yesno"] = lambda v: "yes" if v else "no"
    return env


@lru_cache(maxsize=1)
def _css() -> str:
    return resources.files("agent.view").joinpath("templates/style.css").read_text()


def render(template: str, **context: Any) -> str:
    """A whole page: ``template`` with the page style and the highlighter's colours inlined."""
    from markupsafe import Markup

    page = _env().get_template(template)
    return page.render(css=Markup(_css()), pygments_css=Markup(highlight.style_css()), **context)


def trajectory_page(view: TrajectoryView, *, back: str | None = None) -> str:
    """The page of one episode; ``back``: a link to the run summary it belongs to."""
    harness = view.record.harness if view.record is not None else None
    return render("trajectory.html", t=view, back=back, harness=harness)


def write_page(path: Path, text: str) -> None:
    """Write a page so that a reader (or the server) never sees half of it: a temporary file in
    the same directory, readable by all, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
