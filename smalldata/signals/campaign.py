"""``campaign.*``: where the visit came from (UTM parameters, referrer, landing page).

A campaign belongs to the whole visit, not to one page: the visitor state keeps
the first request's campaign (see :func:`campaign_from_request`, which the state
package calls when a visit starts) and later requests read it from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from smalldata.signals.page import MAX_TEXT

if TYPE_CHECKING:
    from smalldata.signals.context import RequestContext

FIELDS = ("source", "medium", "name", "referrer_domain", "landing_path", "email")
MAX_VALUE = 200


def campaign_signals(ctx: RequestContext) -> dict[str, Any]:
    """The ``campaign`` namespace: the visit's stored campaign, else this request's."""
    stored = getattr(ctx.visitor, "campaign", None)
    if type(stored) is dict or isinstance(stored, Mapping):  # type() first: the ABC check is slow
        return {name: stored.get(name) for name in FIELDS}
    return campaign_from_request(ctx)


def campaign_from_request(ctx: RequestContext) -> dict[str, Any]:
    """The campaign this request would start: UTM parameters, referrer domain, landing path, e-mail."""
    query = ctx.query
    medium = _clean(query.get("utm_medium"))
    settings = ctx.settings.campaign
    from_email = (medium is not None and medium.lower() in settings.email_mediums) or any(
        query.get(param) for param in settings.email_params
    )
    path = ctx.scope.get("path")
    return {
        "source": _clean(query.get("utm_source")),
        "medium": medium,
        "name": _clean(query.get("utm_campaign")),
        "referrer_domain": referrer_domain(ctx.headers.get("referer"), ctx.headers.get("host")),
        "landing_path": path[:MAX_TEXT] if isinstance(path, str) and path else None,
        "email": from_email,
    }


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value[:MAX_VALUE] or None


def referrer_domain(referer: str | None, own_host: str | None) -> str | None:
    """The lower-cased host of ``Referer``, or None when absent, malformed or our own site."""
    if not referer:
        return None
    host = _hostname(referer[:MAX_TEXT].strip())
    if not host or host == _own_hostname(own_host):
        return None
    return host


@lru_cache(maxsize=64)
def _own_hostname(own_host: str | None) -> str | None:
    """The shop's own host name (a handful per shop: parsed once each)."""
    return _hostname(f"//{own_host}")


def _hostname(url: str) -> str | None:
    try:
        return urlsplit(url).hostname  # lower-cased, without port or brackets
    except ValueError:
        return None
