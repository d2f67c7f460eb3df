"""A small catalogue the recommendation tests share (popularity and dates chosen so every order is visible)."""

from __future__ import annotations

from datetime import date
from typing import Any

from smalldata.catalogue import MemoryCatalogue, Product
from smalldata.decision import Decision, Recommendation
from smalldata.signals.base import StaticSignals


def product(pid: str, categories: str, popularity: float, added: date | None, *, related: str = "",
            in_stock: bool = True) -> Product:
    return Product(
        id=pid, name=pid.title(), url=f"/products/{pid}", image=f"/img/{pid}.jpg", price=100.0, currency="DKK",
        categories=tuple(categories.split()), related=tuple(related.split()), popularity=popularity, added=added,
        in_stock=in_stock,
    )  # fmt: skip


PRODUCTS = [
    product("mug", "kitchen", 50, date(2026, 1, 10), related="saucer spoon candle"),
    product("saucer", "kitchen", 30, date(2026, 3, 1), related="mug"),
    product("spoon", "kitchen", 90, date(2026, 4, 1), in_stock=False),
    product("candle", "lighting", 80, date(2025, 12, 1), related="lamp mug"),
    product("lamp", "lighting", 60, date(2026, 2, 15)),
    product("throw", "textiles", 70, date(2026, 3, 20), related="cushion candle"),
    product("cushion", "textiles", 40, None, related="throw"),
    product("teapot", "kitchen", 50, date(2026, 1, 5)),
]


def catalogue() -> MemoryCatalogue:
    return MemoryCatalogue(PRODUCTS)


def signals(**values: Any) -> StaticSignals:
    """``history_viewed_products=[...]`` → ``history.viewed_products``."""
    return StaticSignals({name.replace("_", ".", 1): value for name, value in values.items()})


def decision(strategy: str, *, limit: int = 10, exclude: tuple[str, ...] = (), slot: str = "recommendations",
             **options: Any) -> Decision:
    rec = Recommendation(rule="r", slot=slot, strategy=strategy, limit=limit, exclude=list(exclude),
                         options={k: v for k, v in options.items() if v is not None})
    return Decision(recommendations={slot: rec})
