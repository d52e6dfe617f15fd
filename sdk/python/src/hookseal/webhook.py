"""The verifier: :class:`Webhook` checks a delivery's headers and raw body."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import math
import re
import time
from collections.abc import Sequence
from typing import Any, Callable, Optional, Union

from . import _config, _ed25519, _headers, _mac
from ._typed import Typed, parser_for
from .errors import InvalidPayloadError, MalformedHeaderError, SignatureMismatchError
from .keys import HmacKey, check_profile, parse_verify_key
from .profiles import DEFAULT_HEADER_PREFIX, HOOKSEAL_V1
from .signature import is_canonical_b64_64, parse_hookseal_header, parse_standard_header
from .timestamps import DEFAULT_TOLERANCE, check_window, parse_timestamp

__all__ = ["Webhook"]

# The shape every sender writes, "t=<ts>,v1=<64 characters>", with the t not yet checked:
# a header of this shape whose t is bad is malformed on the general path too (so it is
# rejected at once, without a re-parse). And the standard-webhooks shape: one v1 entry of
# padded base64 (canonical or not: the text comparison settles that).
_V1_SHAPE = re.compile(r"t=[^,]*,v1=[^,]{64}").fullmatch

_CANONICAL_SW = re.compile(r"v1,([A-Za-z0-9+/]{43}=)").fullmatch
_NONE: list[str] = []
_b64 = binascii.b2a_base64
_DECODER = json.JSONDecoder()  # what json.loads uses for its default arguments
_JSON_OPENERS = (b"{", b"[")


def _is_canonical_v1(value: str) -> bool:
    """Whether ``value`` (ASCII, its t already 1 to 18 digits) is "t=<t>,v1=<64, no comma>"."""
    return value[:2] == "t=" and value[-68:-64] == ",v1=" and "," not in value[-64:]


Body = Union[bytes, bytearray, memoryview, str]
Clock = Callable[[], float]


def _body_bytes(body: object) -> bytes:
    try:
        return _config.body_bytes(body)
    except TypeError as exc:
        # No signature can cover a body that is not bytes; say so as a verification failure.
        raise SignatureMismatchError(str(exc)) from None


def _parse_json(body: Body) -> Any:
    """``json.loads`` of the body, as fast as it can be done with the same result."""
    try:
        # json.loads(bytes) detects the encoding and decodes with "surrogatepass", which is
        # several times slower than the strict UTF-8 decoder. A body that opens with "{" or
        # "[" and no NUL byte is one json.loads reads as UTF-8, and a strict decode that
        # succeeds gives the same text; anything else takes json.loads itself.
        if type(body) is bytes and body[:1] in _JSON_OPENERS and body[1:2] != b"\x00":
            try:
                text = body.decode()
            except UnicodeDecodeError:
                return json.loads(body)
            return _DECODER.decode(text)
        return json.loads(_config.body_bytes(body))
    except (ValueError, RecursionError):
        raise InvalidPayloadError("the verified body is not valid JSON") from None


def _typed(parse: Callable[[dict[str, Any]], Any], event: dict[str, Any]) -> Any:
    try:
        return parse(event)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise InvalidPayloadError(f"the verified body does not match its event schema: {exc}") from exc


class Webhook:
    """Verifies webhook deliveries for one endpoint.

    Build one per endpoint at start-up and reuse it: each secret's HMAC state is keyed
    once here and copied per request, which is cheaper than keying it every time.

    Examples:
        >>> wh = hookseal.Webhook("whsec_...")
        >>> event = wh.construct_event(request_body, request_headers)

    Args:
        secret_or_secrets: The endpoint's secret, or several (a receiver rotating its own
            secret holds the old and the new). ``whpk_`` Ed25519 public keys may be mixed
            in; they check ``v1a`` signatures (needs ``pip install hookseal[ed25519]``).
        profile: ``"hookseal-v1"`` (default) or ``"standard-webhooks"``.
        tolerance: Seconds the signed timestamp may differ from the clock, in either
            direction (default 300). ``0`` means exactly now, never "off".
        header_prefix: The ``hookseal-v1`` header prefix (``"Acme"`` reads ``Acme-Signature``).
        clock: A function returning Unix time in seconds, for tests (default ``time.time``).

    Raises:
        ConfigurationError: No secrets, an empty or undecodable secret, an unknown
            profile, a negative tolerance, a bad prefix, or a ``whpk_`` key without the
            ``ed25519`` extra.
    """

    __slots__ = (
        "_clock",
        "_macs",
        "_profile",
        "_publics",
        "_sig_display",
        "_t_display",
        "_tolerance",
        "_v1_name",
        "_wanted",
        "header_prefix",
        "profile",
        "tolerance",
    )

    def __init__(
        self,
        secret_or_secrets: Union[str, Sequence[str]],
        *,
        profile: str = HOOKSEAL_V1,
        tolerance: int = DEFAULT_TOLERANCE,
        header_prefix: str = DEFAULT_HEADER_PREFIX,
        clock: Optional[Clock] = None,
    ) -> None:
        self.profile = check_profile(profile)
        self.tolerance = _config.non_negative_int(tolerance, "tolerance")
        self.header_prefix = _config.header_prefix(header_prefix)
        keys = [parse_verify_key(s, self.profile) for s in _config.secrets_list(secret_or_secrets)]
        self._macs = tuple(_mac.keyed_sha256(k.key) for k in keys if isinstance(k, HmacKey))
        self._publics = tuple(_ed25519.load_public(k.raw) for k in keys if not isinstance(k, HmacKey))
        self._clock: Clock = clock if clock is not None else time.time
        self._profile = self.profile
        self._tolerance = self.tolerance
        if self.profile == HOOKSEAL_V1:
            self._sig_display = f"{self.header_prefix}-Signature"
            self._t_display = f"{self._sig_display} t"
            self._wanted: tuple[str, ...] = (self._sig_display.lower(),)
            self._v1_name: Optional[str] = self._wanted[0]
        else:
            self._sig_display = "webhook-signature"
            self._t_display = "webhook-timestamp"
            self._wanted = ("webhook-id", "webhook-timestamp", "webhook-signature")
            self._v1_name = None

    def __repr__(self) -> str:
        # Never show the secrets.
        return (
            f"Webhook(<{len(self._macs) + len(self._publics)} key(s)>, profile={self.profile!r}, "
            f"tolerance={self.tolerance!r}, header_prefix={self.header_prefix!r})"
        )

    def verify(self, body: Body, headers: Any, *, now: Optional[float] = None) -> None:
        """Check that ``body`` was signed by the sender within the tolerance.

        Checks run cheapest first (headers, then timestamp, then signatures), so a stale
        or malformed request is rejected without computing an HMAC.

        Args:
            body: The raw request body, exactly as received (``str`` is taken as UTF-8).
                Never pass a parsed and re-serialized body: its bytes differ.
            headers: The request headers: a dict, any mapping with ``.items()``
                (Starlette, Werkzeug, Django), or a list of ``(name, value)`` pairs.
            now: The current Unix time in seconds, overriding the clock (for tests).

        Raises:
            MissingHeaderError: A required header is absent or empty.
            MalformedHeaderError: A header cannot be parsed, is too large, or is repeated.
            TimestampTooOldError: The timestamp is more than ``tolerance`` seconds old.
            TimestampInFutureError: The timestamp is more than ``tolerance`` seconds ahead.
            SignatureMismatchError: No signature matches under any key (also raised when
                ``body`` is not bytes or str, which no signature can cover).
        """
        name = self._v1_name  # the lower-case signature header name, for hookseal-v1 only
        if name is None:
            if type(headers) is dict and self._macs:
                # Hot path for what every standard-webhooks sender writes: a plain dict
                # holding each header once (in any case), a timestamp of 1 to 18 ASCII
                # digits and one "v1,<base64>" entry. At small bodies the general path's
                # header reader, parser and calls cost as much as the HMAC itself, so it is
                # written out here; whatever this path does not settle, the general path
                # below decides, with the same outcome.
                msg_id = ts_text = header = None
                seen = 0
                try:
                    for key in headers:
                        low = key.lower()
                        if low == "webhook-signature":
                            header = headers[key]
                            seen += 1
                        elif low == "webhook-timestamp":
                            ts_text = headers[key]
                            seen += 1
                        elif low == "webhook-id":
                            msg_id = headers[key]
                            seen += 1
                except (AttributeError, TypeError, BytesWarning):
                    seen = 0  # a key without .lower(): the general reader decides
                if seen == 3 and type(header) is str and type(ts_text) is str and type(msg_id) is str and msg_id:
                    # All three present once (the id non-empty): the general path would next
                    # parse the timestamp, then the signature header. Rare branches first
                    # check what the common one need not (an empty value is missing).
                    if not (ts_text.isascii() and ts_text.isdigit() and len(ts_text) <= 18):
                        if ts_text and header:
                            parse_timestamp(ts_text, self._t_display)  # raises malformed_header
                    elif header[:3] != "v1,":
                        if header and " " not in header and "," not in header and len(header) <= 8192:
                            raise MalformedHeaderError("the webhook-signature header has an entry without a comma")
                    else:
                        timestamp = int(ts_text)
                        current = self._clock() if now is None else now
                        if type(current) is not int:
                            current = math.floor(current)
                        tolerance = self._tolerance
                        if -tolerance <= current - timestamp <= tolerance:
                            if type(body) is not bytes:
                                body = _body_bytes(body)
                            try:
                                prefix = f"{msg_id}.{ts_text}.".encode()
                                received = header[3:].encode()
                            except UnicodeEncodeError:
                                pass  # a lone surrogate: the general path signs it "surrogatepass"
                            else:
                                for inner, outer in self._macs:
                                    mac = inner.copy()
                                    mac.update(prefix)
                                    mac.update(body)
                                    final = outer.copy()
                                    final.update(mac.digest())
                                    # Canonical padded base64, compared as text: the same as
                                    # comparing the strictly decoded bytes; other spellings fail.
                                    if hmac.compare_digest(_b64(final.digest(), newline=False), received):
                                        return  # equal to a canonical value: one entry, no space
                                # One entry, "v1,<44 characters>": the general parser would find
                                # this v1 value and nothing else, so it could only agree.
                                if len(header) == 47 and " " not in header:
                                    raise SignatureMismatchError("no signature in the header matches the body")
                        elif len(header) == 47 and " " not in header:
                            check_window(timestamp, current, tolerance)
            self._verify_standard(body, headers, now)
            return
        seen_key = None
        if type(headers) is dict:
            # Inline (no helper call, no comprehension frame): this is the hot path.
            try:
                for key in headers:
                    if key.lower() == name:
                        if seen_key is not None:
                            seen_key = None  # a duplicate: the general reader reports it
                            break
                        seen_key = key
            except (AttributeError, TypeError, BytesWarning):
                # A key without .lower(), or bytes under ``python -bb``: the general
                # reader decides.
                seen_key = None
        value = headers[seen_key] if seen_key is not None else _headers.find(headers, self._wanted)[0]
        if type(value) is str and value.isascii() and self._macs:
            # Hot path for the shape every sender writes, "t=<digits>,v1=<64 hex>": at
            # small bodies verify's own overhead costs as much as the HMAC, so no regex and
            # no call (the HMAC is _mac.digest written out):
            # the digits sit at [2:-68], the digest in the last 64 characters, and the rest
            # of the shape is checked once the digest matched (an == that runs only when
            # the sender's digest already equals ours, so it reveals nothing of it).
            # Whatever this path does not settle, the general path below decides.
            ts_text = value[2:-68]
            if ts_text.isdigit() and len(ts_text) <= 18:  # ASCII: isdigit means [0-9]
                timestamp = int(ts_text)
                current = self._clock() if now is None else now
                if type(current) is not int:
                    current = math.floor(current)
                if -self._tolerance <= current - timestamp <= self._tolerance:
                    if type(body) is not bytes:
                        body = _body_bytes(body)
                    prefix = (ts_text + ".").encode()
                    for inner, outer in self._macs:
                        mac = inner.copy()
                        mac.update(prefix)
                        mac.update(body)
                        final = outer.copy()
                        final.update(mac.digest())
                        expected = final.hexdigest()
                        if hmac.compare_digest(expected, value[-64:]):
                            if value == f"t={ts_text},v1={expected}":
                                return
                            break  # a matching digest in some other shape: the general path
                    else:
                        if _is_canonical_v1(value):
                            raise SignatureMismatchError("no signature in the header matches the body")
                elif _is_canonical_v1(value):
                    check_window(timestamp, current, self._tolerance)
            elif _V1_SHAPE(value) is not None:
                parse_timestamp(ts_text, self._t_display)  # raises: the shape is right, its t is not
        self._verify_v1(body, value, now)

    def _verify_v1(self, body: Body, value: Optional[object], now: Optional[float]) -> None:
        """The general ``hookseal-v1`` path, from the signature header's value (None if absent)."""
        header = _headers.text(value, self._sig_display)
        ts_text, v1, v1a = parse_hookseal_header(header, self._sig_display)
        self._check(body, ts_text + ".", parse_timestamp(ts_text, self._t_display), v1, v1a, now)

    def _verify_standard(self, body: Body, headers: Any, now: Optional[float]) -> None:
        """The ``standard-webhooks`` path: three headers, one signed prefix."""
        found = _headers.find(headers, self._wanted)
        msg_id = _headers.text(found[0], "webhook-id")
        ts_text = _headers.text(found[1], "webhook-timestamp")
        header = _headers.text(found[2], "webhook-signature")
        timestamp = parse_timestamp(ts_text, self._t_display)
        match = _CANONICAL_SW(header)
        if match is not None:
            v1, v1a = [match.group(1)], _NONE
        else:
            v1, v1a = parse_standard_header(header)
        self._check(body, f"{msg_id}.{ts_text}.", timestamp, v1, v1a, now)

    def _check(
        self, body: Body, signed_prefix: str, timestamp: int, v1: list[str], v1a: list[str], now: Optional[float]
    ) -> None:
        """Check the parsed signatures: usable ones present, timestamp in window, one matches."""
        use_hmac = bool(v1) and bool(self._macs)
        use_ed25519 = bool(v1a) and bool(self._publics)
        if not (use_hmac or use_ed25519):
            raise MalformedHeaderError(self._no_usable_signature_message())
        current = self._clock() if now is None else now
        if type(current) is not int:
            current = math.floor(current)
        if abs(current - timestamp) > self._tolerance:
            check_window(timestamp, current, self._tolerance)
        if type(body) is not bytes:
            body = _body_bytes(body)
        prefix = signed_prefix.encode("utf-8", "surrogatepass")
        if use_hmac and self._match_hmac(prefix, body, v1):
            return
        if use_ed25519 and self._match_ed25519(prefix + body, v1a):
            return
        raise SignatureMismatchError("no signature in the header matches the body")

    def construct_event(self, body: Body, headers: Any, *, now: Optional[float] = None, typed: Typed = False) -> Any:
        """Verify a delivery, then parse its body as the event envelope.

        Args:
            body: The raw request body, exactly as received.
            headers: The request headers (see :meth:`verify`).
            now: The current Unix time in seconds, overriding the clock.
            typed: Return the generated pydantic model for the event's type and version:
                ``True`` for the SDK's models of the sample catalog (``pip install
                hookseal[models]``), or the models package a provider generated for its own
                catalog (``hookseal-catalog generate-models --package``; any object with a
                ``parse_event``, or a callable taking the envelope dict). Unknown types come
                back as a generic envelope model, never as an error.

        Returns:
            The envelope as a ``dict`` (``id``, ``type``, ``created``, ``data``, ...), or a
            model when ``typed`` is true.

        Raises:
            WebhookVerificationError: Any verification failure (see :meth:`verify`).
            InvalidPayloadError: The verified body is not a JSON object (a batch, a JSON
                array, names :meth:`construct_events`; with ``typed``, also a body that does
                not match its event's schema, the pydantic error being its ``__cause__``).
                It is a ``ValueError``, raised only after the signature has been checked.
            TypeError: ``typed`` is none of the forms above (raised before verifying).
        """
        parse = parser_for(typed) if typed else None
        self.verify(body, headers, now=now)
        event = _parse_json(body)
        if type(event) is not dict:
            if isinstance(event, list):
                raise InvalidPayloadError(
                    "the verified body is a batch (a JSON array of events): read it with construct_events()"
                )
            raise InvalidPayloadError("the verified body is not a JSON object")
        return _typed(parse, event) if parse is not None else event

    def construct_events(
        self, body: Body, headers: Any, *, now: Optional[float] = None, typed: Typed = False
    ) -> list[Any]:
        """Verify a delivery, then parse its body as a list of events: a batch or a single event.

        A sender delivers an endpoint that takes batches a JSON array of envelopes in one
        request (event-type header ``batch``, webhook id ``bat_...``); any other delivery
        is one envelope, which comes back as a one-element list, so one handler reads both.
        Deduplicate by each event's ``id``: a batch may be delivered more than once.

        Examples:
            >>> for event in wh.construct_events(request_body, request_headers):
            ...     handle(event)  # doctest: +SKIP

        Args:
            body: The raw request body, exactly as received.
            headers: The request headers (see :meth:`verify`).
            now: The current Unix time in seconds, overriding the clock.
            typed: Parse each event into a typed model, as in :meth:`construct_event`
                (``True``, a generated models package, or a callable).

        Returns:
            The events, in the order the sender enqueued them (``dict`` each, or models
            when ``typed`` is true). An empty batch gives an empty list.

        Raises:
            WebhookVerificationError: Any verification failure (see :meth:`verify`).
            InvalidPayloadError: The verified body is neither a JSON object nor an array
                of JSON objects (the message names the first bad element), or with
                ``typed`` an event does not match its schema. Raised only after the
                signature has been checked.
            TypeError: ``typed`` is none of the accepted forms (raised before verifying).
        """
        parse = parser_for(typed) if typed else None
        self.verify(body, headers, now=now)
        parsed = _parse_json(body)
        if type(parsed) is dict:
            events: list[Any] = [parsed]
        elif type(parsed) is list:
            for index, item in enumerate(parsed):
                if type(item) is not dict:
                    raise InvalidPayloadError(f"element {index} of the verified batch is not a JSON object")
            events = parsed
        else:
            raise InvalidPayloadError("the verified body is neither a JSON object nor an array of them")
        if parse is None:
            return events
        out = []
        for index, item in enumerate(events):
            try:
                out.append(_typed(parse, item))
            except InvalidPayloadError as exc:
                raise InvalidPayloadError(f"event {index} of the verified body: {exc}") from exc.__cause__
        return out

    def _match_hmac(self, prefix: bytes, payload: bytes, candidates: list[str]) -> bool:
        b64 = self._profile != HOOKSEAL_V1
        matched = False
        for keyed in self._macs:
            raw = _mac.digest(keyed, prefix, payload)
            # Compared as text: lowercase hex, or canonical padded base64 (which is the
            # same as comparing the strictly decoded bytes).
            expected = base64.b64encode(raw).decode() if b64 else raw.hex()
            for candidate in candidates:
                # Always through the constant-time primitive, even for absurd candidates.
                if hmac.compare_digest(expected, candidate):
                    matched = True
        return matched

    def _match_ed25519(self, message: bytes, candidates: list[str]) -> bool:
        signatures = [base64.b64decode(c) for c in candidates if is_canonical_b64_64(c)]
        return any(_ed25519.verify(public, signature, message) for public in self._publics for signature in signatures)

    def _no_usable_signature_message(self) -> str:
        kinds = []
        if self._macs:
            kinds.append("v1")
        if self._publics:
            kinds.append("v1a")
        return f"the {self._sig_display} header has no {' or '.join(kinds)} signature"
