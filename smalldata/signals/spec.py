"""How a namespace module declares its signals: once, beside the code that computes them.

Each built-in namespace module (``visitor.py``, ``device.py``, ...) ends with one
:class:`Namespace`: the signals it answers (name, kind, docs line), the providers
that compute them (each a :class:`Group` of names, built once per app from the
shop's :class:`Parts`), the request headers a group is computed from (a page that
reads one of its names varies on them) and whether the values come from the
visitor's stored state. :mod:`smalldata.signals.catalog` collects the signals and
:mod:`smalldata.signals.providers` the providers, with their headers and stored
namespaces, into the provider map that :mod:`smalldata.delivery.plan` asks for a
page's ``Vary``. docs/architecture.md shows a worked example.

The declarations are read when the app is built and when a ruleset is compiled,
never per request: a request reads the same provider dict as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["bool", "number", "text", "datetime", "date", "list", "map", "records"]


@dataclass(frozen=True)
class SignalSpec:
    """What one signal holds.

    ``choices`` closes a text signal's vocabulary (a rule comparing with any other
    word can never match); ``cycle`` makes ``between`` wrap around (hours across
    midnight); ``map_of`` marks a mapping whose keys a rule may address with one
    more dotted part, and ``missing`` is the value of an absent key.
    """

    name: str
    kind: Kind
    doc: str
    choices: tuple[str, ...] = ()
    cycle: int | None = None
    lower: float | None = None
    upper: float | None = None
    map_of: Kind | None = None
    missing: object = None

    @property
    def namespace(self) -> str:
        return self.name.split(".", 1)[0]


def signal(name: str, kind: Kind, doc: str, **extra: Any) -> SignalSpec:
    """One catalogue entry: ``signal("time.hour", "number", "hour of the day, 0-23", cycle=24)``."""
    return SignalSpec(name, kind, doc, **extra)


@dataclass(frozen=True)
class Parts:
    """What providers are built from, once per app: the shop's signal settings and the parts that
    several namespaces share (the logged-in user is read by ``user``, ``basket`` and the shop's fields).

    The shared parts are typed loosely on purpose: their classes live in the namespace modules,
    which import this one.
    """

    settings: Any  # smalldata.signals.config.SignalSettings
    client: Any  # smalldata.signals.client.ClientAddress
    users: Any  # smalldata.signals.user.Users
    baskets: Any  # smalldata.signals.basket.Baskets
    consents: Any  # smalldata.signals.consent.Consent
    campaigns: Any  # smalldata.signals.campaign.CampaignSignals


# ``(request, signals) -> {full name: value}`` and ``(request) -> None``, as :mod:`smalldata.signals.request`
# types them (not imported: the request module's imports lead back here)
ProviderFn = Callable[..., Mapping[str, Any]]
Prefetch = tuple[Callable[..., Awaitable[None]], Callable[..., bool] | None]


@dataclass(frozen=True)
class Group:
    """Names one provider answers together (split from the rest of its namespace where costs differ).

    ``provider(parts)`` builds the provider once per app; ``vary`` lists the request headers the
    values are computed from (``User-Agent``): a page whose rules read one of ``names`` varies on them.
    """

    names: tuple[str, ...]
    provider: Callable[[Parts], ProviderFn]
    vary: tuple[str, ...] = ()


@dataclass(frozen=True)
class Namespace:
    """A namespace of built-in signals, declared in its own module.

    ``signals`` are its catalogue entries in docs order (a mapping's declared fields, such as
    ``geo.nearest_store.name``, included); ``groups`` say which provider answers which names;
    ``stored``: the values come from the visitor's stored state, so a page reading them is decided
    without them when ``Sec-GPC`` refuses storage and varies on that header; ``prefetch(parts)``
    names the awaitable that fetches remote data before the page (None: nothing to fetch).
    """

    name: str
    signals: tuple[SignalSpec, ...]
    groups: tuple[Group, ...]
    stored: bool = False
    prefetch: Callable[[Parts], Prefetch | None] | None = None
    names: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        declared = {spec.name for spec in self.signals}
        answered = [name for group in self.groups for name in group.names]
        wrong = [name for name in (*declared, *answered) if not name.startswith(self.name + ".")]
        if wrong:
            raise ValueError(f"namespace {self.name}: {', '.join(sorted(wrong))} is not in it")
        if len(answered) != len(set(answered)):
            raise ValueError(f"namespace {self.name}: a name is answered by two groups")
        # a mapping's declared field (geo.nearest_store.name) is answered with its mapping
        top = {name for name in declared if name.count(".") == 1}
        if set(answered) != top:
            raise ValueError(f"namespace {self.name}: declared and answered names differ: "
                             f"{', '.join(sorted(top.symmetric_difference(answered)))}")
        object.__setattr__(self, "names", frozenset(declared))
