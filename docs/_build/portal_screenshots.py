"""Regenerate the customer portal's screenshots for the docs: ``make screenshots``.

Starts a reference sender on a temporary SQLite store, served by uvicorn on 127.0.0.1 with
the portal mounted as ``hookseal-sender serve`` mounts it, and a local https receiver
that verifies every delivery with the ``hookseal`` SDK (the customer's hosts resolve to
it, and a throwaway CA made for the run is the only one trusted, so the screenshots show
the ``https://`` URLs a customer has). It gives one customer a history
(three endpoints: one healthy, one that sometimes answers 503 and recovers on a retry, one
down), then opens a portal link in Debian's headless chromium through Playwright and
screenshots each page the docs show (reference_sender/PORTAL.md, included by
docs/portal.md). Each image is cropped to the page's content (no blank band under a short
page) at a width the docs column shows at a readable size, so running this again after a
portal change is all it takes to keep the docs current.

    .venv/bin/python docs/_build/portal_screenshots.py [--out DIR]
"""

from __future__ import annotations

import argparse
import http.server
import logging
import os
import random
import re
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "assets" / "portal"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--hide-scrollbars", "--font-render-hinting=none"]
# The docs column is about 750 CSS px wide at 1280 px: a 1024 px page is shown at 73 %,
# where the portal's 16 px text still reads as 12 px. A phone shot is shown at its size.
DESKTOP = {"width": 1024, "height": 640}
PHONE = {"width": 360, "height": 740}
MAX_HEIGHT = 1100  # a long page (a delivery's attempts) is cut here rather than shrunk
TENANT = "acme"
USER = "ann@acme.example"
# Fake DNS: the customer's hosts, all served by the local receiver. A loopback address of
# its own lets it take port 443, so the URLs carry no port (a free port if it cannot).
RECEIVER_IP = "127.0.0.26"
HOSTS = ("billing.acme.example", "crm.acme.example", "analytics.acme.example",
         "ledger.acme.example")
DOWN_BODY = "<html><body><h1>503 Service Unavailable</h1>upstream analytics-db unreachable</body></html>"
#: Every screenshot this makes, by file name; the docs page shows each of them.
SHOTS = ("endpoints", "delivery-log", "delivery-log-search", "failing-attempts",
         "add-endpoint", "secret-shown-once", "test-event-delivered", "secret-rotated",
         "bulk-replay-confirm", "phone-delivery-log", "phone-endpoints", "delivery-log-dark",
         "endpoints-dark")


@dataclass
class Receiver:
    """The customer's servers: verify with the SDK, answer by host (the Host header)."""

    port: int = 0
    secrets: dict[str, list[str]] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, host: str) -> str:
        """The endpoint URL on ``host``."""
        port = "" if self.port == 443 else f":{self.port}"
        return f"https://{host}{port}/webhooks"

    def answer(self, host: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, str]:
        import hookseal

        with self.lock:
            count = self.requests[host] = self.requests.get(host, 0) + 1
        if host.startswith("analytics."):
            return 503, "text/html", DOWN_BODY
        if host.startswith("crm.") and count % 4 == 0:
            return 503, "text/plain", "database is restarting, try again"
        try:
            event = hookseal.Webhook(self.secrets.get(host, [])).construct_event(body, headers)
        except (hookseal.WebhookVerificationError, hookseal.ConfigurationError) as err:
            return 401, "text/plain", err.code
        return 200, "application/json", '{"received": "%s"}' % event["id"]


def make_tls(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for :data:`HOSTS`: (ca.pem, cert.pem, key.pem)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Hookseal screenshots CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(hours=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOSTS[0])]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(hours=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in HOSTS]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


@contextmanager
def serve_receiver(receiver: Receiver, cert: Path, key: Path) -> Iterator[Receiver]:
    """The receiver over https on :data:`RECEIVER_IP`, port 443 if it can have it, in a thread."""
    import ssl

    class Handler(http.server.BaseHTTPRequestHandler):
        server_version, sys_version = "acme-edge", ""  # not this machine's Python version
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            host = (self.headers.get("Host") or "").split(":")[0]
            status, kind, text = receiver.answer(host, body, dict(self.headers.items()))
            payload = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    try:
        server = http.server.ThreadingHTTPServer((RECEIVER_IP, 443), Handler)
    except OSError:  # not root, or taken: the URLs will carry the port
        server = http.server.ThreadingHTTPServer((RECEIVER_IP, 0), Handler)
    receiver.port = server.server_address[1]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    # The handshake happens on the first read, in the request's thread, not in accept().
    server.socket = context.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


async def resolve(host: str, port: int) -> Sequence[str]:
    """The sender's resolver: the customer's hosts are the local receiver."""
    if host in HOSTS:
        return [RECEIVER_IP]
    raise OSError(f"unknown host {host} (the screenshot run resolves only {HOSTS})")


