"""Response headers for personalised pages: never let a shared cache keep one visitor's page.

A page that carries a visitor's payload or cookie must be ``private``: a CDN or
proxy may not store it, while the visitor's own browser still may, within what
the app allowed. Directives the app set that are stricter (``no-store``,
``no-cache``, ``max-age``) stay; ``public`` and ``s-maxage`` (shared-cache only)
go. ``Vary`` names every request header the page depended on, once each.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import MutableHeaders

NO_STORE = "private, no-store"

# Directives that only make sense for shared caches, or contradict "private".
_SHARED_ONLY = {"public", "s-maxage", "proxy-revalidate", "private"}


def make_private(headers: MutableHeaders) -> None:
    """Mark a response as for this visitor only, keeping the app's stricter directives."""
    kept = [
        directive
        for directive in _directives(headers.get("cache-control", ""))
        if directive.partition("=")[0].strip().lower() not in _SHARED_ONLY
    ]
    headers["Cache-Control"] = ", ".join(["private", *kept])


def make_uncacheable(headers: MutableHeaders) -> None:
    """No cache may keep this response, not even the visitor's browser (previews, ``/decide``)."""
    headers["Cache-Control"] = NO_STORE


def add_vary(headers: MutableHeaders, names: Iterable[str]) -> None:
    """Add request header names to ``Vary``, de-duplicated case-insensitively, keeping order."""
    current = [name for value in headers.getlist("vary") for name in _directives(value)]
    if "*" in current:
        return  # already varies on everything
    seen = {name.lower() for name in current}
    for name in names:
        if name.lower() not in seen:
            seen.add(name.lower())
            current.append(name)
    if current:
        headers["Vary"] = ", ".join(current)


def weaken_etag(headers: MutableHeaders) -> None:
    """Turn a strong ETag into a weak one: the bytes changed, the meaning did not."""
    etag = headers.get("etag")
    if etag and not etag.startswith("W/"):
        headers["ETag"] = "W/" + etag


def append_cookies(headers: MutableHeaders, cookies: Iterable[str]) -> None:
    """Add ``Set-Cookie`` lines after the app's own, never replacing them."""
    for cookie in cookies:
        headers.append("Set-Cookie", cookie)


def _directives(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]
