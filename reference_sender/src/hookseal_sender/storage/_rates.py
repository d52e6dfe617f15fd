"""The SQL store's send slots: one row per rate-limited endpoint, shared by every worker
and process on the store (contract 4.3)."""

from __future__ import annotations

from typing import Optional

from ._connections import Connections

# One statement, atomic on both backends: an upsert locks the endpoint's row, and every
# SET expression reads the row as it was (PostgreSQL re-reads it after waiting for a
# concurrent taker's commit), so two takers never get the same slot.
_TAKE = (
    "INSERT INTO send_slots (endpoint_id, next_at, granted_at) VALUES (?, ?, ?)"
    " ON CONFLICT (endpoint_id) DO UPDATE SET"
    " next_at = CASE WHEN send_slots.next_at <= ? THEN"
    " (CASE WHEN send_slots.next_at > ? THEN send_slots.next_at ELSE ? END) + ?"
    " ELSE send_slots.next_at END,"
    " granted_at = CASE WHEN send_slots.next_at <= ? THEN"
    " (CASE WHEN send_slots.next_at > ? THEN send_slots.next_at ELSE ? END)"
    " ELSE NULL END"
    " RETURNING granted_at, next_at"
)


class SendSlots(Connections):
    """Send slots spaced ``1 / rate`` seconds apart, per endpoint."""

    def take_send_slot(self, endpoint_id: str, interval: float, now: float,
                       horizon: float) -> tuple[Optional[float], float]:
        """Take the endpoint's next send slot if it starts by ``now + horizon``.

        Slots are ``interval`` seconds apart and never in the past: the first one taken
        after a quiet spell is ``now``.

        Args:
            endpoint_id: The endpoint.
            interval: Seconds between two sends (``1 / rate_limit``).
            now: Unix time.
            horizon: How far ahead a slot may be taken (the caller waits for it).

        Returns:
            ``(slot, next_at)``: the Unix time the caller may send at, or ``None`` when
            the next slot is later than ``now + horizon`` (nothing was taken); and the
            earliest time of the next free slot.
        """
        latest = now + horizon
        with self.transaction() as conn:
            row = self._exec(conn, _TAKE, [endpoint_id, now + interval, now,
                                           latest, now, now, interval,
                                           latest, now, now]).fetchone()
        granted, next_at = row
        return (None if granted is None else float(granted)), float(next_at)
