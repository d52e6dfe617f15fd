"""One attempt: what a worker sends for a claimed delivery, and what it records of it."""

from __future__ import annotations

import asyncio
import base64
import errno
import logging
import ssl
import time
from collections.abc import Iterable
from typing import Any, Callable, Optional, Union
from urllib.parse import quote_plus

import aiohttp
import hookseal
from yarl import URL

from ._access import Access, OAuthToken, TokenError, fresh, token_form, token_from_answer
from ._derived import DERIVATION_FAILED, DerivationFailedError, VersionedBodies
from ._endpoint_cache import CachedEndpoint, EndpointCache
from ._health import UNUSABLE
from ._http_client import ClosedError, DNSError, HttpClient, HttpClientError
from ._logs import DELIVERY_LOGGER, fields
from ._store_calls import StoreCalls
from ._writeback import WriteBack
from .catalog import sender_catalog
from .config import SenderConfig
from .egress import parse_proxy_url
from .errors import DestinationRefusedError
from .metrics import Metrics
from .models import Attempt, AttemptResult, Claimed, Endpoint
from .outcome import FAILED, GONE, classify, next_step
from .rate_limit import RateGate
from .redaction import redact_payload
from .ssrf import CheckedResolver, Resolve, guarded_socket, parse_destination
from .tracing import Tracing

logger = logging.getLogger("hookseal_sender.worker")
_delivery_log = logging.getLogger(DELIVERY_LOGGER)
_INFO, _WARNING = logging.INFO, logging.WARNING

#: How much of a response body is recorded.
BODY_EXCERPT = 4096
#: Most bytes of a token endpoint's answer read.
TOKEN_ANSWER_LIMIT = 64 * 1024
#: Seconds a paused endpoint's claimed delivery is put back for.
PAUSED_RECHECK = 30.0
#: Seconds a delivery whose attempt crashed (or whose endpoint could not be loaded) is
#: put back for.
CRASH_RECHECK = 5.0

#: ``(status, error, response headers, response body excerpt)`` of one POST.
Response = tuple[Optional[int], Optional[str], dict[str, str], str]


