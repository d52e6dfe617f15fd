"""A real browser (Debian's headless chromium, driven by Playwright) on the built site.

It switches the language tabs on the verification page, searches for ``invoice.paid``
and follows the result to its page, and saves screenshots to ``artifacts/docs/``. Every
request the page makes must stay on 127.0.0.1: the site works with no network.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists() or not os.access(CHROMIUM, os.X_OK):
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (docs group) missing")
    with sync_api.sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser, site_url: str) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    off_site: list[str] = []

    def guard(route) -> None:
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", None) or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            off_site.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield tab
    finally:
        context.close()
    assert not off_site, f"the site tried to reach the network: {off_site}"
    assert not errors, f"JavaScript errors: {errors}"


def test_language_tabs_switch_and_stay_linked(page, site_url: str, artifacts: Path) -> None:
    page.goto(f"{site_url}/signing/")
    first_set = page.locator(".tabbed-set").first
    labels = [t.strip() for t in first_set.locator(".tabbed-labels > label").all_inner_texts()]
    assert labels == ["TypeScript", "Python", "Ruby", "Go", "PHP"]
    for index, label in enumerate(labels):
        first_set.locator(".tabbed-labels > label", has_text=label).first.click()
        block = first_set.locator(".tabbed-content > .tabbed-block").nth(index)
        block.wait_for(state="visible")
        for other in range(len(labels)):
            if other != index:
                assert not first_set.locator(".tabbed-content > .tabbed-block").nth(other).is_visible()
        if label == "Go":
            assert "hmac.Equal" in block.inner_text()
            # content.tabs.link: the framework examples below switched to Go as well.
            second = page.locator(".tabbed-set").nth(1)
            assert "net/http" in second.locator(".tabbed-content > .tabbed-block").nth(index).inner_text()
            assert second.locator(".tabbed-content > .tabbed-block").nth(index).is_visible()
            # Show the tab labels above the code in the screenshot.
            page.evaluate("el => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 140)",
                          first_set.element_handle())
            page.screenshot(path=str(artifacts / "signing-go-tab.png"))
    # The sequence diagram rendered from the vendored mermaid (no CDN).
    page.locator("div.mermaid").first.wait_for(state="attached")
    page.locator("div.mermaid").first.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "signing-diagram.png"))


def test_search_finds_invoice_paid_and_opens_its_page(page, site_url: str, artifacts: Path) -> None:
    page.goto(f"{site_url}/")
    page.locator("div.mermaid").first.wait_for(state="attached")
    page.screenshot(path=str(artifacts / "home.png"), full_page=True)
    box = page.locator("input.md-search__input")
    box.click()
    box.press_sequentially("invoice.paid", delay=20)  # Material listens to key events
    result = page.locator(".md-search-result__list a[href*='events/invoice.paid/']").first
    result.wait_for(state="visible")
    page.screenshot(path=str(artifacts / "search-invoice-paid.png"))
    result.click()
    page.wait_for_url("**/events/invoice.paid/**")
    heading = page.locator("article h1").first
    assert heading.inner_text().strip().startswith("invoice.paid")
    assert "When it fires" in page.locator("article").inner_text()
    assert page.locator("article table").count() >= 1  # the field table
    page.screenshot(path=str(artifacts / "event-invoice-paid.png"), full_page=True)
