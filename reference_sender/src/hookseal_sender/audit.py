"""The audit log: who replayed, cancelled or rotated what, and why."""

from __future__ import annotations

import time
from typing import Any

from . import _inputs as inputs
from .models import AuditEntry, new_id
from .storage import Store

__all__ = ["AuditLog"]


class AuditLog:
    """Appends checked entries to the store's audit log.

    Args:
        store: The store.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def record(self, tenant_id: str, actor: str, action: str, reason: str,
               target: dict[str, Any]) -> None:
        """Append to the audit log.

        Args:
            tenant_id: The tenant.
            actor: Who.
            action: What.
            reason: Why.
            target: Details.

        Raises:
            InvalidRequestError: The tenant, actor or action is not a name, or the reason
                is not text.
        """
        inputs.check_name(tenant_id, "tenant")
        inputs.check_name(actor, "actor", inputs.MAX_ACTOR)
        inputs.check_name(action, "action")
        inputs.check_text(reason, "reason", inputs.MAX_REASON, multiline=True)
        self.store.add_audit(AuditEntry(new_id("aud"), tenant_id, actor, action, reason,
                                        target, time.time()))
