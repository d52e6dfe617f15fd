"""The admin console in a real browser (headless Debian chromium driven by Playwright).

Against a real sender on SQLite served by uvicorn on 127.0.0.1, with a worker delivering
to a local receiver: sign in with an admin key, filter every tenant's deliveries, open a
delivery, replay an event with a corrected payload, and run a bulk replay through its
count, sample and two confirmations to its finished job. Screenshots go to
``artifacts/admin/``; with ``HOOKSEAL_UPDATE_SCREENSHOTS=1`` they are also copied to
``docs/assets/admin/`` for the docs page (docs/admin-console.md).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from hookseal_sender import BackgroundWorker, Sender
from hookseal_sender.admin import create_admin
from hookseal_sender.api import create_app
from hookseal_sender.catalog import _catalog
from hookseal_sender.portal import create_portal
from starlette.routing import Mount

from ._receiver import Receiver
from .admin_testing import ADMIN_KEY
from .conftest import wait_for
from .portal_testing import make_sender
from .test_portal_browser import ARGS, CHROMIUM, _playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "admin"
DOCS_ASSETS = ROOT / "docs" / "assets" / "admin"


@dataclass
class Server:
    url: str
    sender: Sender
    receiver: Receiver


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    sender = make_sender(tmp_path, replay_rate=200.0)
    receiver = Receiver().start()
    keys = {ADMIN_KEY: "ann"}
    app = create_app(sender, keys, mounts=[Mount("/portal", app=create_portal(sender)),
                                           Mount("/admin", app=create_admin(sender, keys))])
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                       lifespan="off"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    wait_for(lambda: uv.started, timeout=10)
    port = uv.servers[0].sockets[0].getsockname()[1]
    worker = BackgroundWorker(sender).start()
    try:
        yield Server(f"http://127.0.0.1:{port}", sender, receiver)
    finally:
        worker.stop()
        uv.should_exit = True
        thread.join(10)
        receiver.stop()
        sender.close()


def test_console_journeys_in_a_real_browser(server: Server) -> None:
    sync_playwright = _playwright()
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    sender, receiver = server.sender, server.receiver
    # Two tenants: acme's endpoint was down (5 failures), globex's delivers.
    down = sender.create_endpoint("acme", receiver.route("/acme", statuses=[400] * 5 + [200]),
                                  allow_local=True).endpoint
    sender.create_endpoint("globex", receiver.route("/globex"), allow_local=True)
    data = _catalog().example("invoice.paid")
    acme = [sender.send("acme", "invoice.paid", data).deliveries[0][0] for _ in range(5)]
    globex = sender.send("globex", "invoice.paid", data).deliveries[0][0]
    wait_for(lambda: all(sender.get_delivery("acme", d).status == "failed" for d in acme))
    wait_for(lambda: sender.get_delivery("globex", globex).status == "delivered")
    problems: list[str] = []

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_context(viewport={"width": 1280, "height": 480}).new_page()
        page.set_default_timeout(10_000)
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))

        def shot(name: str) -> None:
            path = ARTIFACTS / f"{name}.png"
            page.screenshot(path=str(path), full_page=True)
            shots.append(path)

        # Sign in with the admin API key.
        page.goto(f"{server.url}/admin/")
        expect(page.get_by_role("heading", name="Sign in to the admin console")).to_be_visible()
        page.get_by_label("Admin API key").fill("hsk_wrong")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("not an admin API key")
        page.get_by_label("Admin API key").fill(ADMIN_KEY)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Deliveries, all tenants")).to_be_visible()
        expect(page.locator("table.log tbody tr")).to_have_count(6)

        # Filter by tenant and status.
        page.get_by_label("Tenant").fill("acme")
        page.get_by_label("Status").select_option("failed")
        page.get_by_role("button", name="Filter").click()
        expect(page).to_have_url(re.compile(r"tenant=acme"))
        expect(page.locator("table.log tbody tr")).to_have_count(5)
        shot("deliveries")

        # Open a delivery: tenant, internal ids, every attempt.
        page.get_by_role("link", name=acme[0]).click()
        expect(page.get_by_role("heading", name=f"Delivery {acme[0]}")).to_be_visible()
        expect(page.locator("dd[data-status]")).to_have_attribute("data-status", "failed")
        expect(page.locator("dl.facts")).to_contain_text(down.id)
        expect(page.get_by_text("Attempt 1 ·")).to_be_visible()
        shot("delivery")

        # Replay it with a corrected payload (validated: a bad one is refused first).
        page.get_by_role("link", name="Replay with a corrected payload").click()
        fixed = copy.deepcopy(data)
        fixed["invoice"]["customer_name"] = "Acme Corporation (corrected)"
        bad = copy.deepcopy(fixed)
        bad["invoice"]["total"] = "lots"
        page.locator("#data").fill(json.dumps(bad, indent=2))
        page.get_by_label("Reason (audit log)").fill("customer name was truncated")
        page.get_by_role("button", name="Validate and replay corrected event").click()
        expect(page.get_by_role("alert")).to_contain_text("lots")
        page.locator("#data").fill(json.dumps(fixed, indent=2))
        page.get_by_role("button", name="Validate and replay corrected event").click()
        expect(page.get_by_role("status").first).to_contain_text("Corrected event saved")
        expect(page.locator("h1 .badge")).to_have_text("corrected")
        expect(page.locator("dd[data-status]")).to_have_attribute("data-status", "delivered")
        expect(page.get_by_label("Event body")).to_contain_text("Acme Corporation (corrected)")
        shot("corrected")
        corrected_body = json.loads(receiver.requests("/acme")[-1].body)
        assert corrected_body["data"]["invoice"]["customer_name"] == \
            "Acme Corporation (corrected)"

        # Bulk replay: every failed delivery of acme in a window.
        page.get_by_label("Console").get_by_role("link", name="Bulk replay").click()
        page.get_by_label("Every failed delivery of a tenant").check()
        page.locator("#b-tenant").fill("acme")
        page.locator("#b-since").fill("2000-01-01T00:00")
        page.locator("#b-until").fill("2999-01-01T00:00")
        page.locator("#b-reason").fill("endpoint outage, 7 Dec")
        page.get_by_role("button", name="Count and show a sample").click()
        expect(page.locator("[data-count]")).to_have_attribute("data-count", "4")
        expect(page.get_by_role("table", name="Sample").locator("tbody tr")).to_have_count(4)
        shot("bulk-preview")
        page.get_by_label("I checked the count and the sample").check()
        page.get_by_role("button", name="Continue (first confirmation)").click()
        page.get_by_label("Type the number of deliveries (4) to confirm").fill("4")
        shot("bulk-confirm")
        page.get_by_role("button", name="Start the bulk replay (second confirmation)").click()
        expect(page.locator("[data-job-status]")).to_have_attribute("data-job-status",
                                                                   "finished")
        expect(page.locator("[data-done]")).to_have_text("4")
        expect(page.locator("[data-selection]")).to_contain_text("tenant acme")
        shot("bulk-job")
        wait_for(lambda: all(sender.get_delivery("acme", d).status == "delivered"
                             for d in acme))

        # The audit log says who did what and why.
        page.goto(f"{server.url}/admin/audit?tenant=acme")
        rows = page.locator("table.log tbody tr")
        # Newest first: acme's owners told of the replay and the replay (the two may share
        # a millisecond, so either order), then the correction.
        expect(rows).to_have_count(3)
        first_two = " ".join(rows.nth(i).inner_text() for i in range(2))
        assert "owner_notice" in first_two and "endpoint outage, 7 Dec" in first_two
        expect(rows.nth(2)).to_contain_text("customer name was truncated")
        expect(rows.nth(2)).to_contain_text("admin:ann")
        shot("audit")
        browser.close()

    # The wrong key (401) and the invalid data (422) are answered as errors on purpose;
    # anything else (a CSP violation, a script error, an injected dialog) is a problem.
    refused = [p for p in problems if p.startswith("Failed to load resource")]
    assert [re.sub(r".*status of (\d+).*", r"\1", p) for p in refused] == ["401", "422"]
    assert not [p for p in problems if p not in refused], problems
    if os.environ.get("HOOKSEAL_UPDATE_SCREENSHOTS") == "1":
        DOCS_ASSETS.mkdir(parents=True, exist_ok=True)
        for path in shots:
            shutil.copy(path, DOCS_ASSETS / path.name)
