"""Endpoints: register (SSRF-checked, with a new secret and signing keys), read, change,
pause, resume and delete a tenant's endpoints.

The :class:`~hookseal_sender.Sender` facade delegates its endpoint methods here; each check
of a field comes from :mod:`hookseal_sender._inputs`.
"""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Optional

import hookseal
from hookseal.profiles import DEFAULT_HEADER_PREFIX, HOOKSEAL_V1

from . import _inputs as inputs
from ._access import AUTH_KIND
from ._options import OPTION_FIELDS, OptionContext, check_options
from ._suggest import unknown
from .catalog import SenderCatalog, sender_catalog
from .config import SenderConfig, endpoint_retry_policy
from .endpoint_auth import CheckedAuth, check_auth, check_ca_pem
from .errors import ConfigError, DestinationRefusedError, InvalidRequestError, NotFoundError
from .models import SIGNING_MODES, DeliveryFilter, Endpoint, EndpointKey, new_id
from .ssrf import Resolve, validate_url
from .storage import Store

__all__ = ["CreatedEndpoint", "EndpointService"]

_LOCAL_REFUSED = (
    ". Local destinations were asked for, but the sender's settings do not allow them: set "
    "\"allow_local\": true in the settings file (hookseal-sender init --allow-local writes "
    "it; SenderConfig(allow_local=True) in code), for testing only")


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


