"""_suggest: what is allowed, and the closest allowed value."""

from __future__ import annotations

from hookseal_sender._suggest import LISTED, closest, unknown


def test_closest_finds_typos_and_nothing_for_unrelated_text() -> None:
    types = ["invoice.paid", "invoice.created", "customer.created"]
    assert closest("invoice.payed", types) == "invoice.paid"
    assert closest("INVOICE.PAID", types) == "invoice.paid"
    assert closest("zzz", types) is None


def test_unknown_lists_the_allowed_values_and_counts_the_rest() -> None:
    assert unknown("profile", "stripe", ["hookseal-v1", "standard-webhooks"]) == \
        "unknown profile 'stripe' (profiles: hookseal-v1, standard-webhooks)"
    assert unknown("status", "faild", ["failed", "pending"], plural="statuses") == \
        "unknown status 'faild'; did you mean failed? (statuses: failed, pending)"
    many = [f"type.{i:02d}" for i in range(LISTED + 5)]
    assert unknown("event type", "x", many).endswith(f"type.{LISTED - 1:02d} and 5 more)")
