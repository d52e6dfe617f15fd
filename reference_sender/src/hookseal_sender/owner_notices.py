"""What tenants' owners are told besides dead letters: the templates, thresholds and the
telling itself (through the notifier, each message in the tenant's audit log).

Owners are the ``notify_email`` addresses of a tenant's endpoints: a tenant-wide notice
goes once to each distinct address, and once without a recipient (the notifier's
fallback) for the endpoints that name no address.

The provider changes the messages and thresholds in the settings file's
``owner_notices`` object (see :meth:`OwnerNoticePolicy.from_settings`); each template is
``str.format`` text using only its kind's placeholders (:data:`PLACEHOLDERS`).
"""

from __future__ import annotations

import datetime as dt
import logging
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from .errors import ConfigError, InvalidRequestError
from .models import DeliveryFilter, Endpoint
from .notify import Notice

__all__ = ["DEFAULT_TEMPLATES", "PLACEHOLDERS", "OwnerNoticePolicy", "check_template",
           "notify_bulk_replay", "replay_period", "tell_owners"]

logger = logging.getLogger("hookseal_sender.notify")

#: The default message of each notice kind.
DEFAULT_TEMPLATES: dict[str, str] = {
    "bulk_replay": ("We re-sent {count} webhook events from {period}; check your endpoint "
                    "for duplicates (a re-sent event keeps its event id)."),
    "endpoint_down": ("Your webhook endpoint {url} has been failing since {since} "
                      "({hours} hours). We keep retrying; please check it."),
    "tenant_failing": ("{failure_percent}% of webhook deliveries to your endpoints failed in "
                       "the last hour ({failures} of {attempts} attempts); please check them."),
    "endpoint_stale": ("Your webhook endpoint {url} had no successful delivery for {days} "
                       "days, so we paused it. Resume it once it accepts deliveries again."),
}

#: The placeholders each kind's template may use.
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "bulk_replay": frozenset({"count", "period", "reason", "tenant"}),
    "endpoint_down": frozenset({"url", "endpoint", "since", "hours", "tenant"}),
    "tenant_failing": frozenset({"failure_percent", "failures", "attempts", "tenant"}),
    "endpoint_stale": frozenset({"url", "endpoint", "days", "last_delivered", "tenant"}),
}

#: Longest template.
MAX_TEMPLATE = 2000


def check_template(kind: str, template: Any) -> str:
    """Check a notice template: text whose ``{placeholders}`` are all known for ``kind``.

    Only plain ``{name}`` fields are allowed (no attribute access, index or format spec),
    so a template can never reach into the values it is given.

    Args:
        kind: The notice kind (a key of :data:`PLACEHOLDERS`).
        template: The template.

    Returns:
        The template.

    Raises:
        InvalidRequestError: Not text, too long, malformed, or a placeholder the kind
            does not have.
    """
    allowed = PLACEHOLDERS[kind]
    if not isinstance(template, str) or not template.strip() or len(template) > MAX_TEMPLATE:
        raise InvalidRequestError(f"the {kind} template must be text of 1 to {MAX_TEMPLATE}"
                                  " characters")
    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(template)
                  if name is not None]
    except ValueError as exc:
        raise InvalidRequestError(f"the {kind} template is malformed: {exc}") from None
    for name, spec, conv in fields:
        if name not in allowed or spec or conv:
            raise InvalidRequestError(
                f"the {kind} template uses {{{name}}}; it may use only "
                + ", ".join(f"{{{p}}}" for p in sorted(allowed)))
    return template


def _number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not low <= value <= high:
        raise ConfigError(f"settings field 'owner_notices': {name} must be a number from "
                          f"{low:g} to {high:g}")
    return float(value)