class AttemptRunner:
    """Sends claimed deliveries: endpoint, signature, POST, outcome, result.

    Each attempt waits for a send slot if the endpoint is rate-limited
    (:mod:`.rate_limit`), drops the endpoint's redacted fields from the payload
    (:mod:`.redaction`), signs it with the endpoint's current keys (the profile's headers
    plus ``Content-Type: application/json`` and the endpoint's custom headers) at the time
    of sending and POSTs it, redirects not followed, within the endpoint's timeout (default: connect +
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
        tracing: The ``traceparent`` of each attempt, and its span (when tracing).
    """

    def __init__(self, config: SenderConfig, endpoints: EndpointCache, writeback: WriteBack,
                 metrics: Metrics, calls: StoreCalls, resolve: Optional[Resolve], *,
                 connections: int, hold: Callable[..., None],
                 tracing: Optional[Tracing] = None) -> None:
        self._endpoints = endpoints
        self._writeback = writeback
        self._metrics = metrics
        self._calls = calls
        self._resolve = resolve
        self._connections = connections
        self._hold = hold
        self._tracing = tracing or Tracing()
        self._rates = RateGate(calls, writeback, hold)
        self._user_agent = config.user_agent
        # One deadline per attempt (connect + read) and a connect timeout; no per-read
        # timer (sock_read): re-arming it on every chunk cost about 15 us per request,
        # over 10 % of the whole sender's work at 1 KiB (measured with bench_sender.py).
        self._timeout = aiohttp.ClientTimeout(total=config.connect_timeout + config.read_timeout,
                                              sock_connect=config.connect_timeout)
        # Deliveries go out on the sender's own client (a third of aiohttp's CPU a
        # request); aiohttp sends what is rare: through the egress proxy, OAuth tokens.
        self._client = HttpClient(config.user_agent, resolve, connections=connections)
        self._sessions: dict[bool, aiohttp.ClientSession] = {}
        self._proxy = parse_proxy_url(config.egress_proxy) if config.egress_proxy else None
        self._proxy_session: Optional[aiohttp.ClientSession] = None
        # OAuth tokens by (endpoint, auth key), kept across endpoint reloads.
        self._tokens: dict[tuple[str, str], OAuthToken] = {}
        self._token_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._unusable_logged: set[tuple[str, int]] = set()  # (endpoint, version) logged
        # Each endpoint's version of an event (derived for pinned ones, contract 4.2).
        self._bodies = VersionedBodies(sender_catalog(config.catalog, config.derivations))
        #: Takes the claimed deliveries of endpoints with batches (``batches.Batcher.take``).
        self.gatherer: Optional[Callable[[Claimed, CachedEndpoint], None]] = None

    async def attempt(self, c: Claimed, *, gather: bool = True) -> Optional[AttemptResult]:
        """Attempt ``c`` once and queue what came of it on the write-back.

        Args:
            c: The claimed delivery.
            gather: Hand a delivery of an endpoint with batches to :attr:`gatherer`
                (False: send it on its own, as a replay of one batch member is).

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
            if gather and cached.endpoint.batch is not None and self.gatherer is not None:
                self.gatherer(c, cached)
                return None
            if cached.endpoint.rate_limit is not None:
                if not await self._rates.admit(c, cached.endpoint):
                    return None  # given back, due at its next send slot: no attempt
                started = time.time()
            signer = cached.signer
            if signer is None:
                raise hookseal.ConfigurationError(
                    f"endpoint {c.endpoint_id} has no {cached.endpoint.signing} signing key")
            try:
                body = self._bodies.body(c, cached.endpoint, started)
            except DerivationFailedError as exc:
                self._fail_unsent(c, DERIVATION_FAILED, exc.detail, started)
                return None
            if cached.endpoint.redact:  # after the pinned version's derivation
                body = redact_payload(body.decode("utf-8"),
                                      cached.endpoint.redact).encode("utf-8")
            if c.sequence is not None:  # ordered endpoints: the envelope's "sequence"
                body = body[:-1] + b',"sequence":%d}' % c.sequence
            headers = signer.sign(body, timestamp=int(started), msg_id=c.event_id,
                                  event_type=c.event_type)
            headers["Content-Type"] = "application/json"
            if cached.endpoint.headers:  # custom ones never use a name set above
                headers.update(cached.endpoint.headers)
            span = self._tracing.attempt(c)
            headers["traceparent"] = span.header
            t0 = time.perf_counter()
            status, error, resp_headers, resp_body = await self._post(cached, headers, body)
            latency = time.perf_counter() - t0
            round_n = c.round_attempts + 1
            outcome = classify(status, error)
            span.finish(status, outcome, error)
            new_status, next_at = next_step(outcome, status, resp_headers, round_n, cached.policy,
                                            started + latency)
            if outcome == GONE:
                self._endpoints.mark_disabled(cached)
            attempt = Attempt(c.attempt_count + 1, started, status, error,
                              round(latency * 1000.0, 3), resp_headers, resp_body, outcome)
            self._metrics.attempt(c.tenant_id, c.endpoint_id, outcome, latency, status, error)
            result = AttemptResult(c.id, c.endpoint_id, attempt, new_status, next_at, round_n)
            self._writeback.add(result, c.tenant_id)
            # One line per attempt; checking the level first keeps a filtered-out line at
            # one call (building the fields is what costs).
            if _delivery_log.isEnabledFor(_WARNING if new_status == "dead_lettered" else _INFO):
                log_attempt(c, result)
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
        result = AttemptResult(c.id, c.endpoint_id, attempt, "failed", None,
                               c.round_attempts + 1)
        self._writeback.add(result, c.tenant_id)
        if _delivery_log.isEnabledFor(_INFO):
            log_attempt(c, result)

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

    def forget(self, endpoint_ids: Iterable[str]) -> None:
        """Drop what the attempts keep of idle endpoints (the worker's idle sweep): their
        rate gates' knowledge, OAuth tokens (fetched again at the next use) and free
        token locks.

        Args:
            endpoint_ids: The endpoints.
        """
        gone = set(endpoint_ids)
        self._rates.forget(gone)
        for key in [k for k in self._tokens if k[0] in gone]:
            del self._tokens[key]
        for key, lock in list(self._token_locks.items()):
            if key[0] in gone and not lock.locked():
                del self._token_locks[key]

    async def close(self) -> None:
        """Make the spans of finished attempts and close the HTTP sessions."""
        self._tracing.flush()
        await self._client.close()
        for session in self._sessions.values():
            await session.close()
        if self._proxy_session is not None:
            await self._proxy_session.close()

    async def _target(self, url: str, allow_local: bool,
                      headers: dict[str, str]) -> tuple[aiohttp.ClientSession, Any, dict[str, Any]]:
        """Where a request to ``url`` goes: the session, the URL and the proxy arguments.

        Without a proxy, the session whose resolver and sockets check every address. With
        one, the destination is resolved and checked here, and the proxy is asked to
        connect to the checked address (``Host`` and the certificate's name stay the
        destination's): the proxy's own address is the only other one reached.
        """
        if self._proxy is None:
            return self._session(allow_local), url, {}
        dest = parse_destination(url, allow_local=allow_local)
        ip = str(dest.ip) if dest.ip is not None else None
        if ip is None:
            resolver = CheckedResolver(self._resolve, allow_local=allow_local)
            try:
                ip = (await resolver.resolve(dest.host, dest.port))[0]["host"]
            except OSError as exc:  # DestinationRefusedError is a ValueError, not caught
                raise DNSError(f"{dest.host!r} does not resolve: {exc}") from None
        target = URL(url)
        default_port = {"https": 443, "http": 80}.get(dest.scheme)
        headers["Host"] = (target.raw_host or "") if target.port == default_port \
            else f"{target.raw_host}:{target.port}"
        via: dict[str, Any] = {"proxy": self._proxy.url}
        if self._proxy.authorization:
            via["proxy_headers"] = {"Proxy-Authorization": self._proxy.authorization}
        if dest.scheme == "https" and dest.ip is None:
            via["server_hostname"] = dest.host
        if self._proxy_session is None:
            self._proxy_session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections, limit_per_host=0),
                auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": self._user_agent})
        return self._proxy_session, target.with_host(ip), via

    async def post(self, cached: CachedEndpoint, headers: dict[str, str],
                   body: bytes) -> Response:
        """POST a signed body to the endpoint as an attempt does (authentication, proxy,
        SSRF checks, timeout), for senders of other bodies (batches).

        Args:
            cached: The endpoint.
            headers: The request's headers (authentication headers are added).
            body: The body.

        Returns:
            ``(status, error, response headers, response body excerpt)``.
        """
        return await self._post(cached, headers, body)

    async def _post(self, cached: CachedEndpoint, headers: dict[str, str],
                    body: bytes) -> Response:
        ep = cached.endpoint
        timeout = cached.timeout or self._timeout
        access = cached.access
        try:
            if cached.refused is not None:  # IP literals never reach the resolver
                raise DestinationRefusedError(cached.refused)
            token = None
            if access is not None:
                if access.authorization is not None:
                    headers["Authorization"] = access.authorization
                elif access.oauth is not None:
                    token = await self._token(cached, timeout)
                    headers["Authorization"] = "Bearer " + token
            answer = await self._send(ep, headers, body, timeout, access)
            if answer[0] == 401 and token is not None:
                # Revoked or expired early: one new token and one more try, so the
                # delivery does not fail for it.
                token = await self._token(cached, timeout, stale=token)
                headers["Authorization"] = "Bearer " + token
                answer = await self._send(ep, headers, body, timeout, access)
            return answer
        except HttpClientError as exc:  # the own client's, and DNSError of the proxy path
            if isinstance(exc, ClosedError) and access is not None and access.client_certificate:
                return None, "tls_error", {}, _CERTIFICATE_REFUSED
            return None, exc.code, {}, str(exc)[:500]
        except aiohttp.ClientHttpProxyError as exc:
            return None, "connection_error", {}, f"the egress proxy refused: {exc.status} {exc.message}"
        except TokenError as exc:  # retried like a connection failure (contract 4.6)
            return None, "connection_error", {}, f"OAuth token request failed: {exc}"[:500]
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
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            # A reset (ClientOSError ECONNRESET) is the other way the refusal arrives.
            refused = isinstance(exc, aiohttp.ServerDisconnectedError) or \
                exc.errno == errno.ECONNRESET
            if refused and access is not None and access.client_certificate:
                return None, "tls_error", {}, _CERTIFICATE_REFUSED
            return None, "connection_error", {}, str(exc)[:500]
        except (aiohttp.ClientConnectionError, OSError) as exc:
            return None, "connection_error", {}, str(exc)[:500]
        except aiohttp.ClientError as exc:
            return None, "protocol_error", {}, str(exc)[:500]

    async def _send(self, ep: Endpoint, headers: dict[str, str], body: bytes,
                    timeout: aiohttp.ClientTimeout, access: Optional[Access]) -> Response:
        if self._proxy is None:
            status, answer, raw = await self._client.post(
                ep.url, headers, body, timeout=timeout.total or self._timeout.total or 30.0,
                connect_timeout=timeout.sock_connect,
                tls=access.ssl if access is not None else None, allow_local=ep.allow_local)
            return status, None, answer, _text(raw)
        tls: Union[ssl.SSLContext, bool] = True
        if access is not None and access.ssl is not None:
            tls = access.ssl
        session, url, via = await self._target(ep.url, ep.allow_local, headers)
        async with session.post(url, data=body, headers=headers, allow_redirects=False,
                                timeout=timeout, ssl=tls, **via) as resp:
            length = resp.content_length
            if length is not None and length <= BODY_EXCERPT:
                # The usual short answer: one read (the chunked loop below cost the
                # bare client about 2 % of its throughput at 1 KiB).
                raw = await resp.read()
            else:
                raw = await _excerpt(resp.content)
            # aiohttp decodes header bytes that are not UTF-8 as lone surrogates, which no
            # UTF-8 text carries (an API answer listing the attempt could not be encoded):
            # U+FFFD instead, as the sender's own client records them.
            headers = {k: v.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                       for k, v in resp.headers.items()}
            return resp.status, None, headers, _text(raw)

    async def _token(self, cached: CachedEndpoint, timeout: aiohttp.ClientTimeout,
                     stale: Optional[str] = None) -> str:
        """The endpoint's OAuth token: cached, or fetched (once at a time per endpoint).

        ``stale``: a token the endpoint refused; a new one is fetched unless another
        attempt already replaced it.
        """
        access = cached.access
        assert access is not None and access.oauth is not None
        key = (cached.endpoint.id, access.key_id)
        token = self._tokens.get(key)
        if stale is None and fresh(token):
            return token.value  # type: ignore[union-attr]
        lock = self._token_locks.setdefault(key, asyncio.Lock())
        async with lock:
            token = self._tokens.get(key)
            if fresh(token) and token.value != stale:  # type: ignore[union-attr]
                return token.value  # type: ignore[union-attr]
            token = await self._fetch_token(cached.endpoint, access, timeout)
            self._tokens[key] = token
            return token.value

    async def _fetch_token(self, ep: Endpoint, access: Access,
                           timeout: aiohttp.ClientTimeout) -> OAuthToken:
        oauth = access.oauth or {}
        tls: Union[ssl.SSLContext, bool] = access.ssl if access.ssl is not None else True
        headers = {"Accept": "application/json",
                   "Authorization": _basic(oauth["client_id"], access.client_secret)}
        try:
            # The token URL passes the same checks, and the same proxy, as a delivery.
            session, url, via = await self._target(oauth["token_url"], ep.allow_local, headers)
            async with session.post(url, data=token_form(oauth), allow_redirects=False,
                                    headers=headers, timeout=timeout, ssl=tls, **via) as resp:
                answer = await resp.content.read(TOKEN_ANSWER_LIMIT)
                return token_from_answer(resp.status, answer, time.time())
        except DestinationRefusedError as exc:
            raise TokenError(f"token URL refused: {exc.detail}") from None
        except DNSError as exc:
            raise TokenError(f"the token URL's host does not resolve: {exc}") from None
        except asyncio.TimeoutError:
            raise TokenError("the token endpoint timed out") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise TokenError(str(exc) or type(exc).__name__) from None


# TLS 1.3 servers refuse a client certificate after the handshake, with an alert the
# client sees only as the connection closing unanswered.
_CERTIFICATE_REFUSED = ("the server closed the connection without an answer after the TLS "
                        "handshake: it probably refused the client certificate")


def _text(raw: bytes) -> str:
    """A response body excerpt as recorded text.

    NUL too becomes U+FFFD: PostgreSQL text cannot hold it, and a write-back that failed
    would leave the delivery to be retried for ever.
    """
    return raw.decode("utf-8", "replace").replace("\x00", "\ufffd")


def _basic(client_id: str, client_secret: str) -> str:
    """HTTP Basic credentials of an OAuth client: each part form-encoded (RFC 6749 2.3.1)."""
    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def log_attempt(c: Claimed, result: AttemptResult) -> None:
    """Log one finished attempt: info, or a warning when it dead-lettered its delivery.

    The fields (see docs/operations.md, "What serve logs"): ``event`` (``attempt``),
    ``delivery_id``, ``event_id``, ``event_type``, ``tenant_id``, ``endpoint_id``,
    ``status`` (the delivery's status after the attempt), ``http_status``, ``error``,
    ``attempt`` (its number, counting every round), ``latency_ms`` and, for a retry,
    ``next_attempt_at`` (Unix time).

    Args:
        c: The claimed delivery.
        result: What the attempt decided.
    """
    a = result.attempt
    status = result.status
    answer = str(a.status_code) if a.status_code is not None else (a.error or "-")
    if status == "dead_lettered":
        level, message = _WARNING, "delivery %s dead-lettered after %d attempts (%s)"
        args: tuple[object, ...] = (c.id, a.number, answer)
    else:
        level, message = _INFO, "delivery %s %s (%s, attempt %d, %.0f ms)"
        args = (c.id, "retrying" if status == "pending" else status, answer, a.number,
                a.latency_ms)
    # makeRecord + handle rather than .log(): the caller lookup .log() does (walking the
    # stack for a file and line no format prints) was a fifth of the line's cost.
    _delivery_log.handle(_delivery_log.makeRecord(
        DELIVERY_LOGGER, level, __file__, 0, message, args, None, extra=fields(
            event="attempt", delivery_id=c.id, event_id=c.event_id, event_type=c.event_type,
            tenant_id=c.tenant_id, endpoint_id=c.endpoint_id, status=status,
            http_status=a.status_code, error=a.error, attempt=a.number,
            latency_ms=a.latency_ms, next_attempt_at=result.next_attempt_at)))


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
