"""SSRF: a corpus of forbidden destinations, refused at registration and at delivery."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
import time
from typing import Any

import pytest
from hookseal_sender import BackgroundWorker, DestinationRefusedError, Sender
from hookseal_sender.catalog import no_validation
from hookseal_sender.models import Endpoint, EndpointKey, new_id
from hookseal_sender.outbox import enqueue
from hookseal_sender.ssrf import (
    CheckedResolver,
    _legacy_ipv4,
    client_host,
    forbidden_reason,
    guarded_socket,
    parse_destination,
    validate_url,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from ._receiver import Receiver
from .conftest import FAKE_DNS, fake_resolve, wait_for

#: Names the fake resolver maps to forbidden addresses (DNS pointing inside).
REBIND = {
    "internal.example.com": ["10.0.0.5"],
    "meta.example.com": ["169.254.169.254"],
    "mixed.example.com": ["93.184.216.34", "127.0.0.1"],
    "v6local.example.com": ["::1"],
    "mapped.example.com": ["::ffff:192.168.1.1"],
    "cgnat.example.com": ["100.64.1.1"],
}

FORBIDDEN = [
    "http://hooks.example.com/plain-http",
    "ftp://hooks.example.com/x",
    "https://127.0.0.1/",
    "https://127.1.2.3:8443/",
    "https://localhost/",
    "https://LOCALHOST./x",
    "https://foo.localhost/",
    "https://localhost.localdomain/",
    "https://ip6-localhost/",
    "https://[::1]/",
    "https://0.0.0.0/",
    "https://[::]/",
    "https://10.1.2.3/",
    "https://172.16.0.1/",
    "https://172.31.255.255/",
    "https://192.168.0.10/",
    "https://169.254.169.254/latest/meta-data/",
    "https://169.254.1.1/",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://100.64.0.1/",
    "https://100.127.255.254/",
    "https://224.0.0.1/",
    "https://[ff02::1]/",
    "https://240.0.0.1/",
    "https://255.255.255.255/",
    "https://[fe80::1]/",
    "https://[fc00::1]/",
    "https://[fd12:3456::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:169.254.169.254]/",
    "https://[::ffff:a9fe:a9fe]/",
    "https://[64:ff9b::a9fe:a9fe]/",
    "https://[2002:7f00:1::]/",
    "https://2130706433/",
    "https://0x7f000001/",
    "https://017700000001/",
    "https://0177.0.0.1/",
    "https://0x7f.1/",
    "https://127.1/",
    "https://192.0.2.1/",
    "https://198.18.0.1/",
    "https://user:pw@hooks.example.com/",
    "https://internal.example.com/",
    "https://meta.example.com/",
    "https://mixed.example.com/",
    "https://v6local.example.com/",
    "https://mapped.example.com/",
    "https://cgnat.example.com/",
    "https://does-not-resolve.example.org/",
]


@pytest.fixture(autouse=True)
def _rebinding_dns() -> Any:
    FAKE_DNS.update(REBIND)
    yield
    for name in REBIND:
        FAKE_DNS.pop(name, None)


def test_corpus_is_large_enough() -> None:
    assert len(FORBIDDEN) >= 30


@pytest.mark.parametrize("url", FORBIDDEN)
def test_refused_at_registration(url: str) -> None:
    with pytest.raises(DestinationRefusedError) as info:
        asyncio.run(validate_url(url, resolve=fake_resolve))
    assert info.value.code == "destination_refused"


@pytest.mark.parametrize("url", ["https://hooks.example.com/x",
                                 "https://public.example.net:8443/hooks?a=1",
                                 "https://93.184.216.34/", "https://[2606:4700::1111]/"])
def test_public_destinations_allowed(url: str) -> None:
    dest = asyncio.run(validate_url(url, resolve=fake_resolve))
    assert dest.scheme == "https"


def test_sender_refuses_and_allow_local_needs_config(sender: Sender) -> None:
    with pytest.raises(DestinationRefusedError):
        sender.create_endpoint("t1", "https://169.254.169.254/")
    ep = sender.create_endpoint("t1", "http://127.0.0.1:9/x", allow_local=True)
    assert ep.endpoint.allow_local  # the test config allows local destinations
    strict = Sender(sender.config.replace(allow_local=False), store=sender.store,
                    resolve=fake_resolve)
    with pytest.raises(DestinationRefusedError):
        strict.create_endpoint("t1", "http://127.0.0.1:9/x", allow_local=True)


def test_refused_at_delivery(sender: Sender, receiver: Receiver, worker: Any) -> None:
    """Endpoints stored without the registration check (or whose DNS changed later) are
    refused again when delivering, and no request reaches anything."""
    now = time.time()
    ids = []
    # A name that does not resolve is a transient DNS error at delivery, not a refusal.
    corpus = [u for u in FORBIDDEN if "does-not-resolve" not in u]
    for url in corpus:
        ep = Endpoint(id=new_id("ep"), tenant_id="t1", url=url, created_at=now, updated_at=now)
        sender.store.insert_endpoint(ep, [EndpointKey(new_id("key"), ep.id, "hmac",
                                                      "whsec_dGVzdA==", None, now)])
        ids.append(ep.id)
    res = enqueue(sender.store, "t1", "test.ping", {"message": "ssrf"}, validator=no_validation)
    assert len(res.deliveries) == len(corpus)
    worker(resolve=fake_resolve)
    wait_for(lambda: all(sender.get_delivery("t1", d).status == "failed"
                         for d, _ in res.deliveries), 20)
    errors = {sender.get_delivery("t1", d).attempts[0].error for d, _ in res.deliveries}
    assert errors == {"destination_refused"}
    assert receiver.requests() == []


def test_checked_resolver_returns_only_checked_addresses() -> None:
    async def go() -> Any:
        r = CheckedResolver(fake_resolve)
        good = await r.resolve("public.example.net", 443)
        with pytest.raises(DestinationRefusedError):
            await r.resolve("mixed.example.com", 443)
        with pytest.raises(DestinationRefusedError):
            await r.resolve("localhost", 443)
        return good

    good = asyncio.run(go())
    assert {g["host"] for g in good} == {"8.8.8.8", "2001:4860:4860::8888"}


@pytest.mark.parametrize(("text", "ip"), [
    ("2130706433", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"), ("10.0x1.1", "10.1.0.1"), ("0", "0.0.0.0"),
])
def test_legacy_ipv4_spellings(text: str, ip: str) -> None:
    assert str(_legacy_ipv4(text)) == ip


@pytest.mark.parametrize("text", ["example.com", "1.2.3.4.5", "256.1.1.1", "1..1", "08", "0x1g"])
def test_not_legacy_ipv4(text: str) -> None:
    assert _legacy_ipv4(text) is None


def test_forbidden_reason_examples() -> None:
    assert forbidden_reason(ipaddress.ip_address("8.8.8.8")) is None
    assert forbidden_reason(ipaddress.ip_address("169.254.169.254")) == "link-local"
    assert forbidden_reason(ipaddress.ip_address("100.64.0.1")) == "CGNAT"
    assert "IPv4" in (forbidden_reason(ipaddress.ip_address("::ffff:10.0.0.1")) or "")


def test_allow_local_permits_http_loopback() -> None:
    dest = parse_destination("http://127.0.0.1:8080/x", allow_local=True)
    assert dest.port == 8080 and str(dest.ip) == "127.0.0.1"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789abcdefxX.", min_size=1, max_size=20))
def test_legacy_parser_agrees_with_inet_aton(text: str) -> None:
    """What the C library would connect to is exactly what the SSRF check sees."""
    try:
        expected = str(ipaddress.IPv4Address(socket.inet_aton(text)))
    except OSError:
        expected = None
    got = _legacy_ipv4(text.lower())
    assert (str(got) if got is not None else None) == expected


class CountingListener:
    """A TCP listener on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


