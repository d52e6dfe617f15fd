"""The PostgreSQL backend: several worker processes share one queue.

Claims use ``FOR UPDATE SKIP LOCKED``, so concurrent workers lease disjoint deliveries
without waiting on each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..secretbox import SecretBox
from ._sql import SCHEMA, SQLStore


class PostgresStore(SQLStore):
    """A store in a PostgreSQL database.

    Args:
        dsn: A libpq connection string or ``postgresql://`` URL.
        box: Encrypts keys at rest.
    """

    dialect = "postgresql"
    placeholder = "%s"

    def __init__(self, dsn: str, box: SecretBox) -> None:
        super().__init__(box)
        self.dsn = dsn

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.dsn, autocommit=True)

    def _schema(self) -> str:
        return SCHEMA.format(
            REAL="DOUBLE PRECISION", SERIAL="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
        )

    def _claim_suffix(self) -> str:
        return " FOR UPDATE SKIP LOCKED"

    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(?)", [list(values)]
