"""An idempotency store in Redis (needs ``hookseal[redis]``), shared by every worker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from .._deprecated import resolve
from .store import ClaimState, StoreAnswer

if TYPE_CHECKING:
    import redis as redis_lib

__all__ = ["RedisIdempotencyStore"]

# Each operation is one Lua script, so Redis runs it atomically: no WATCH/MULTI retries.
_CLAIM = """
local rec = redis.call('HMGET', KEYS[1], 'state', 'lease_until')
if rec[1] == 'completed' then return {'completed', '0'} end
if rec[1] == 'in_progress' and tonumber(rec[2]) > tonumber(ARGV[2]) then
  return {'in_progress', rec[2]}
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'state', 'in_progress', 'token', ARGV[1],
           'lease_until', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {'acquired', '0'}
"""

_COMPLETE = """
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'completed')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

_RELEASE = """
local rec = redis.call('HMGET', KEYS[1], 'state', 'token')
if rec[1] ~= 'in_progress' or rec[2] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class RedisIdempotencyStore:
    """Keeps claims in Redis hashes ``<prefix><delivery id>`` that expire after the TTL.

    Lease checks use the caller's clock (``now``); the TTL uses Redis's own expiry.

    Args:
        client: A ``redis.Redis`` client (``redis.Redis.from_url("redis://...")``).
        prefix: Prepended to every key, so one Redis can serve several receivers.
    """

    def __init__(self, client: redis_lib.Redis, *, prefix: str = "hookseal:idempotency:") -> None:
        """Wrap ``client``; see the class docstring."""
        self._client = client
        self._prefix = prefix
        self._claim: Any = client.register_script(_CLAIM)
        self._complete: Any = client.register_script(_COMPLETE)
        self._release: Any = client.register_script(_RELEASE)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "hookseal:idempotency:") -> RedisIdempotencyStore:
        """Connect to ``url`` (e.g. ``redis://127.0.0.1:6379/0``).

        Raises:
            ImportError: ``redis`` is not installed (``pip install 'hookseal[redis]'``).
        """
        try:
            import redis as redis_lib
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "RedisIdempotencyStore needs redis-py: pip install 'hookseal[redis]'"
            ) from exc
        return cls(redis_lib.Redis.from_url(url), prefix=prefix)

    def _key(self, key: str) -> str:
        return self._prefix + key

    def try_claim(
        self, key: str, token: str, *, now: float, lease: float, ttl: float
    ) -> StoreAnswer:
        """See :meth:`IdempotencyStore.try_claim`."""
        state, lease_until = self._claim(
            keys=[self._key(key)],
            args=[token, repr(float(now)), repr(float(now + lease)), _ms(max(ttl, lease))],
        )
        found = ClaimState(state.decode() if isinstance(state, bytes) else state)
        until: Optional[float] = None
        if found is ClaimState.IN_PROGRESS:
            until = float(lease_until)
        return StoreAnswer(found, until)

    def complete(self, key: str, token: str, *, now: float, ttl: float) -> bool:
        """See :meth:`IdempotencyStore.complete`."""
        return bool(self._complete(keys=[self._key(key)], args=[token, _ms(ttl)]))

    def release(self, key: str, token: str) -> bool:
        """See :meth:`IdempotencyStore.release`."""
        return bool(self._release(keys=[self._key(key)], args=[token]))


# Old names, kept as deprecated aliases (they did not say what they store, and the sender
# has an unrelated SQLiteStore).
_RENAMED = {"RedisStore": "hookseal.idempotency.RedisIdempotencyStore"}


def __getattr__(name: str) -> Any:
    return resolve(__name__, _RENAMED, name)
