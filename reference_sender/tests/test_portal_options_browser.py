"""The subscription options page in a real browser (headless chromium, Playwright): the
filter preview and the save go through the portal's CSP and CSRF rules as a customer's
browser sends them (text areas with CR LF newlines, the preview button's formaction)."""

from __future__ import annotations

import json
from typing import Any

from hookseal_sender.catalog import event_catalog
from hookseal_sender.portal import portal_link

from .test_portal_browser import (
    ARGS,
    ARTIFACTS,
    CHROMIUM,
    Server,
    _playwright,
    server,  # noqa: F401 - the fixture, used by name
)


def test_options_page_preview_and_save_in_a_real_browser(server: Server) -> None:  # noqa: F811
    sync_playwright = _playwright()
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    sender = server.sender
    ep = sender.create_endpoint("acme", server.receiver.route("/opts"), allow_local=True,
                                event_types=["invoice.paid"]).endpoint
    invoice = event_catalog().example("invoice.paid")
    for amount in (500, 20000, 15000):
        invoice["invoice"]["total"]["amount"] = amount
        sender.send("acme", "invoice.paid", invoice)
    link = portal_link(sender.config, "acme", base_url=server.url, user="ann@acme.test")
    problems: list[str] = []

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_context(viewport={"width": 1200, "height": 860}).new_page()
        page.set_default_timeout(10_000)
        # A CSP violation (an inline script or style, a form posting elsewhere) is a
        # console error: none may happen.
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(link.url)
        page.goto(f"{server.url}/portal/endpoints/{ep.id}")
        page.get_by_role("link", name="Edit options and test the filter").click()
        expect(page.get_by_role("heading", name="Subscription options")).to_be_visible()

        flt = {"/data/invoice/total/amount": {"$gte": 10000}}
        page.get_by_label("Filter").fill(json.dumps(flt, indent=2))  # newlines in it
        page.get_by_role("button", name="Test this filter on recent events").click()
        expect(page.get_by_role("status")).to_contain_text("2 of your last 3 events")
        expect(page.get_by_text("Yes: matches")).to_have_count(2)
        expect(page.get_by_text("No: filter does not match")).to_have_count(1)
        assert sender.get_endpoint("acme", ep.id).filter is None  # the preview saved nothing
        page.screenshot(path=str(ARTIFACTS / "subscription-options.png"), full_page=True)

        page.get_by_label("Custom headers").fill("X-Team: billing\nX-Env: prod")
        page.get_by_label("Rate limit (deliveries per second)").fill("4")
        page.get_by_role("button", name="Save options").click()
        expect(page.get_by_text("Endpoint updated.")).to_be_visible()
        got: Any = sender.get_endpoint("acme", ep.id)
        assert (got.filter, got.headers, got.rate_limit) == (
            flt, {"X-Team": "billing", "X-Env": "prod"}, 4.0)

        # A refusal keeps what was typed (its 400 page is logged by the browser: expected).
        assert not problems, problems
        page.get_by_role("link", name="Edit options and test the filter").click()
        page.get_by_label("Custom headers").fill("Host: elsewhere")
        page.get_by_role("button", name="Save options").click()
        expect(page.get_by_role("alert")).to_contain_text("is reserved")
        expect(page.get_by_label("Custom headers")).to_have_value("Host: elsewhere")
        browser.close()
    assert [p for p in problems if "status of 400" not in p] == [], problems
