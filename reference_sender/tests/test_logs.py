"""_logs: the text and JSON line formats of ``serve`` and the level it filters at."""

from __future__ import annotations

import io
import json
import logging
import logging.handlers
import re
from collections.abc import Iterator

import pytest
from hookseal_sender._logs import (
    DELIVERY_LOGGER,
    JsonFormatter,
    TextFormatter,
    fields,
    setup_logging,
)


def _record(msg: str = "delivery %s delivered", *args: object, exc: bool = False,
            **values: object) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            import sys
            info = sys.exc_info()
    record = logging.LogRecord(DELIVERY_LOGGER, logging.INFO, __file__, 1, msg,
                               args or ("dlv_1",), info)
    record.created = 1796620691.25
    if values:
        record.fields = values  # type: ignore[attr-defined]
    return record


def test_json_lines_carry_the_documented_fields() -> None:
    line = JsonFormatter().format(_record(event="attempt", delivery_id="dlv_1",
                                          http_status=200, error=None, latency_ms=1.5))
    assert "\n" not in line
    assert json.loads(line) == {
        "time": "2026-12-07T05:18:11.250Z", "level": "info", "logger": DELIVERY_LOGGER,
        "message": "delivery dlv_1 delivered", "event": "attempt", "delivery_id": "dlv_1",
        "http_status": 200, "error": None, "latency_ms": 1.5}


def test_json_keeps_the_traceback_apart_and_fields_cannot_replace_the_base_ones() -> None:
    out = json.loads(JsonFormatter().format(_record(exc=True, level="forged")))
    assert out["level"] == "info" and out["message"] == "delivery dlv_1 delivered"
    assert out["exception"].startswith("Traceback") and "RuntimeError: boom" in out["exception"]


def test_text_lines_are_key_value_with_awkward_values_quoted() -> None:
    line = TextFormatter().format(_record(delivery_id="dlv_1", error=None, url="http://x/ y",
                                          attempt=2))
    assert line == ('2026-12-07T05:18:11.250Z INFO    hookseal_sender.delivery delivery dlv_1 '
                    'delivered delivery_id=dlv_1 url="http://x/ y" attempt=2')


@pytest.fixture
def clean_logging() -> Iterator[None]:
    root, ours = logging.getLogger(), logging.getLogger("hookseal_sender")
    saved = root.level, ours.level, list(root.handlers)
    yield
    root.setLevel(saved[0])
    ours.setLevel(saved[1])
    root.handlers[:] = saved[2]


@pytest.mark.usefixtures("clean_logging")
def test_setup_filters_by_level_and_writes_one_json_object_per_line() -> None:
    stream = io.StringIO()
    logs = setup_logging("info", "json", stream)
    logging.getLogger(DELIVERY_LOGGER).info("kept %d", 1, extra=fields(attempt=1))
    logging.getLogger("hookseal_sender.worker").debug("dropped: below info")
    logging.getLogger("aiohttp.client").info("dropped: other libraries log warnings only")
    logging.getLogger("uvicorn.error").warning("kept too")
    logs.close()  # writes what is queued
    lines = [json.loads(s) for s in stream.getvalue().splitlines()]
    assert [(x["logger"], x["message"]) for x in lines] == [
        (DELIVERY_LOGGER, "kept 1"), ("uvicorn.error", "kept too")]
    assert lines[0]["attempt"] == 1
    assert not any(isinstance(h, logging.handlers.QueueHandler)
                   for h in logging.getLogger().handlers)


def test_close_puts_the_levels_back() -> None:
    root, ours = logging.getLogger(), logging.getLogger("hookseal_sender")
    before = root.level, ours.level, logging.logThreads
    setup_logging("debug", "text", io.StringIO()).close()
    assert (root.level, ours.level, logging.logThreads) == before


@pytest.mark.usefixtures("clean_logging")
def test_setup_at_warning_makes_an_attempt_line_cost_one_level_check() -> None:
    stream = io.StringIO()
    logs = setup_logging("warning", "text", stream)
    try:
        assert not logging.getLogger(DELIVERY_LOGGER).isEnabledFor(logging.INFO)
        logging.getLogger("hookseal_sender.store").warning("database unreachable")
    finally:
        logs.close()
    assert re.fullmatch(r"\S+Z WARNING hookseal_sender.store database unreachable\n",
                        stream.getvalue())


def test_unknown_level_or_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        setup_logging("loud")
    with pytest.raises(ValueError, match="unknown log format 'xml'"):
        setup_logging("info", "xml")


@pytest.mark.usefixtures("clean_logging")
def test_other_handlers_still_get_the_traceback() -> None:
    stream = io.StringIO()
    logs = setup_logging("info", "json", stream)
    seen: list[logging.LogRecord] = []
    later = logging.Handler()
    later.emit = seen.append  # type: ignore[method-assign]
    logging.getLogger().addHandler(later)
    try:
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logging.getLogger("hookseal_sender.worker").exception("attempt %s crashed", "dlv_1")
    finally:
        logging.getLogger().removeHandler(later)
        logs.close()
    assert seen[0].exc_info is not None and seen[0].args == ("dlv_1",)
    written = json.loads(stream.getvalue())
    assert written["message"] == "attempt dlv_1 crashed" and "boom" in written["exception"]
