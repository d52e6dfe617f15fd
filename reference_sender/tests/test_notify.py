"""Notifiers: the log default and SMTP against a local aiosmtpd server."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from hookseal_sender import LogNotifier, Notice, SMTPNotifier

from .conftest import wait_for

NOTICE = Notice("dead_letter", "t1", "ep_1", "https://hooks.example.com/x",
                "delivery dlv_1 was dead-lettered", "dlv_1", "owner@example.com")


class _Handler:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[_Handler, int]]:
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = _Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def test_smtp_notifier(smtp: tuple[_Handler, int]) -> None:
    handler, port = smtp
    SMTPNotifier("127.0.0.1", port, sender="hooks@provider.example").notify(NOTICE)
    wait_for(lambda: handler.messages)
    env = handler.messages[0]
    assert env.rcpt_tos == ["owner@example.com"]
    text = env.content.decode()
    assert "dead letter" in text and "dlv_1" in text and "ep_1" in text


def test_smtp_tenant_wide_notice_names_the_tenant(smtp: tuple[_Handler, int]) -> None:
    handler, port = smtp
    notice = Notice("bulk_replay", "acme", "", "", "We re-sent 47 webhook events",
                    recipient="ops@acme.example")
    SMTPNotifier("127.0.0.1", port).notify(notice)
    wait_for(lambda: handler.messages)
    text = handler.messages[0].content.decode()
    assert "Subject: [hookseal] bulk replay: tenant acme" in text
    assert "We re-sent 47 webhook events" in text and "Endpoint: -" in text


def test_smtp_failure_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        SMTPNotifier("127.0.0.1", 1, timeout=1).notify(NOTICE)
    assert "could not e-mail" in caplog.text


def test_log_notifier(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        LogNotifier().notify(NOTICE)
    assert "dead_letter" in caplog.text and "ep_1" in caplog.text