class EndpointService:
    """A tenant's endpoints, every field checked before anything is written.

    Args:
        store: The store.
        config: The sender's configuration (the facade replaces it when its own changes).
        resolve: DNS resolver for SSRF checks (``None``: the system's).
        wake: Wakes this process's workers (after a resume).
    """

    def __init__(self, store: Store, config: SenderConfig, resolve: Optional[Resolve],
                 wake: Callable[[], None]) -> None:
        self.store = store
        self.config = config
        self.resolve = resolve
        self.wake = wake

    @property
    def catalog(self) -> SenderCatalog:
        """The sender's event catalog (``config.catalog``), which pins are checked against."""
        return sender_catalog(self.config.catalog, self.config.derivations)

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

    def _check_common(self, profile: str, signing: str, schedule: Any, cap: Any) -> None:
        if profile not in hookseal.PROFILES:
            raise InvalidRequestError(unknown("profile", str(profile), sorted(hookseal.PROFILES)))
        if signing not in SIGNING_MODES:
            raise InvalidRequestError(f"signing must be one of {', '.join(SIGNING_MODES)}")
        if schedule is not None and not isinstance(schedule, list):
            raise InvalidRequestError("retry_schedule must be a list of delays >= 0 (seconds)")
        try:  # the rules the worker applies when it builds the endpoint's policy
            endpoint_retry_policy(self.config.retry, schedule, cap)
        except ConfigError as exc:
            raise InvalidRequestError(exc.detail) from None

    def _check_auth(self, auth: Any, local: bool) -> Optional[CheckedAuth]:
        checked = check_auth(auth)
        if checked is not None and checked.public["type"] == "oauth":
            try:  # the token URL is a destination too
                self._check_url(checked.public["token_url"], local)
            except DestinationRefusedError as exc:
                raise DestinationRefusedError(f"auth.token_url: {exc.detail}") from None
        return checked

    @staticmethod
    def _check_ca(tls_ca_pem: Any, local: bool) -> Optional[str]:
        pem = check_ca_pem(tls_ca_pem)
        if pem is not None and not local:
            raise InvalidRequestError("tls_ca_pem is for testing only: it needs local "
                                      "destinations allowed (allow_local)")
        return pem

    def _check_url(self, url: Any, allow_local: bool) -> None:
        inputs.check_text(url, "url", inputs.MAX_URL)
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
        self, tenant_id: str, url: str, *, description: str = "", profile: str = HOOKSEAL_V1,
        header_prefix: str = DEFAULT_HEADER_PREFIX, event_types: Optional[list[str]] = None,
        signing: str = "hmac", retry_schedule: Optional[list[float]] = None,
        retry_after_cap: Optional[float] = None, timeout: Optional[float] = None,
        allow_local: bool = False, notify_email: Optional[str] = None,
        versions: Optional[dict[str, int]] = None, filter: Optional[dict[str, Any]] = None,
        headers: Optional[dict[str, str]] = None, redact: Optional[list[str]] = None,
        rate_limit: Optional[float] = None, batch: Optional[dict[str, float]] = None,
        ordering: Optional[str] = None, auth: Optional[dict[str, Any]] = None,
        tls_ca_pem: Optional[str] = None,
    ) -> CreatedEndpoint:
        """Register an endpoint (SSRF-checked) with a new secret and signing key.

        Every field is checked before anything is written. No string may hold a control
        character (C0 or DEL) or a lone surrogate, except that a description may hold tabs
        and newlines.

        Args:
            tenant_id: The owning tenant (1 to ``MAX_NAME`` characters).
            url: ``https://`` destination (at most ``MAX_URL`` characters).
            description: Free text (at most ``MAX_DESCRIPTION`` characters).
            profile: ``hookseal-v1`` or ``standard-webhooks``.
            header_prefix: Header prefix for ``hookseal-v1``: letters, digits and ``-``
                (at most ``MAX_HEADER_PREFIX`` characters).
            event_types: Subscribed types (names of 1 to ``MAX_NAME`` characters), or
                ``None`` for all.
            signing: ``hmac``, ``ed25519`` or ``both``.
            retry_schedule: Delays overriding the default schedule.
            retry_after_cap: ``Retry-After`` cap for this endpoint: a finite number of
                seconds ``>= 0``, or ``None`` for the configured cap.
            timeout: Timeout in seconds (finite, ``> 0``) overriding the default.
            allow_local: Allow local destinations; honoured only if the sender's config
                allows them (testing).
            notify_email: Owner's address for notices: ``None`` or one address (at most
                ``MAX_EMAIL`` characters).
            versions: Pinned major version per event type (contract 4.2).
            filter: A filter over the envelope (contract 4.3).
            headers: Extra request headers (contract 4.3).
            redact: JSON Pointers of optional ``data`` fields to drop (contract 4.3).
            rate_limit: Most deliveries per second (contract 4.3).
            batch: Batch thresholds (contract 4.4).
            ordering: ``"per_key"`` for ordered delivery (contract 4.5).

            auth: How the sender authenticates to the endpoint (contract 4.6; see
                :mod:`hookseal_sender.endpoint_auth`): its secrets are stored encrypted
                and never shown again; an OAuth token URL passes the URL's checks.
            tls_ca_pem: PEM CA certificates trusted for the server's certificate
                (testing only: refused unless local destinations are allowed).

        Each option is checked by :data:`hookseal_sender._options.OPTION_CHECKS`; ``None``
        leaves it unset.

        Returns:
            The endpoint with its secret and public key.

        Raises:
            DestinationRefusedError: The URL is refused.
            InvalidRequestError: A field is invalid.
        """
        local = bool(allow_local and self.config.allow_local)
        inputs.check_name(tenant_id, "tenant")
        self._check_common(profile, signing, retry_schedule, retry_after_cap)
        types = inputs.check_event_types(event_types)
        description = inputs.check_description(description)
        header_prefix = inputs.check_header_prefix(header_prefix)
        retry_after_cap = inputs.check_retry_after_cap(retry_after_cap)
        timeout = inputs.check_timeout(timeout)
        notify_email = inputs.check_email(notify_email)
        options = check_options(
            {"versions": versions, "filter": filter, "headers": headers, "redact": redact,
             "rate_limit": rate_limit, "batch": batch, "ordering": ordering},
            OptionContext(types, profile, header_prefix, self.catalog))
        checked_auth = self._check_auth(auth, local)
        tls_ca_pem = self._check_ca(tls_ca_pem, local)
        try:
            self._check_url(url, local)
        except DestinationRefusedError as exc:
            if allow_local and not self.config.allow_local:
                raise DestinationRefusedError(exc.detail + _LOCAL_REFUSED) from None
            raise
        now = time.time()
        ep = Endpoint(
            id=new_id("ep"), tenant_id=tenant_id, url=url, description=description,
            profile=profile, header_prefix=header_prefix, event_types=types, signing=signing,
            retry_schedule=retry_schedule, retry_after_cap=retry_after_cap, timeout=timeout,
            allow_local=local, notify_email=notify_email, created_at=now, updated_at=now,
            auth=checked_auth.public if checked_auth else None, tls_ca_pem=tls_ca_pem,
            **options,
        )
        secret = hookseal.generate_secret()
        keys = [EndpointKey(new_id("key"), ep.id, "hmac", secret, None, now)]
        if checked_auth is not None:
            keys.append(EndpointKey(new_id("key"), ep.id, AUTH_KIND,
                                    json.dumps(checked_auth.secret), None, now))
        shared = self.tenant_signing_keys(tenant_id, now)
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

    def tenant_signing_keys(self, tenant_id: str, now: float) -> list[EndpointKey]:
        """The Ed25519 keys a tenant's endpoints share (``signing_keys = "tenant"``).

        Args:
            tenant_id: The tenant.
            now: The current Unix time (expired keys are left out).

        Returns:
            The keys of the tenant's first endpoint that has any, or ``[]`` (also when
            each endpoint has its own keys).
        """
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
        inputs.check_name(tenant_id, "tenant")
        inputs.check_text(endpoint_id, "endpoint_id", inputs.MAX_NAME)
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
        inputs.check_name(tenant_id, "tenant")
        return self.store.list_endpoints(tenant_id)

    def update_endpoint(self, tenant_id: str, endpoint_id: str, **fields: Any) -> Endpoint:
        """Change an endpoint's URL, event types, description, signing mode, ...

        Args:
            tenant_id: The tenant.
            endpoint_id: The endpoint.
            **fields: Any of ``UPDATABLE_FIELDS``, checked as by :meth:`create_endpoint`
                before anything is written.

        Returns:
            The updated endpoint.

        Raises:
            InvalidRequestError: A field is unknown or invalid.
            NotFoundError: No such endpoint.
        """
        ep = self.get_endpoint(tenant_id, endpoint_id)
        unknown = set(fields) - inputs.UPDATABLE_FIELDS
        if unknown:
            raise InvalidRequestError(f"cannot update: {', '.join(sorted(unknown))}")
        # The settings checked together as they will be stored: a new cap with the old
        # schedule, or a new schedule with the old cap, must fit as well.
        merged = {k: fields[k] if k in fields else getattr(ep, k)
                  for k in ("profile", "signing", "retry_schedule", "retry_after_cap")}
        self._check_common(merged["profile"], merged["signing"], merged["retry_schedule"],
                           merged["retry_after_cap"])
        checks = inputs.FIELD_CHECKS
        fields = {k: checks[k](v) if k in checks else v for k, v in fields.items()}
        if fields.keys() & {*OPTION_FIELDS, "event_types", "profile", "header_prefix"}:
            # Options depend on the other settings: all of them are checked against the
            # endpoint as it will be stored (new event types may make a redaction invalid).
            stored = {k: fields.get(k, getattr(ep, k))
                      for k in (*OPTION_FIELDS, "event_types", "profile", "header_prefix")}
            context = OptionContext(stored["event_types"], stored["profile"],
                                    stored["header_prefix"], self.catalog)
            checked = check_options(stored, context)
            fields.update({k: checked[k] for k in OPTION_FIELDS if k in fields})
        if "url" in fields:
            self._check_url(fields["url"], self.allows_local(ep))
        if "tls_ca_pem" in fields:
            fields["tls_ca_pem"] = self._check_ca(fields["tls_ca_pem"], self.allows_local(ep))
        now = time.time()
        if "auth" in fields:
            new_auth = self._check_auth(fields["auth"], self.allows_local(ep))
            fields["auth"] = new_auth.public if new_auth else None
            # The new secrets replace the old at once (no overlap: the endpoint asked).
            new = [] if new_auth is None else [EndpointKey(
                new_id("key"), endpoint_id, AUTH_KIND, json.dumps(new_auth.secret), None, now)]
            self.store.rotate_keys(endpoint_id, new, now, kinds=[AUTH_KIND])
        self.store.update_endpoint(tenant_id, endpoint_id, updated_at=now, **fields)
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
        self.wake()
        return ep

    def delete_endpoint(self, tenant_id: str, endpoint_id: str) -> None:
        """Soft-delete an endpoint and cancel its pending deliveries.

        Args:
            tenant_id: The tenant.
            endpoint_id: The endpoint.
        """
        self._set_status(tenant_id, endpoint_id, "deleted")
        self.store.cancel(tenant_id, DeliveryFilter(endpoint_id=endpoint_id))
