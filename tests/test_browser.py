"""The report and the interactive map, opened as a person would: headless Chromium, no
network. Runs when Debian's chromium and the playwright package are present (CI installs
chromium; see .ci/run); skipped otherwise."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from stclusters.output import seal_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = Path(tempfile.gettempdir()) / "stclusters-screenshots"
"""Screenshots to look at (outside the run folder, which holds one run's files only)."""
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def rendered(rendered_run) -> Path:
    return rendered_run


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


class Watch:
    """Every request that leaves the file, failed request and console error of a page."""

    def __init__(self, page) -> None:
        self.outside: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        page.on("requestfailed", lambda r: self.failed.append(r.url))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.route("**/*", self._route)

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def assert_clean(self) -> None:
        assert self.outside == [], f"requests left the file: {self.outside}"
        assert self.failed == [], f"failed requests: {self.failed}"
        assert self.errors == [], f"console errors: {self.errors}"


def test_interactive_map_offline_click_search_filter(rendered, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 850})
    watch = Watch(page)
    page.goto((rendered / "map.html").as_uri())
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator(".leaflet-overlay-pane path").count() > 50   # countries + clusters
    assert "SYNTHETIC" in page.locator("#banner").inner_text()
    # click the rank-1 cluster's marker on the map and read its details
    page.locator("path.cluster-marker.rank-1").click(force=True)
    details = page.locator("#details")
    details.wait_for(state="visible")
    top = pd.read_parquet(rendered / "clusters.parquet").iloc[0]
    assert details.locator("h2").inner_text() == f"1. {top['name']}"
    assert details.locator("tr[data-field=top_applicant] td").inner_text() == top["top_applicant"]
    assert details.locator("tr[data-field=rank_change] td").inner_text() != ""
    page.screenshot(path=str(SHOTS / "map.png"))
    # search narrows the list; Enter selects the first match
    second = pd.read_parquet(rendered / "clusters.parquet").iloc[1]["name"]
    page.fill("#search", second[:5].lower())
    page.press("#search", "Enter")
    assert page.locator(".item:not([hidden])").count() < page.locator(".item").count()
    assert second in details.locator("h2").inner_text()
    # un-ticking the first band removes its markers from the map
    before = page.locator("path.cluster-marker").count()
    page.locator("input[data-band='0']").uncheck()
    assert page.locator("path.cluster-marker").count() < before
    watch.assert_clean()
    page.close()


def test_report_offline_with_briefs(rendered, browser):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    watch = Watch(page)
    page.goto((rendered / "report.html").as_uri())
    assert page.locator("#synthetic-banner").is_visible()
    assert page.locator("figure img").count() >= 6
    widths = page.eval_on_selector_all("figure img", "els => els.map(e => e.naturalWidth)")
    assert min(widths) > 100, "a map image did not load"
    page.locator("#top-table a").first.click()
    brief = page.locator("article.brief").first
    assert brief.locator("svg.footprint-map path").count() >= 1
    assert brief.locator(".bar").count() >= 1
    brief.screenshot(path=str(SHOTS / "brief.png"))
    page.screenshot(path=str(SHOTS / "report.png"))
    watch.assert_clean()
    page.close()


def test_a_hostile_name_is_text_on_the_map(rendered, browser, tmp_path):
    """A cluster name holding markup is shown as text in the tooltip (Leaflet would set a
    string as HTML), and the page's policy runs only its own scripts: no inline handler."""
    from stclusters import render_report

    copy = shutil.copytree(rendered, tmp_path / "hostile")
    clusters = pd.read_parquet(copy / "clusters.parquet")
    evil = '<img src=x onerror="window.__xss=1">Evil'
    clusters.loc[0, "name"] = evil
    clusters.to_parquet(copy / "clusters.parquet", index=False)
    seal_run(copy)           # (changed on purpose: the manifest is made to list it)
    render_report(copy)
    page = browser.new_page()
    watch = Watch(page)
    page.goto((copy / "map.html").as_uri())
    page.wait_for_selector(".cluster-marker")
    page.hover(".rank-1", force=True)
    page.wait_for_selector(".leaflet-tooltip")
    assert page.inner_text(".leaflet-tooltip") == "1. " + evil
    assert page.evaluate("window.__xss") is None
    assert page.locator(".leaflet-tooltip img").count() == 0
    watch.assert_clean()
    # markup that did reach the page could still not run a handler: the policy forbids it
    page.evaluate("""document.body.insertAdjacentHTML('beforeend',
                     '<img src="data:," onload="window.__csp=1" onerror="window.__csp=2">')""")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__csp") is None
    page.close()
