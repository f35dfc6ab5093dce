"""Serving the pages on this machine only, and opening them in a browser where there is one."""

from __future__ import annotations

import functools
import http.server
import webbrowser
from pathlib import Path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # one line per request is noise here
        pass


def make_server(root: Path, port: int = 0) -> http.server.ThreadingHTTPServer:
    """An HTTP server for the files under ``root`` on 127.0.0.1 (port 0: any free port)."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)


def url_of(server: http.server.ThreadingHTTPServer, page: str) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/{page}"


def open_browser(url: str) -> bool:
    """Open ``url`` in the user's browser; False when this machine has none."""
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    return bool(browser.open(url))
