"""``campaign.*``: where the visit came from (UTM parameters, referrer, landing page).

A campaign belongs to the whole visit, not to one page: when a visit starts, the
pipeline keeps that first request's campaign (:meth:`CampaignSignals.of`) in the
visitor's state, and later requests read it from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from smalldata.signals.config import CampaignSettings
from smalldata.signals.page import MAX_TEXT
from smalldata.signals.spec import Group, Namespace, signal

if TYPE_CHECKING:
    from smalldata.signals.request import Request, RequestSignals

FIELDS = ("source", "medium", "name", "referrer_domain", "landing_path", "email")
NAMES = tuple(f"campaign.{field}" for field in FIELDS)
MAX_VALUE = 200


class CampaignSignals:
    """The provider of ``campaign.*``: the visit's stored campaign, else this request's."""

    def __init__(self, settings: CampaignSettings, size: int = 4096) -> None:
        self.settings = settings
        self.size = size
        self._seen: dict[tuple[Any, ...], Mapping[str, Any]] = {}  # visits come from a few hundred campaigns

    def __call__(self, request: Request, signals: RequestSignals) -> Mapping[str, Any]:
        state = request.state
        values = state.campaign if state is not None else None
        if values is None:
            values = self.of(request)
        key = tuple(values.items())
        found = self._seen.get(key)
        if found is None:
            found = {name: values.get(field) for name, field in zip(NAMES, FIELDS, strict=True)}
            if len(self._seen) >= self.size:
                self._seen = {}
            self._seen[key] = found
        return found  # shared by every visit from the same campaign: read it, never change it

    def of(self, request: Request) -> dict[str, Any]:
        """The campaign this request would start: UTM parameters, referrer domain, landing path, e-mail."""
        query = request.query
        medium = _clean(query.get("utm_medium"))
        settings = self.settings
        from_email = (medium is not None and medium.lower() in settings.email_mediums) or any(
            query.get(param) for param in settings.email_params
        )
        path = request.scope.get("path")
        return {
            "source": _clean(query.get("utm_source")),
            "medium": medium,
            "name": _clean(query.get("utm_campaign")),
            "referrer_domain": referrer_domain(request.header(b"referer"), request.header(b"host")),
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
    host = _referrer_host(referer[:MAX_TEXT].strip())
    if not host or host == _own_hostname(own_host):
        return None
    return host


@lru_cache(maxsize=2048)
def _referrer_host(referer: str) -> str | None:
    """The host of a ``Referer`` (a visit's first request comes from a few hundred sites: parsed once each)."""
    return _hostname(referer)


@lru_cache(maxsize=64)
def _own_hostname(own_host: str | None) -> str | None:
    """The shop's own host name (a handful per shop: parsed once each)."""
    return _hostname(f"//{own_host}")


def _hostname(url: str) -> str | None:
    try:
        return urlsplit(url).hostname  # lower-cased, without port or brackets
    except ValueError:
        return None


#: The ``campaign`` namespace (see :mod:`smalldata.signals.spec`): the visit's first request, kept in the
#: visitor's stored state.
NAMESPACE = Namespace(
    "campaign",
    signals=(
        signal("campaign.source", "text", "utm_source"),
        signal("campaign.medium", "text", "utm_medium"),
        signal("campaign.name", "text", "utm_campaign"),
        signal("campaign.referrer_domain", "text", "domain of the visit's referrer"),
        signal("campaign.landing_path", "text", "the visit's first path"),
        signal("campaign.email", "bool", "arrived from a marketing e-mail"),
    ),
    groups=(Group(NAMES, lambda parts: parts.campaigns),),
    stored=True,
)
