"""SSRF defence: which destinations a sender may connect to.

A destination is checked twice: at registration (:func:`validate_url`, which also resolves
names when a resolver is given) and at delivery, where :class:`CheckedResolver` resolves
the name, checks every address and hands aiohttp only checked addresses, so the
connection goes to the address that was checked (no DNS-rebinding window). IP literals
never reach a resolver, so :func:`parse_destination` checks them before each request,
on the host exactly as aiohttp will see it (:func:`client_host`: yarl's IDNA and
NFKC normalisation, so ``１２７.０.０.１`` is ``127.0.0.1``). Last, :func:`guarded_socket`
checks the address of every socket the client opens, so no spelling of a host, however
it got past the checks above, reaches a forbidden address. Redirects are never followed
(the worker passes ``allow_redirects=False``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from typing import Callable, Optional, Union
from urllib.parse import urlsplit

from aiohappyeyeballs import AddrInfoType
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from .errors import DestinationRefusedError

__all__ = ["CheckedResolver", "Destination", "IPAddress", "Resolve", "check_addresses",
           "client_host", "forbidden_reason", "guarded_socket", "parse_destination",
           "system_resolve", "validate_url"]


IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
#: An async name resolver: ``(host, port) -> addresses`` (tests pass a fake one).
Resolve = Callable[[str, int], Awaitable[Sequence[str]]]

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOCAL_NAMES = frozenset({
    "localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback",
    "metadata", "metadata.google.internal",
})


@dataclass(frozen=True)
class Destination:
    """A URL split into what the SSRF checks need.

    Attributes:
        url: The URL as given.
        scheme: ``https`` (or ``http`` when local destinations are allowed).
        host: The host name or IP literal, lower case, without brackets or trailing dot.
        port: The port, explicit or the scheme's default.
        ip: The address when the host is an IP literal, else ``None``.
    """

    url: str
    scheme: str
    host: str
    port: int
    ip: Optional[IPAddress]


def forbidden_reason(ip: IPAddress) -> Optional[str]:
    """Why an address may not be a webhook destination, or ``None`` if it may.

    Args:
        ip: The address.

    Returns:
        A short reason such as ``"loopback"``, or ``None`` for a public address.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or (ip.sixtofour if ip.sixtofour else None)
        if embedded is None and ip.teredo:
            embedded = ip.teredo[1]
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            inner = forbidden_reason(embedded)
            return f"IPv4-embedding IPv6 ({inner})" if inner else None
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("CGNAT", isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("not globally routable", not ip.is_global),
    )
    for reason, hit in checks:
        if hit:
            return reason
    return None


def _legacy_ipv4(host: str) -> Optional[ipaddress.IPv4Address]:
    """Parse the inet_aton spellings of IPv4 (``2130706433``, ``0x7f.1``, ``0177.0.0.1``)."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or any(p == "" for p in parts):
        return None
    values = []
    for part in parts:
        p = part.lower()
        try:
            if p.startswith("0x"):
                values.append(int(p[2:], 16))  # "0x" alone is no number (as in libc)
            elif len(p) > 1 and p.startswith("0"):
                values.append(int(p, 8))
            elif p.isdigit() and p.isascii():
                values.append(int(p))
            else:
                return None
        except ValueError:
            return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = 0
    for v in head:
        number = number * 256 + v
    number = number * 256 ** (4 - len(head)) + last
    return ipaddress.IPv4Address(number)


def client_host(url: str) -> str:
    """The host of ``url`` exactly as the HTTP client (aiohttp, through yarl) will use it.

    yarl encodes a non-ASCII host with IDNA after NFKC normalisation, so fullwidth digits
    (``１２７.０.０.１``) and other compatibility forms become the ASCII name or address the
    client connects to; the checks must see that, not the text as stored.

    Args:
        url: The URL.

    Returns:
        The host, lower case, without brackets or a trailing dot ("" if there is none).

    Raises:
        DestinationRefusedError: The client could not use this URL at all.
    """
    try:
        host = URL(url).host or ""
    except (ValueError, TypeError, UnicodeError) as exc:
        raise DestinationRefusedError(f"malformed URL: {exc}") from None
    return host.rstrip(".").lower()


def parse_destination(url: str, *, allow_local: bool = False) -> Destination:
    """Split and check a URL's form (scheme, host, IP literal); no DNS.

    Args:
        url: The endpoint URL.
        allow_local: Allow ``http://`` and local addresses (testing only).

    Returns:
        The parsed destination.

    Raises:
        DestinationRefusedError: The URL is malformed or refused.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DestinationRefusedError(f"malformed URL: {exc}") from None
    scheme = _check_scheme(parts.scheme.lower(), allow_local)
    if parts.username is not None or parts.password is not None:
        raise DestinationRefusedError("credentials in the URL are refused")
    # The host the client will connect to, not the text: the two differ for IDNA and
    # fullwidth forms, and an IP literal never reaches the resolver that checks names.
    host = client_host(url)
    if not host:
        raise DestinationRefusedError("URL has no host")
    if port is None:
        port = 443 if scheme == "https" else 80
    ip = _host_ip(host, allow_local)
    if not allow_local:
        _check_host(host, ip)
    return Destination(url=url, scheme=scheme, host=host, port=port, ip=ip)


