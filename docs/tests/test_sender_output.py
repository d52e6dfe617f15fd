"""The sender's documented output (docs/sender.md, "What serve prints and logs" and
"Tables, --json and typos") names exactly the fields the code writes."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

PAGE = Path(__file__).resolve().parents[1] / "sender.md"


def _documented(first_cell: str) -> set[str]:
    """The field names in the table row whose first cell is ``first_cell``: the
    backticked names outside parentheses (those hold example values)."""
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] == first_cell:
            text, depth, kept = cells[1], 0, []
            for ch in text:
                depth += ch == "("
                if depth == 0:
                    kept.append(ch)
                depth -= ch == ")" and depth > 0
            return set(re.findall(r"`([a-z_]+)`", "".join(kept)))
    raise AssertionError(f"no row {first_cell!r} in {PAGE.name}")


def test_attempt_log_fields() -> None:
    from hookseal_sender._attempt import log_attempt
    from hookseal_sender.models import Attempt, AttemptResult, Claimed

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    log = logging.getLogger("hookseal_sender.delivery")
    level = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        log_attempt(Claimed("dlv_1", "acme", "ep_1", "invoice.paid", 0, 0, "{}", 1, "evt_1"),
                    AttemptResult("dlv_1", "ep_1", Attempt(1, 0.0, 200, None, 1.0), "delivered",
                                  None, 1))
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    [record] = records
    fields = set(record.fields) - {"event"}  # type: ignore[attr-defined]
    assert _documented("`attempt`") == fields


def test_serving_fields() -> None:
    from hookseal_sender._cli_serve import start_info
    from hookseal_sender.config import SenderConfig

    info = start_info("http://127.0.0.1:8090", SimpleNamespace(config=SenderConfig()),  # type: ignore[arg-type]
                      {"allow_local": False}, True,
                      SimpleNamespace(level="info", format="text"))  # type: ignore[arg-type]
    assert _documented("`serving`") == set(info) - {"event"}


def test_breaker_fields() -> None:
    import inspect

    from hookseal_sender import _health

    source = inspect.getsource(_health.EndpointHealth._breaker_changed)
    names = set(re.findall(r"(\w+)=", source.split("fields(", 1)[1])) - {"event"}
    assert _documented("`breaker`") == names


@pytest.mark.parametrize(("row", "model"), [
    ("`deliveries list --json`", "Delivery"),
    ("`endpoints list --json`", "Endpoint"),
])
def test_json_output_fields(row: str, model: str) -> None:
    import dataclasses

    from hookseal_sender import models

    names = {f.name for f in dataclasses.fields(getattr(models, model))} - {"allow_local"}
    documented = _documented(row) - {"endpoints", "deliveries", "next_cursor"}
    assert documented == names


def test_show_json_attempt_fields() -> None:
    import dataclasses

    from hookseal_sender.models import Attempt

    text = PAGE.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `deliveries show"))
    listed = set(re.findall(r"`([a-z_]+)`", row.split("each", 1)[1]))
    assert listed == {f.name for f in dataclasses.fields(Attempt)}
