"""The SQL store's reads of the delivery log: one delivery, filters, pages, counts."""

# Queries are assembled only from constant column lists and generated placeholders;
# every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Optional

from ..models import Attempt, Delivery, DeliveryFilter, id_at
from ._columns import DELIVERY_SELECT, JOINED, STATUS, id_scope, to_delivery
from ._connections import Connections
from .base import DeliveryPage

#: Slack between an id's embedded time and the row's ``created_at``.
ID_SLACK = 60.0
#: Hex digits of the millisecond time at the start of an id, after its ``kind_`` prefix.
_TIME_DIGITS = 12
_HEX = "0123456789abcdef"


def prefix_end(prefix: str) -> Optional[str]:
    """An upper bound (excluded) of the ids that start with ``prefix`` (``[a-z0-9_]``),
    made of letters and digits only so that it holds under any collation, or ``None``
    when there is none."""
    body = prefix
    while body:
        last = body[-1]
        if last in "z_":  # nothing follows it (an id's "_" only ever follows its kind)
            body = body[:-1]
            continue
        bump = "a" if last == "9" else chr(ord(last) + 1)
        return body[:-1] + bump
    return None


def id_time_span(prefix: str) -> Optional[tuple[float, float]]:
    """The creation times (Unix seconds) an id starting with ``prefix`` can carry, or
    ``None`` when the prefix holds no time digits (or what follows ``_`` is not hex).

    Args:
        prefix: ``evt_018c2`` ... (``kind_`` then up to 12 hex digits of milliseconds).
    """
    _, sep, digits = prefix.partition("_")
    digits = digits[:_TIME_DIGITS]
    if not sep or not digits or any(c not in _HEX for c in digits):
        return None
    low = int(digits.ljust(_TIME_DIGITS, "0"), 16) / 1000.0
    high = (int(digits.ljust(_TIME_DIGITS, "f"), 16) + 1) / 1000.0
    return low, high