#: Spellings of loopback that the HTTP client (yarl's IDNA + NFKC) turns into 127.0.0.1.
CLIENT_NORMALISED = [
    "https://１２７.０.０.１:{port}/", "https://①②⑦.⓪.⓪.①:{port}/",
    "https://𝟏𝟐𝟕.𝟎.𝟎.𝟏:{port}/", "https://127。0。0。1:{port}/",
    "https://127．0．0．1:{port}/", "https://ｌｏｃａｌｈｏｓｔ:{port}/",
]


@pytest.mark.parametrize("template", CLIENT_NORMALISED)
def test_host_is_checked_as_the_client_will_connect(template: str) -> None:
    with pytest.raises(DestinationRefusedError):
        parse_destination(template.format(port=8443))
    assert client_host(template.format(port=8443)) in ("127.0.0.1", "localhost")


def _stored_endpoint(sender: Sender, url: str, *, allow_local: bool = False) -> str:
    now = time.time()
    ep = Endpoint(id=new_id("ep"), tenant_id="t1", url=url, allow_local=allow_local,
                  created_at=now, updated_at=now)
    sender.store.insert_endpoint(ep, [EndpointKey(new_id("key"), ep.id, "hmac",
                                                  "whsec_dGVzdA==", None, now)])
    return ep.id


