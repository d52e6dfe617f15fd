"""The OpenAPI schemas of the 4.3 options agree with the checks that decide, and the
admin API takes and refuses the options with their codes."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hookseal_sender import Sender
from hookseal_sender._subscription_schema import (
    FILTER_SCHEMA,
    HEADERS_SCHEMA,
    RATE_LIMIT_SCHEMA,
    REDACT_SCHEMA,
)


@pytest.mark.parametrize(("schema", "good", "bad"), [
    (HEADERS_SCHEMA, {"X-Team": "billing", "X-Env": "a b\tc"},
     [{"X Bad": "1"}, {"X-A": "a\r\nb"}, {"X-A": " lead"}, {f"X-{i}": "v" for i in range(21)}]),
    (REDACT_SCHEMA, ["/endpoint_id", "/a~1b/*/c"], [["endpoint_id"], ["/a~2"], [""]]),
    (RATE_LIMIT_SCHEMA, 0.5, [0, -1, "5"]),
    (FILTER_SCHEMA, {"/type": {"$eq": "invoice.paid"}}, [[], "x"]),
])
def test_the_schema_takes_what_the_checks_take(schema: dict[str, Any], good: Any,
                                               bad: list[Any]) -> None:
    jsonschema.validate(good, schema)
    jsonschema.validate(None, schema)
    for value in bad:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(value, schema)


def test_the_admin_api_takes_and_refuses_the_options(sender: Sender) -> None:
    from hookseal_sender.api import create_app
    from starlette.testclient import TestClient

    client = TestClient(create_app(sender, {"sk_test": "ci"}))
    auth = {"Authorization": "Bearer sk_test"}
    body = {"url": "https://hooks.example.com/a", "event_types": ["test.ping"],
            "filter": {"/data/message": {"$ne": "quiet"}}, "headers": {"X-Team": "billing"},
            "redact": ["/endpoint_id"], "rate_limit": 3}
    r = client.post("/v1/tenants/t1/endpoints", headers=auth, json=body)
    assert r.status_code == 201, r.text
    ep = r.json()["endpoint"]
    assert {k: ep[k] for k in ("filter", "headers", "redact", "rate_limit")} == {
        "filter": body["filter"], "headers": body["headers"], "redact": body["redact"],
        "rate_limit": 3.0}
    for change, code in [({"filter": {"/a": {"$regex": "x"}}}, "invalid_filter"),
                         ({"headers": {"Host": "x"}}, "invalid_headers"),
                         ({"redact": ["/message"]}, "invalid_redaction"),
                         ({"rate_limit": 0}, "invalid_rate_limit")]:
        r = client.patch(f"/v1/tenants/t1/endpoints/{ep['id']}", headers=auth, json=change)
        assert (r.status_code, r.json()["error"]) == (400, code), r.text
    r = client.patch(f"/v1/tenants/t1/endpoints/{ep['id']}", headers=auth,
                     json={"filter": None, "rate_limit": None})
    assert r.status_code == 200, r.text
    assert (r.json()["endpoint"]["filter"], r.json()["endpoint"]["rate_limit"]) == (None, None)
