"""The library's front door: :class:`Sender`, every operation scoped by tenant."""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Optional

import hookseal

from ._outage import StoreOutage
from .catalog import PING_TYPE, Validator, no_validation, validate_event
from .config import MAX_ROTATION_OVERLAP, SenderConfig, endpoint_retry_policy
from .errors import (
    ConfigError,
    ConflictError,
    DestinationRefusedError,
    InvalidPayloadError,
    InvalidRequestError,
    NotFoundError,
    SenderError,
)
from .metrics import Metrics
from .models import (
    SIGNING_MODES,
    AuditEntry,
    Delivery,
    DeliveryFilter,
    Endpoint,
    EndpointKey,
    new_id,
)
from .notify import LogNotifier, Notifier
from .outbox import EnqueueResult, enqueue
from .secretbox import SecretBox
from .ssrf import Resolve, validate_url
from .storage import Store, open_store
from .storage.base import MAX_PURGE_BATCH_SIZE, PURGE_BATCH_SIZE, PurgeProgress

#: Fields of an endpoint a tenant may change with :meth:`Sender.update_endpoint`.
UPDATABLE_FIELDS = frozenset({
    "url", "description", "event_types", "signing", "profile", "header_prefix",
    "retry_schedule", "retry_after_cap", "timeout", "notify_email",
})

#: Most deliveries one page of :meth:`Sender.list_deliveries` holds.
MAX_PAGE = 500
#: Most deliveries one bulk replay may touch.
MAX_BULK_REPLAY = 10_000

#: Longest endpoint description, in characters.
MAX_DESCRIPTION = 1000
#: Longest tenant id or event type name (an endpoint's subscriptions and ``send``'s type).
MAX_NAME = 200
#: Longest ``hookseal-v1`` header prefix.
MAX_HEADER_PREFIX = 64
#: Longest ``notify_email`` (the longest address SMTP can carry, RFC 5321).
MAX_EMAIL = 254
#: Longest endpoint URL.
MAX_URL = 2048
#: Longest audit-log reason of a replay or cancel.
MAX_REASON = 1000
#: Longest audit actor: room for a portal user's, ``portal:`` and an e-mail address.
MAX_ACTOR = 300

# C0 controls, DEL and lone surrogates: PostgreSQL text cannot hold NUL, no store can
# encode a lone surrogate as UTF-8, and a CR or LF must never reach a header or a log line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
# The same, less the tab and newline free text may contain.
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")
# Letters, digits and '-': a subset of RFC 9110's token (what hookseal.Signer accepts), and
# without the '_' that proxies such as nginx drop from header names by default.
_HEADER_PREFIX = re.compile(r"[A-Za-z0-9-]+")


@dataclass(frozen=True)
class CreatedEndpoint:
    """A new endpoint and its secrets, shown this once.

    Attributes:
        endpoint: The endpoint.
        secret: Its ``whsec_`` secret.
        public_key: Its ``whpk_`` public key (not a secret; readable at any time).
    """

    endpoint: Endpoint
    secret: str
    public_key: str


@dataclass(frozen=True)
class Rotation:
    """The result of a rotation.

    Attributes:
        secret: The new ``whsec_`` secret (shown once).
        public_key: The current ``whpk_`` public key (new if the signing key rotated).
        overlap_ends_at: Unix time when the old keys stop signing.
    """

    secret: str
    public_key: Optional[str]
    overlap_ends_at: float


def _ping_version(event_type: str, data: Any) -> int:
    try:
        return validate_event(event_type, data)
    except SenderError:  # a catalog without test.ping: send it anyway
        return no_validation(event_type, data)


def check_text(value: Any, name: str, max_len: int, *, multiline: bool = False) -> str:
    """Return ``value`` if it is a string every store can hold, else raise.

    Args:
        value: The value to check.
        name: Its name in the error message.
        max_len: Most characters allowed.
        multiline: Allow tabs and newlines (free text).

    Returns:
        ``value``.

    Raises:
        InvalidRequestError: Not a ``str``, too long, or holding a control character (C0 or
            DEL; tab and newline allowed if ``multiline``) or a lone surrogate.
    """
    if not isinstance(value, str):
        raise InvalidRequestError(f"{name} must be a string")
    if len(value) > max_len:
        raise InvalidRequestError(f"{name} must be at most {max_len} characters")
    bad = (_CONTROL_IN_TEXT if multiline else _CONTROL).search(value)
    if bad:
        raise InvalidRequestError(f"{name} must not contain U+{ord(bad.group()):04X} "
                                  "(control characters and lone surrogates are refused)")
    return value


def _check_name(value: Any, name: str, max_len: int = MAX_NAME) -> str:
    """A name (tenant id, event type, audit actor): a non-empty one-line string of at most
    ``max_len``."""
    if isinstance(value, str) and not value:
        raise InvalidRequestError(f"{name} must not be empty")
    return check_text(value, name, max_len)


