"""Telling an endpoint's owner about dead letters, disabled endpoints and the owner notices."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Optional, Protocol

__all__ = ["LogNotifier", "Notice", "Notifier", "SMTPNotifier"]


logger = logging.getLogger("hookseal_sender.notify")


@dataclass(frozen=True)
class Notice:
    """Something an endpoint's owner must hear about.

    Attributes:
        kind: ``dead_letter``, ``endpoint_disabled`` or ``delivery_failed`` (a delivery
            failed without being sent: its endpoint's stored settings cannot be used), or
            one of the owner notices of :mod:`hookseal_sender.owner_notices`
            (``bulk_replay``, ``endpoint_down``, ``tenant_failing``, ``endpoint_stale``).
        tenant_id: The tenant.
        endpoint_id: The endpoint (empty for a notice about several of the tenant's).
        url: The endpoint URL (empty likewise).
        message: A human-readable sentence.
        delivery_id: The dead-lettered delivery, if any.
        recipient: The owner's e-mail address, if known.
    """

    kind: str
    tenant_id: str
    endpoint_id: str
    url: str
    message: str
    delivery_id: Optional[str] = None
    recipient: Optional[str] = None


class Notifier(Protocol):
    """Anything with ``notify(notice)``; called from a worker thread, may block."""

    def notify(self, notice: Notice) -> None:
        """Deliver one notice.

        Args:
            notice: The notice.
        """


class LogNotifier:
    """The default notifier: a warning in the log."""

    def notify(self, notice: Notice) -> None:
        """Log the notice.

        Args:
            notice: The notice.
        """
        logger.warning("%s tenant=%s endpoint=%s delivery=%s: %s", notice.kind,
                       notice.tenant_id, notice.endpoint_id, notice.delivery_id, notice.message)


class SMTPNotifier:
    """E-mails notices to the endpoint's ``notify_email`` (or a fallback address).

    Args:
        host: SMTP server.
        port: SMTP port.
        sender: The From address.
        fallback: Recipient when the endpoint has none.
        starttls: Upgrade with STARTTLS.
        username: Login user, if any.
        password: Login password.
        timeout: Seconds.
    """

    def __init__(
        self, host: str, port: int = 25, *, sender: str = "hookseal@localhost",
        fallback: Optional[str] = None, starttls: bool = False,
        username: Optional[str] = None, password: Optional[str] = None, timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender, self.fallback = host, port, sender, fallback
        self.starttls, self.username, self.password = starttls, username, password
        self.timeout = timeout

    def notify(self, notice: Notice) -> None:
        """Send the notice by e-mail; failures are logged, never raised.

        Args:
            notice: The notice.
        """
        to = notice.recipient or self.fallback
        if not to:
            LogNotifier().notify(notice)
            return
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = to
        about = notice.url or f"tenant {notice.tenant_id}"  # a tenant-wide notice
        msg["Subject"] = f"[hookseal] {notice.kind.replace('_', ' ')}: {about}"
        msg.set_content(
            f"{notice.message}\n\nTenant: {notice.tenant_id}\nEndpoint: "
            f"{notice.endpoint_id or '-'}\nURL: {notice.url or '-'}\n"
            f"Delivery: {notice.delivery_id or '-'}\n"
        )
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException):
            logger.exception("could not e-mail notice %s for %s", notice.kind, notice.endpoint_id)