@dataclass(frozen=True)
class OwnerNoticePolicy:
    """When owners are told, and in what words.

    Attributes:
        templates: Each kind's message (defaults: :data:`DEFAULT_TEMPLATES`).
        endpoint_down_after: Seconds an endpoint must have been failing before its owner
            is told (once per failing streak).
        tenant_failure_rate: A tenant whose share of failed attempts in the last hour is
            above this is failing (its owner is told once; the episode ends when the
            share falls to half of this or the tenant makes no attempt for an hour).
        tenant_min_attempts: Fewest attempts in the hour before a tenant's share counts.
        stale_after_days: An active endpoint attempted but not delivered to for this many
            days is paused and its owner told (0: never).
        check_interval: Seconds between the checks that workers run.
    """

    templates: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_TEMPLATES))
    endpoint_down_after: float = 24 * 3600.0
    tenant_failure_rate: float = 0.5
    tenant_min_attempts: int = 20
    stale_after_days: float = 90.0
    check_interval: float = 60.0

    def template(self, kind: str) -> str:
        """The template of a notice kind."""
        return self.templates.get(kind, DEFAULT_TEMPLATES[kind])

    @classmethod
    def from_settings(cls, settings: Optional[Mapping[str, Any]]) -> OwnerNoticePolicy:
        """The policy from the settings file's ``owner_notices`` object.

        Args:
            settings: Keys ``templates`` (an object: kind to template; kinds left out
                keep their default), ``endpoint_down_hours``, ``tenant_failure_percent``,
                ``tenant_min_attempts``, ``stale_after_days``, ``check_interval_seconds``.

        Returns:
            The policy.

        Raises:
            ConfigError: An unknown key or kind, a bad template or number.
        """
        s = dict(settings or {})
        known = {"templates", "endpoint_down_hours", "tenant_failure_percent",
                 "tenant_min_attempts", "stale_after_days", "check_interval_seconds"}
        unknown = sorted(set(s) - known)
        if unknown:
            raise ConfigError(f"settings field 'owner_notices': unknown key {unknown[0]!r} "
                              f"(known: {', '.join(sorted(known))})")
        raw = s.get("templates", {})
        if not isinstance(raw, dict):
            raise ConfigError("settings field 'owner_notices': templates must be an object")
        templates = dict(DEFAULT_TEMPLATES)
        for kind, text in raw.items():
            if kind not in DEFAULT_TEMPLATES:
                raise ConfigError(f"settings field 'owner_notices': no notice kind {kind!r} "
                                  f"(kinds: {', '.join(DEFAULT_TEMPLATES)})")
            try:
                templates[kind] = check_template(kind, text)
            except InvalidRequestError as exc:
                raise ConfigError(f"settings field 'owner_notices': {exc.detail}") from None
        min_attempts = s.get("tenant_min_attempts", 20)
        if isinstance(min_attempts, bool) or not isinstance(min_attempts, int) \
                or min_attempts < 1:
            raise ConfigError("settings field 'owner_notices': tenant_min_attempts must be "
                              "a positive integer")
        return cls(
            templates=templates,
            endpoint_down_after=_number(s.get("endpoint_down_hours", 24), "endpoint_down_hours",
                                        0, 24 * 365) * 3600,
            tenant_failure_rate=_number(s.get("tenant_failure_percent", 50),
                                        "tenant_failure_percent", 0, 100) / 100,
            tenant_min_attempts=min_attempts,
            stale_after_days=_number(s.get("stale_after_days", 90), "stale_after_days", 0,
                                     3650),
            check_interval=_number(s.get("check_interval_seconds", 60),
                                   "check_interval_seconds", 1, 86400))


def _owners(endpoints: Sequence[Endpoint]) -> list[tuple[Optional[str], list[Endpoint]]]:
    """The endpoints grouped by owner address (``None``: no address; notifier fallback)."""
    groups: dict[Optional[str], list[Endpoint]] = {}
    for ep in endpoints:
        groups.setdefault(ep.notify_email, []).append(ep)
    return sorted(groups.items(), key=lambda g: g[0] or "") or [(None, [])]


