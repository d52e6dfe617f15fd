"""A worker's cache of endpoints, ready to send to: retry policy, signer, checked URL."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time
from collections.abc import Container, Iterable
from dataclasses import dataclass
from typing import Callable, Optional

import aiohttp
import hookseal

from ._access import Access, build_access
from ._store_calls import StoreCalls
from .config import RetryPolicy, endpoint_retry_policy
from .errors import ConfigError, DestinationRefusedError
from .models import Claimed, Endpoint, EndpointKey
from .ssrf import parse_destination

#: The key kinds each signing mode signs with.
SIGNING_KINDS = {"hmac": ("hmac",), "ed25519": ("ed25519",), "both": ("hmac", "ed25519")}
#: Seconds a loaded endpoint is used before it is read again (sooner if a key expires).
CACHE_SECONDS = 30.0


@dataclass
class CachedEndpoint:
    """An endpoint as a worker sends to it, prepared once per load.

    Attributes:
        endpoint: The endpoint as stored (``allow_local`` as the settings allow now).
        policy: Its retry policy.
        valid_until: Unix time it must be read again (a key expires, or the cache ages).
        refused: Why the URL's form is refused (checked once per load), if it is.
        signer: The keys its signing mode uses, if it has any.
        timeout: Its own request timeout, if it has one.
        unusable: Why its stored settings cannot be used (written round the checks), if
            they cannot: its deliveries then fail at once, visibly, instead of waiting.
        access: Its authentication and TLS settings, if it has any.
    """

    endpoint: Endpoint
    policy: RetryPolicy
    valid_until: float
    refused: Optional[str] = None
    signer: Optional[hookseal.Signer] = None
    timeout: Optional[aiohttp.ClientTimeout] = None
    unusable: Optional[str] = None
    access: Optional[Access] = None


def prepare(ep: Endpoint, keys: list[EndpointKey], default_policy: RetryPolicy,
            now: float) -> CachedEndpoint:
    """Build what sending to ``ep`` needs: its policy, checked URL and signer.

    Args:
        ep: The endpoint (``allow_local`` already as the settings allow).
        keys: Its signing keys valid at ``now``.
        default_policy: The sender's retry policy, which the endpoint's own adjusts.
        now: Unix time.

    Returns:
        The prepared endpoint.
    """
    expiries = [k.expires_at for k in keys if k.expires_at is not None]
    unusable = None
    try:  # the rules registration applies: a row that breaks them came round them
        policy = endpoint_retry_policy(default_policy, ep.retry_schedule, ep.retry_after_cap)
    except ConfigError as exc:
        policy, unusable = default_policy, exc.detail
    try:
        parse_destination(ep.url, allow_local=ep.allow_local)
        refused = None
    except DestinationRefusedError as exc:
        refused = exc.detail
    kinds = SIGNING_KINDS[ep.signing]
    secrets = [k.secret for k in keys if k.kind in kinds]
    signer = None
    if secrets:
        signer = hookseal.Signer(secrets, profile=ep.profile, header_prefix=ep.header_prefix)
    timeout = aiohttp.ClientTimeout(total=ep.timeout) if ep.timeout else None
    access = None
    try:
        access = build_access(ep, keys)
    except (ValueError, KeyError) as exc:
        unusable = unusable or f"authentication: {exc}"
    # Read again after CACHE_SECONDS, or sooner when a key stops signing.
    return CachedEndpoint(ep, policy, min([*expiries, now + CACHE_SECONDS]), refused,
                          signer, timeout, unusable, access)


class EndpointCache:
    """Endpoints as a worker sends to them, loaded from the store when missing or stale.

    Args:
        calls: The worker's store calls (loads run on the store thread).
        default_policy: The sender's retry policy.
        allows_local: Whether an endpoint may reach local addresses under the settings
            now (``Sender.allows_local``).
    """

    def __init__(self, calls: StoreCalls, default_policy: RetryPolicy,
                 allows_local: Callable[[Endpoint], bool]) -> None:
        self._calls = calls
        self._policy = default_policy
        self._allows_local = allows_local
        #: Loaded endpoints by id: read directly on the delivery path.
        self.entries: dict[str, CachedEndpoint] = {}
        # Loads in progress: slots that miss the cache together share one load.
        self._loading: dict[str, asyncio.Future[Optional[CachedEndpoint]]] = {}

    def fresh(self, c: Claimed, now: float) -> Optional[CachedEndpoint]:
        """The cached endpoint of ``c`` if it is of the claimed version and not stale."""
        cached = self.entries.get(c.endpoint_id)
        if (cached is None or cached.endpoint.version != c.endpoint_version
                or now >= cached.valid_until):
            return None
        return cached

    async def load(self, c: Claimed) -> Optional[CachedEndpoint]:
        """Load the endpoint of ``c`` into the cache (the caller found it missing or stale).

        Args:
            c: The claimed delivery.

        Returns:
            The endpoint, or ``None`` if it no longer exists.
        """
        store = self._calls.store
        endpoint_id = c.endpoint_id
        now = time.time()

        def load() -> Optional[CachedEndpoint]:
            ep = store.get_endpoint(None, endpoint_id)
            if ep is None:
                return None
            # The settings win: a row stored while they allowed local destinations does
            # not keep reaching them once they do not.
            ep = dataclasses.replace(ep, allow_local=self._allows_local(ep))
            return prepare(ep, store.keys(endpoint_id, now=now), self._policy, now)

        # One load per endpoint at a time, in a task of its own: a cancelled slot does
        # not cancel the load the other waiting slots share.
        task = self._loading.get(endpoint_id)
        if task is None:
            task = asyncio.ensure_future(self._calls.call(load))
            self._loading[endpoint_id] = task
            task.add_done_callback(functools.partial(self._loaded, endpoint_id))
        return await asyncio.shield(task)

    def _loaded(self, endpoint_id: str, task: asyncio.Future[Optional[CachedEndpoint]]) -> None:
        self._loading.pop(endpoint_id, None)
        if task.cancelled() or task.exception() is not None:
            return  # each waiting slot gets the error and releases its delivery
        loaded = task.result()
        if loaded is not None:
            self.entries[endpoint_id] = loaded

    def mark_disabled(self, cached: CachedEndpoint) -> None:
        """Treat the endpoint as disabled until it is read again (410 Gone: disabled in
        the store after the write-back; until then its deliveries must not go out)."""
        ep = cached.endpoint
        self.entries[ep.id] = dataclasses.replace(
            cached, endpoint=dataclasses.replace(ep, status="disabled"))

    def forget(self, endpoint_id: str) -> None:
        """Drop the endpoint: its next delivery reads it again."""
        self.entries.pop(endpoint_id, None)

    def forget_idle(self, keep: Container[str], now: float) -> int:
        """Drop the stale entries (``valid_until`` passed) of endpoints not in ``keep``
        (the idle sweep's): their next delivery reads them again, as a stale entry's would.

        Args:
            keep: Endpoints in use, or whose state the sweep looks at on its own.
            now: Unix time.

        Returns:
            How many were dropped.
        """
        entries = self.entries
        gone = [ep for ep, cached in entries.items()
                if now >= cached.valid_until and ep not in keep]
        for ep in gone:
            del entries[ep]
        return len(gone)

    def forget_all(self, endpoint_ids: Iterable[str]) -> None:
        """Drop the endpoints (idle ones): their next deliveries read them again.

        Args:
            endpoint_ids: The endpoints.
        """
        for ep in endpoint_ids:
            self.entries.pop(ep, None)
