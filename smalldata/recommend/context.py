"""The few signal values recommendations read, taken from the signals once per slot."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from smalldata.signals.base import Signals

MAX_IDS = 200

#: Every signal a strategy or an exclusion may read (for the middleware's prefetch list).
READS = frozenset({
    "page.product", "page.category", "basket.skus", "history.viewed_products", "history.category_views",
    "user.purchased", "user.logged_in", "user.id", "visitor.id", "page.language",
})  # fmt: skip


@dataclass(frozen=True)
class Shopper:
    """What is known about the shopper for recommendations; unknown values are empty."""

    product: str | None = None
    category: str | None = None
    basket: tuple[str, ...] = ()
    viewed: tuple[str, ...] = ()
    category_views: Mapping[str, int] = field(default_factory=dict)
    purchased: tuple[str, ...] = ()
    visitor: str | None = None
    user: str | None = None
    language: str | None = None

    @classmethod
    def from_signals(cls, signals: Signals) -> Shopper:
        """Read the values from ``signals``; anything malformed counts as unknown."""
        logged_in = signals.get("user.logged_in") is True
        return cls(
            product=_id(signals.get("page.product")),
            category=_id(signals.get("page.category")),
            basket=_ids(signals.get("basket.skus")),
            viewed=_ids(signals.get("history.viewed_products")),
            category_views=_counts(signals.get("history.category_views")),
            purchased=_ids(signals.get("user.purchased")) if logged_in else (),
            visitor=_id(signals.get("visitor.id")),
            user=_id(signals.get("user.id")) if logged_in else None,
            language=_id(signals.get("page.language")),
        )


def _id(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) and value else None


def _ids(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(dict.fromkeys(i for i in map(_id, value[:MAX_IDS]) if i is not None))


def _counts(value: Any) -> dict[str, int]:
    if not isinstance(value, Mapping):
        return {}
    return {
        str(k): int(v) for k, v in value.items() if isinstance(v, int | float) and not isinstance(v, bool) and v > 0
    }
