"""The ``consent`` signals: may we store state about this visitor, may we personalise?

Read from the site's own consent cookie (name and accepted values from
:class:`~smalldata.state.config.ConsentSettings`) and the ``Sec-GPC`` header
(Global Privacy Control, https://globalprivacycontrol.github.io/gpc-spec/):
``Sec-GPC: 1`` is an opt-out that wins over any cookie.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from smalldata.state.config import ConsentSettings

__all__ = ["NAMES", "consent_signals", "consent_values"]

NAMES = ("consent.personalisation", "consent.storage")
_ITEMS = re.compile(r"[\s,;|&]+")
_NOISE = "{}[]()'\" "
_TRUE = frozenset({"1", "true", "yes", "granted", "accepted"})
_MAX_COOKIE = 4096


def consent_signals(
    headers: Mapping[str, str], cookies: Mapping[str, str], config: ConsentSettings
) -> dict[str, Any]:
    """``consent.storage`` and ``consent.personalisation`` for one request.

    ``headers`` has lower-case names. The middleware must neither read nor write
    visitor state when ``consent.storage`` is False.
    """
    allowed = _allowed(headers, cookies, config)
    return {"consent.personalisation": allowed, "consent.storage": allowed}


def consent_values(
    headers: Mapping[str, str], cookies: Mapping[str, str], config: ConsentSettings
) -> dict[str, Any]:
    """:func:`consent_signals` with short names, as the provider answers."""
    allowed = _allowed(headers, cookies, config)
    return {"personalisation": allowed, "storage": allowed}


def _allowed(
    headers: Mapping[str, str], cookies: Mapping[str, str], config: ConsentSettings
) -> bool:
    if config.honour_gpc and headers.get("sec-gpc", "").strip() == "1":
        return False
    value = cookies.get(config.cookie)
    if value is None:
        return not config.required
    return _accepts(value, config.accepted)


def _accepts(value: str, accepted: tuple[str, ...]) -> bool:
    """A bare word that is accepted (``all``), or an accepted key set to a true value
    (``statistics:true``, ``marketing=1``), as consent managers write them."""
    for item in _ITEMS.split(unquote(value[:_MAX_COOKIE]).lower()):
        key, sep, flag = item.strip(_NOISE).partition(":" if ":" in item else "=")
        key, flag = key.strip(_NOISE), flag.strip(_NOISE)
        if key in accepted and (not sep or flag in _TRUE):
            return True
    return False
