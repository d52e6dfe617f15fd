"""The health review on a generated history whose answers are known, and its HTML report."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy
import pytest
from hookseal_sender import Sender
from hookseal_sender.catalog import _catalog
from hookseal_sender.cli import main
from hookseal_sender.errors import InvalidRequestError
from hookseal_sender.review import Review, collect, parse_duration, render_html

from ._history import History, backdate

DAY = 86400.0
#: The review is made at 08:00 UTC; the period is the three days before.
NOW = 20833 * DAY + 8 * 3600
D1 = 20831 * DAY + 10 * 3600   # a day inside the period, 10:00 UTC
D2 = 20832 * DAY + 10 * 3600


async def todays_dns(host: str, port: int) -> Sequence[str]:
    # Since it was registered, public.example.net has moved into a private network.
    return {"hooks.example.com": ["93.184.216.34"], "public.example.net": ["10.0.0.7"]}[host]


@pytest.fixture
def history(sender: Sender) -> dict[str, str]:
    """Four endpoints of three tenants and ten deliveries over two days of the period."""
    def endpoint(tenant: str, url: str, types: list[str], age_days: float,
                 keys_age_days: float | None = None) -> str:
        ep = sender.create_endpoint(tenant, url, event_types=types).endpoint.id
        backdate(sender, ep, NOW - age_days * DAY,
                 None if keys_age_days is None else NOW - keys_age_days * DAY)
        return ep

    eps = {
        "a": endpoint("acme", "https://hooks.example.com/a", ["invoice.paid", "invoice.created"], 10),
        "a2": endpoint("acme", "https://hooks.example.com/a2", ["invoice.paid"], 800, 730),
        "g": endpoint("globex", "https://hooks.example.com/g", ["invoice.paid"], 10),
        "i": endpoint("initech", "https://public.example.net/i", ["customer.created"], 10),
    }
    h = History()
    # Before the period: not counted.
    h.delivery("acme", eps["a"], "invoice.paid", NOW - 5 * DAY, [(0, 503, 9000)], "dead_lettered")
    # Day 1: acme 3 delivered at once, 1 after a retry; globex 2 dead-lettered after 3 tries.
    for latency in (100, 200, 300):
        h.delivery("acme", eps["a"], "invoice.paid", D1, [(0, 200, latency)], "delivered")
    h.delivery("acme", eps["a"], "invoice.paid", D1, [(0, 503, 50), (60, 200, 400)], "delivered")
    for _ in range(2):
        h.delivery("globex", eps["g"], "invoice.paid", D1,
                   [(0, 503, 1000), (60, 503, 1000), (120, 503, 1000)], "dead_lettered")
    # Day 2: acme 2 and initech 1 delivered at once; globex 1 dead-lettered after 2 tries;
    # two refund.created events nobody subscribes to.
    for _ in range(2):
        h.delivery("acme", eps["a"], "invoice.created", D2, [(0, 200, 100)], "delivered")
    h.delivery("initech", eps["i"], "customer.created", D2, [(0, 200, 500)], "delivered")
    h.delivery("globex", eps["g"], "invoice.paid", D2, [(0, 503, 2000), (60, 503, 2000)],
               "dead_lettered")
    h.event("acme", "refund.created", D2)
    h.event("acme", "refund.created", D2)
    h.write(sender)
    return eps


@pytest.fixture
def review(sender: Sender, history: dict[str, str]) -> Review:
    return collect(sender, parse_duration("3d"), now=NOW, resolve=todays_dns)


def test_volume_success_and_dead_letters(review: Review) -> None:
    assert (review.since, review.until) == (NOW - 3 * DAY, NOW)
    assert review.deliveries == 10 and review.dead_lettered == 3
    assert review.dead_letter_rate == pytest.approx(0.3)
    assert review.attempts == 7 + 8 + 1
    assert (review.first_attempts, review.first_delivered) == (10, 6)
    assert review.first_success_rate == pytest.approx(0.6)
    d1, d2 = review.days
    assert (d1.start, d2.start) == (20831 * DAY, 20832 * DAY)
    assert (d1.deliveries, d1.dead_lettered, d1.first_attempts, d1.first_delivered) == (6, 2, 6, 3)
    assert (d2.deliveries, d2.dead_lettered, d2.first_attempts, d2.first_delivered) == (4, 1, 4, 3)
    # 50 % then 75 %: a quarter better a day, 1.75 a week.
    assert review.success_trend == pytest.approx(0.25 * 7)


def test_p95_latency_per_day_and_overall(review: Review) -> None:
    day1 = [100, 200, 300, 50, 400] + [1000] * 6
    day2 = [100, 100, 500, 2000, 2000]
    d1, d2 = review.days
    assert d1.p95_ms == pytest.approx(numpy.percentile(day1, 95))
    assert d2.p95_ms == pytest.approx(numpy.percentile(day2, 95))
    assert review.p95_ms == pytest.approx(numpy.percentile(day1 + day2, 95))


def test_top_tenants_with_their_endpoints_health(review: Review, history: dict[str, str]) -> None:
    assert [(t.tenant_id, t.deliveries, t.delivered, t.dead_lettered) for t in review.top_tenants] == [
        ("acme", 6, 6, 0), ("globex", 3, 0, 3), ("initech", 1, 1, 0)]
    acme = {e.id: e for e in review.top_tenants[0].endpoints}
    assert set(acme) == {history["a"], history["a2"]}
    a = acme[history["a"]]
    assert (a.attempts, a.delivered, a.status) == (7, 6, "active")
    assert a.success_rate == pytest.approx(6 / 7)
    assert a.p95_ms == pytest.approx(numpy.percentile([100, 200, 300, 50, 400, 100, 100], 95))
    assert a.last_success_at == D2
    assert acme[history["a2"]].attempts == 0 and acme[history["a2"]].p95_ms is None
    assert review.top_tenants[1].endpoints[0].success_rate == 0.0


def test_event_types_and_the_ones_nobody_subscribes_to(review: Review) -> None:
    assert [(e.type, e.events, e.unrouted) for e in review.event_types] == [
        ("invoice.paid", 7, 0), ("invoice.created", 2, 0), ("refund.created", 2, 2),
        ("customer.created", 1, 0)]
    subscribed = {"invoice.paid", "invoice.created", "customer.created"}
    expected = sorted(set(_catalog().events) - subscribed - {"test.ping"})
    assert review.unsubscribed_types == expected and "refund.created" in expected


def test_old_secrets_stale_refused_and_dead_endpoints(review: Review,
                                                      history: dict[str, str]) -> None:
    assert [(f.endpoint_id, f.at) for f in review.unrotated] == [(history["a2"], NOW - 730 * DAY)]
    assert {(f.endpoint_id, f.detail) for f in review.stale} == {
        (history["a2"], "no attempt in the period"),
        (history["g"], "8 attempts, none delivered")}
    (refused,) = review.refused
    assert refused.endpoint_id == history["i"] and "10.0.0.7" in refused.detail
    assert [f.endpoint_id for f in review.dead_endpoints] == [history["g"]]
    # globex: 2 deliveries x 2 retries of 1 s, and 1 retry of 2 s.
    assert (review.dead_attempts, review.dead_retry_attempts) == (8, 5)
    assert review.dead_retry_seconds == pytest.approx(6.0)


def test_a_subscriber_to_everything_leaves_no_type_unsubscribed(sender: Sender,
                                                               history: dict[str, str]) -> None:
    sender.create_endpoint("hooli", "https://hooks.example.com/all")
    assert collect(sender, 3 * DAY, now=NOW, resolve=todays_dns).unsubscribed_types == []


def test_an_empty_period(sender: Sender, history: dict[str, str]) -> None:
    empty = collect(sender, DAY, now=NOW - 10 * DAY, resolve=todays_dns)
    assert empty.deliveries == 0 and empty.days == [] and empty.first_success_rate is None
    assert empty.p95_ms is None and empty.success_trend is None and empty.top_tenants == []
    assert "No deliveries in the period." in render_html(empty)


@pytest.mark.parametrize("text, seconds", [("90d", 90 * DAY), ("12h", 43200.0), ("2w", 14 * DAY),
                                           ("30m", 1800.0), (" 1.5d ", 1.5 * DAY)])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "90", "d", "0d", "-1d", "90y", "1d2h"])
def test_parse_duration_refuses_anything_else(text: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_duration(text)
    assert info.value.code == "invalid_request"


# The report ------------------------------------------------------------------------------
def test_the_report_is_self_contained_with_every_section(review: Review,
                                                         history: dict[str, str]) -> None:
    page = render_html(review)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "<script" not in page
    images = re.findall(r'<img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)" alt="([^"]+)"', page)
    assert [alt for _, alt in images] == [
        "Deliveries per day", "First-attempt success rate per day", "p95 latency per day",
        "Dead-letter rate per day", "Highest-volume event types"]
    for data, _ in images:
        svg = base64.b64decode(data).decode()
        assert svg.startswith("<?xml") and "<svg" in svg and "http://www.w3.org" in svg
        assert "<image" not in svg and "xlink:href=\"http" not in svg
    for section in ("summary", "trends", "tenants", "event-types", "unrotated", "stale",
                    "refused", "dead-endpoints"):
        assert f'<section id="{section}">' in page
    text = re.sub(r"<[^>]+>", " ", page)
    text = " ".join(text.split())
    assert "First-attempt success 60.0% +175.00 points a week" in text
    assert "Dead-letter rate 30.0% 3 dead-lettered" in text
    assert "Retries to dead endpoints 6.0 s 5 retries to 1 endpoints" in text
    assert f"{history['i']} initech https://public.example.net/i" in text
    assert "refund.created 2 2" in text


def test_the_report_escapes_what_tenants_chose(sender: Sender, history: dict[str, str]) -> None:
    store: Any = sender.store
    with store.transaction() as conn:
        store._exec(conn, "UPDATE endpoints SET tenant_id = ?, url = ? WHERE id = ?",
                    ["<script>alert(1)</script>", "https://hooks.example.com/<b>x</b>",
                     history["g"]])
    page = render_html(collect(sender, 3 * DAY, now=NOW, resolve=todays_dns))
    assert "<script>" not in page and "<b>x</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_same_review_renders_the_same_bytes(review: Review) -> None:
    assert render_html(review) == render_html(review)


def test_review_command_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--dir", str(tmp_path)]) == 0
    settings = str(tmp_path / "hookseal-sender.json")
    out = tmp_path / "review.html"
    assert main(["--config", settings, "review", "--since", "90d", "--out", str(out)]) == 0
    assert "Health review of 0 deliveries written to" in capsys.readouterr().out
    assert out.read_text().startswith("<!doctype html>")
    assert main(["--config", settings, "review", "--since", "forever", "--out", str(out)]) == 1
    assert "error (invalid_request): not a duration: 'forever'" in capsys.readouterr().out


@pytest.mark.browser
def test_the_report_opens_offline_in_a_real_browser(sender: Sender, tmp_path: Path) -> None:
    import os
    import shutil
    import time

    from ._history import generate
    from .test_portal_browser import ARGS, CHROMIUM, _playwright

    sync_playwright = _playwright()
    now = time.time()
    generate(sender, 6000, now=now, days=90, tenants=24)
    out = tmp_path / "review.html"
    out.write_text(render_html(collect(sender, 90 * DAY, now=now)))
    requested: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1200, "height": 900}, offline=True)
        page = context.new_page()
        page.on("request", lambda r: requested.append(r.url))
        page.goto(out.as_uri())
        widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.complete && i.naturalWidth)")
        assert len(widths) == 5 and all(w and w > 300 for w in widths), widths
        artifacts = Path(__file__).resolve().parents[2] / "artifacts" / "review"
        artifacts.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(artifacts / "review.png"), full_page=False)
        browser.close()
    # The page itself and its inline images: nothing fetched from anywhere else.
    assert all(u.startswith(("file://", "data:")) for u in requested), requested
    if os.environ.get("HOOKSEAL_UPDATE_SCREENSHOTS") == "1":
        docs = Path(__file__).resolve().parents[2] / "docs" / "assets" / "review"
        docs.mkdir(parents=True, exist_ok=True)
        shutil.copy(artifacts / "review.png", docs / "review.png")


def test_without_matplotlib_the_report_says_what_to_install(
        review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from hookseal_sender.errors import ConfigError

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    with pytest.raises(ConfigError, match=r"pip install 'hookseal-sender\[review\]'"):
        render_html(review)
