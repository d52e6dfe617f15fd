"""Egress through an HTTP proxy (contract 4.6): the ``egress_proxy`` setting.

With ``egress_proxy`` set (``http://proxy.internal:3128``, optionally with
``user:password@``), every delivery and every OAuth token request leaves through that
proxy: an ``https://`` destination through a ``CONNECT`` tunnel (TLS inside it, end to
end), so a provider can publish the proxy's addresses as its fixed egress addresses.

The destination checks still apply, before the proxy is asked: the worker resolves the
destination itself, checks every address (:mod:`hookseal_sender.ssrf`), and asks the
proxy to ``CONNECT`` to the checked address (the certificate is still verified against
the destination's name), so the proxy cannot be pointed at an internal address by DNS.
The proxy's own address is allowed, whatever it is. Plain ``http://`` destinations
(testing only) are forwarded by the proxy as absolute-form requests.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import unquote, urlsplit

from .errors import ConfigError

__all__ = ["EgressProxy", "parse_proxy_url"]


@dataclass(frozen=True)
class EgressProxy:
    """A checked proxy setting.

    Attributes:
        url: The proxy URL without credentials (``http://host:port``).
        authorization: The ``Proxy-Authorization`` value, if the URL held credentials.
    """

    url: str
    authorization: Optional[str] = field(default=None, repr=False)


def parse_proxy_url(value: str) -> EgressProxy:
    """Check an ``egress_proxy`` setting.

    Args:
        value: ``http://[user:password@]host[:port]`` (port 80 if left out).

    Returns:
        The proxy.

    Raises:
        ConfigError: Not such a URL (the message says what is wrong).
    """
    if not isinstance(value, str) or not value:
        raise ConfigError("egress_proxy must be an http:// URL, such as http://proxy:3128")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"egress_proxy is not a URL: {exc}") from None
    if parts.scheme.lower() != "http" or not parts.hostname:
        raise ConfigError(f"egress_proxy must be an http:// URL with a host, not {value!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError("egress_proxy must not have a path, query or fragment")
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    url = f"http://{host}:{port or 80}"
    authorization = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
    return EgressProxy(url, authorization)
