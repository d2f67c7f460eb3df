"""What the rule engine reads: an object answering ``get(name)`` for base signal names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class Signals(Protocol):
    """A read-only view of one request's signals.

    ``get`` takes a catalogue name (``visitor.returning``, ``history.category_views``)
    and returns its value, or ``None`` when unknown. Mapping signals return the
    whole mapping; the engine picks keys out of it itself.
    """

    def get(self, name: str) -> Any: ...


class StaticSignals:
    """Signals given up front as a flat ``{dotted name: value}`` mapping (tests, ``smalldata test``).

    A name that addresses a field of a mapping signal (``geo.nearest_store.name``)
    is folded into that mapping, so ``get("geo.nearest_store")`` sees it.
    """

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self._values: dict[str, Any] = {}
        for name, value in (values or {}).items():
            self.set(name, value)

    def set(self, name: str, value: Any) -> None:
        from smalldata.signals.catalog import resolve

        ref = resolve(name)
        if ref is not None and ref.key is not None:
            mapping = dict(self._values.get(ref.base) or {})
            mapping[ref.key] = value
            self._values[ref.base] = mapping
        else:
            self._values[name] = value

    def get(self, name: str) -> Any:
        return self._values.get(name)

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)