def tell_owners(notifier: Any, audit: Any, kind: str, tenant_id: str,
                message: str, *, endpoints: Sequence[Endpoint], actor: str,
                reason: str) -> list[Optional[str]]:
    """Tell a tenant's owners something through the notifier, and audit the message.

    One notice goes to each distinct ``notify_email`` of ``endpoints`` (a notice about a
    single endpoint names it and its URL). The audit entry (action ``owner_notice``)
    holds the kind, the message, the recipients and the endpoints.

    Args:
        notifier: The sender's notifier.
        audit: The :class:`~hookseal_sender.audit.AuditLog`.
        kind: The notice kind.
        tenant_id: The tenant.
        message: The rendered message.
        endpoints: The endpoints it is about (their owners are told).
        actor: Who caused it (audit log).
        reason: Why (audit log).

    Returns:
        The recipients told (``None`` for the notifier's fallback).
    """
    told: list[Optional[str]] = []
    failed: list[str] = []
    for recipient, eps in _owners(endpoints):
        one = eps[0] if len(eps) == 1 else None
        notice = Notice(kind, tenant_id, one.id if one else "", one.url if one else "",
                        message, recipient=recipient)
        try:
            notifier.notify(notice)
            told.append(recipient)
        except Exception as exc:  # a notifier must not stop the others, nor the caller
            logger.exception("notifier failed for %s notice to tenant %s", kind, tenant_id)
            failed.append(f"{recipient or 'fallback'}: {type(exc).__name__}")
    audit.record(tenant_id, actor, "owner_notice", reason,
                 {"kind": kind, "message": message, "recipients": told,
                  "endpoint_ids": [ep.id for ep in endpoints], "failed": failed})
    return told


def _utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def replay_period(flt: DeliveryFilter) -> str:
    """The ``{period}`` of a bulk replay notice: the filter's time range in words.

    Args:
        flt: The replay's filter.

    Returns:
        ``"2026-12-06 10:00 UTC to 2026-12-06 12:00 UTC"``, ``"after ..."``,
        ``"before ..."`` or ``"an earlier period"``.
    """
    if flt.since is not None and flt.until is not None:
        return f"{_utc(flt.since)} to {_utc(flt.until)}"
    if flt.since is not None:
        return f"after {_utc(flt.since)}"
    if flt.until is not None:
        return f"before {_utc(flt.until)}"
    return "an earlier period"


def notify_bulk_replay(sender: Any, tenant_id: str, flt: DeliveryFilter,
                       result: Mapping[str, Any], *, actor: str = "api", reason: str = "",
                       template: Optional[str] = None, period: Optional[str] = None,
                       ) -> Optional[str]:
    """Tell a tenant's owners about a confirmed bulk replay (the CLI, the admin API and the
    admin console call this after :meth:`~hookseal_sender.Sender.replay_bulk`).

    Nothing is told for a replay that was not confirmed or replayed nothing. The owners
    are those of the filter's endpoint, or of all the tenant's endpoints.

    Args:
        sender: The sender.
        tenant_id: The tenant.
        flt: The replay's filter.
        result: What ``replay_bulk`` returned.
        actor: Who replayed (audit log).
        reason: The replay's reason (``{reason}``, and the audit entry's).
        template: This notice's text instead of the settings' ``bulk_replay`` template.
        period: ``{period}`` in words ("yesterday's outage") instead of the filter's times.

    Returns:
        The message told, or ``None``.

    Raises:
        InvalidRequestError: A bad template.
    """
    text = check_template("bulk_replay", template) if template is not None \
        else sender.owner_notices.template("bulk_replay")
    if period is not None:
        from ._inputs import MAX_REASON, check_text

        check_text(period, "period", MAX_REASON)
    if not result.get("confirmed") or not result.get("replayed"):
        return None
    message = text.format(count=result["replayed"], period=period or replay_period(flt),
                          reason=reason, tenant=tenant_id)
    endpoints = sender.list_endpoints(tenant_id)
    if flt.endpoint_id is not None:
        endpoints = [ep for ep in endpoints if ep.id == flt.endpoint_id]
    tell_owners(sender.notifier, sender.audit_log, "bulk_replay", tenant_id,
                message, endpoints=endpoints, actor=actor, reason=reason)
    return message
