"""The SQL store's admin jobs: the records the admin console's bulk replays report to."""

# Queries are constant text; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Optional

from ..records import AdminJob
from ._connections import Connections

_COLS = ("id, kind, actor, reason, params, total, done, replayed, status, stop_requested,"
         " error, created_at, updated_at")


def _job(row: Sequence[Any]) -> AdminJob:
    values = list(row)
    values[4] = json.loads(values[4])
    values[9] = bool(values[9])
    return AdminJob(*values)


class Jobs(Connections):
    """Admin jobs: created running, advanced by their runner, stopped on request."""

    def insert_job(self, job: AdminJob) -> None:
        """Record a new job.

        Args:
            job: The job.
        """
        with self.transaction() as conn:
            self._exec(conn, f"INSERT INTO admin_jobs ({_COLS}) VALUES"
                             " (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       [job.id, job.kind, job.actor, job.reason, json.dumps(job.params),
                        job.total, job.done, job.replayed, job.status,
                        int(job.stop_requested), job.error, job.created_at, job.updated_at])

    def get_job(self, job_id: str) -> Optional[AdminJob]:
        """One job.

        Args:
            job_id: The job.

        Returns:
            The job, or ``None``.
        """
        rows = self._read(f"SELECT {_COLS} FROM admin_jobs WHERE id = ?",
                          [job_id])
        return _job(rows[0]) if rows else None

    def list_jobs(self, limit: int = 20) -> list[AdminJob]:
        """The newest jobs first.

        Args:
            limit: Most jobs.

        Returns:
            The jobs.
        """
        return [_job(r) for r in self._read(
            f"SELECT {_COLS} FROM admin_jobs ORDER BY id DESC LIMIT ?", [limit])]

    def update_job(self, job_id: str, *, done: int, replayed: int, status: str,
                   now: float, error: Optional[str] = None) -> None:
        """Record a job's progress or end.

        Args:
            job_id: The job.
            done: Deliveries handled so far.
            replayed: Of those, replayed.
            status: Its state now.
            now: Unix time.
            error: Why it failed.
        """
        with self.transaction() as conn:
            self._exec(conn, "UPDATE admin_jobs SET done = ?, replayed = ?, status = ?,"
                             " error = ?, updated_at = ? WHERE id = ?",
                       [done, replayed, status, error, now, job_id])

    def abandon_stale_jobs(self, before: float, now: float, error: str) -> list[str]:
        """Mark ``abandoned`` the running jobs that recorded no progress since ``before``
        (their process ended: a runner records progress after every batch).

        Args:
            before: Unix time; running jobs last updated earlier are abandoned.
            now: Unix time.
            error: Why, for the job's page.

        Returns:
            The ids marked.
        """
        with self.transaction() as conn:
            rows = self._exec(
                conn, "UPDATE admin_jobs SET status = 'abandoned', error = ?, updated_at = ?"
                " WHERE status = 'running' AND updated_at < ? RETURNING id",
                [error, now, before]).fetchall()
        return [r[0] for r in rows]

    def request_job_stop(self, job_id: str, now: float) -> bool:
        """Ask a running job to stop (its runner reads this between batches).

        Args:
            job_id: The job.
            now: Unix time.

        Returns:
            Whether a running job of that id was asked.
        """
        with self.transaction() as conn:
            cur = self._exec(conn, "UPDATE admin_jobs SET stop_requested = 1, updated_at = ?"
                                   " WHERE id = ? AND status = 'running'", [now, job_id])
            return bool(cur.rowcount == 1)
