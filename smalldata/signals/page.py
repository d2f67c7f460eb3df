"""``page.*``: the request itself: path, URL, query, category/product, language, referrer.

Three providers, so a rule on ``page.path`` never decodes the ``Accept-Language`` header:
:class:`PathSignals` (path, category, product), :class:`LanguageSignal` (language) and
:func:`request_signals` (url, query, referrer).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from smalldata.signals.config import PAGE_KEYS, PageSettings, compile_path_pattern
from smalldata.signals.spec import Group, Namespace, signal

if TYPE_CHECKING:
    from smalldata.signals.request import Request, RequestSignals

MAX_TEXT = 2_048
MAX_ACCEPT_LANGUAGE = 256
PATH_NAMES = ("page.path", "page.category", "page.product")
REQUEST_NAMES = ("page.url", "page.query", "page.referrer")
LANGUAGE_NAMES = ("page.language",)


class PathSignals:
    """The provider of ``page.path`` and of ``page.category``/``page.product`` from the path patterns."""

    def __init__(self, settings: PageSettings, size: int = 4096) -> None:
        self.settings = settings
        self.size = size
        self._found: dict[str, dict[str, Any]] = {}  # a shop has a few thousand pages

    def __call__(self, request: Request, signals: RequestSignals) -> Mapping[str, Any]:
        path = _path(request.scope)
        found = self._found.get(path)
        if found is None:
            matched = match_path(self.settings, path)
            found = {"page.path": path, "page.category": matched.get("category"),
                     "page.product": matched.get("product")}  # fmt: skip
            if len(self._found) >= self.size:
                self._found = {}
            self._found[path] = found
        return found  # shared by every request for the path: read it, never change it


class LanguageSignal:
    """The provider of ``page.language``: the visitor's preferred language among the shop's."""

    def __init__(self, languages: tuple[str, ...], size: int = 2048) -> None:
        self.languages = languages
        self.size = size
        self._seen: dict[str | None, Mapping[str, Any]] = {}  # browsers send a few hundred Accept-Languages

    def __call__(self, request: Request, signals: RequestSignals) -> Mapping[str, Any]:
        header = request.header(b"accept-language")
        found = self._seen.get(header)
        if found is None:
            found = {"page.language": preferred_language(header, self.languages)}
            if len(self._seen) >= self.size:
                self._seen = {}
            self._seen[header] = found
        return found


def request_signals(request: Request, signals: RequestSignals) -> Mapping[str, Any]:
    """The provider of ``page.url``, ``page.query`` and ``page.referrer``."""
    return {
        "page.url": page_url(request),
        "page.query": request.query,
        "page.referrer": (request.header(b"referer") or "")[:MAX_TEXT] or None,
    }


def _path(scope: Mapping[str, Any]) -> str:
    path = scope.get("path")
    return path[:MAX_TEXT] if isinstance(path, str) and path else "/"


def page_url(request: Request) -> str:
    """The full URL the visitor asked for, from the scheme, ``Host`` and path."""
    scope = request.scope
    host = request.header(b"host")
    if not host:
        server = scope.get("server") or ("localhost", None)
        host = str(server[0]) if server[1] in (None, 80, 443) else f"{server[0]}:{server[1]}"
    url = f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}{_path(scope)}"
    query = bytes(scope.get("query_string") or b"").decode("latin-1")
    return (f"{url}?{query}" if query else url)[:MAX_TEXT]


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


#: The ``page`` namespace (see :mod:`smalldata.signals.spec`).
NAMESPACE = Namespace(
    "page",
    signals=(
        signal("page.path", "text", "the request path"),
        signal("page.url", "text", "the full URL"),
        signal("page.query", "map", "query parameters", map_of="text"),
        signal("page.category", "text", "category from the configured path patterns"),
        signal("page.product", "text", "product id from the configured path patterns"),
        signal("page.language", "text", "preferred language from Accept-Language"),
        signal("page.referrer", "text", "the Referer header"),
    ),
    groups=(
        Group(PATH_NAMES, lambda parts: PathSignals(parts.settings.page)),
        Group(LANGUAGE_NAMES, lambda parts: LanguageSignal(parts.settings.languages), vary=("Accept-Language",)),
        Group(REQUEST_NAMES, lambda parts: request_signals),
    ),
)
