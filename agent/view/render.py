"""HTML from the page models: one jinja2 environment over the templates beside this module."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

from agent.view import highlight
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
    harness = (view.record or {}).get("harness")
    return render("trajectory.html", t=view, back=back, harness=harness)