def test_stored_normalising_hosts_reach_nothing_at_delivery(sender: Sender) -> None:
    """Regression: a stored ``https://１２７.０.０.１:PORT/`` was connected to with local
    destinations off. Each spelling must be refused and the listener see no connection."""
    listener = CountingListener()
    strict = Sender(sender.config.replace(allow_local=False), store=sender.store,
                    resolve=fake_resolve)
    try:
        for template in CLIENT_NORMALISED:
            _stored_endpoint(sender, template.format(port=listener.port))
        res = enqueue(sender.store, "t1", "test.ping", {"message": "ssrf"},
                      validator=no_validation)
        w = BackgroundWorker(strict, resolve=fake_resolve).start()
        try:
            wait_for(lambda: all(strict.get_delivery("t1", d).status in ("failed", "delivered")
                                 for d, _ in res.deliveries), 20)
        finally:
            w.stop()
        errors = {strict.get_delivery("t1", d).attempts[0].error for d, _ in res.deliveries}
        assert errors == {"destination_refused"}
        assert listener.accepted == 0
    finally:
        listener.close()


def test_guarded_socket_checks_the_address_connected_to() -> None:
    """The connector's last check stands on its own, whatever the parse let through."""
    for addr in (("127.0.0.1", 443), ("169.254.169.254", 80), ("::ffff:10.0.0.1", 443, 0, 0)):
        family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        with pytest.raises(DestinationRefusedError, match="connection to"):
            guarded_socket((family, socket.SOCK_STREAM, 6, "", addr))
    sock = guarded_socket((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443)))
    sock.close()


def test_guarded_connector_refuses_a_loopback_literal_the_parse_did_not_see() -> None:
    """Through aiohttp itself: a connector built as the worker builds it never connects
    to a forbidden address, even for a URL no parse step looked at."""
    import aiohttp

    listener = CountingListener()

    async def go() -> None:
        connector = aiohttp.TCPConnector(resolver=CheckedResolver(fake_resolve),
                                         socket_factory=guarded_socket)
        async with aiohttp.ClientSession(connector=connector) as session:
            with pytest.raises(DestinationRefusedError):
                await session.get(f"http://127.0.0.1:{listener.port}/")

    try:
        asyncio.run(go())
        assert listener.accepted == 0
    finally:
        listener.close()


def test_settings_win_over_a_stored_allow_local(sender: Sender, receiver: Receiver) -> None:
    """Regression: an endpoint registered while local destinations were allowed kept
    reaching http://127.0.0.1 after the settings turned them off."""
    url = receiver.route("/local")
    eid = sender.create_endpoint("t1", url, allow_local=True).endpoint.id
    assert sender.get_endpoint("t1", eid).allow_local
    strict = Sender(sender.config.replace(allow_local=False), store=sender.store,
                    resolve=fake_resolve)
    did = strict.ping("t1", eid).deliveries[0][0]
    w = BackgroundWorker(strict, resolve=fake_resolve).start()
    try:
        wait_for(lambda: strict.get_delivery("t1", did).status not in ("pending", "delivering"),
                 20)
    finally:
        w.stop()
    assert strict.get_delivery("t1", did).status == "failed"
    assert strict.get_delivery("t1", did).attempts[0].error == "destination_refused"
    assert receiver.requests() == []
    assert not strict.allows_local(strict.get_endpoint("t1", eid))
    with pytest.raises(DestinationRefusedError):  # nor can the URL be changed to another
        strict.update_endpoint("t1", eid, url=receiver.url("/other"))
