"""Helpers for the admin console tests: an app with the API, portal and console mounted."""

from __future__ import annotations

import re

from hookseal_sender import Sender
from hookseal_sender.admin import AdminConfig, JobRunner, admin_link, create_admin
from hookseal_sender.api import create_app
from hookseal_sender.portal import create_portal
from starlette.routing import Mount
from starlette.testclient import TestClient

ADMIN_KEY = "hsk_admin_console_tests_0123456789"


def make_admin_client(sender: Sender, *, runner: JobRunner | None = None,
                      config: AdminConfig | None = None) -> TestClient:
    """A test client for the admin API with the portal and the console mounted."""
    keys = {ADMIN_KEY: "ann"}
    app = create_app(sender, keys, mounts=[
        Mount("/portal", app=create_portal(sender)),
        Mount("/admin", app=create_admin(sender, keys, config, runner))])
    return TestClient(app, base_url="http://testserver", follow_redirects=False)


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "page has no CSRF field"
    return found.group(1)


def sign_in(client: TestClient, *, key: str = ADMIN_KEY) -> str:
    """Sign in with an admin API key; returns the CSRF token of the deliveries page."""
    r = client.post("/admin/login", data={"key": key})
    assert r.status_code == 303, r.text
    page = client.get("/admin/")
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


def sign_in_with_link(client: TestClient, sender: Sender, operator: str = "bob") -> str:
    """Sign in with a fresh admin link; returns the CSRF token."""
    link = admin_link(sender.config, operator, base_url=str(client.base_url))
    r = client.get(link.url)
    assert r.status_code == 303, r.text
    return csrf_of(client.get("/admin/").text)
