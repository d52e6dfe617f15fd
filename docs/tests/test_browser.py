"""A real browser (Debian's headless chromium, driven by Playwright) on the built site.

It switches the language tabs on the verification page, searches for ``invoice.paid``
and follows the result to its page, and checks what issue 26 fixed on the pages it named:
the API reference's ``>>>`` examples are code, the quickstart has one block per terminal,
no code on the verification page is clipped at 1280 px or on a phone, and the portal
page's screenshots load at a readable size with no blank band. Screenshots of each go to
``artifacts/docs/``. Every request a page makes must stay on 127.0.0.1: the site works
with no network.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable
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
def open_page(browser, site_url: str) -> Iterator[Callable[[int], Any]]:
    """Open a tab at a viewport width; each request must stay on 127.0.0.1, no JS errors."""
    contexts: list[Any] = []
    off_site: list[str] = []
    errors: list[str] = []

    def guard(route) -> None:
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", None) or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            off_site.append(route.request.url)
            route.abort()

    def open_tab(width: int = 1280) -> Any:
        context = browser.new_context(viewport={"width": width, "height": 900},
                                      is_mobile=width < 600, has_touch=width < 600)
        contexts.append(context)
        context.route("**/*", guard)
        tab = context.new_page()
        tab.set_default_timeout(TIMEOUT_MS)
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        return tab

    try:
        yield open_tab
    finally:
        for context in contexts:
            context.close()
    assert not off_site, f"the site tried to reach the network: {off_site}"
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def page(open_page) -> Any:
    return open_page(1280)


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
            # The handler's call comes first; the function it calls is one click away.
            assert "hookseal.VerifyHooksealV1(body, r.Header, secrets)" in block.inner_text()
            assert "hmac.Equal" not in block.inner_text()
            block.locator("details summary").first.click()
            assert "hmac.Equal" in block.locator("details").first.inner_text()
            # content.tabs.link: every other language tab set on the page (the batch reader,
            # the framework examples) switched to Go as well.
            others = page.locator(".tabbed-set").all()[1:]
            go_blocks = [s.locator(".tabbed-content > .tabbed-block").nth(index) for s in others
                         if [t.strip() for t in s.locator(".tabbed-labels > label").all_inner_texts()]
                         [:len(labels)] == labels]
            assert len(go_blocks) >= 2
            assert all(b.is_visible() for b in go_blocks)
            assert any("net/http" in b.inner_text() for b in go_blocks)
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


def test_api_reference_examples_are_code_not_blockquotes(page, site_url: str, artifacts: Path) -> None:
    # Issue 26: docstrings' `>>>` examples rendered as three nested blockquotes (11 blocks).
    prompts = 0
    for name in ("hookseal", "hookseal-receiving"):
        page.goto(f"{site_url}/reference/{name}/")
        quoted = page.evaluate("""() => [...document.querySelectorAll('article blockquote')]
            .filter(q => q.querySelector('blockquote') || q.innerText.includes('>>>'))
            .map(q => q.innerText.slice(0, 80))""")
        assert not quoted, f"reference/{name}: examples in blockquotes: {quoted}"
        examples = page.locator("article pre", has_text=">>> ")
        prompts += examples.count()
        if name == "hookseal":
            examples.first.scroll_into_view_if_needed()
            page.evaluate("el => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 200)",
                          examples.first.element_handle())
            page.screenshot(path=str(artifacts / "reference-example-as-code.png"))
    assert prompts >= 11, f"only {prompts} >>> examples shown as code"


def test_quickstart_has_one_labelled_block_per_terminal(browser, site_url: str, artifacts: Path) -> None:
    # Issue 26: `listen` (which never ends) and both `trigger`s were one copyable block.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site_url)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{site_url}/quickstart/")
        blocks = page.locator("article div.highlight", has=page.locator("span.filename",
                                                                        has_text="Terminal"))
        assert blocks.count() == 2
        titles = [blocks.nth(i).locator("span.filename").inner_text() for i in range(2)]
        assert [t.split(":")[0] for t in titles] == ["Terminal 1", "Terminal 2"], titles
        assert "Ctrl+C" in titles[0]
        # textContent: each line is a styled span (a hanging indent when it wraps), and
        # Chromium's innerText doubles the line breaks of such spans.
        commands = [(blocks.nth(i).locator("pre > code").text_content() or "").rstrip("\n").split("\n")
                    for i in range(2)]
        assert len(commands[0]) == 1 and commands[0][0].startswith("hookseal listen"), commands
        assert commands[1] and all(c.startswith("hookseal trigger") for c in commands[1]), commands
        # Each block's own copy button copies that terminal's commands and nothing else.
        for i, expected in enumerate(commands):
            blocks.nth(i).hover()
            blocks.nth(i).locator("button.md-clipboard").click()
            copied = page.evaluate("() => navigator.clipboard.readText()")
            assert copied.rstrip("\n").split("\n") == expected, copied  # no doubled newlines
            # And so does selecting the block by hand.
            selected = blocks.nth(i).locator("pre > code").evaluate(
                "c => { const s = getSelection(); s.selectAllChildren(c); return s.toString(); }")
            assert selected.rstrip("\n").split("\n") == expected, selected
        page.evaluate("el => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 160)",
                      blocks.first.element_handle())
        page.screenshot(path=str(artifacts / "quickstart-terminals.png"))
    finally:
        context.close()


_CLIPPED_CODE = """() => [...document.querySelectorAll('article pre > code')]
    .filter(c => c.offsetParent !== null && c.scrollWidth > c.clientWidth + 1)
    .map(c => `${c.scrollWidth} > ${c.clientWidth}: ${c.innerText.split('\\n')[0].slice(0, 60)}`)"""


@pytest.mark.parametrize("width", [1280, 390])
def test_verify_page_code_is_not_clipped_and_starts_with_the_call(
        open_page, site_url: str, artifacts: Path, width: int) -> None:
    # Issue 26: code was cut off in the narrow column, and each tab opened on a ~60-line
    # function instead of the call a reader makes.
    page = open_page(width)
    page.goto(f"{site_url}/signing/")
    assert page.evaluate(_CLIPPED_CODE) == [], "code clipped before opening the tabs"
    page.evaluate("() => document.querySelectorAll('article details').forEach(d => d.open = true)")
    tabs = page.locator(".tabbed-set").first
    labels = [t.strip() for t in tabs.locator(".tabbed-labels > label").all_inner_texts()]
    assert labels == ["TypeScript", "Python", "Ruby", "Go", "PHP"]
    for index, label in enumerate(labels):
        tabs.locator(".tabbed-labels > label", has_text=label).first.click()
        block = tabs.locator(".tabbed-content > .tabbed-block").nth(index)
        block.wait_for(state="visible")
        clipped = page.evaluate(_CLIPPED_CODE)
        assert clipped == [], f"{label} at {width} px: clipped code {clipped}"
        # First the call (a handful of lines, outside any collapsible), then the function.
        first = block.locator("pre").first
        assert first.evaluate("el => el.closest('details') === null"), label
        call_lines = (first.text_content() or "").strip().splitlines()
        assert 3 <= len(call_lines) <= 16, f"{label}: the first block has {len(call_lines)} lines"
        function = block.locator("details").first.locator("pre").first
        assert len((function.text_content() or "").strip().splitlines()) >= 30, label
        if label == "PHP":  # its Laravel call has the longest lines: they wrap, not clip
            page.evaluate("el => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 120)",
                          block.element_handle())
            page.screenshot(path=str(artifacts / f"signing-php-tab-{width}.png"))


def test_portal_page_screenshots_load_at_a_readable_size(page, site_url: str, artifacts: Path) -> None:
    # Issue 26: thumbnails at a quarter of their size in a table, under a blank band.
    page.goto(f"{site_url}/portal/")
    images = page.locator("article img")
    assert images.count() >= 8
    for i in range(images.count()):
        images.nth(i).scroll_into_view_if_needed()
    page.wait_for_function("() => [...document.querySelectorAll('article img')].every(i => i.complete)")
    shown = page.evaluate("""() => [...document.querySelectorAll('article img')].map(img => {
        const canvas = document.createElement('canvas');
        canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
        const ctx = canvas.getContext('2d');
        ctx.drawImage(img, 0, 0);
        // How many rows at the bottom of the image are blank (near-white all across)?
        let blank = 0;
        for (let y = img.naturalHeight - 1; y >= 0; y--) {
            const row = ctx.getImageData(0, y, img.naturalWidth, 1).data;
            let white = true;
            for (let x = 0; x < row.length; x += 4) {
                if (row[x] < 235 || row[x + 1] < 235 || row[x + 2] < 235) { white = false; break; }
            }
            if (!white) break;
            blank++;
        }
        return {src: img.getAttribute('src'), natural: img.naturalWidth, height: img.naturalHeight,
                width: img.getBoundingClientRect().width, inTable: img.closest('table') !== null,
                blank};
    })""")
    for image in shown:
        src = image["src"]
        assert image["natural"] > 0, f"{src} did not load"
        assert not image["inTable"], f"{src} is squeezed into a table"
        assert image["blank"] <= 0.1 * image["height"], f"{src}: a blank band of {image['blank']} px"
        if "phone-" in src:  # shown at its own size
            assert image["natural"] >= 320 and image["width"] >= 0.95 * image["natural"], image
        else:  # a desktop page shown at >= 70 %: the portal's 16 px text reads as >= 11 px
            assert image["natural"] >= 900 and image["width"] / image["natural"] >= 0.7, image
    page.screenshot(path=str(artifacts / "portal-page.png"))
