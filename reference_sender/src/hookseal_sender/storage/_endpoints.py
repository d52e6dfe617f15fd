"""The SQL store's endpoints and their keys: CRUD, subscriptions, failing streaks."""

# Queries are assembled only from constant column lists and generated placeholders;
# every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Optional

from ..errors import ConfigError
from ..filters import matching
from ..models import Endpoint, EndpointKey
from ._columns import ENDPOINT_COLS, JSON_COLS, UPDATABLE, id_scope, to_endpoint
from ._connections import Connections


class Endpoints(Connections):
    """Endpoints, their encrypted keys and their failing streaks."""

    def _key_rows(self, keys: Sequence[EndpointKey]) -> list[tuple[Any, ...]]:
        return [
            (k.id, k.endpoint_id, k.kind, self.box.encrypt(k.secret), k.public_key,
             k.created_at, k.expires_at)
            for k in keys
        ]

    _INSERT_KEY = (
        "INSERT INTO endpoint_keys (id, endpoint_id, kind, secret_enc, public_key, created_at,"
        " expires_at) VALUES (?,?,?,?,?,?,?)"
    )

    def insert_endpoint(self, endpoint: Endpoint, keys: Sequence[EndpointKey]) -> None:
        """Insert an endpoint with its (plaintext) keys, which the store encrypts.

        Args:
            endpoint: The endpoint.
            keys: Its keys.
        """
        values = []
        for col in ENDPOINT_COLS:
            v = getattr(endpoint, col)
            if col in JSON_COLS and v is not None:
                v = json.dumps(v)
            if col == "allow_local":
                v = int(v)
            values.append(v)
        with self.transaction() as conn:
            self._exec(
                conn,
                f"INSERT INTO endpoints ({','.join(ENDPOINT_COLS)}) "
                f"VALUES ({','.join('?' * len(ENDPOINT_COLS))})",
                values,
            )
            self._many(conn, self._INSERT_KEY, self._key_rows(keys))

    def get_endpoint(self, tenant_id: Optional[str], endpoint_id: str) -> Optional[Endpoint]:
        """One endpoint; ``tenant_id=None`` only for workers (internal use).

        Args:
            tenant_id: The tenant, or ``None`` for internal reads.
            endpoint_id: The endpoint.

        Returns:
            The endpoint, or ``None``.
        """
        where, params = id_scope(endpoint_id, tenant_id)
        rows = self._read(f"SELECT {','.join(ENDPOINT_COLS)} FROM endpoints WHERE {where}", params)
        return to_endpoint(rows[0]) if rows else None

    def list_endpoints(self, tenant_id: str, *, include_deleted: bool = False) -> list[Endpoint]:
        """A tenant's endpoints, oldest first.

        Args:
            tenant_id: The tenant.
            include_deleted: Include soft-deleted endpoints.

        Returns:
            The endpoints.
        """
        sql = f"SELECT {','.join(ENDPOINT_COLS)} FROM endpoints WHERE tenant_id = ?"
        if not include_deleted:
            sql += " AND status <> 'deleted'"
        return [to_endpoint(r) for r in self._read(sql + " ORDER BY id", [tenant_id])]

    def all_endpoints(self) -> list[Endpoint]:
        """Every tenant's endpoints, deleted ones too (operator tooling only).

        Returns:
            The endpoints, by id.
        """
        return [to_endpoint(r) for r in self._read(
            f"SELECT {','.join(ENDPOINT_COLS)} FROM endpoints ORDER BY id")]

    def update_endpoint(self, tenant_id: Optional[str], endpoint_id: str, **fields: Any) -> bool:
        """Change fields of an endpoint.

        Args:
            tenant_id: The tenant (``None`` for internal changes by workers).
            endpoint_id: The endpoint.
            **fields: Column values.

        Returns:
            Whether the endpoint exists (for that tenant).
        """
        sets, params = ["version = version + 1"], []
        for col, value in fields.items():
            if col not in UPDATABLE:
                raise ValueError(f"not an updatable endpoint field: {col}")
            v = value
            if col in JSON_COLS and v is not None:
                v = json.dumps(v)
            if col == "allow_local":
                v = int(v)
            sets.append(f"{col} = ?")
            params.append(v)
        where, scope = id_scope(endpoint_id, tenant_id)
        with self.transaction() as conn:
            return bool(self._exec(conn, f"UPDATE endpoints SET {', '.join(sets)} WHERE {where}",
                                   [*params, *scope]).rowcount)

    _SUBSCRIBERS = ("SELECT id, event_types, filter, version FROM endpoints WHERE tenant_id = ? "
                    "AND status IN ('active','paused') ORDER BY id")

    def subscribed_endpoints(self, conn: Any, tenant_id: str, event_type: str,
                             payload: Optional[str] = None) -> list[str]:
        """Ids of a tenant's active or paused endpoints subscribed to a type.

        Args:
            conn: Connection.
            tenant_id: The tenant.
            event_type: The type.
            payload: The event's body: given, an endpoint whose filter does not match it
                is left out (:func:`hookseal_sender.filters.matching`).

        Returns:
            Endpoint ids.
        """
        return matching(self._exec(conn, self._SUBSCRIBERS, [tenant_id]).fetchall(), event_type,
                        payload)

    def check_master_key(self) -> bool:
        """Check that the master key decrypts the secrets already stored (the newest one).

        Returns:
            ``True`` if the store holds encrypted secrets, ``False`` if none yet.

        Raises:
            ConfigError: They were encrypted with another master key.
        """
        rows = self._read("SELECT secret_enc FROM endpoint_keys ORDER BY created_at DESC, id"
                          " LIMIT 1")
        if not rows:
            return False
        try:
            self.box.decrypt(rows[0][0])
        except ConfigError:
            raise ConfigError(
                "the master key does not decrypt the endpoint secrets stored in the "
                "database: they were encrypted with another key. Restore the master key "
                "they were made with (hookseal-sender init never replaces one)") from None
        return True

    def keys(self, endpoint_id: str, *, now: Optional[float] = None) -> list[EndpointKey]:
        """An endpoint's keys, decrypted.

        Args:
            endpoint_id: The endpoint.
            now: Only keys still signing at this time, if given.

        Returns:
            The keys, oldest first.
        """
        sql = (
            "SELECT id, endpoint_id, kind, secret_enc, public_key, created_at, expires_at "
            "FROM endpoint_keys WHERE endpoint_id = ?"
        )
        params: list[Any] = [endpoint_id]
        if now is not None:
            sql += " AND (expires_at IS NULL OR expires_at > ?)"
            params.append(now)
        return [
            EndpointKey(id=r[0], endpoint_id=r[1], kind=r[2], secret=self.box.decrypt(r[3]),
                        public_key=r[4], created_at=r[5], expires_at=r[6])
            for r in self._read(sql + " ORDER BY created_at, id", params)
        ]

    def rotate_keys(
        self, endpoint_id: str, new_keys: Sequence[EndpointKey], expires_at: float,
        kinds: Sequence[str] = (),
    ) -> None:
        """Add keys; the same kinds' current keys expire at ``expires_at``.

        Args:
            endpoint_id: The endpoint.
            new_keys: The new keys.
            expires_at: When the old keys stop signing.
            kinds: Further kinds whose current keys expire then (to remove them).
        """
        with self.transaction() as conn:
            for kind in {k.kind for k in new_keys} | set(kinds):
                self._exec(
                    conn,
                    "UPDATE endpoint_keys SET expires_at = ? WHERE endpoint_id = ? AND kind = ?"
                    " AND (expires_at IS NULL OR expires_at > ?)",
                    [expires_at, endpoint_id, kind, expires_at],
                )
            self._many(conn, self._INSERT_KEY, self._key_rows(new_keys))
            self._exec(conn, "UPDATE endpoints SET version = version + 1 WHERE id = ?",
                       [endpoint_id])

    def endpoint_health(
        self, succeeded: Sequence[str], failed: Sequence[str], now: float,
    ) -> dict[str, float]:
        """Track failing streaks.

        Args:
            succeeded: Endpoints that answered 2xx.
            failed: Endpoints whose attempts failed.
            now: Unix time.

        Returns:
            ``failing_since`` of each failed endpoint.
        """
        with self.transaction() as conn:
            if self.concurrent_writers:
                # Lock the rows in one order first: worker processes sharing the queue
                # update overlapping sets (one's healthy endpoints are another's failing
                # ones), and two statements locking in scan order deadlocked.
                clause, ids = self._in("id", sorted({*succeeded, *failed}))
                self._exec(conn, f"SELECT id FROM endpoints WHERE {clause} ORDER BY id"
                           " FOR UPDATE", ids).fetchall()
            if succeeded:
                clause, ids = self._in("id", list(succeeded))
                self._exec(conn, "UPDATE endpoints SET failing_since = NULL WHERE "
                           f"failing_since IS NOT NULL AND {clause}", ids)
            if not failed:
                return {}
            clause, ids = self._in("id", list(failed))
            self._exec(conn, "UPDATE endpoints SET failing_since = ? WHERE failing_since IS "
                       f"NULL AND {clause}", [now, *ids])
            rows = self._exec(conn, f"SELECT id, failing_since FROM endpoints WHERE {clause}",
                              ids).fetchall()
        return {r[0]: r[1] for r in rows if r[1] is not None}

    def failing_endpoints(self) -> list[tuple[str, str, float]]:
        """The active endpoints whose latest attempts failed, and since when.

        Returns:
            ``(endpoint_id, tenant_id, failing_since)`` of each, oldest failure first.
        """
        return [(r[0], r[1], float(r[2])) for r in self._read(
            "SELECT id, tenant_id, failing_since FROM endpoints WHERE failing_since IS NOT NULL"
            " AND status = 'active' ORDER BY failing_since")]
