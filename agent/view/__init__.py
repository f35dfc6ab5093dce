"""`agent view`: self-contained HTML pages of trajectories, `agent fix` runs and eval runs.

``write_view(path, out)`` works out what ``path`` is and writes the pages; nothing on them is
fetched from anywhere (inline style and script, a Content-Security-Policy that forbids loads).
"""

from agent.view.pages import View, write_view

__all__ = ["View", "write_view"]