def wait_for(condition: Any, what: str, timeout: float = 30.0) -> None:
    """Wait until ``condition()`` is true, or fail saying what did not happen."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


@contextmanager
def running_portal(directory: Path) -> Iterator[tuple[str, Any, Receiver]]:
    """A sender with a worker and the portal on 127.0.0.1, and the customer's receiver."""
    ca, cert, key = make_tls(directory)
    # The sender's HTTP client (aiohttp) builds its TLS context when it is imported: trust
    # the run's CA, and nothing else, before that.
    if "aiohttp" in sys.modules:
        raise RuntimeError("run this as a script: aiohttp was imported before the CA was set")
    os.environ["SSL_CERT_FILE"] = str(ca)
    os.environ.pop("SSL_CERT_DIR", None)
    import uvicorn
    from hookseal_sender import BackgroundWorker, Sender, SenderConfig, generate_master_key
    from hookseal_sender.api import create_app
    from hookseal_sender.config import RetryPolicy
    from hookseal_sender.portal import create_portal
    from starlette.routing import Mount

    config = SenderConfig(
        database=f"sqlite:///{directory / 'screenshots.db'}", master_key=generate_master_key(),
        allow_local=True, poll_interval=0.02,
        retry=RetryPolicy(schedule=(0.3, 0.6), jitter=0.0, retry_after_cap=1.0),
    )
    sender = Sender(config, resolve=resolve)
    app = create_app(sender, {}, mounts=[Mount("/portal", app=create_portal(sender))])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    with serve_receiver(Receiver(), cert, key) as receiver:
        thread.start()
        try:
            wait_for(lambda: server.started, "the portal to start", timeout=15)
            port = server.servers[0].sockets[0].getsockname()[1]
            worker = BackgroundWorker(sender).start()
            try:
                yield f"http://127.0.0.1:{port}", sender, receiver
            finally:
                worker.stop()
        finally:
            server.should_exit = True
            thread.join(10)
            sender.close()


def make_history(sender: Any, receiver: Receiver) -> None:
    """Three endpoints and a few dozen events from the catalog, every delivery settled."""
    from hookseal_catalog import load_catalog
    from hookseal_sender import DeliveryFilter

    catalog = load_catalog()
    endpoints = (
        ("billing.acme.example", "Billing service (production)",
         ["invoice.created", "invoice.finalized", "invoice.paid", "invoice.payment_failed"]),
        ("crm.acme.example", "CRM sync",
         ["customer.created", "customer.updated", "subscription.created",
          "subscription.updated"]),
        ("analytics.acme.example", "Analytics (staging)", ["payment.failed", "refund.created"]),
    )
    for host, description, types in endpoints:
        created = sender.create_endpoint(
            TENANT, receiver.url(host), description=description,
            event_types=types, allow_local=True)
        receiver.secrets[host] = [created.secret]
    types = sorted({t for _, _, ts in endpoints for t in ts})
    pick = random.Random(26)  # the same history on every run
    unsettled = DeliveryFilter(status=["pending", "delivering"])
    # Events arrive a few at a time, as in real traffic: a burst of dozens on this small
    # machine would show queueing in the latency figures, not the endpoints' answers.
    for _ in range(6):
        for _ in range(6):
            event_type = pick.choice(types)
            sender.send(TENANT, event_type, catalog.example(event_type))
        wait_for(lambda: not sender.list_deliveries(TENANT, unsettled, limit=1),
                 "every delivery to be delivered or dead-lettered")


def shoot(page: Any, path: Path, *, limit: int = MAX_HEIGHT) -> None:
    """Screenshot the page down to its footer: no blank band under a short page."""
    page.wait_for_load_state("networkidle")
    bottom = page.evaluate(
        "() => Math.ceil(document.querySelector('footer').getBoundingClientRect().bottom"
        " + window.scrollY) + 16")
    width = page.viewport_size["width"]
    page.screenshot(path=str(path), full_page=True,
                    clip={"x": 0, "y": 0, "width": width, "height": min(bottom, limit)})