def _check_scheme(scheme: str, allow_local: bool) -> str:
    """``scheme`` if allowed: ``https``, or ``http`` too when local destinations are."""
    allowed = ("https", "http") if allow_local else ("https",)
    if scheme not in allowed:
        raise DestinationRefusedError(
            f"scheme {scheme or '(none)'!r} refused: only https:// is allowed"
        )
    return scheme


def _host_ip(host: str, allow_local: bool) -> Optional[IPAddress]:
    """The IP address a host names literally (canonical or, if allowed, a legacy IPv4
    spelling such as ``0x7f.1``), or ``None`` for a name."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    legacy = _legacy_ipv4(host)
    if legacy is not None and not allow_local:
        raise DestinationRefusedError(f"non-canonical IPv4 spelling {host!r} ({legacy}) refused")
    return legacy


def _check_host(host: str, ip: Optional[IPAddress]) -> None:
    """Refuse a forbidden address (private, loopback, ...) or a local name."""
    if ip is not None:
        reason = forbidden_reason(ip)
        if reason:
            raise DestinationRefusedError(f"{ip} refused: {reason} address")
    elif host in _LOCAL_NAMES or host.endswith(".localhost"):
        raise DestinationRefusedError(f"{host!r} refused: local name")


async def system_resolve(host: str, port: int) -> Sequence[str]:
    """Resolve a name with the system resolver (``getaddrinfo``).

    Args:
        host: The name.
        port: The port.

    Returns:
        Every address the name resolves to.
    """
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def check_addresses(host: str, addresses: Iterable[str]) -> list[IPAddress]:
    """Check every address a name resolved to; all must be allowed.

    Args:
        host: The name (for the error message).
        addresses: The resolved addresses.

    Returns:
        The parsed addresses.

    Raises:
        DestinationRefusedError: Any address is forbidden, or there is none.
    """
    ips = [ipaddress.ip_address(a.split("%", 1)[0]) for a in addresses]
    if not ips:
        raise DestinationRefusedError(f"{host!r} resolves to no address")
    for ip in ips:
        reason = forbidden_reason(ip)
        if reason:
            raise DestinationRefusedError(f"{host!r} resolves to {ip}: {reason} address")
    return ips


async def validate_url(
    url: str, *, allow_local: bool = False, resolve: Optional[Resolve] = None,
) -> Destination:
    """Check a URL at registration: its form, and, for names, every resolved address.

    Args:
        url: The endpoint URL.
        allow_local: Allow ``http://`` and local addresses (testing only).
        resolve: The resolver (default: the system's). A name that does not resolve
            is refused.

    Returns:
        The parsed destination.

    Raises:
        DestinationRefusedError: The destination is refused.
    """
    dest = parse_destination(url, allow_local=allow_local)
    if dest.ip is None and not allow_local:
        try:
            addresses = await (resolve or system_resolve)(dest.host, dest.port)
        except OSError as exc:
            raise DestinationRefusedError(f"{dest.host!r} does not resolve: {exc}") from None
        check_addresses(dest.host, addresses)
    return dest


def guarded_socket(addr_info: AddrInfoType) -> socket.socket:
    """Make the socket for one connection attempt, if its address may be connected to.

    Passed to aiohttp's connector as ``socket_factory``: it sees the very address the
    socket is about to connect to, after every parse and resolver step, so it is the last
    check and stands on its own.

    Args:
        addr_info: ``(family, type, proto, canonname, sockaddr)`` of the attempt.

    Returns:
        A new, unconnected socket.

    Raises:
        DestinationRefusedError: The address is forbidden (see :func:`forbidden_reason`).
    """
    family, type_, proto, _, sockaddr = addr_info
    ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
    reason = forbidden_reason(ip)
    if reason:
        raise DestinationRefusedError(f"connection to {ip} refused: {reason} address")
    return socket.socket(family=family, type=type_, proto=proto)


class CheckedResolver(AbstractResolver):
    """An aiohttp resolver that returns only addresses that pass the SSRF checks.

    aiohttp connects to exactly the addresses a resolver returns, so checking them here
    closes the window between the check and the connection (DNS rebinding).

    Args:
        resolve: The underlying resolver (default: the system's).
        allow_local: Skip the address checks (testing only).
    """

    def __init__(self, resolve: Optional[Resolve] = None, *, allow_local: bool = False) -> None:
        self._resolve = resolve or system_resolve
        self._allow_local = allow_local

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET,
    ) -> list[ResolveResult]:
        """Resolve ``host`` and check every address.

        Args:
            host: The name.
            port: The port.
            family: Ignored; every family is returned.

        Returns:
            The checked addresses.

        Raises:
            DestinationRefusedError: A name or address is refused.
        """
        name = host.rstrip(".").lower()
        if not self._allow_local and (name in _LOCAL_NAMES or name.endswith(".localhost")):
            raise DestinationRefusedError(f"{name!r} refused: local name")
        addresses = await self._resolve(name, port)
        if self._allow_local:
            ips = [ipaddress.ip_address(a.split("%", 1)[0]) for a in addresses]
        else:
            ips = check_addresses(name, addresses)
        return [
            ResolveResult(
                hostname=host, host=str(ip), port=port,
                family=socket.AF_INET6 if ip.version == 6 else socket.AF_INET,
                proto=0, flags=socket.AI_NUMERICHOST,
            )
            for ip in ips
        ]

    async def close(self) -> None:
        """Nothing to release."""