class DeliveryLog(Connections):
    """Reads of the delivery log, always within a tenant when asked by one."""

    def get_delivery(
        self, tenant_id: Optional[str], delivery_id: str, *, detail: bool = True,
    ) -> Optional[Delivery]:
        """One delivery with its attempts and payload.

        Args:
            tenant_id: The tenant (``None`` only for internal reads).
            delivery_id: The delivery.
            detail: Also read the attempts and the payload.

        Returns:
            The delivery, or ``None``.
        """
        where, params = id_scope(delivery_id, tenant_id, "d.")
        rows = self._read(f"SELECT {DELIVERY_SELECT} FROM {JOINED} WHERE {where}", params)
        if not rows:
            return None
        d = to_delivery(rows[0])
        if detail:
            d.attempts = [
                Attempt(number=r[0], at=r[1], status_code=r[2], error=r[3], latency_ms=r[4],
                        response_headers=json.loads(r[5]), response_body=r[6], outcome=r[7])
                for r in self._read(
                    "SELECT number, at, status_code, error, latency_ms, response_headers,"
                    " response_body, outcome FROM attempts WHERE delivery_id = ?"
                    " ORDER BY number, id", [delivery_id])
            ]
            payload = self._read("SELECT payload FROM events WHERE id = ?", [d.event_id])
            d.payload = payload[0][0] if payload else None
            original = self._read("SELECT payload FROM event_revisions WHERE event_id = ?"
                                  " ORDER BY id LIMIT 1", [d.event_id])
            if original:
                d.corrected, d.original_payload = True, original[0][0]
        return d

    def _filter(self, tenant_id: Optional[str], flt: DeliveryFilter) -> tuple[str, list[Any]]:
        """``WHERE`` text over :data:`JOINED` (``d`` and ``q``) and its parameters."""
        conds: list[str] = []
        params: list[Any] = []
        if tenant_id is not None:
            conds.append("d.tenant_id = ?")
            params.append(tenant_id)
        if flt.endpoint_id:
            conds.append("d.endpoint_id = ?")
            params.append(flt.endpoint_id)
        if flt.event_type:
            conds.append("d.event_type = ?")
            params.append(flt.event_type)
        if flt.event_id:
            conds.append("d.event_id = ?")
            params.append(flt.event_id)
        if flt.status:
            clause, vals = self._in(STATUS, flt.status)
            conds.append(clause)
            params.extend(vals)
        if flt.since is not None:
            conds.append("d.created_at >= ?")
            params.append(flt.since)
        if flt.until is not None:
            conds.append("d.created_at < ?")
            params.append(flt.until)
        for column, prefix in (("d.id", flt.id_prefix), ("d.event_id", flt.event_id_prefix)):
            if prefix:
                # substr decides (no LIKE wildcards, no collation); the range lets the
                # index find the rows.
                conds.append(f"substr({column}, 1, ?) = ?")
                params += [len(prefix), prefix]
                conds.append(f"{column} >= ?")
                params.append(prefix)
                upper = prefix_end(prefix)
                if upper is not None:
                    conds.append(f"{column} < ?")
                    params.append(upper)
        if flt.event_id_prefix:
            # A delivery is created with its event, so both ids begin with the same time:
            # the event id's time digits bound the delivery ids to look at.
            span = id_time_span(flt.event_id_prefix)
            if span is not None:
                conds.append("d.id >= ? AND d.id < ?")
                params += [id_at("dlv", span[0] - ID_SLACK), id_at("dlv", span[1] + ID_SLACK)]
        return " AND ".join(conds) or "1=1", params

    def list_deliveries(
        self, tenant_id: str, flt: DeliveryFilter, *, limit: int = 50,
        before: Optional[str] = None,
    ) -> list[Delivery]:
        """A tenant's deliveries, newest first, paged by id.

        Args:
            tenant_id: The tenant.
            flt: Filters.
            limit: Page size.
            before: Cursor: the last id of the previous page.

        Returns:
            The page.
        """
        where, params = self._filter(tenant_id, flt)
        if before:
            where += " AND d.id < ?"
            params.append(before)
        return [to_delivery(r) for r in self._read(
            f"SELECT {DELIVERY_SELECT} FROM {JOINED} WHERE {where}"
            " ORDER BY d.id DESC LIMIT ?", [*params, limit])]

    def page_deliveries(
        self, tenant_id: str, flt: DeliveryFilter, *, limit: int = 50,
        before: Optional[str] = None, after: Optional[str] = None,
    ) -> DeliveryPage:
        """A page of a tenant's deliveries, newest first, paged by cursor both ways.

        Time ranges become id ranges too (ids start with their creation time), so a page
        costs the same with a million deliveries as with none.

        Args:
            tenant_id: The tenant.
            flt: Filters.
            limit: Page size.
            before: Cursor: deliveries older than this id (the next page).
            after: Cursor: deliveries newer than this id (the previous page).

        Returns:
            The page and the cursors around it.
        """
        return self._page(tenant_id, flt, limit=limit, before=before, after=after)

    def _page(
        self, tenant_id: Optional[str], flt: DeliveryFilter, *, limit: int,
        before: Optional[str], after: Optional[str],
    ) -> DeliveryPage:
        """:meth:`page_deliveries`, within a tenant or (``None``) across all of them."""
        where, params = self._id_range(*self._filter(tenant_id, flt), flt)
        if after:
            rows = self._read(f"SELECT {DELIVERY_SELECT} FROM {JOINED} WHERE {where}"
                              " AND d.id > ? ORDER BY d.id ASC LIMIT ?",
                              [*params, after, limit + 1])
            more_newer = len(rows) > limit
            page = [to_delivery(r) for r in rows[:limit]][::-1]
            older = page[-1].id if page else None
            return DeliveryPage(page, older, page[0].id if page and more_newer else None)
        if before:
            where += " AND d.id < ?"
            params.append(before)
        rows = self._read(f"SELECT {DELIVERY_SELECT} FROM {JOINED} WHERE {where}"
                          " ORDER BY d.id DESC LIMIT ?", [*params, limit + 1])
        page = [to_delivery(r) for r in rows[:limit]]
        older = page[-1].id if len(rows) > limit else None
        newer = page[0].id if before and page else None
        return DeliveryPage(page, older, newer)

    @staticmethod
    def _id_range(where: str, params: list[Any],
                  flt: DeliveryFilter) -> tuple[str, list[Any]]:
        """Bound a time range's id range too: ids begin with their creation time, so the
        primary key's index is scanned over the range only, not the whole log."""
        if flt.since is not None:
            where += " AND d.id >= ?"
            params.append(id_at("dlv", flt.since - ID_SLACK))
        if flt.until is not None:
            where += " AND d.id < ?"
            params.append(id_at("dlv", flt.until + ID_SLACK))
        return where, params

    def search_deliveries(
        self, tenant_id: Optional[str], flt: DeliveryFilter, *, limit: int = 50,
        before: Optional[str] = None, after: Optional[str] = None,
    ) -> DeliveryPage:
        """:meth:`page_deliveries` for the operator: one tenant's, or every tenant's.

        Args:
            tenant_id: The tenant, or ``None`` for all of them.
            flt: Filters.
            limit: Page size.
            before: Cursor: deliveries older than this id.
            after: Cursor: deliveries newer than this id.

        Returns:
            The page and the cursors around it.
        """
        return self._page(tenant_id, flt, limit=limit, before=before, after=after)

    def select_for_replay(self, tenant_id: Optional[str], flt: DeliveryFilter,
                          limit: int) -> list[tuple[str, str]]:
        """``(delivery_id, tenant_id)`` of the deliveries matching a filter, oldest first,
        in one tenant or (``None``) across all of them.

        Args:
            tenant_id: The tenant, or ``None``.
            flt: Filters.
            limit: Most rows.

        Returns:
            The rows.
        """
        where, params = self._filter(tenant_id, flt)
        where, params = self._id_range(where, params, flt)
        return [(r[0], r[1]) for r in self._read(
            f"SELECT d.id, d.tenant_id FROM {JOINED} WHERE {where} ORDER BY d.id LIMIT ?",
            [*params, limit])]

    def select_ids(self, tenant_id: str, flt: DeliveryFilter, limit: int) -> list[str]:
        """Ids of a tenant's deliveries matching a filter, oldest first.

        Args:
            tenant_id: The tenant.
            flt: Filters.
            limit: Most ids.

        Returns:
            The ids.
        """
        where, params = self._filter(tenant_id, flt)
        return [r[0] for r in self._read(
            f"SELECT d.id FROM {JOINED} WHERE {where} ORDER BY d.id LIMIT ?", [*params, limit])]

    #: Ids per statement when reading statuses of many deliveries.
    _STATUS_CHUNK = 500

    def status_counts(self, tenant_id: str, delivery_ids: Sequence[str]) -> dict[str, int]:
        """How many of these deliveries are in each status, counting only the tenant's.

        Args:
            tenant_id: The tenant; other tenants' deliveries are never counted.
            delivery_ids: The deliveries.

        Returns:
            ``{status: count}`` with only the statuses present.
        """
        counts: dict[str, int] = {}
        ids = list(dict.fromkeys(delivery_ids))
        for i in range(0, len(ids), self._STATUS_CHUNK):
            clause, vals = self._in("d.id", ids[i:i + self._STATUS_CHUNK])
            for status, n in self._read(
                    f"SELECT {STATUS}, COUNT(*) FROM {JOINED} WHERE d.tenant_id = ? AND {clause}"
                    f" GROUP BY {STATUS}", [tenant_id, *vals]):
                counts[status] = counts.get(status, 0) + int(n)
        return counts