def _check_types(event_types: Any) -> Optional[list[str]]:
    """An endpoint's subscriptions: ``None`` (every type) or a list of event type names."""
    if event_types is None:
        return None
    if not isinstance(event_types, list):
        raise InvalidRequestError("event_types must be null or a list of event type names")
    return [_check_name(t, "each event type name") for t in event_types]


def _check_description(value: Any) -> str:
    """Free text: tabs and newlines allowed, other control characters not."""
    return check_text(value, "description", MAX_DESCRIPTION, multiline=True)


def _check_header_prefix(value: Any) -> str:
    """A ``hookseal-v1`` header prefix that makes valid header names on every proxy."""
    prefix = check_text(value, "header_prefix", MAX_HEADER_PREFIX)
    if not _HEADER_PREFIX.fullmatch(prefix):
        raise InvalidRequestError("header_prefix must be letters, digits and '-' only, such as "
                                  "'Hookseal' or 'Acme-Webhook'")
    return prefix


def _check_email(value: Any) -> Optional[str]:
    """``None`` or one plausible address; the notifier hands it to SMTP as is."""
    if value is None:
        return None
    addr = check_text(value, "notify_email", MAX_EMAIL)
    local, _, domain = addr.partition("@")
    if not local or not domain or "@" in domain or any(c.isspace() for c in addr):
        raise InvalidRequestError("notify_email must be null or one e-mail address, such as "
                                  "'ops@example.com'")
    return addr