def journeys(url: str, sender: Any, receiver: Receiver, out: Path) -> list[Path]:
    """Walk the portal as the customer and save each screenshot; returns their paths."""
    from hookseal_sender.portal import portal_link
    from playwright.sync_api import expect, sync_playwright

    saved: list[Path] = []
    problems: list[str] = []

    def save(page: Any, name: str, **kw: Any) -> None:
        path = out / f"{name}.png"
        shoot(page, path, **kw)
        saved.append(path)

    link = portal_link(sender.config, TENANT, base_url=url, user=USER)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport=DESKTOP, device_scale_factor=1,
                                      color_scheme="light", locale="en-US",
                                      timezone_id="UTC")
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

        def nav(name: str) -> Any:
            return page.get_by_label("Portal").get_by_role("link", name=name)

        page.goto(link.url)
        expect(page.get_by_role("heading", name="Endpoints")).to_be_visible()
        save(page, "endpoints")

        nav("Delivery log").click()
        expect(page.locator("table.log tbody tr").first).to_be_visible()
        expect(page.locator('[data-figure="sent-7d"]')).to_be_visible()
        save(page, "delivery-log")

        # Search by an event id: its deliveries, ids whole.
        event_id = page.locator('[data-id="event"]').first.inner_text()
        search = page.get_by_label("Delivery or event id")
        search.fill(event_id)
        search.press("Enter")
        expect(page).to_have_url(re.compile(rf"q={event_id}"))
        expect(page.get_by_role("heading", name=re.compile("Deliveries matching"))).to_be_visible()
        save(page, "delivery-log-search")
        search.fill("")
        search.press("Enter")
        expect(page).not_to_have_url(re.compile(r"q=evt"))

        # A delivery that was dead-lettered: every attempt and what the endpoint answered.
        page.get_by_label("Status").select_option("dead_lettered")
        expect(page).to_have_url(re.compile(r"status=dead_lettered"))
        page.locator("table.log tbody tr a").first.click()
        expect(page.get_by_text("Attempt 3")).to_be_visible()
        save(page, "failing-attempts")

        # Add an endpoint: the form, the secret shown once, a test event delivered.
        nav("Endpoints").click()
        page.get_by_role("link", name="Add endpoint").click()
        page.get_by_label("Endpoint URL").fill(receiver.url("ledger.acme.example"))
        page.get_by_label("Description").fill("Ledger (accounting)")
        page.get_by_label("invoice.paid").check()
        page.get_by_label("refund.created").check()
        save(page, "add-endpoint")
        page.get_by_role("button", name="Add endpoint").click()
        expect(page.get_by_role("heading", name="Endpoint added")).to_be_visible()
        secret = page.get_by_role("textbox", name="Signing secret").input_value()
        receiver.secrets["ledger.acme.example"] = [secret]
        save(page, "secret-shown-once")
        page.get_by_role("link", name="I have saved the secret").click()
        page.get_by_role("button", name="Send test event").click()
        expect(page.locator("dd[data-status]")).to_have_attribute("data-status", "delivered")
        expect(page.get_by_text("Attempt 1")).to_be_visible()
        page.get_by_text("Request headers").click()
        save(page, "test-event-delivered")

        # Rotate the billing endpoint's secret, with an hour's overlap.
        nav("Endpoints").click()
        page.get_by_role("link", name=re.compile(r"billing\.acme\.example")).click()
        page.get_by_label("Keep the old secret working for").select_option("1h")
        page.get_by_role("button", name="Rotate secret").click()
        expect(page.get_by_role("heading", name="Secret rotated")).to_be_visible()
        save(page, "secret-rotated")

        # Replay the analytics endpoint's failures: the confirmation step (not submitted).
        nav("Replay failures").click()
        page.get_by_label("Endpoint").select_option(label=receiver.url("analytics.acme.example"))
        page.get_by_role("button", name="Find failed deliveries").click()
        expect(page.get_by_role("heading", name=re.compile(r"failed deliver(y|ies) match"))).to_be_visible()
        page.get_by_label("Reason (kept in the audit log)").fill("analytics-db is back")
        page.get_by_label(re.compile(r"Yes, replay \d+")).check()
        save(page, "bulk-replay-confirm")

        phone = browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True,
                                    has_touch=True, color_scheme="light", locale="en-US",
                                    timezone_id="UTC")
        phone.add_cookies(context.cookies())
        page = phone.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{url}/portal/deliveries")
        expect(page.locator("table.log tbody tr").first).to_be_visible()
        save(page, "phone-delivery-log", limit=PHONE["height"])
        page.goto(f"{url}/portal/")
        save(page, "phone-endpoints", limit=PHONE["height"])

        # The dark theme, as a browser that prefers it shows the portal.
        dark = browser.new_context(viewport=DESKTOP, device_scale_factor=1,
                                   color_scheme="dark", locale="en-US", timezone_id="UTC")
        dark.add_cookies(context.cookies())
        page = dark.new_page()
        page.set_default_timeout(15_000)
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto(f"{url}/portal/deliveries")
        expect(page.locator("table.log tbody tr").first).to_be_visible()
        save(page, "delivery-log-dark")
        page.goto(f"{url}/portal/")
        save(page, "endpoints-dark")
        browser.close()
    if problems:
        raise RuntimeError(f"the portal reported errors in the browser: {problems}")
    return saved


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate every screenshot into ``--out`` (default: docs/assets/portal/)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--out", type=Path, default=OUT,
                        help="where to write the PNGs (default: %(default)s)")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    # The dead letters are on purpose: keep their warnings out of the output.
    logging.getLogger("hookseal_sender").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="hookseal-screenshots-") as tmp, \
            running_portal(Path(tmp)) as (url, sender, receiver):
        make_history(sender, receiver)
        saved = journeys(url, sender, receiver, args.out)
    missing = sorted(set(SHOTS) - {p.stem for p in saved})
    if missing:
        raise RuntimeError(f"no screenshot made for {missing}")
    for path in saved:
        print(f"{path.relative_to(ROOT) if ROOT in path.parents else path} "
              f"({path.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
