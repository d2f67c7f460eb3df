"""What the rule engine reads: a mapping of full signal names (``"geo.country"``) to values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from smalldata.signals.catalog import fold


class Signals(Protocol):
    """A read-only view of one request's signals.

    ``signals[name]`` takes a catalogue name (``visitor.returning``,
    ``history.category_views``) and returns its value, or ``None`` when unknown
    (never a ``KeyError``); ``get`` is the same as a method. Mapping signals return
    the whole mapping; the engine picks keys out of it itself.
    """

    def __getitem__(self, name: str) -> Any: ...

    def get(self, name: str) -> Any: ...


class StaticSignals(dict[str, Any]):
    """Signals given up front as a flat ``{full name: value}`` mapping (tests, ``smalldata test``).

    A name that addresses a field of a mapping signal (``geo.nearest_store.name``)
    is folded into that mapping, so ``signals["geo.nearest_store"]`` sees it.
    Names not given read as None.
    """

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        super().__init__(fold(values or {}))

    def __missing__(self, name: str) -> Any:
        return None

    def get(self, name: str, default: Any = None) -> Any:
        value = dict.get(self, name)
        return default if value is None else value

    def as_dict(self) -> dict[str, Any]:
        return dict(self)


def read_signal(signals: Signals, base: str, key: str | None, missing: object) -> Any:
    """The value a condition or a placeholder reads: ``signals[base]``, or its ``key`` when one is given
    (``missing`` when the mapping lacks it; None when the value is not a mapping)."""
    value = signals[base]
    if key is None:
        return value
    return value.get(key, missing) if isinstance(value, Mapping) else None
