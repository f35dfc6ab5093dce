"""The pages of agent view in a real browser: headless Chromium renders them (the DOM after its
scripts ran, and screenshots), and its network log shows that nothing was fetched."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

import pytest

from agent.view import write_view
from test_view import SHOP, eval_run, shop_trajectory  # noqa: F401  (fixtures)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed; .ci/setup installs it")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return CHROMIUM


def render(browser: str, url: str, tmp: Path, *, screenshot: Path | None = None,
           netlog: Path | None = None) -> str:
    """The DOM Chromium built from ``url`` (scripts run), optionally a screenshot and a net log."""
    args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", f"--user-data-dir={tmp / 'profile'}"]
    if netlog is not None:
        args.append(f"--log-net-log={netlog}")
    if screenshot is not None:
        args += [f"--screenshot={screenshot}", "--window-size=1200,1600"]
    else:
        args.append("--dump-dom")
    done = subprocess.run([*args, url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class Dom(HTMLParser):
    """The elements of a page as (tag, attributes), and the text inside each element with an id."""

    VOID = frozenset({"meta", "link", "br", "img", "input", "hr", "col", "source", "wbr"})

    def __init__(self, text: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text_by_id: dict[str, str] = {}
        self._open: list[tuple[str, str | None]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        self.elements.append((tag, attrs))
        if "id" in attrs:
            self.text_by_id[attrs["id"]] = ""
        if tag not in self.VOID:
            self._open.append((tag, attrs.get("id")))

    def handle_data(self, data):
        for _, ident in self._open:
            if ident is not None:
                self.text_by_id[ident] += data

    def handle_endtag(self, tag):
        while self._open:  # Chromium's serialization is well nested: pop to the matching tag
            if self._open.pop()[0] == tag:
                break

    def having(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.elements if t == tag
                and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def classes(self, name: str) -> list[dict[str, str]]:
        return [a for _, a in self.elements if name in a.get("class", "").split()]


def remote_references(dom: Dom) -> list[str]:
    return [a[k] for _, a in dom.elements for k in ("src", "href")
            if a.get(k, "").split(":")[0] in ("http", "https") or a.get(k, "").startswith("//")]


def page_requests(netlog: Path, origin: str) -> list[str]:
    """URLs that the page at ``origin`` requested (Chromium's own background requests, such as
    update checks, carry another network isolation key and are left out)."""
    data = json.loads(netlog.read_text())
    names = {v: k for k, v in data["constants"]["logEventTypes"].items()}
    urls = []
    for event in data["events"]:
        params = event.get("params") or {}
        if names.get(event["type"]) == "URL_REQUEST_START_JOB" and \
                origin in params.get("network_isolation_key", ""):
            urls.append(params["url"])
    return urls


def test_the_network_check_sees_a_remote_load(browser, tmp_path):
    # The check below must be able to fail: a page with a remote image shows its request.
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><img src="http://127.0.0.1:9/x.png"></body></html>')
    render(browser, bad.as_uri(), tmp_path, netlog=tmp_path / "bad.json")
    assert "http://127.0.0.1:9/x.png" in page_requests(tmp_path / "bad.json", "file://")


def test_trajectory_page_in_chromium(browser, shop_trajectory, tmp_path):
    page = write_view(shop_trajectory, tmp_path / "t.html", repo=SHOP).index
    dom = Dom(render(browser, page.as_uri(), tmp_path, netlog=tmp_path / "net.json"))
    assert dom.having("meta", http_equiv="Content-Security-Policy")
    steps = [a["id"] for a in dom.having("section") if a.get("id", "").startswith("step-")]
    assert steps == [f"step-{n}" for n in range(1, 9)]
    assert "edit" in dom.text_by_id["step-4"] and "format error" in dom.text_by_id["step-5"]
    # Each diff is shown once, where it changed; later steps link back to it.
    assert "changed by this step" in dom.text_by_id["step-4"]
    assert "as after step 4" in dom.text_by_id["step-5"] and dom.having("a", href="#step-4")
    final = dom.text_by_id["final-patch"]
    assert "-    if cart.count() > BULK_THRESHOLD:" in final
    assert "+    if cart.count() >= BULK_THRESHOLD:" in final
    assert len(dom.classes("add")) >= 2 and len(dom.classes("del")) >= 2
    assert "test_discount_at_threshold" in dom.text_by_id["tests"]
    assert "shop/pricing.py:9" in dom.text_by_id["ranking"]
    assert remote_references(dom) == []
    assert page_requests(tmp_path / "net.json", "file://") == []


def test_eval_run_pages_in_chromium_links_followed(browser, eval_run, tmp_path):
    report = eval_run / "report.html"
    dom = Dom(render(browser, report.as_uri(), tmp_path, netlog=tmp_path / "net.json"))
    links = [a["href"] for a in dom.having("a") if a.get("href", "").startswith("tasks/")]
    assert len(links) == 3 and len(dom.classes("task")) == 3
    assert page_requests(tmp_path / "net.json", "file://") == [] and remote_references(dom) == []
    for href in links:
        target = (eval_run / urllib.parse.unquote(href)).resolve()
        assert target.is_file(), href
        task = Dom(render(browser, target.as_uri(), tmp_path))
        back = task.having("a", id="back")[0]["href"]
        assert (target.parent / back).resolve() == report.resolve()
        assert task.text_by_id["task"].split()[0] == target.stem
        assert "patch applied" in task.text_by_id["harness"]
        assert "FAIL_TO_PASS" in task.text_by_id["harness"]
    # The filter in the URL hides the other rows (the page's script ran).
    filtered = Dom(render(browser, report.as_uri() + "#q=calc_add", tmp_path))
    hidden = [a for a in filtered.classes("task") if "display: none" in a.get("style", "")]
    assert len(hidden) == 2


def test_served_pages_in_chromium(browser, eval_run, tmp_path):
    import threading

    from agent.view.serve import make_server, url_of

    view = write_view(eval_run, tmp_path / "site")
    server = make_server(view.root)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = url_of(server, "index.html")
        dom = Dom(render(browser, url, tmp_path, netlog=tmp_path / "net.json"))
        assert len(dom.classes("task")) == 3
        origin = url.rsplit("/", 1)[0]
        assert [u for u in page_requests(tmp_path / "net.json", origin.split("//")[1])
                if not u.startswith(origin)] == []
    finally:
        server.shutdown()
        server.server_close()


def test_screenshots_show_the_pages(browser, shop_trajectory, eval_run, tmp_path):
    # Looked at by a person when the templates change; here: the browser painted a real page.
    page = write_view(shop_trajectory, tmp_path / "t.html", repo=SHOP).index
    for url, name in ((page.as_uri(), "trajectory.png"),
                      ((eval_run / "report.html").as_uri(), "report.png")):
        shot = tmp_path / name
        render(browser, url, tmp_path, screenshot=shot)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 30_000
