"""Helpers for the portal tests: a SQLite sender, an app with the portal, logging in."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hookseal_sender import Sender, SenderConfig, generate_master_key
from hookseal_sender.api import create_app
from hookseal_sender.config import RetryPolicy
from hookseal_sender.portal import PortalConfig, create_portal, portal_link
from starlette.routing import Mount
from starlette.testclient import TestClient

API_KEY = "sk_portal_tests"
DNS = {"hooks.example.com": ["93.184.216.34"], "acme.example.org": ["93.184.216.35"]}


async def resolve(host: str, port: int) -> Sequence[str]:
    """A fake resolver: the names above, nothing else (tests never use real DNS)."""
    if host in DNS:
        return DNS[host]
    raise OSError(f"fake DNS: unknown name {host}")


def make_sender(tmp_path: Path, *, allow_local: bool = True, **changes: Any) -> Sender:
    """A sender on a fresh SQLite file with a short retry schedule."""
    config = SenderConfig(
        database=f"sqlite:///{tmp_path / 'portal.db'}", master_key=generate_master_key(),
        allow_local=allow_local, poll_interval=0.02,
        retry=RetryPolicy(schedule=(0.2, 0.2), jitter=0.0, retry_after_cap=1.0),
    ).replace(**changes)
    return Sender(config, resolve=resolve)


def make_client(sender: Sender, *, base_url: str = "http://testserver",
                portal: PortalConfig | None = None) -> TestClient:
    """A test client for the admin API with the portal mounted at /portal."""
    app = create_app(sender, {API_KEY: "provider"},
                     mounts=[Mount("/portal", app=create_portal(sender, portal))])
    return TestClient(app, base_url=base_url, follow_redirects=False)


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "page has no CSRF field"
    return found.group(1)


def login(client: TestClient, sender: Sender, tenant: str, *, user: str = "") -> str:
    """Open a portal session for ``tenant`` from a fresh link; returns its CSRF token."""
    link = portal_link(sender.config, tenant, base_url=str(client.base_url), user=user)
    r = client.get(link.url)
    assert r.status_code == 303, r.text
    page = client.get("/portal/")
    assert page.status_code == 200, page.text
    return csrf_of(page.text)
