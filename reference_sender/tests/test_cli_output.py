"""_cli_output: tables keep every id whole at any width, bodies are pretty, progress bars
only on a terminal."""

from __future__ import annotations

import io

import pytest
from hookseal_sender import _cli_output
from hookseal_sender._cli_output import body, delivery_table, endpoint_table, progress_bar
from hookseal_sender.models import Delivery, Endpoint, new_id
from rich.console import Console


def _render(table: object, width: int) -> str:
    out = Console(file=io.StringIO(), width=width, color_system=None)
    out.print(table)
    return out.file.getvalue()  # type: ignore[attr-defined]


def _deliveries(n: int = 3) -> list[Delivery]:
    return [Delivery(id=new_id("dlv"), tenant_id="acme", event_id=new_id("evt"),
                     endpoint_id=new_id("ep"), event_type="invoice.payment_failed",
                     status="dead_lettered", attempt_count=12, last_status_code=None,
                     last_error="connection_error", created_at=1796620691.0,
                     next_attempt_at=None) for _ in range(n)]


@pytest.mark.parametrize("width", [80, 100, 140, 250])
def test_delivery_ids_are_never_cut(width: int) -> None:
    ds = _deliveries()
    text = _render(delivery_table(ds, width), width)
    assert all(len(line) <= width for line in text.splitlines()), text
    for d in ds:
        row = next(line for line in text.splitlines() if d.id in line)
        assert row.split()[:2] == [d.id, d.endpoint_id]  # both whole, on one line
    assert "…" not in text
    if width >= 140:
        assert "dead_lettered" in text and "invoice.payment_failed" in text


def test_narrower_tables_leave_columns_out_rather_than_cut_ids() -> None:
    ds = _deliveries(1)
    headers = {w: _render(delivery_table(ds, w), w).splitlines()[0].split() for w in (80, 250)}
    assert headers[80] == ["id", "endpoint", "status"]
    assert headers[250] == ["id", "endpoint", "type", "status", "attempts", "last", "next",
                            "attempt", "created"]


def test_long_endpoint_text_wraps_and_the_id_stays_whole() -> None:
    ep = Endpoint(id=new_id("ep"), tenant_id="acme",
                  url="https://hooks.example.com/" + "very-long-path/" * 8,
                  description="the billing system of the customer, " * 4)
    for width in (80, 140):
        text = _render(endpoint_table([ep], width), width)
        assert ep.id in text and all(len(line) <= width for line in text.splitlines())
        assert "https://hooks" in text  # the URL is kept (wrapped), not left out


def test_body_is_indented_json_highlighted_on_a_terminal() -> None:
    payload = '{"id":"evt_1","data":{"amount":1250}}'
    term = Console(file=io.StringIO(), width=80, force_terminal=True, color_system="standard")
    term.print(body(payload))
    shown = term.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b[" in shown  # colours
    plain = _render(body(payload), 80)
    assert plain.splitlines()[:3] == ['{', '  "id": "evt_1",', '  "data": {']
    assert _render(body("not json {"), 80).strip() == "not json {"


def test_progress_bar_draws_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_cli_output.console, "_force_terminal", False)
    assert progress_bar().disable
    monkeypatch.setattr(_cli_output.console, "_force_terminal", True)
    assert not progress_bar().disable
