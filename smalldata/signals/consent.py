"""The ``consent`` signals: may we store state about this visitor, may we personalise?

Read from the site's own consent cookie (name and accepted values from
:class:`~smalldata.state.config.ConsentSettings`) and the ``Sec-GPC`` header
(Global Privacy Control, https://globalprivacycontrol.github.io/gpc-spec/):
``Sec-GPC: 1`` is an opt-out that wins over any cookie.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from smalldata.signals.spec import Group, Namespace, signal
from smalldata.state.config import ConsentSettings

if TYPE_CHECKING:
    from smalldata.signals.request import Request, RequestSignals

__all__ = ["NAMES", "Consent"]

NAMES = ("consent.personalisation", "consent.storage")
_ITEMS = re.compile(r"[\s,;|&]+")
_NOISE = "{}[]()'\" "
_TRUE = frozenset({"1", "true", "yes", "granted", "accepted"})
_MAX_COOKIE = 4096


class Consent:
    """Decides, once per request, whether smalldata may keep state about the visitor.

    The middleware must neither read nor write visitor state when :meth:`allows`
    says no; the provider of ``consent.*`` gives rules the same answer.
    """

    def __init__(self, settings: ConsentSettings) -> None:
        self.settings = settings

    def allows(self, request: Request) -> bool:
        """``Sec-GPC: 1`` says no whatever the cookie says; else the consent cookie, else ``required``."""
        settings = self.settings
        if settings.honour_gpc:
            gpc = request.header(b"sec-gpc")
            if gpc is not None and gpc.strip() == "1":
                return False
        value = request.cookies.get(settings.cookie)
        if value is None:
            return not settings.required
        return _accepts(value, settings.accepted)

    def signals(self, request: Request, signals: RequestSignals) -> Mapping[str, Any]:
        """The provider of ``consent.storage`` and ``consent.personalisation``."""
        allowed = self.allows(request)
        return {"consent.personalisation": allowed, "consent.storage": allowed}


def _accepts(value: str, accepted: tuple[str, ...]) -> bool:
    """A bare word that is accepted (``all``), or an accepted key set to a true value
    (``statistics:true``, ``marketing=1``), as consent managers write them."""
    for item in _ITEMS.split(unquote(value[:_MAX_COOKIE]).lower()):
        key, sep, flag = item.strip(_NOISE).partition(":" if ":" in item else "=")
        key, flag = key.strip(_NOISE), flag.strip(_NOISE)
        if key in accepted and (not sep or flag in _TRUE):
            return True
    return False


#: The ``consent`` namespace (see :mod:`smalldata.signals.spec`): what the visitor allows.
NAMESPACE = Namespace(
    "consent",
    signals=(
        signal("consent.personalisation", "bool", "the visitor allows personalisation"),
        signal("consent.storage", "bool", "the visitor allows storage (cookies, state)"),
    ),
    groups=(Group(NAMES, lambda parts: parts.consents.signals),),
    stored=True,
)
