"""Building one request's signals in tests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from smalldata.foundation.asgi import make_scope
from smalldata.settings import Settings
from smalldata.signals.providers import signals_for
from smalldata.signals.request import Request, RequestSignals
from smalldata.signals.sources import Sources

SHOP = ZoneInfo("Europe/Copenhagen")
WEDNESDAY_MORNING = datetime(2026, 11, 25, 10, 0, tzinfo=SHOP)


def settings(**data: Any) -> Settings:
    """Settings from plain data, as if read from smalldata.yaml."""
    return Settings.model_validate(data)


def request(
    url: str = "/",
    *,
    headers: Mapping[str, str] | None = None,
    client_ip: str | None = "127.0.0.1",
    config: Settings | None = None,
    now: datetime = WEDNESDAY_MORNING,
    visitor: Any = None,
    sources: Sources | None = None,
    overrides: Mapping[str, Any] | None = None,
    **scope_extra: Any,
) -> RequestSignals:
    """The lazy signals of a GET ``url`` with ``headers`` from ``client_ip``."""
    scope = make_scope(url, headers=headers, client_ip=client_ip)
    scope.update(scope_extra)
    return signals_for(
        scope, config or settings(), now=now, overrides=overrides, visitor=visitor, sources=sources
    )


def context(url: str = "/", **kwargs: Any) -> Request:
    """The :class:`Request` of such a request."""
    return request(url, **kwargs).request


def sources_of(config: Settings) -> Sources:
    """The remote sources a shop with these settings calls (as the app builds them)."""
    return Sources.configured(config.user, config.basket, config.signals)
