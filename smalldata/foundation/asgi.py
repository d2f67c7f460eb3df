"""Reading an ASGI request the way browsers and servers write it: headers, cookies, the query string.

Every function here is total: malformed input is skipped or bounded, never an error
(a visitor's broken cookie must not cost them the page). :func:`make_scope` builds a
realistic scope for ``smalldata try``, previews and tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

MAX_COOKIE_HEADER = 65_536  # past what servers accept by default, so our cookie is never cut off
MAX_QUERY_FIELDS = 64
MAX_QUERY_VALUE = 512
MAX_QUERY_STRING = 8_192


# -- headers, cookies, query -------------------------------------------------------------------


# Header names as servers and frameworks write them (lower case). A set of names all in here is known to be
# lower case by one C-level subset test, cheaper than scanning every name; others are scanned.
USUAL_NAMES = frozenset(name.encode() for name in (
    # requests
    "host", "connection", "user-agent", "accept", "accept-encoding", "accept-language", "cookie", "referer", "origin",
    "cache-control", "pragma", "priority", "dnt", "sec-gpc", "upgrade-insecure-requests", "sec-ch-ua",
    "sec-ch-ua-mobile", "sec-ch-ua-platform", "sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest", "sec-fetch-user",
    "sec-purpose", "purpose", "if-none-match", "if-modified-since", "authorization", "x-forwarded-for",
    "x-forwarded-proto", "x-forwarded-host", "x-real-ip", "forwarded", "x-request-id", "cf-connecting-ip",
    "cf-ipcountry", "via", "te", "range", "if-range", "keep-alive",
    # responses
    "content-type", "content-length", "content-encoding", "content-disposition", "content-language",
    "content-security-policy", "etag", "last-modified", "expires", "vary", "set-cookie", "location", "date", "server",
    "x-frame-options", "x-content-type-options", "referrer-policy", "strict-transport-security", "permissions-policy",
    "access-control-allow-origin", "accept-ranges", "age", "transfer-encoding", "link", "cross-origin-opener-policy",
))  # fmt: skip


def lower_case_names(names: Any) -> bool:
    """Are all these header names (bytes) in lower case?"""
    return USUAL_NAMES.issuperset(names) or b"".join(names).islower()


def raw_headers(raw: Any) -> dict[bytes, bytes]:
    """ASGI header pairs as ``{lower-case name: value}``; repeated names joined (never fails).

    Servers write names in lower case, as ASGI asks; a test client or a proxy app may not,
    and a name in any case is the same header.
    """
    if type(raw) is list or type(raw) is tuple:
        try:
            found = dict(raw)  # what servers send: bytes pairs, no repeated name (one C call)
            if found and len(found) == len(raw) and lower_case_names(found):
                return found
        except (TypeError, ValueError):
            pass
    return _headers_one_by_one(raw)


def lower_case_headers(scope: Any) -> Any:
    """``scope`` itself when its header names are lower case, else a copy whose names are.

    For code that reads request headers as ASGI specifies them (Starlette's ``Request``).
    """
    headers = scope.get("headers") or ()
    try:
        if all(name == name.lower() for name, _ in headers):
            return scope
        return {**scope, "headers": [(bytes(name).lower(), value) for name, value in headers]}
    except (TypeError, ValueError, AttributeError):
        return scope


def _headers_one_by_one(raw: Iterable[Any]) -> dict[bytes, bytes]:
    """:func:`raw_headers` for repeated names and pairs that are not plain bytes."""
    result: dict[bytes, bytes] = {}
    for pair in raw:
        try:
            raw_name, raw_value = pair
            name, value = bytes(raw_name).lower(), bytes(raw_value)
        except (TypeError, ValueError):
            continue  # not bytes: a broken server or test, never the visitor's fault
        if name in result:
            value = result[name] + (b"; " if name == b"cookie" else b", ") + value
        result[name] = value
    return result


_ESCAPE = re.compile(r"\\(?:([0-3][0-7][0-7])|(.))")


class Cookies(dict[str, str]):
    """A request's cookies by name: the last value of each, as Starlette reads them.

    A name sent more than once (a cookie set for ``/`` and again for ``/shop``) keeps its
    other values in :meth:`all`, so a reader can take the one that is valid.
    """

    __slots__ = ("repeated",)

    def __init__(self) -> None:
        super().__init__()
        self.repeated: dict[str, list[str]] | None = None

    def all(self, name: str) -> list[str]:
        """Every value sent for ``name``: the one ``cookies[name]`` gives first, then the others as sent."""
        last = self.get(name)
        if last is None:
            return []
        others = self.repeated.get(name) if self.repeated else None
        return [last, *others] if others else [last]


def parse_cookies(header: str) -> Cookies:
    """Parse a ``Cookie`` header like browsers send it; bad pairs are skipped."""
    cookies = Cookies()
    for chunk in header[:MAX_COOKIE_HEADER].split(";"):
        name, sep, value = chunk.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name:
            continue
        if value[:1] == '"':  # only a quoted value needs unquoting (most cookies are not)
            value = _unquote(value)
        if name in cookies:  # the last one wins, as in Starlette; the others stay in all()
            if cookies.repeated is None:
                cookies.repeated = {}
            cookies.repeated.setdefault(name, []).append(cookies[name])
        cookies[name] = value
    return cookies


def _unquote(value: str) -> str:
    """A quoted cookie value without its quotes and backslash escapes (``\\"``, ``\\\\``, ``\\012``)."""
    if len(value) < 2 or value[-1] != '"':
        return value
    return _ESCAPE.sub(lambda m: chr(int(m[1], 8)) if m[1] else m[2], value[1:-1])


def query_params(query_string: bytes) -> dict[str, str]:
    """The first value of each query parameter, percent-decoded, bounded in number and length."""
    text = bytes(query_string[:MAX_QUERY_STRING]).decode("latin-1")
    params: dict[str, str] = {}
    for pair in text.split("&", MAX_QUERY_FIELDS * 2)[: MAX_QUERY_FIELDS * 2]:
        key, _, value = pair.partition("=")
        if not key:
            continue
        key, value = _decode(key), _decode(value)
        if key not in params:
            params[key] = value[:MAX_QUERY_VALUE]
            if len(params) == MAX_QUERY_FIELDS:
                break
    return params


def _decode(text: str) -> str:
    from urllib.parse import unquote_plus

    # most parameters are plain words: skip the decoder for them
    if "%" in text or "+" in text:
        return unquote_plus(text, encoding="utf-8", errors="replace")
    return text


# -- building requests -------------------------------------------------------------------------


def make_scope(
    url: str = "/",
    *,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    client_ip: str | None = "127.0.0.1",
    method: str = "GET",
) -> dict[str, Any]:
    """A realistic ASGI HTTP scope for ``url`` (absolute or a path), as a server would build it.

    Used by ``smalldata try`` and tests. ``headers`` keep their order; a ``host``
    header is added from the URL when missing.
    """
    parts = urlsplit(url)
    scheme = parts.scheme or "http"
    host = parts.hostname or "localhost"
    port = parts.port or (443 if scheme == "https" else 80)
    path = parts.path or "/"
    items = list(headers.items() if isinstance(headers, Mapping) else headers or [])
    raw_headers = [(name.lower().encode("latin-1"), value.encode("latin-1", "replace")) for name, value in items]
    if not any(name == b"host" for name, _ in raw_headers):
        netloc = parts.netloc or host
        raw_headers.insert(0, (b"host", netloc.encode("idna") if not netloc.isascii() else netloc.encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method.upper(),
        "scheme": scheme,
        "path": unquote(path),
        "raw_path": path.encode("latin-1", "replace"),
        "root_path": "",
        "query_string": parts.query.encode("latin-1", "replace"),
        "headers": raw_headers,
        "client": (client_ip, 50000) if client_ip else None,
        "server": (host, port),
        "state": {},
    }
