"""The command line's check of ``--tenant``: a tenant id is free text to the library, so
a typo would silently show an empty list; commands that act on an existing tenant refuse
one that has no endpoints, with the closest known tenant."""

from __future__ import annotations

import argparse
from typing import Optional

from ._suggest import unknown
from .errors import NotFoundError
from .sender import Sender

#: ``(command, action)`` pairs that may name a tenant with no endpoints yet (they start
#: one), besides the commands that take no tenant at all.
_STARTS_TENANT = {("endpoints", "add")}
#: Commands that act on an existing tenant's endpoints or deliveries. (``send`` is not
#: one: an event for a tenant with no endpoints yet is legitimate; it warns instead.)
_USES_TENANT = {"endpoints", "deliveries"}


def check_tenant(args: argparse.Namespace, sender: Sender) -> None:
    """Refuse a ``--tenant`` that has no endpoints for a command that needs one.

    Args:
        args: Parsed arguments (``command``, ``action``, ``tenant``).
        sender: The sender.

    Raises:
        NotFoundError: The tenant has no endpoints (deleted ones count); the message
            lists the known tenants and the closest to the one given.
    """
    if args.command not in _USES_TENANT \
            or (args.command, getattr(args, "action", None)) in _STARTS_TENANT:
        return
    problem = unknown_tenant(sender, args.tenant)
    if problem is not None:
        raise NotFoundError(problem)


def unknown_tenant(sender: Sender, tenant: str) -> Optional[str]:
    """Why ``tenant`` is unknown (it has no endpoints, deleted ones included), or ``None``.

    Args:
        sender: The sender.
        tenant: The tenant id.

    Returns:
        The message, listing the known tenants and the closest one, or ``None``.
    """
    store = sender.store
    if store.list_endpoints(tenant, include_deleted=True):
        return None
    known = sorted({ep.tenant_id for ep in store.all_endpoints()})
    if not known:
        return (f"unknown tenant {tenant!r}: no tenant has endpoints yet; a tenant starts "
                "with its first endpoint (endpoints add)")
    return unknown("tenant", tenant, known) + "; a tenant starts with its first endpoint " \
        "(endpoints add)"
