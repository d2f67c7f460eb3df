"""``page.*``: the request itself: path, URL, query, category/product, language, referrer."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from smalldata.settings import PAGE_KEYS, PageSettings, compile_path_pattern

if TYPE_CHECKING:
    from smalldata.signals.context import RequestContext

MAX_QUERY_FIELDS = 64
MAX_QUERY_VALUE = 512
MAX_QUERY_STRING = 8_192
MAX_TEXT = 2_048
MAX_ACCEPT_LANGUAGE = 256


def page_signals(ctx: RequestContext) -> dict[str, Any]:
    """The ``page`` namespace for one request."""
    path = _path(ctx.scope)
    found = _PATHS.match(ctx.settings.page, path)
    return {
        "path": path,
        "url": page_url(ctx),
        "query": ctx.query,
        "category": found.get("category"),
        "product": found.get("product"),
        "language": preferred_language(ctx.headers.get("accept-language"), ctx.settings.languages),
        "referrer": ctx.headers.get("referer", "")[:MAX_TEXT] or None,
    }


def _path(scope: dict[str, Any]) -> str:
    path = scope.get("path")
    return path[:MAX_TEXT] if isinstance(path, str) and path else "/"


def page_url(ctx: RequestContext) -> str:
    """The full URL the visitor asked for, from the scheme, ``Host`` and path."""
    scope = ctx.scope
    host = ctx.headers.get("host")
    if not host:
        server = scope.get("server") or ("localhost", None)
        host = str(server[0]) if server[1] in (None, 80, 443) else f"{server[0]}:{server[1]}"
    url = f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}{_path(scope)}"
    query = bytes(scope.get("query_string") or b"").decode("latin-1")
    return (f"{url}?{query}" if query else url)[:MAX_TEXT]


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
    # most parameters are plain words: skip the decoder for them
    if "%" in text or "+" in text:
        return unquote_plus(text, encoding="utf-8", errors="replace")
    return text


def match_path(settings: PageSettings, path: str) -> dict[str, str]:
    """``category``/``product`` found by the configured path patterns (the first match per key)."""
    found: dict[str, str] = {}
    for key in PAGE_KEYS:
        for pattern in getattr(settings, key):
            if key in found:
                break
            match = _compiled(pattern).match(path)
            if match is None:
                continue
            for name in PAGE_KEYS:
                value = match.groupdict().get(name)
                if value and name not in found:
                    found[name] = value
    return found


class _PathMemo:
    """:func:`match_path` per path and ``PageSettings`` (a shop has a few thousand pages)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._found: dict[str, tuple[PageSettings, dict[str, str]]] = {}

    def match(self, settings: PageSettings, path: str) -> dict[str, str]:
        """The answer is shared by every request for the path: read it, never change it."""
        known = self._found.get(path)
        if known is not None and known[0] is settings:  # each answer names the settings it is for
            return known[1]
        answer = match_path(settings, path)
        if len(self._found) >= self.size:
            self._found = {}
        self._found[path] = (settings, answer)
        return answer


_PATHS = _PathMemo()


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return compile_path_pattern(pattern)


def preferred_language(header: str | None, languages: tuple[str, ...]) -> str | None:
    """The visitor's most preferred language among ``languages`` (by primary subtag and q-value)."""
    if not header:
        return None
    return _preferred(header[:MAX_ACCEPT_LANGUAGE], languages)


@lru_cache(maxsize=2_048)
def _preferred(header: str, languages: tuple[str, ...]) -> str | None:
    offered = {language.lower().split("-")[0]: language for language in languages}
    best: tuple[float, str] | None = None
    for item in header.split(","):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        quality = _quality(params)
        if primary not in offered or quality is None or quality <= 0:
            continue
        if best is None or quality > best[0]:
            best = (quality, offered[primary])
    return best[1] if best else None


def _quality(params: str) -> float | None:
    """The ``q`` of ``;q=0.8`` (1 when absent); None when malformed."""
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                return None
            return quality if 0 <= quality <= 1 else None
    return 1.0
