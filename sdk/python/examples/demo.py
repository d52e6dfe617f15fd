"""The SDK demo: sign a sample event, verify it, then show every kind of rejection.

Run with ``make demo`` (before the reference sender existed this was the whole demo; it
is still the quickest tour of the verifier).
"""

from __future__ import annotations

import json
import time

import hookseal

SECRET = hookseal.generate_secret()
EVENT = {
    "id": "evt_demo_1",
    "type": "invoice.paid",
    "created": int(time.time()),
    "data": {"invoice_id": "in_1", "amount": 1999, "currency": "usd"},
}


def attempt(title: str, body: bytes, headers: dict[str, str], webhook: hookseal.Webhook) -> None:
    try:
        event = webhook.construct_event(body, headers)
    except hookseal.HooksealError as exc:
        print(f"  rejected  {exc.code:<22} {title}")
    else:
        print(f"  accepted  {event['type']:<22} {title}")


def main() -> None:
    body = json.dumps(EVENT, separators=(",", ":")).encode()
    now = int(time.time())
    headers = hookseal.sign(body, SECRET, msg_id="msg_demo_1", event_type="invoice.paid")
    print("Signed headers:")
    for name, value in headers.items():
        print(f"  {name}: {value}")
    wh = hookseal.Webhook(SECRET)
    print("\nVerification:")
    attempt("the delivery as sent", body, headers, wh)
    attempt("body tampered with", body.replace(b"1999", b"1"), headers, wh)
    attempt("signed with another secret", body, hookseal.sign(body, hookseal.generate_secret()), wh)
    attempt("no signature header", body, {}, wh)
    attempt("garbage signature header", body, {"Hookseal-Signature": "v1=abc"}, wh)
    attempt("replayed an hour later", body, hookseal.sign(body, SECRET, timestamp=now - 3600), wh)
    attempt("timestamp from the future", body, hookseal.sign(body, SECRET, timestamp=now + 3600), wh)
    old, new = hookseal.generate_secret(), SECRET
    rotated = hookseal.sign(body, [old, new])
    attempt("rotation: signed with old and new secret", body, rotated, wh)
    attempt("not a JSON object (invalid_payload)", b"[1,2,3]", hookseal.sign(b"[1,2,3]", SECRET), wh)
    std = hookseal.Webhook(SECRET, profile="standard-webhooks")
    attempt(
        "standard-webhooks profile",
        body,
        hookseal.sign(body, SECRET, profile="standard-webhooks", msg_id="msg_demo_1"),
        std,
    )


if __name__ == "__main__":
    main()
