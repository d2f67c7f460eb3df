"""``RequestContext``: everything a signal provider may read about one request.

Parsing is lazy: headers, cookies and the client IP are worked out the first
time a provider asks, so a request whose rules read only ``time.*`` decodes no
header at all.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from functools import lru_cache
from http.cookies import _unquote
from typing import TYPE_CHECKING, Any

from smalldata.settings import Settings
from smalldata.signals.memo import MISSING, ShortMemo
from smalldata.signals.page import query_params
from smalldata.signals.user import app_user

if TYPE_CHECKING:
    from smalldata.sources import Sources

MAX_COOKIE_HEADER = 16_384
MAX_XFF_HOPS = 32
#: Parsed client addresses are remembered this long (addresses are never kept longer).
ADDRESS_MEMO_SECONDS = 600

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# raw address text -> (parsed address, canonical text); both None when invalid
_ADDRESSES: ShortMemo[str, tuple[IPAddress | None, str | None]] = ShortMemo(4096, ADDRESS_MEMO_SECONDS)


class RequestContext:
    """One request as providers see it.

    ``now`` is the injected clock's reading converted to the shop's time zone;
    ``visitor`` is the first-party visitor state (a ``VisitorState``) or None
    when there is none (no consent, or no state store); ``sources`` are the
    remote HTTP sources, shared by all requests; ``prefetched`` holds what
    :meth:`RequestSignals.prefetch` awaited for this request.
    """

    def __init__(
        self,
        scope: dict[str, Any],
        settings: Settings,
        *,
        now: datetime,
        visitor: Any = None,
        sources: Sources | None = None,
    ) -> None:
        self.scope = scope
        self.settings = settings
        self.now = now.astimezone(settings.zone)
        self.visitor = visitor
        self.sources = sources
        self.prefetched: dict[str, Any] = {}
        # parsed on first use (plain attributes: functools.cached_property takes a lock on 3.11)
        self._headers: dict[str, str] | None = None
        self._cookies: dict[str, str] | None = None
        self._query: dict[str, str] | None = None
        self._client: tuple[str | None] | None = None
        self._user: tuple[dict[str, Any] | None] | None = None

    @property
    def headers(self) -> dict[str, str]:
        """Lower-cased names to latin-1 decoded values; repeated headers joined with ``, ``."""
        if self._headers is None:
            self._headers = decode_headers(self.scope.get("headers") or ())
        return self._headers

    @property
    def cookies(self) -> dict[str, str]:
        """The request's cookies; malformed ones are skipped, never an error."""
        if self._cookies is None:
            self._cookies = parse_cookies(self.headers.get("cookie", ""))
        return self._cookies

    @property
    def query(self) -> dict[str, str]:
        """The first value of each query parameter (bounded), see :func:`page.query_params`."""
        if self._query is None:
            raw = self.scope.get("query_string") or b""
            self._query = query_params(raw) if raw else {}  # most pages have no query string
        return self._query

    @property
    def peer_trusted(self) -> bool:
        """The direct peer is one of the configured trusted proxies."""
        if not self.settings.trusted_proxies:  # the usual case: no address to parse, nothing to trust
            return False
        return trusted_proxies(self.settings.trusted_proxies).trusts(_peer(self.scope))

    @property
    def client_ip(self) -> str | None:
        """The visitor's IP after trusted-proxy handling, or None when unknown. Never stored."""
        if self._client is None:
            trusted = self.settings.trusted_proxies
            if not trusted:  # no proxy to believe: the peer is the visitor (the usual case, one memo read)
                self._client = (_address_text(_peer_text(self.scope)),)
            else:
                address = client_address(self.scope, self.headers.get("x-forwarded-for"), trusted)
                self._client = (str(address) if address is not None else None,)
        return self._client[0]

    @property
    def user(self) -> dict[str, Any] | None:
        """The app's user as a dict (``logged_in``, ``id``, profile fields), or None when unknown."""
        if self._user is None:
            self._user = (app_user(self),)
        return self._user[0]


def decode_headers(raw: Any) -> dict[str, str]:
    """ASGI header pairs → lower-cased names and latin-1 values (never fails on any byte)."""
    if type(raw) is not list and type(raw) is not tuple:
        raw = list(raw)  # read twice below when the quick pass gives up
    try:
        # what servers send (bytes pairs, no repeated name) in one comprehension, without the loop's tests
        result = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in raw}
    except (AttributeError, TypeError):
        return _decode_headers_one_by_one(raw)
    if len(result) != len(raw):  # a repeated name: joined below
        return _decode_headers_one_by_one(raw)
    return result


def _decode_headers_one_by_one(raw: Any) -> dict[str, str]:
    """:func:`decode_headers` for repeated names and pairs that are not plain bytes."""
    result: dict[str, str] = {}
    for raw_name, raw_value in raw:
        try:
            if type(raw_name) is bytes and type(raw_value) is bytes:
                name = raw_name.decode("latin-1").lower()
                value = raw_value.decode("latin-1")
            else:
                name = bytes(raw_name).decode("latin-1").lower()
                value = bytes(raw_value).decode("latin-1")
        except TypeError:
            continue  # not bytes: a broken server or test, never the visitor's fault
        if name in result:
            value = result[name] + ("; " if name == "cookie" else ", ") + value
        result[name] = value
    return result


def parse_cookies(header: str) -> dict[str, str]:
    """Parse a ``Cookie`` header like browsers do; bad pairs are skipped."""
    cookies: dict[str, str] = {}
    for chunk in header[:MAX_COOKIE_HEADER].split(";"):
        name, sep, value = chunk.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name:
            continue
        if value[:1] == '"':  # only a quoted value needs unquoting (most cookies are not: no call)
            try:
                value = _unquote(value)
            except (ValueError, IndexError):  # a broken escape in a quoted value
                continue
        cookies[name] = value
    return cookies


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
    if not text:
        return None
    found = _ADDRESSES.get(text)
    if found is MISSING:
        found = _parsed(text)
        _ADDRESSES.put(text, found)
    return found[0]  # type: ignore[index,no-any-return]


def _address_text(text: str | None) -> str | None:
    """``str(parse_ip(text))``, or None: the canonical form, from the same memo."""
    if not text:
        return None
    found = _ADDRESSES.get(text)
    if found is MISSING:
        found = _parsed(text)
        _ADDRESSES.put(text, found)
    return found[1]  # type: ignore[index,no-any-return]


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


def _peer(scope: dict[str, Any]) -> IPAddress | None:
    return parse_ip(_peer_text(scope))


def _peer_text(scope: dict[str, Any]) -> str | None:
    client = scope.get("client")
    if not client:
        return None
    try:
        return str(client[0])
    except (TypeError, IndexError):
        return None


def client_address(
    scope: dict[str, Any], forwarded_for: str | None, trusted: tuple[str, ...]
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
