"""The visitor's IP address, after trusted-proxy handling. Addresses are never stored.

Only a request whose direct peer is one of the configured trusted proxies has its
``X-Forwarded-For`` read (see :class:`TrustedProxies`). Parsed addresses are kept in
a short memo (minutes), never longer.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from smalldata.signals.memo import MISSING, ShortMemo

if TYPE_CHECKING:
    from smalldata.signals.request import Request

MAX_XFF_HOPS = 32
#: Parsed client addresses are remembered this long (addresses are never kept longer).
ADDRESS_MEMO_SECONDS = 600

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# raw address text -> (parsed address, canonical text); both None when invalid
_ADDRESSES: ShortMemo[str, tuple[IPAddress | None, str | None]] = ShortMemo(4096, ADDRESS_MEMO_SECONDS)


class ClientAddress:
    """Works out a request's client address for the configured trusted proxies (once per request)."""

    def __init__(self, trusted: tuple[str, ...]) -> None:
        self.trusted = trusted
        self.proxies = TrustedProxies(trusted) if trusted else None

    def __call__(self, request: Request) -> str | None:
        """The visitor's IP as canonical text, or None when unknown."""
        memo = request.memo
        if "client_ip" in memo:
            return memo["client_ip"]  # type: ignore[no-any-return]
        if self.proxies is None:  # no proxy to believe: the peer is the visitor (the usual case)
            address = _address_text(_peer_text(request.scope))
        else:
            found = client_address(request.scope, request.header(b"x-forwarded-for"), self.trusted)
            address = str(found) if found is not None else None
        memo["client_ip"] = address
        return address

    def peer_trusted(self, request: Request) -> bool:
        """The direct peer is one of the configured trusted proxies."""
        return self.proxies is not None and self.proxies.trusts(_peer(request.scope))


# -- trusted proxies ---------------------------------------------------------------------------


class TrustedProxies:
    """The configured proxies (addresses and networks) whose forwarding headers we believe.

    Only a request whose direct peer is trusted has its ``X-Forwarded-For`` read,
    and then right to left: each proxy appends the address it saw, so the first
    untrusted address from the right is the visitor; anything left of it could
    have been written by the visitor and is ignored. See
    https://developer.mozilla.org/docs/Web/HTTP/Headers/X-Forwarded-For#security_and_privacy_concerns
    """

    def __init__(self, entries: tuple[str, ...]) -> None:
        self.networks = tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)

    def trusts(self, address: IPAddress | None) -> bool:
        if address is None:
            return False
        return any(address in network for network in self.networks)


@lru_cache(maxsize=16)
def trusted_proxies(entries: tuple[str, ...]) -> TrustedProxies:
    """The (cached) :class:`TrustedProxies` for a settings list."""
    return TrustedProxies(entries)


def parse_ip(text: str | None) -> IPAddress | None:
    """An address from ``1.2.3.4``, ``1.2.3.4:5678``, ``[::1]:80`` or ``::1``; None when invalid.

    IPv4-mapped IPv6 addresses (``::ffff:1.2.3.4``) become IPv4.
    """
    return _remembered(text)[0] if text else None


def _address_text(text: str | None) -> str | None:
    """``str(parse_ip(text))``, or None: the canonical form, from the same memo."""
    return _remembered(text)[1] if text else None


def _remembered(text: str) -> tuple[IPAddress | None, str | None]:
    found = _ADDRESSES.get(text)
    if found is MISSING:
        found = _parsed(text)
        _ADDRESSES.put(text, found)
    return found  # type: ignore[return-value]


# a dotted quad exactly as ipaddress accepts it (octets 0-255, no leading zeros)
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")


def _parsed(text: str) -> tuple[IPAddress | None, str | None]:
    """The address in ``text`` and its canonical text; both None when invalid."""
    # ipaddress.ip_address and str() take ~3 µs: parse_ip keeps their answers for a few minutes, and
    # a plain IPv4 address (most peers) is built from its octets, its text already canonical (~1 µs)
    stripped = text.strip()
    if _DOTTED_QUAD.fullmatch(stripped):
        a, b, c, d = stripped.split(".")
        return ipaddress.IPv4Address(int(a) << 24 | int(b) << 16 | int(c) << 8 | int(d)), stripped
    address = _parse_ip(stripped)
    return address, str(address) if address is not None else None


def _parse_ip(text: str) -> IPAddress | None:
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _peer(scope: Mapping[str, Any]) -> IPAddress | None:
    return parse_ip(_peer_text(scope))


def _peer_text(scope: Mapping[str, Any]) -> str | None:
    client = scope.get("client")
    if not client:
        return None
    try:
        return str(client[0])
    except (TypeError, IndexError):
        return None


def client_address(
    scope: Mapping[str, Any], forwarded_for: str | None, trusted: tuple[str, ...]
) -> IPAddress | None:
    """The visitor's address: the peer, or the first untrusted ``X-Forwarded-For`` hop from the right."""
    peer = _peer(scope)
    proxies = trusted_proxies(trusted)
    if not proxies.trusts(peer) or not forwarded_for:
        return peer
    hops = forwarded_for.split(",")[-MAX_XFF_HOPS:]
    address: IPAddress | None = peer
    for hop in reversed(hops):
        address = parse_ip(hop)
        if address is None:
            return None  # garbage where a proxy should have written an address: unknown
        if not proxies.trusts(address):
            return address
    return address  # every hop is a trusted proxy: the leftmost is the best we know
