"""The SQL implementation shared by the SQLite and PostgreSQL backends.

:class:`SQLStore` is assembled from one part per concept, each a module of its own:

- :mod:`._connections`: connections per thread, transactions, the dialect hooks;
- :mod:`._schema`: the tables (:data:`SCHEMA`) and migrations;
- :mod:`._endpoints`: endpoints, keys, subscriptions, failing streaks;
- :mod:`._queue`: enqueue, claims and leases, the workers' write-back;
- :mod:`._log`: reads of the delivery log (one delivery, filters, pages, counts);
- :mod:`._replay`: replay and cancel;
- :mod:`._stats`: aggregate reads (endpoint health, the periodic review);
- :mod:`._idempotency`: the idempotency keys of sends;
- :mod:`._retention`: purging what the retention period lets go;
- :mod:`._audit`: the audit log;
- :mod:`._backfill`: events written with their own ids, each at most once;
- :mod:`._owner_alerts`: owner alert episodes, recent attempts, endpoint activity;
- :mod:`._corrections`: corrected events and the bodies they replaced;
- :mod:`._jobs`: the admin console's background jobs;
- :mod:`._rates`: rate-limited endpoints' send slots;
- :mod:`._breakers`: the endpoints' circuit breakers, shared by every worker;
- :mod:`._events`: a tenant's recent events (the portal's filter preview);
- :mod:`._pins`: pinned endpoints, sunset notices and pin moves;
- :mod:`._batches`: batches (gathering, claims, write-back, replay).

Column lists and row converters they share live in :mod:`._columns`.
"""

from __future__ import annotations

from ._audit import Audit
from ._backfill import Backfill
from ._batches import Batches
from ._breakers import Breakers
from ._corrections import Corrections
from ._endpoints import Endpoints
from ._events import RecentEvents
from ._idempotency import IdempotencyKeys
from ._jobs import Jobs
from ._owner_alerts import OwnerAlerts
from ._pins import Pins
from ._queue import Queue
from ._rates import SendSlots
from ._replay import ReplayAndCancel
from ._retention import Retention
from ._schema import SCHEMA, Schema
from ._stats import Aggregates


class SQLStore(Schema, Endpoints, Backfill, Queue, IdempotencyKeys, ReplayAndCancel, Aggregates,
               Batches, Retention, Audit, OwnerAlerts, Corrections, Jobs, SendSlots, RecentEvents,
               Pins, Breakers):
    """A :class:`~hookseal_sender.storage.base.Store` over a DB-API connection per thread;
    dialects (:class:`~hookseal_sender.storage.SQLiteStore`,
    :class:`~hookseal_sender.storage.PostgresStore`) override the hooks of
    :class:`~hookseal_sender.storage._connections.Connections`.

    Batches comes before Retention: it implements the hook the purge calls.

    Args:
        box: Encrypts keys at rest.
    """


__all__ = ["SCHEMA", "SQLStore"]