def _check_number(value: Any, name: str, *, positive: bool = False) -> float:
    """A finite int or float (not a bool), ``> 0`` if ``positive`` else ``>= 0``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0 or (positive and value == 0):
        raise InvalidRequestError(f"{name} must be a finite number {'> 0' if positive else '>= 0'}")
    return float(value)


def check_overlap(value: Any, name: str) -> float:
    """A rotation overlap: a finite number of seconds from 0 to :data:`MAX_ROTATION_OVERLAP`.

    Args:
        value: The overlap.
        name: Its name in the error message.

    Returns:
        The overlap as a float.

    Raises:
        InvalidRequestError: Not a number, not finite, negative or over 30 days.
    """
    seconds = _check_number(value, name)
    if seconds > MAX_ROTATION_OVERLAP:
        raise InvalidRequestError(
            f"{name} must be at most {MAX_ROTATION_OVERLAP:.0f} seconds (30 days), "
            f"not {value!r}: the old secret would keep signing for too long")
    return seconds


def _check_retry_after_cap(value: Any) -> Optional[float]:
    """``None`` (the configured cap) or the most seconds a ``Retry-After`` may defer."""
    return None if value is None else _check_number(value, "retry_after_cap")


def _check_timeout(value: Any) -> Optional[float]:
    """``None`` (the configured timeouts) or a positive number of seconds."""
    return None if value is None else _check_number(value, "timeout", positive=True)


#: The content check of each updatable endpoint field that has one of its own (``url``,
#: ``profile``, ``signing`` and ``retry_schedule`` are checked by the Sender).
_FIELD_CHECKS: dict[str, Callable[[Any], Any]] = {
    "description": _check_description, "header_prefix": _check_header_prefix,
    "event_types": _check_types, "notify_email": _check_email,
    "retry_after_cap": _check_retry_after_cap, "timeout": _check_timeout,
}


def _check_ids(delivery_ids: Any) -> list[str]:
    """Delivery ids, each a one-line string of at most ``MAX_NAME``; a bare string is refused.

    A bare string is iterable too: it would be taken as one id per character.
    """
    if isinstance(delivery_ids, (str, bytes)):
        raise InvalidRequestError("delivery_ids must be a list of delivery ids")
    return [check_text(i, "each delivery id", MAX_NAME) for i in delivery_ids]


def _check_filter(flt: DeliveryFilter) -> None:
    """A delivery filter's strings and times, checked before they reach a query.

    Its fields may come straight from a request body, whatever their annotations say.
    """
    fields: dict[str, Any] = dict(flt.__dict__)
    for name in ("endpoint_id", "event_type"):
        if fields[name] is not None:
            check_text(fields[name], name, MAX_NAME)
    if fields["status"] is not None:
        if not isinstance(fields["status"], list):
            raise InvalidRequestError("status must be a list of delivery states")
        for status in fields["status"]:
            check_text(status, "status", MAX_NAME)
    for name in ("since", "until"):
        value = fields[name]
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value)):
            raise InvalidRequestError(f"{name} must be a Unix time")


class Sender:
    """A webhook sender: endpoints, outbox, delivery log; workers come from :meth:`worker`.

    Args:
        config: Configuration.
        store: The store (default: opened from ``config.database``).
        box: Encrypts secrets (default: loaded from the config or environment).
        notifier: Tells owners about dead letters (default: :class:`LogNotifier`).
        validator: Validates event data (default: the event catalog).
        resolve: DNS resolver for SSRF checks (tests pass a fake one).
    """

    def __init__(
        self, config: Optional[SenderConfig] = None, *, store: Optional[Store] = None,
        box: Optional[SecretBox] = None, notifier: Optional[Notifier] = None,
        validator: Validator = validate_event, resolve: Optional[Resolve] = None,
    ) -> None:
        self.config = config or SenderConfig()
        if store is None:
            box = box or SecretBox.load(self.config.master_key, self.config.master_key_file)
            store = open_store(self.config.database, box,
                               sqlite_synchronous=self.config.sqlite_synchronous)
            try:
                # A wrong master key fails here, once and clearly, not in every attempt.
                store.check_master_key()
            except ConfigError:
                store.close()
                raise
        self.store = store
        self.notifier: Notifier = notifier or LogNotifier()
        self.validator = validator
        self.resolve = resolve
        self.metrics = Metrics(queue_depth=self._queue_depth,
                               failing_endpoints=self._failing_endpoints)
        #: Whether the database is reachable, as this process last saw it (one log line
        #: per outage, however many workers and requests notice it).
        self.outage = StoreOutage()
        self._wakers: list[Callable[[], None]] = []

    def close(self) -> None:
        """Close the store's connections."""
        self.store.close()

    def _queue_depth(self) -> float:
        """The queue-depth gauge: NaN while the database is unreachable (a scrape must not
        fail, nor log a traceback each time, during an outage)."""
        try:
            return float(self.store.queue_depth())
        except Exception as exc:
            if not self.store.unavailable(exc):
                raise
            self.outage.failed("metrics", exc)
            return math.nan

    def _failing_endpoints(self) -> list[tuple[str, str, float]]:
        """The failing-endpoints gauge's rows: none while the database is unreachable."""
        try:
            return self.store.failing_endpoints()
        except Exception as exc:
            if not self.store.unavailable(exc):
                raise
            self.outage.failed("metrics", exc)
            return []

    # endpoints -------------------------------------------------------------
    def _validate_common(self, profile: str, signing: str, schedule: Any, cap: Any) -> None:
        if profile not in hookseal.PROFILES:
            raise InvalidRequestError(f"unknown profile {profile!r}")
        if signing not in SIGNING_MODES:
            raise InvalidRequestError(f"signing must be one of {', '.join(SIGNING_MODES)}")
        if schedule is not None and not isinstance(schedule, list):
            raise InvalidRequestError("retry_schedule must be a list of delays >= 0 (seconds)")
        try:  # the rules the worker applies when it builds the endpoint's policy
            endpoint_retry_policy(self.config.retry, schedule, cap)
        except ConfigError as exc:
            raise InvalidRequestError(exc.detail) from None

    def allows_local(self, endpoint: Endpoint) -> bool:
        """Whether deliveries to ``endpoint`` may go to ``http://`` and local addresses.

        Only when both the endpoint asked for it and the sender's settings allow it now:
        the settings win over what was stored while they allowed it.

        Args:
            endpoint: The endpoint.

        Returns:
            ``endpoint.allow_local and config.allow_local``.
        """
        return bool(endpoint.allow_local and self.config.allow_local)

    def _check_url(self, url: Any, allow_local: bool) -> None:
        check_text(url, "url", MAX_URL)
        coro = validate_url(url, allow_local=allow_local, resolve=self.resolve)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(coro)
            return
        # Called from async code: resolve on a helper thread with its own loop.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, coro).result()

    def create_endpoint(
        self, tenant_id: str, url: str, *, description: str = "", profile: str = "hookseal-v1",
        header_prefix: str = "Hookseal", event_types: Optional[list[str]] = None,
        signing: str = "hmac", retry_schedule: Optional[list[float]] = None,
        retry_after_cap: Optional[float] = None, timeout: Optional[float] = None,
        allow_local: bool = False, notify_email: Optional[str] = None,
    ) -> CreatedEndpoint:
        """Register an endpoint (SSRF-checked) with a new secret and signing key.

        Every field is checked before anything is written. No string may hold a control
        character (C0 or DEL) or a lone surrogate, except that a description may hold tabs
        and newlines.

        Args:
            tenant_id: The owning tenant (1 to :data:`MAX_NAME` characters).
            url: ``https://`` destination (at most :data:`MAX_URL` characters).
            description: Free text (at most :data:`MAX_DESCRIPTION` characters).
            profile: ``hookseal-v1`` or ``standard-webhooks``.
            header_prefix: Header prefix for ``hookseal-v1``: letters, digits and ``-``
                (at most :data:`MAX_HEADER_PREFIX` characters).
            event_types: Subscribed types (names of 1 to :data:`MAX_NAME` characters), or
                ``None`` for all.
            signing: ``hmac``, ``ed25519`` or ``both``.
            retry_schedule: Delays overriding the default schedule.
            retry_after_cap: ``Retry-After`` cap for this endpoint: a finite number of
                seconds ``>= 0``, or ``None`` for the configured cap.
            timeout: Timeout in seconds (finite, ``> 0``) overriding the default.
            allow_local: Allow local destinations; honoured only if the sender's config
                allows them (testing).
            notify_email: Owner's address for notices: ``None`` or one address (at most
                :data:`MAX_EMAIL` characters).

        Returns:
            The endpoint with its secret and public key.

        Raises:
            DestinationRefusedError: The URL is refused.
            InvalidRequestError: A field is invalid.
        """
        local = bool(allow_local and self.config.allow_local)
        _check_name(tenant_id, "tenant")
        self._validate_common(profile, signing, retry_schedule, retry_after_cap)
        types = _check_types(event_types)
        description = _check_description(description)
        header_prefix = _check_header_prefix(header_prefix)
        retry_after_cap = _check_retry_after_cap(retry_after_cap)
        timeout = _check_timeout(timeout)
        notify_email = _check_email(notify_email)
        try:
            self._check_url(url, local)
        except DestinationRefusedError as exc:
            if allow_local and not self.config.allow_local:
                raise DestinationRefusedError(
                    f"{exc.detail}. Local destinations were asked for, but the sender's "
                    "settings do not allow them: set \"allow_local\": true in the settings "
                    "file (hookseal-sender init --allow-local writes it; SenderConfig("
                    "allow_local=True) in code), for testing only") from None
            raise
        now = time.time()
        ep = Endpoint(
            id=new_id("ep"), tenant_id=tenant_id, url=url, description=description,
            profile=profile, header_prefix=header_prefix, event_types=types, signing=signing,
            retry_schedule=retry_schedule, retry_after_cap=retry_after_cap, timeout=timeout,
            allow_local=local, notify_email=notify_email, created_at=now, updated_at=now,
        )
        secret = hookseal.generate_secret()
        keys = [EndpointKey(new_id("key"), ep.id, "hmac", secret, None, now)]
        shared = self._tenant_signing_keys(tenant_id, now)
        if shared:
            # One Ed25519 key pair per customer: the new endpoint signs with the same
            # keys (and overlap) as the customer's other endpoints.
            keys += [EndpointKey(new_id("key"), ep.id, "ed25519", k.secret, k.public_key,
                                 k.created_at, k.expires_at) for k in shared]
            public_key = shared[-1].public_key or ""
        else:
            signing_key, public_key = hookseal.generate_signing_key()
            keys.append(EndpointKey(new_id("key"), ep.id, "ed25519", signing_key, public_key,
                                    now))
        self.store.insert_endpoint(ep, keys)
        return CreatedEndpoint(endpoint=ep, secret=secret, public_key=public_key)

    def _tenant_signing_keys(self, tenant_id: str, now: float) -> list[EndpointKey]:
        if self.config.signing_keys != "tenant":
            return []
        for other in self.store.list_endpoints(tenant_id):
            keys = [k for k in self.store.keys(other.id, now=now) if k.kind == "ed25519"]
            if keys:
                return keys
        return []

    def get_endpoint(self, tenant_id: str, endpoint_id: str) -> Endpoint:
        """One of a tenant's endpoints.

        Args:
            tenant_id: The tenant.
            endpoint_id: The endpoint.

        Returns:
            The endpoint.

        Raises:
            InvalidRequestError: An id no endpoint can have (not a string, too long, or
                holding a control character).
            NotFoundError: No such endpoint for this tenant.
        """
        # Every endpoint operation starts here: a NUL must not reach PostgreSQL untyped.
        _check_name(tenant_id, "tenant")
        check_text(endpoint_id, "endpoint_id", MAX_NAME)
        ep = self.store.get_endpoint(tenant_id, endpoint_id)
        if ep is None or ep.status == "deleted":
            raise NotFoundError(f"endpoint {endpoint_id} not found")
        return ep

    def list_endpoints(self, tenant_id: str) -> list[Endpoint]:
        """A tenant's endpoints (not deleted).

        Args:
            tenant_id: The tenant.

        Returns:
            The endpoints.

        Raises:
            InvalidRequestError: The tenant is not a name.
        """
        _check_name(tenant_id, "tenant")
        return self.store.list_endpoints(tenant_id)

    def public_keys(self, tenant_id: str, endpoint_id: str) -> list[str]:
        """An endpoint's current ``whpk_`` public keys (not secret; publishable).

        Args:
            tenant_id: The tenant.
            endpoint_id: The endpoint.

        Returns:
            The public keys still signing, oldest first.
        """
        self.get_endpoint(tenant_id, endpoint_id)
        return [k.public_key for k in self.store.keys(endpoint_id, now=time.time())
                if k.kind == "ed25519" and k.public_key]

    def update_endpoint(self, tenant_id: str, endpoint_id: str, **fields: Any) -> Endpoint:
        """Change an endpoint's URL, event types, description, signing mode, ...

        Args:
            tenant_id: The tenant.
            endpoint_id: The endpoint.
            **fields: Any of :data:`UPDATABLE_FIELDS`, checked as by
                :meth:`create_endpoint` before anything is written.

        Returns:
            The updated endpoint.

        Raises:
            InvalidRequestError: A field is unknown or invalid.
            NotFoundError: No such endpoint.
        """
        ep = self.get_endpoint(tenant_id, endpoint_id)
        unknown = set(fields) - UPDATABLE_FIELDS
        if unknown:
            raise InvalidRequestError(f"cannot update: {', '.join(sorted(unknown))}")
        # The settings checked together as they will be stored: a new cap with the old
        # schedule, or a new schedule with the old cap, must fit as well.
        merged = {k: fields[k] if k in fields else getattr(ep, k)
                  for k in ("profile", "signing", "retry_schedule", "retry_after_cap")}
        self._validate_common(merged["profile"], merged["signing"], merged["retry_schedule"],
                              merged["retry_after_cap"])
        fields = {k: _FIELD_CHECKS[k](v) if k in _FIELD_CHECKS else v for k, v in fields.items()}
        if "url" in fields:
            self._check_url(fields["url"], self.allows_local(ep))
        self.store.update_endpoint(tenant_id, endpoint_id, updated_at=time.time(), **fields)
        return self.get_endpoint(tenant_id, endpoint_id)

    def _set_status(self, tenant_id: str, endpoint_id: str, status: str,
                    reason: Optional[str] = None) -> Endpoint:
        self.get_endpoint(tenant_id, endpoint_id)
        self.store.update_endpoint(tenant_id, endpoint_id, status=status, status_reason=reason,
                                   updated_at=time.time())
        return self.get_endpoint(tenant_id, endpoint_id) if status != "deleted" else Endpoint(
            id=endpoint_id, tenant_id=tenant_id, url="", status="deleted")

    def pause_endpoint(self, tenant_id: str, endpoint_id: str) -> Endpoint:
        """Stop delivering to an endpoint; its deliveries wait until it resumes.

        Args:
            tenant_id: The tenant.
            endpoint_id: The endpoint.

        Returns:
            The endpoint.
        """
        return self._set_status(tenant_id, endpoint_id, "paused")

    def resume_endpoint(self, tenant_id: str, endpoint_id: str) -> Endpoint:
        """Resume a paused or disabled endpoint; waiting deliveries become due now.

        Args:
            tenant_id: The tenant.
            endpoint_id: The endpoint.

        Returns:
            The endpoint.
        """
        ep = self._set_status(tenant_id, endpoint_id, "active")
        self.store.update_endpoint(tenant_id, endpoint_id, failing_since=None)
        self.store.resume_endpoint_deliveries(endpoint_id, time.time())
        self._wake()
        return ep

    def delete_endpoint(self, tenant_id: str, endpoint_id: str) -> None:
        """Soft-delete an endpoint and cancel its pending deliveries.

        Args:
            tenant_id: The tenant.
            endpoint_id: The endpoint.
        """
        self._set_status(tenant_id, endpoint_id, "deleted")
        self.store.cancel(tenant_id, DeliveryFilter(endpoint_id=endpoint_id))

    def rotate_secret(
        self, tenant_id: str, endpoint_id: str, *, overlap: Optional[float] = None,
        actor: str = "api",
    ) -> Rotation:
        """Rotate an endpoint's secret (and its signing key if it signs with Ed25519).

        The new keys sign at once; the old ones keep signing beside them until the
        overlap ends, so receivers holding either secret accept every delivery.

        Args:
            tenant_id: The tenant.
            endpoint_id: The endpoint.
            overlap: Seconds the old keys keep signing (default: config, 24 h), from 0
                to :data:`MAX_ROTATION_OVERLAP` (30 days).
            actor: Who rotated (audit log).

        Returns:
            The new secret, the public key and the overlap's end.

        Raises:
            InvalidRequestError: A bad overlap or actor (checked before anything changes).
            NotFoundError: No such endpoint.
        """
        _check_name(actor, "actor", MAX_ACTOR)
        ep = self.get_endpoint(tenant_id, endpoint_id)
        if overlap is not None:
            check_overlap(overlap, "overlap")
        now = time.time()
        ends = now + (self.config.rotation_overlap if overlap is None else float(overlap))
        secret = hookseal.generate_secret()
        new = [EndpointKey(new_id("key"), endpoint_id, "hmac", secret, None, now)]
        public_key = None
        if ep.signing in ("ed25519", "both"):
            signing_key, public_key = hookseal.generate_signing_key()
            if self.config.signing_keys == "tenant":
                # The customer's one key pair rotates on all its endpoints at once.
                for other in self.store.list_endpoints(tenant_id):
                    if other.id != endpoint_id:
                        self.store.rotate_keys(other.id, [EndpointKey(
                            new_id("key"), other.id, "ed25519", signing_key, public_key,
                            now)], ends)
            new.append(EndpointKey(new_id("key"), endpoint_id, "ed25519", signing_key,
                                   public_key, now))
        self.store.rotate_keys(endpoint_id, new, ends)
        self.audit(tenant_id, actor, "rotate", "", {"endpoint_id": endpoint_id,
                                                    "overlap_ends_at": ends})
        if public_key is None:
            keys = self.public_keys(tenant_id, endpoint_id)
            public_key = keys[-1] if keys else None
        return Rotation(secret=secret, public_key=public_key, overlap_ends_at=ends)

    # sending -------------------------------------------------------------
    def add_waker(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` after each enqueue (in-process workers start at once).

        Args:
            wake: A thread-safe callable.
        """
        self._wakers.append(wake)

    def remove_waker(self, wake: Callable[[], None]) -> None:
        """Stop calling ``wake`` (a no-op if it is not registered).

        Args:
            wake: A callable given to :meth:`add_waker`.
        """
        if wake in self._wakers:
            self._wakers.remove(wake)

    def _wake(self) -> None:
        for wake in list(self._wakers):
            wake()

    def send(
        self, tenant_id: str, event_type: str, data: Any, *, conn: Any = None,
    ) -> EnqueueResult:
        """Enqueue an event for every endpoint of the tenant subscribed to its type.

        Args:
            tenant_id: The tenant.
            event_type: The catalog event type.
            data: The event data, validated against the catalog.
            conn: Your own connection with its transaction open, to enqueue atomically
                with your business change (you commit).

        Returns:
            The event and its deliveries.

        Raises:
            InvalidPayloadError: The data does not validate, or holds a lone surrogate
                (no store can encode it as UTF-8).
            InvalidRequestError: The tenant or type is empty, longer than
                :data:`MAX_NAME` or holds a control character.
        """
        _check_name(tenant_id, "tenant")
        # The type is also sent as a header value (<prefix>-Event-Type): no CR or LF.
        _check_name(event_type, "type")
        try:
            result = enqueue(self.store, tenant_id, event_type, data, validator=self.validator,
                             conn=conn)
        except UnicodeEncodeError:  # the driver could not encode the payload: its INSERT failed
            raise InvalidPayloadError("data must not contain lone surrogates (not UTF-8)") from None
        return self._enqueued(event_type, result)

    def ping(self, tenant_id: str, endpoint_id: str) -> EnqueueResult:
        """Send a ``test.ping`` event to one endpoint.

        Args:
            tenant_id: The tenant.
            endpoint_id: The endpoint.

        Returns:
            The event and its delivery.
        """
        self.get_endpoint(tenant_id, endpoint_id)
        result = enqueue(self.store, tenant_id, PING_TYPE, {"message": "ping"},
                         validator=_ping_version, endpoint_ids=[endpoint_id],
                         livemode=False)
        return self._enqueued(PING_TYPE, result)

    def _enqueued(self, event_type: str, result: EnqueueResult) -> EnqueueResult:
        # Every enqueue path counts its event and wakes this process's workers.
        self.metrics.child(self.metrics.enqueued, event_type).inc()
        self.metrics.deliveries_created.inc(len(result.deliveries))
        self._wake()
        return result

    # delivery log ----------------------------------------------------------
    def get_delivery(self, tenant_id: str, delivery_id: str) -> Delivery:
        """One delivery with every attempt and its body.

        Args:
            tenant_id: The tenant.
            delivery_id: The delivery.

        Returns:
            The delivery.

        Raises:
            InvalidRequestError: An id no delivery can have.
            NotFoundError: No such delivery for this tenant.
        """
        _check_name(tenant_id, "tenant")
        check_text(delivery_id, "delivery_id", MAX_NAME)
        d = self.store.get_delivery(tenant_id, delivery_id)
        if d is None:
            raise NotFoundError(f"delivery {delivery_id} not found")
        return d

    def list_deliveries(
        self, tenant_id: str, flt: Optional[DeliveryFilter] = None, *, limit: int = 50,
        before: Optional[str] = None,
    ) -> list[Delivery]:
        """A tenant's deliveries, newest first, one page.

        Args:
            tenant_id: The tenant.
            flt: Filters by endpoint, type, status, time range.
            limit: Page size (at most 500).
            before: Cursor: the last id of the previous page.

        Returns:
            The page.

        Raises:
            InvalidRequestError: The tenant is not a name, or a bad filter or cursor.
        """
        _check_name(tenant_id, "tenant")
        flt = flt or DeliveryFilter()
        _check_filter(flt)
        if before is not None:
            check_text(before, "before", MAX_NAME)
        return self.store.list_deliveries(tenant_id, flt, limit=max(1, min(limit, MAX_PAGE)),
                                          before=before)

    def audit(self, tenant_id: str, actor: str, action: str, reason: str,
              target: dict[str, Any]) -> None:
        """Append to the audit log.

        Args:
            tenant_id: The tenant.
            actor: Who.
            action: What.
            reason: Why.
            target: Details.

        Raises:
            InvalidRequestError: The tenant, actor or action is not a name, or the reason
                is not text.
        """
        _check_name(tenant_id, "tenant")
        _check_name(actor, "actor", MAX_ACTOR)
        _check_name(action, "action")
        check_text(reason, "reason", MAX_REASON, multiline=True)
        self.store.add_audit(AuditEntry(new_id("aud"), tenant_id, actor, action, reason,
                                        target, time.time()))

    def replay(self, tenant_id: str, delivery_id: str, *, actor: str = "api",
               reason: str = "") -> Delivery:
        """Send a finished delivery again (same delivery id, freshly signed).

        Args:
            tenant_id: The tenant.
            delivery_id: The delivery.
            actor: Who (audit log).
            reason: Why (audit log).

        Returns:
            The delivery, pending again.

        Raises:
            ConflictError: It is still pending or in flight.
        """
        # Checked first: the audit entry is written after the replay, too late to refuse it.
        _check_name(actor, "actor", MAX_ACTOR)
        check_text(reason, "reason", MAX_REASON, multiline=True)
        d = self.get_delivery(tenant_id, delivery_id)
        if not self.store.replay(tenant_id, [delivery_id], time.time(), 0.0):
            raise ConflictError(f"delivery {delivery_id} is {d.status}; nothing to replay")
        self.audit(tenant_id, actor, "replay", reason, {"delivery_ids": [delivery_id]})
        self._wake()
        return self.get_delivery(tenant_id, delivery_id)

    def replay_bulk(
        self, tenant_id: str, flt: DeliveryFilter, *, confirm: bool = False,
        actor: str = "api", reason: str = "", include_ids: bool = False,
        limit: Optional[int] = None,
    ) -> dict[str, Any]:
        """Replay the finished deliveries matching a filter, oldest first, rate-limited.

        Without ``confirm`` nothing changes and the counts are returned (the confirmation
        step): how many match, and how many would be replayed (``selected``: at most
        ``limit``). Replays are spaced ``1 / config.replay_rate`` seconds apart, so a bulk
        replay never floods an endpoint.

        Args:
            tenant_id: The tenant.
            flt: Which deliveries (statuses default to failed and dead-lettered).
            confirm: Actually replay.
            actor: Who (audit log).
            reason: Why (audit log).
            include_ids: Also return the selected delivery ids under ``"ids"`` (to follow
                them with :meth:`delivery_status_counts`). A selected delivery that went
                live meanwhile is not replayed but still listed: it finishes too.
            limit: Replay at most this many (1 to :data:`MAX_BULK_REPLAY`), the oldest;
                ``None``: all that match, if no more than :data:`MAX_BULK_REPLAY` do.

        Returns:
            ``{"matched": n, "more_match": bool, "selected": n, "limit": n or None,
            "replayed": n, "confirmed": bool, "rate_per_s": r}``, plus ``"ids"`` if asked
            for. ``matched`` counts at most :data:`MAX_BULK_REPLAY` (``more_match`` says
            there were more).

        Raises:
            InvalidRequestError: A bad filter, reason or limit, or more than
                :data:`MAX_BULK_REPLAY` match and no limit was given.
        """
        _check_name(tenant_id, "tenant")
        _check_name(actor, "actor", MAX_ACTOR)
        check_text(reason, "reason", MAX_REASON, multiline=True)
        _check_filter(flt)
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or not 1 <= limit <= MAX_BULK_REPLAY):
            raise InvalidRequestError(f"limit must be an integer from 1 to {MAX_BULK_REPLAY}")
        if flt.status is None:
            flt = DeliveryFilter(flt.endpoint_id, flt.event_type, ["failed", "dead_lettered"],
                                 flt.since, flt.until)
        if any(s in ("pending", "delivering") for s in flt.status or ()):
            raise InvalidRequestError("only finished deliveries can be replayed")
        ids = self.store.select_ids(tenant_id, flt, MAX_BULK_REPLAY + 1)
        matched = len(ids)
        if limit is None and matched > MAX_BULK_REPLAY:
            raise InvalidRequestError(f"more than {MAX_BULK_REPLAY} deliveries match; narrow "
                                      "the filter or give a limit")
        ids = ids[:MAX_BULK_REPLAY if limit is None else limit]
        out: dict[str, Any] = {"matched": min(matched, MAX_BULK_REPLAY),
                               "more_match": matched > MAX_BULK_REPLAY,
                               "selected": len(ids), "limit": limit, "replayed": 0,
                               "confirmed": confirm, "rate_per_s": self.config.replay_rate}
        if include_ids:
            out["ids"] = ids
        if confirm and ids:
            out["replayed"] = self.store.replay(tenant_id, ids, time.time(),
                                                1.0 / self.config.replay_rate)
            self.audit(tenant_id, actor, "bulk_replay", reason,
                       {"filter": flt.__dict__, "count": out["replayed"]})
            self._wake()
        return out

    def cancel(self, tenant_id: str, *, endpoint_id: Optional[str] = None,
               delivery_ids: Optional[Sequence[str]] = None, actor: str = "api",
               reason: str = "") -> int:
        """Cancel pending deliveries of an endpoint, or these deliveries.

        Args:
            tenant_id: The tenant.
            endpoint_id: Cancel this endpoint's pending deliveries.
            delivery_ids: Or these.
            actor: Who (audit log).
            reason: Why (audit log).

        Returns:
            How many were cancelled.

        Raises:
            InvalidRequestError: Neither an endpoint nor ids given, ``delivery_ids`` is not
                a list, or the tenant, the endpoint, an id or the reason is too long or
                holds a control character or a lone surrogate (nothing is cancelled).
            NotFoundError: No such endpoint for this tenant.
        """
        if endpoint_id is None and delivery_ids is None:
            raise InvalidRequestError("give an endpoint or delivery ids")
        # All checked before any query: PostgreSQL cannot even compare a string holding
        # NUL, and no store can encode a lone surrogate (both were untyped errors).
        _check_name(tenant_id, "tenant")
        if endpoint_id is not None:
            check_text(endpoint_id, "endpoint_id", MAX_NAME)
        if delivery_ids is not None:
            if not isinstance(delivery_ids, Sequence):
                raise InvalidRequestError("delivery_ids must be a list of delivery ids")
            delivery_ids = _check_ids(delivery_ids)
        _check_name(actor, "actor", MAX_ACTOR)
        check_text(reason, "reason", MAX_REASON, multiline=True)
        if endpoint_id is not None:
            self.get_endpoint(tenant_id, endpoint_id)
        n = self.store.cancel(tenant_id, DeliveryFilter(endpoint_id=endpoint_id),
                              list(delivery_ids) if delivery_ids is not None else None)
        self.audit(tenant_id, actor, "cancel", reason,
                   {"endpoint_id": endpoint_id, "delivery_ids": list(delivery_ids or []),
                    "count": n})
        return n

    def delivery_status_counts(
        self, tenant_id: str, delivery_ids: Sequence[str],
    ) -> dict[str, int]:
        """How many of these deliveries are in each status (to follow a replay).

        Only the tenant's deliveries are counted: another tenant's ids count as nothing.

        Args:
            tenant_id: The tenant.
            delivery_ids: The deliveries.

        Returns:
            ``{status: count}``, e.g. ``{"pending": 2, "delivered": 7}``.

        Raises:
            InvalidRequestError: No tenant given (or not a name), or an id no delivery can
                have.
        """
        _check_name(tenant_id, "tenant")
        return self.store.status_counts(tenant_id, _check_ids(delivery_ids))

    def purge(
        self, *, older_than_days: Optional[float] = None, batch_size: int = PURGE_BATCH_SIZE,
        on_progress: Optional[PurgeProgress] = None,
    ) -> int:
        """Delete finished deliveries older than the retention (default 30 days).

        Deletes in transactions of ``batch_size`` deliveries (with their attempts), then
        the events left without deliveries, so enqueues and workers keep running while a
        large backlog is purged.

        Args:
            older_than_days: Override the configured retention.
            batch_size: Most deliveries deleted per transaction (1 to 10,000).
            on_progress: Called as ``on_progress(done, total)`` with the deliveries
                deleted so far and the number that matched when the purge started.

        Returns:
            Deliveries deleted.

        Raises:
            InvalidRequestError: ``batch_size`` is out of range.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or \
                not 1 <= batch_size <= MAX_PURGE_BATCH_SIZE:
            raise InvalidRequestError(f"batch_size must be 1 to {MAX_PURGE_BATCH_SIZE}")
        days = self.config.retention_days if older_than_days is None else older_than_days
        return self.store.purge(time.time() - days * 86400, batch_size=batch_size,
                                on_progress=on_progress)

    def worker(self, **kwargs: Any) -> Any:
        """A delivery worker for this sender (see :class:`hookseal_sender.worker.Worker`).

        Args:
            **kwargs: Passed to the worker.

        Returns:
            The worker.
        """
        from .worker import Worker

        return Worker(self, **kwargs)
