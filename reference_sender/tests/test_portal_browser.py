"""The portal in a real browser (headless Debian chromium driven by Playwright).

Walks the main journeys against a real sender on SQLite, served by uvicorn on 127.0.0.1,
delivering to a local receiver that verifies every request with the ``hookseal`` SDK.
Screenshots go to ``artifacts/portal/`` (the docs' own come from ``make screenshots``).
"""

from __future__ import annotations

import csv
import io
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hookseal
import pytest
import uvicorn
from hookseal_sender import BackgroundWorker, Sender
from hookseal_sender.api import create_app
from hookseal_sender.portal import create_portal, portal_link
from starlette.routing import Mount

from ._receiver import Received, Receiver
from .conftest import wait_for
from .portal_testing import make_sender

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "portal"
EVIL_BODY = "<script>alert('from the endpoint')</script> upstream unavailable"


def _playwright() -> Any:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"the browser test needs Debian's chromium at {CHROMIUM} (apt install "
                    "chromium; .ci/run installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the browser test needs the playwright package (root docs group)")
    return sync_playwright


@dataclass
class Server:
    url: str
    sender: Sender
    receiver: Receiver
    secrets: list[str]


class _Verifier:
    """Receiver route: 200 when the SDK verifies the request under any known secret."""

    def __init__(self, secrets: list[str]) -> None:
        self.secrets = secrets
        self.verified: list[str] = []

    def __call__(self, req: Received) -> int:
        try:
            hookseal.Webhook(list(self.secrets)).verify(req.body, req.headers)
        except (hookseal.WebhookVerificationError, hookseal.ConfigurationError):
            return 401
        self.verified.append(req.headers.get("Hookseal-Webhook-Id", ""))
        return 200


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    sender = make_sender(tmp_path)
    receiver = Receiver().start()
    secrets: list[str] = []
    app = create_app(sender, {}, mounts=[Mount("/portal", app=create_portal(sender))])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                            lifespan="off")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    wait_for(lambda: uv.started, timeout=10)
    port = uv.servers[0].sockets[0].getsockname()[1]
    worker = BackgroundWorker(sender).start()
    try:
        yield Server(f"http://127.0.0.1:{port}", sender, receiver, secrets)
    finally:
        worker.stop()
        uv.should_exit = True
        thread.join(10)
        receiver.stop()
        sender.close()


def figure(page: Any, name: str) -> Any:
    """One of the log page's figures."""
    return page.locator(f'[data-figure="{name}"]')


_IDS_JS = """() => [...document.querySelectorAll('[data-id]')].map(el => {
  const cell = el.closest('td').getBoundingClientRect(), box = el.getBoundingClientRect();
  const style = getComputedStyle(el);
  return {text: el.textContent, inside: box.left >= cell.left - 0.5 && box.right <= cell.right + 0.5,
          visible: box.width > 0 && style.visibility === 'visible',
          cut: style.textOverflow === 'ellipsis' || el.scrollWidth > Math.ceil(box.width) + 1};
})"""


def ids_whole(page: Any, rows: int) -> None:
    """Every delivery and event id in the log is shown whole: all its characters, inside
    its cell, with nothing clipped or replaced by an ellipsis."""
    ids = page.evaluate(_IDS_JS)
    assert len(ids) == 2 * rows, ids
    for shown in ids:
        assert re.fullmatch(r"(dlv|evt)_[0-9a-f]{28}", shown["text"]), shown
        assert shown["inside"] and shown["visible"] and not shown["cut"], shown


_COLOURS_JS = """() => {
  const css = (sel, prop) => getComputedStyle(document.querySelector(sel))[prop];
  return {background: css('body', 'backgroundColor') === 'rgba(0, 0, 0, 0)'
            ? css('html', 'backgroundColor') : css('body', 'backgroundColor'),
          text: css('main h1', 'color'), muted: css('.muted', 'color'),
          link: css('table.log a', 'color'), figure: css('.figures dd', 'color'),
          badge: css('.badge', 'color'), badge_bg: css('.badge', 'backgroundColor')};
}"""


def theme_colours(page: Any) -> dict[str, tuple[float, float, float]]:
    """The page's computed colours (background, text, muted, link, badge) as RGB 0-255."""
    out = {}
    for name, value in page.evaluate(_COLOURS_JS).items():
        parts = re.findall(r"[\d.]+", value)
        out[name] = (float(parts[0]), float(parts[1]), float(parts[2]))
    return out


def luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG relative luminance."""
    def channel(c: float) -> float:
        c /= 255.0
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """WCAG contrast ratio of two colours."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_main_journeys_in_a_real_browser(server: Server) -> None:
    sync_playwright = _playwright()
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    verifier = _Verifier(server.secrets)
    hooks_url = server.receiver.route("/hooks", fn=verifier)
    down_url = server.receiver.route("/down", statuses=[503], body=EVIL_BODY,
                                     headers={"Content-Type": "text/html"})
    link = portal_link(server.sender.config, "acme", base_url=server.url, user="ann@acme.test")
    problems: list[str] = []

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1200, "height": 860})
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))

        def nav(name: str) -> Any:
            return page.get_by_label("Portal").get_by_role("link", name=name)

        def shot(name: str, *, full: bool = True) -> None:
            path = ARTIFACTS / f"{name}.png"
            page.screenshot(path=str(path), full_page=full)

        # Open the link: the token is exchanged for a cookie and dropped from the URL.
        page.goto(link.url)
        expect(page.get_by_role("heading", name="Endpoints")).to_be_visible()
        assert "token" not in page.url

        # Add an endpoint; its secret is shown once.
        page.get_by_role("link", name="Add endpoint").click()
        page.get_by_label("Endpoint URL").fill(hooks_url)
        page.get_by_label("Description").fill("Billing service (production)")
        page.get_by_label("invoice.paid").check()
        page.get_by_label("invoice.payment_failed").check()
        shot("add-endpoint")
        page.get_by_role("button", name="Add endpoint").click()
        expect(page.get_by_role("heading", name="Endpoint added")).to_be_visible()
        secret = page.get_by_role("textbox", name="Signing secret").input_value()
        assert secret.startswith("whsec_")
        server.secrets.append(secret)
        shot("secret-shown-once")
        page.get_by_role("link", name="I have saved the secret").click()

        # Send a test event and watch it being delivered (htmx polls the page).
        page.get_by_role("button", name="Send test event").click()
        expect(page.locator("dd[data-status]")).to_have_attribute(
            "data-status", "delivered")
        expect(page.get_by_text("Attempt 1")).to_be_visible()
        assert len(verifier.verified) == 1
        page.get_by_text("Request headers").click()
        expect(page.get_by_text("v1=(redacted)")).to_be_visible()
        shot("test-event-delivered")

        # A failing endpoint: its attempts, what it answered (as text), then a replay.
        nav("Endpoints").click()
        page.get_by_role("link", name="Add endpoint").click()
        page.get_by_label("Endpoint URL").fill(down_url)
        page.get_by_label("Description").fill("Analytics (staging)")
        page.get_by_role("button", name="Add endpoint").click()
        page.get_by_role("link", name="I have saved the secret").click()
        page.get_by_role("button", name="Send test event").click()
        expect(page.locator("dd[data-status]")).to_have_attribute(
            "data-status", "dead_lettered")
        expect(page.get_by_text("Attempt 3")).to_be_visible()
        body = page.locator("pre.body").first
        expect(body).to_contain_text("<script>alert('from the endpoint')</script>")
        shot("failing-attempts")
        page.get_by_role("button", name="Replay this delivery").click()
        expect(page.get_by_role("status").first).to_contain_text("Replay queued")
        expect(page.get_by_text("Attempt 6")).to_be_visible()
        expect(page.locator("dd[data-status]")).to_have_attribute(
            "data-status", "dead_lettered")

        # The delivery log, filtered (htmx swaps the table and updates the URL).
        nav("Delivery log").click()
        page.get_by_label("Status").select_option("dead_lettered")
        expect(page).to_have_url(re.compile(r"status=dead_lettered"))
        expect(page.locator("table.log tbody tr")).to_have_count(1)
        page.get_by_label("Status").select_option("")
        expect(page.locator("table.log tbody tr")).to_have_count(2)
        # The week's figures: one delivered at once, one dead after six 503s.
        expect(figure(page, "sent-24h")).to_have_text("2")
        expect(figure(page, "sent-7d")).to_have_text("2")
        expect(figure(page, "first")).to_have_text(re.compile(r"^50\.0\s%\s+1$"))
        expect(figure(page, "retried")).to_have_text(re.compile(r"^0\.0\s%\s+0$"))
        expect(figure(page, "failed")).to_have_text(re.compile(r"^50\.0\s%\s+1$"))
        expect(figure(page, "top-failure")).to_have_text(re.compile(r"^HTTP 503\s+6 attempts$"))
        expect(figure(page, "latency")).to_have_text(re.compile(r"^\d+\s/\s\d+\sms$"))
        ids_whole(page, 2)
        shot("delivery-log")

        # Search by delivery id, then by event id: the row, its ids whole.
        delivered = page.locator("tr", has=page.locator(".st-delivered"))
        did = delivered.locator('[data-id="delivery"]').inner_text()
        evt = delivered.locator('[data-id="event"]').inner_text()
        search = page.get_by_label("Delivery or event id")
        search.fill(did)
        search.press("Enter")
        expect(page).to_have_url(re.compile(rf"q={did}"))
        expect(page.locator("table.log tbody tr")).to_have_count(1)
        expect(page.locator('[data-id="delivery"]')).to_have_text(did)
        search.fill(evt[:-6])
        search.press("Enter")
        expect(page.locator('[data-id="event"]')).to_have_text(evt)
        ids_whole(page, 1)
        shot("delivery-log-search")
        search.fill("invoice.paid")  # not an id: the browser says what the box takes
        search.press("Enter")
        assert page.evaluate("document.getElementById('f-q').validity.patternMismatch")
        expect(page).to_have_url(re.compile(rf"q={evt[:-6]}"))

        # Export the filtered log: a CSV of that delivery.
        with page.expect_download() as download:
            page.get_by_role("link", name="CSV").click()
        table = list(csv.reader(io.StringIO(Path(download.value.path()).read_text("utf-8"))))
        assert [row[:2] for row in table[1:]] == [[did, evt]] and table[0][0] == "delivery_id"

        # Replay every failure of the endpoint, after a confirmation step.
        nav("Replay failures").click()
        page.get_by_label("Endpoint").select_option(label=down_url)
        page.get_by_role("button", name="Find failed deliveries").click()
        expect(page.get_by_role("heading", name="1 failed delivery matches")).to_be_visible()
        page.get_by_label("Reason (kept in the audit log)").fill("fixed the outage")
        page.get_by_label("Yes, replay 1 delivery", exact=False).check()
        shot("bulk-replay-confirm")
        page.get_by_role("button", name="Replay 1").click()
        expect(page.get_by_text("1 delivery queued for replay")).to_be_visible()

        # Rotate the first endpoint's secret: shown once, with the overlap's end.
        nav("Endpoints").click()
        page.get_by_role("link", name=hooks_url).click()
        page.get_by_label("Keep the old secret working for").select_option("1h")
        page.get_by_role("button", name="Rotate secret").click()
        expect(page.get_by_role("heading", name="Secret rotated")).to_be_visible()
        new_secret = page.get_by_role("textbox", name="Signing secret").input_value()
        assert new_secret.startswith("whsec_") and new_secret != secret
        expect(page.locator("[data-overlap-end]")).to_contain_text("UTC")
        shot("secret-rotated")
        # Receivers holding only the new secret accept deliveries at once.
        server.secrets[:] = [new_secret]
        page.get_by_role("link", name="I have saved the secret").click()
        page.get_by_role("button", name="Send test event").click()
        expect(page.locator("dd[data-status]")).to_have_attribute("data-status", "delivered")
        assert len(verifier.verified) == 2

        # The endpoints list with success rate, latency and breaker state.
        nav("Endpoints").click()
        expect(page.get_by_text("100.0")).to_be_visible()
        shot("endpoints")

        # The card counts every attempt of the day and says so.
        expect(page.locator('[data-figure="attempts"]').first).to_have_text(
            re.compile(r"^2 of 2 attempts in the last 24\s+h got a 2xx$"))

        # Dark theme: the browser's preference, at readable contrast, still under the CSP.
        for scheme in ("dark", "light"):
            themed = browser.new_context(color_scheme=scheme,
                                         viewport={"width": 1200, "height": 860})
            themed.add_cookies(context.cookies())
            tpage = themed.new_page()
            tpage.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            tpage.goto(f"{server.url}/portal/deliveries")
            expect(tpage.locator("table.log tbody tr").first).to_be_visible()
            colours = theme_colours(tpage)
            background = luminance(colours["background"])
            assert (background < 0.05) if scheme == "dark" else (background > 0.9), colours
            for name in ("text", "muted", "link", "badge", "figure"):
                assert contrast(colours[name], colours["background" if name != "badge"
                                                      else "badge_bg"]) >= 4.5, (name, colours)
            if scheme == "dark":
                page = tpage
                shot("delivery-log-dark")
                tpage.goto(f"{server.url}/portal/")
                shot("endpoints-dark")
            themed.close()
        page = context.pages[0]

        # Keyboard: the skip link is the first stop and shows a focus ring.
        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name="Skip to content")).to_be_focused()

        # On a phone.
        phone = browser.new_context(viewport={"width": 390, "height": 844},
                                    device_scale_factor=2, is_mobile=True)
        phone.add_cookies(context.cookies())
        page = phone.new_page()
        page.goto(f"{server.url}/portal/deliveries")
        expect(page.locator("table.log tbody tr").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        ids_whole(page, 3)
        shot("phone-delivery-log", full=False)
        page.goto(f"{server.url}/portal/")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot("phone-endpoints", full=False)

        # Reading works without JavaScript.
        nojs = browser.new_context(java_script_enabled=False)
        nojs.add_cookies(context.cookies())
        page = nojs.new_page()
        page.goto(f"{server.url}/portal/deliveries?status=delivered")
        expect(page.locator("table.log tbody tr")).to_have_count(2)
        page.locator("table.log tbody tr a").first.click()
        expect(page.get_by_text("Attempt 1")).to_be_visible()
        browser.close()

    assert not problems, problems  # no CSP violation, script error or injected dialog
