"""One attempt: what a worker sends for a claimed delivery, and what it records of it."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable, Optional

import aiohttp
import hookseal

from ._derived import DERIVATION_FAILED, DerivationFailedError, VersionedBodies
from ._endpoint_cache import CachedEndpoint, EndpointCache
from ._health import UNUSABLE
from ._store_calls import StoreCalls
from ._writeback import WriteBack
from .catalog import sender_catalog
from .config import SenderConfig
from .errors import DestinationRefusedError
from .metrics import Metrics
from .models import Attempt, AttemptResult, Claimed
from .outcome import FAILED, GONE, classify, next_step
from .ssrf import CheckedResolver, Resolve, guarded_socket

logger = logging.getLogger("hookseal_sender.worker")

#: How much of a response body is recorded.
BODY_EXCERPT = 4096
#: Seconds a paused endpoint's claimed delivery is put back for.
PAUSED_RECHECK = 30.0
#: Seconds a delivery whose attempt crashed (or whose endpoint could not be loaded) is
#: put back for.
CRASH_RECHECK = 5.0

#: ``(status, error, response headers, response body excerpt)`` of one POST.
Response = tuple[Optional[int], Optional[str], dict[str, str], str]


class AttemptRunner:
    """Sends claimed deliveries: endpoint, signature, POST, outcome, result.

    Each attempt signs the delivery's payload with the endpoint's current keys (the
    profile's headers plus ``Content-Type: application/json``) at the time of sending and
    POSTs it, redirects not followed, within the endpoint's timeout (default: connect +
    read timeout). The answer is classified (:func:`~hookseal_sender.outcome.classify`),
    the next status decided (:func:`~hookseal_sender.outcome.next_step`) and the result
    queued on the write-back.

    Args:
        config: Timeouts and the user agent.
        endpoints: The endpoint cache.
        writeback: Where results, releases and cancels go.
        metrics: Counts attempts and crashes.
        calls: The worker's store calls (to tell a lost database from a crash).
        resolve: DNS resolver for the SSRF checks (``None``: the system's).
        connections: Most connections open at once.
        hold: Called with an endpoint found paused (the worker leaves it out of claims).
    """

    def __init__(self, config: SenderConfig, endpoints: EndpointCache, writeback: WriteBack,
                 metrics: Metrics, calls: StoreCalls, resolve: Optional[Resolve], *,
                 connections: int, hold: Callable[[str], None]) -> None:
        self._endpoints = endpoints
        self._writeback = writeback
        self._metrics = metrics
        self._calls = calls
        self._resolve = resolve
        self._connections = connections
        self._hold = hold
        self._user_agent = config.user_agent
        # One deadline per attempt (connect + read) and a connect timeout; no per-read
        # timer (sock_read): re-arming it on every chunk cost about 15 us per request,
        # over 10 % of the whole sender's work at 1 KiB (measured with bench_sender.py).
        self._timeout = aiohttp.ClientTimeout(total=config.connect_timeout + config.read_timeout,
                                              sock_connect=config.connect_timeout)
        self._sessions: dict[bool, aiohttp.ClientSession] = {}
        self._unusable_logged: set[tuple[str, int]] = set()  # (endpoint, version) logged
        # Each endpoint's version of an event (derived for pinned ones, contract 4.2).
        self._bodies = VersionedBodies(sender_catalog(config.catalog, config.derivations))

    async def attempt(self, c: Claimed) -> Optional[AttemptResult]:
        """Attempt ``c`` once and queue what came of it on the write-back.

        Args:
            c: The claimed delivery.

        Returns:
            The result when a request was sent (for the breaker and the endpoint's
            concurrency); ``None`` when none was (released, cancelled or failed unsent).
        """
        try:
            started = time.time()
            cached = self._endpoints.fresh(c, started)
            if cached is None:
                cached = await self._endpoints.load(c)
                started = time.time()  # the load took a while: sign with the time of sending
            if cached is None:  # the endpoint is gone
                self._writeback.cancel(c.id)
                return None
            if not self._sendable(c, cached, started):
                return None
            signer = cached.signer
            if signer is None:
                raise hookseal.ConfigurationError(
                    f"endpoint {c.endpoint_id} has no {cached.endpoint.signing} signing key")
            try:
                body = self._bodies.body(c, cached.endpoint, started)
            except DerivationFailedError as exc:
                self._fail_unsent(c, DERIVATION_FAILED, exc.detail, started)
                return None
            headers = signer.sign(body, timestamp=int(started), msg_id=c.event_id,
                                  event_type=c.event_type)
            headers["Content-Type"] = "application/json"
            t0 = time.perf_counter()
            status, error, resp_headers, resp_body = await self._post(cached, headers, body)
            latency = time.perf_counter() - t0
            round_n = c.round_attempts + 1
            outcome = classify(status, error)
            new_status, next_at = next_step(outcome, status, resp_headers, round_n, cached.policy,
                                            started + latency)
            if outcome == GONE:
                self._endpoints.mark_disabled(cached)
            attempt = Attempt(c.attempt_count + 1, started, status, error,
                              round(latency * 1000.0, 3), resp_headers, resp_body, outcome)
            self._metrics.attempt(c.tenant_id, c.endpoint_id, outcome, latency, status, error)
            result = AttemptResult(c.id, c.endpoint_id, attempt, new_status, next_at, round_n)
            self._writeback.add(result, c.tenant_id)
            return result
        except asyncio.CancelledError:
            self._writeback.release(c.id, time.time())
            raise
        except Exception as exc:
            if self._calls.unavailable(exc):  # loading its endpoint: the database is down
                self._calls.trouble("endpoint load", exc)
            else:
                logger.exception("attempt of %s crashed; releasing it", c.id)
                self._metrics.exception("attempt")
            self._writeback.release(c.id, time.time() + CRASH_RECHECK)
            return None

    def _sendable(self, c: Claimed, cached: CachedEndpoint, now: float) -> bool:
        """Whether ``c`` goes out now; if not, queue what becomes of it instead."""
        ep = cached.endpoint
        if ep.status in ("deleted", "disabled"):
            self._writeback.cancel(c.id)
            return False
        if ep.status == "paused":
            # Due again when resumed (resume makes them due now) or after a while.
            self._writeback.release(c.id, time.time() + PAUSED_RECHECK)
            self._hold(c.endpoint_id)
            return False
        if cached.unusable is not None:
            self._unusable(c, cached, now)
            return False
        return True

    def _unusable(self, c: Claimed, cached: CachedEndpoint, now: float) -> None:
        """Fail ``c`` for good because its endpoint's stored settings cannot be used.

        Recorded as an attempt that sent nothing (error ``invalid_endpoint_settings``, the
        reason as its body) and logged once per endpoint version; the owner gets a
        ``delivery_failed`` notice once it is written back.
        """
        reason = f"endpoint settings cannot be used: {cached.unusable}"
        key = (c.endpoint_id, cached.endpoint.version)
        if key not in self._unusable_logged:
            self._unusable_logged.add(key)
            logger.error("endpoint %s: %s; its deliveries fail until it is updated",
                         c.endpoint_id, reason)
        self._fail_unsent(c, UNUSABLE, reason, now)

    def _fail_unsent(self, c: Claimed, error: str, reason: str, now: float) -> None:
        """Fail ``c`` for good without sending it: an attempt with ``error`` and the reason
        as its body (the delivery's ``last_error``)."""
        attempt = Attempt(c.attempt_count + 1, now, None, error, 0.0, {}, reason, FAILED)
        self._writeback.add(AttemptResult(c.id, c.endpoint_id, attempt, "failed", None,
                                          c.round_attempts + 1), c.tenant_id)

    def _session(self, allow_local: bool) -> aiohttp.ClientSession:
        session = self._sessions.get(allow_local)
        if session is None:
            connector = aiohttp.TCPConnector(
                limit=self._connections, limit_per_host=0, ttl_dns_cache=10,
                resolver=CheckedResolver(self._resolve, allow_local=allow_local),
                # The last SSRF check, on the address each socket connects to.
                socket_factory=None if allow_local else guarded_socket,
            )
            session = aiohttp.ClientSession(
                connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": self._user_agent},
            )
            self._sessions[allow_local] = session
        return session

    async def close(self) -> None:
        """Close the HTTP sessions."""
        for session in self._sessions.values():
            await session.close()

    async def _post(self, cached: CachedEndpoint, headers: dict[str, str],
                    body: bytes) -> Response:
        ep = cached.endpoint
        timeout = cached.timeout or self._timeout
        try:
            if cached.refused is not None:  # IP literals never reach the resolver
                raise DestinationRefusedError(cached.refused)
            session = self._session(ep.allow_local)
            async with session.post(ep.url, data=body, headers=headers, allow_redirects=False,
                                    timeout=timeout) as resp:
                length = resp.content_length
                if length is not None and length <= BODY_EXCERPT:
                    # The usual short answer: one read (the chunked loop below cost the
                    # bare client about 2 % of its throughput at 1 KiB).
                    raw = await resp.read()
                else:
                    raw = await _excerpt(resp.content)
                # NUL too becomes U+FFFD: PostgreSQL text cannot hold it, and a write-back
                # that fails would leave the delivery to be retried for ever.
                text = raw.decode("utf-8", "replace").replace("\x00", "\ufffd")
                return resp.status, None, dict(resp.headers), text
        except DestinationRefusedError as exc:
            return None, "destination_refused", {}, exc.detail
        except aiohttp.InvalidURL as exc:
            return None, "destination_refused", {}, f"invalid URL: {exc}"
        except asyncio.TimeoutError:
            return None, "timeout", {}, ""
        except aiohttp.ClientConnectorDNSError as exc:
            return None, "dns_error", {}, str(exc)[:500]
        except aiohttp.ClientSSLError as exc:
            return None, "tls_error", {}, str(exc)[:500]
        except (aiohttp.ClientConnectionError, OSError) as exc:
            return None, "connection_error", {}, str(exc)[:500]
        except aiohttp.ClientError as exc:
            return None, "protocol_error", {}, str(exc)[:500]


async def _excerpt(content: aiohttp.StreamReader) -> bytes:
    """The first :data:`BODY_EXCERPT` bytes of a long (or unsized) response body."""
    chunks, size = [], 0
    while size < BODY_EXCERPT and not content.at_eof():
        chunk = await content.read(BODY_EXCERPT - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
