"""The catalogue of every signal name a rule may read (README.md, "Signals"), collected from the
namespace modules that declare them (each ends with a ``NAMESPACE``; see :mod:`smalldata.signals.spec`).

The rule loader validates names against this table, so a typo such as
``vistor.returning`` is caught before any request. Each entry says the value's
kind, which decides the operators and literal types a rule may use with it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from smalldata.signals import basket, campaign, clock, consent, device, geo, history, page, user, visitor
from smalldata.signals.declared import KINDS, NAME, NamespaceSettings
from smalldata.signals.spec import Kind, Namespace, SignalSpec

__all__ = [
    "BUILT_IN",
    "BUILT_IN_NAMESPACES",
    "DAYPARTS",
    "DEVICE_TYPES",
    "NAMESPACES",
    "SIGNALS",
    "WEEKDAYS",
    "Kind",
    "SignalCatalog",
    "SignalRef",
    "SignalSpec",
    "as_text",
    "catalog",
    "check_declared",
    "fold",
    "list_items",
    "resolve",
    "value_problem",
]  # fmt: skip

WEEKDAYS = clock.WEEKDAY_NAMES
DAYPARTS = clock.DAYPARTS
DEVICE_TYPES = device.DEVICE_TYPES

#: The built-in namespaces, in docs order; each module declares its own signals (see :mod:`smalldata.signals.spec`).
#: A new namespace is a module with a ``NAMESPACE`` declaration and one entry here.
BUILT_IN_NAMESPACES: tuple[Namespace, ...] = (
    visitor.NAMESPACE, user.NAMESPACE, clock.NAMESPACE, basket.NAMESPACE, geo.NAMESPACE, device.NAMESPACE,
    page.NAMESPACE, campaign.NAMESPACE, history.NAMESPACE, consent.NAMESPACE,
)

SIGNALS: dict[str, SignalSpec] = {spec.name: spec for namespace in BUILT_IN_NAMESPACES for spec in namespace.signals}

NAMESPACES: tuple[str, ...] = tuple(dict.fromkeys(spec.namespace for spec in SIGNALS.values()))

@dataclass(frozen=True)
class SignalRef:
    """A resolved signal name: the catalogue entry plus an optional key into a mapping."""

    name: str
    spec: SignalSpec
    key: str | None = None

    @property
    def base(self) -> str:
        """The name a signals object is asked for (``history.category_views``)."""
        return self.spec.name

    @property
    def value_spec(self) -> SignalSpec:
        """The entry describing the value this reference yields (a declared field's own)."""
        if self.key is not None and self.name in SIGNALS:
            return SIGNALS[self.name]
        return self.spec

    @property
    def kind(self) -> Kind:
        if self.key is not None and self.name not in SIGNALS and self.spec.map_of is not None:
            return self.spec.map_of
        return self.value_spec.kind

    @property
    def missing(self) -> object:
        """What an absent key reads as (0 for a view count); None for a whole signal or a declared field."""
        return self.spec.missing if self.key is not None and self.name not in SIGNALS else None


_KIND_WORDS = {
    "bool": "true or false", "number": "a number", "text": "text", "datetime": "a time such as 2026-12-24T18:00",
    "date": "a date such as 2026-12-24", "list": "a list such as [a, b]", "map": "a mapping such as {shoes: 3}",
    "records": "a list of mappings",
}




class SignalCatalog:
    """The signals one shop's rules may read: the built-in ones and the fields the shop declared
    (``signals:`` in ``smalldata.yaml``; see :mod:`smalldata.signals.declared`)."""

    def __init__(self, specs: Mapping[str, SignalSpec]) -> None:
        self.specs = dict(specs)
        self.namespaces: tuple[str, ...] = tuple(dict.fromkeys(spec.namespace for spec in self.specs.values()))

    def __contains__(self, name: object) -> bool:
        return name in self.specs

    def with_fields(self, specs: Iterable[SignalSpec]) -> SignalCatalog:
        """This catalogue and ``specs`` (a shop's own fields)."""
        return SignalCatalog({**self.specs, **{spec.name: spec for spec in specs}})

    def names(self, namespace: str) -> list[str]:
        """The signal names of ``namespace``, in catalogue order."""
        prefix = namespace + "."
        return [name for name in self.specs if name.startswith(prefix)]

    def resolve(self, name: str) -> SignalRef | None:
        """Look a dotted name up, allowing one extra part on mapping signals."""
        specs = self.specs
        spec = specs.get(name)
        if spec is not None:
            if spec.name.count(".") == 2:  # a declared field of a mapping, e.g. geo.nearest_store.name
                parent = specs[spec.name.rsplit(".", 1)[0]]
                return SignalRef(name, parent, spec.name.rsplit(".", 1)[1])
            return SignalRef(name, spec)
        base, _, key = name.rpartition(".")
        mapping = specs.get(base)
        if mapping is not None and mapping.map_of is not None and key:
            return SignalRef(name, mapping, key)
        return None

    def value_problem(self, name: str, value: object) -> str | None:
        """Why ``value`` cannot be what signal ``name`` holds (for ``given:`` and ``--set``), or None."""
        from datetime import date, datetime

        ref = self.resolve(name)
        if ref is None or value is None:
            return None
        kind = ref.kind
        fits = {
            "bool": isinstance(value, bool),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "text": isinstance(value, str | int | float) and not isinstance(value, bool),
            "datetime": isinstance(value, datetime | date),
            "date": isinstance(value, date),
            "list": isinstance(value, list),
            "map": isinstance(value, dict),
            "records": isinstance(value, list) and all(isinstance(v, dict) for v in value),
        }[kind]
        if not fits:
            return f"{name} is {_KIND_WORDS[kind]}, not {value!r}"
        choices = ref.value_spec.choices
        if choices and as_text(value) not in choices:
            return f"{name} is one of {', '.join(choices)}, not {value!r}"
        return None

    def coerce(self, name: str, value: Any) -> Any:
        """``value`` as the shop would hold it for signal ``name`` (given by ``given:``, ``--set`` or a preview):
        a number for a text field becomes its text, a list's numbers their texts — what a source's answer
        becomes (:func:`as_text`), so ``try``, tests, previews and the shop agree. Other values are unchanged."""
        ref = self.resolve(name)
        if ref is None or value is None:
            return value
        if ref.kind == "text" and not isinstance(value, str):
            text = as_text(value)
            return value if text is None else text
        if ref.kind == "list" and isinstance(value, list | tuple):
            return list_items(value)
        return value


_LARGEST = 10**308


def as_text(value: object) -> str | None:
    """The one way a value becomes text for a text field or a list item, wherever it comes from (a source,
    ``given:``, ``--set``, a preview, a rule's literal): ``10`` and ``10.0`` are ``"10"``, ``2.5`` is ``"2.5"``,
    true is ``"true"``; None for what is no single value (a mapping, a list, null)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):  # beyond what a float holds (10**5000) no field keeps it, and str() of it raises
        return str(value) if -_LARGEST <= value <= _LARGEST else None
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value) if math.isfinite(value) else None
    return None


def list_items(values: Iterable[object]) -> list[str]:
    """A list signal's items as texts (:func:`as_text`); what is no single value is left out."""
    return [text for text in map(as_text, values) if text is not None]


#: The built-in signals, for code that reads no shop's settings.
BUILT_IN = SignalCatalog(SIGNALS)
resolve = BUILT_IN.resolve
value_problem = BUILT_IN.value_problem


def check_declared(declared: Mapping[str, NamespaceSettings]) -> None:
    """Refuse a declaration that clashes with the built-in signals (raises ``ValueError``)."""
    for namespace, settings in declared.items():
        if not NAME.match(namespace):
            raise ValueError(f"'{namespace}' is not a namespace name: use lower-case letters, digits and _")
        if namespace == "user":
            if settings.source or settings.url:
                raise ValueError("user fields come from the customer's profile (user.profile_url or "
                                 "user.callable): declare them without source or url")
            for field in settings.fields:
                if f"user.{field}" in BUILT_IN:
                    raise ValueError(f"user.{field} is a built-in signal; give your field another name")
            continue
        if namespace in BUILT_IN.namespaces:
            raise ValueError(f"'{namespace}' is a built-in namespace; only 'user' takes more fields. "
                             "Give your namespace a name of its own")
        if (settings.source is None) == (settings.url is None):
            raise ValueError(f"signals.{namespace} needs either a source (\"package.module:function\") or a url")


def catalog(declared: Mapping[str, NamespaceSettings]) -> SignalCatalog:
    """The built-in signals and the declared fields."""
    if not declared:
        return BUILT_IN
    return BUILT_IN.with_fields(
        SignalSpec(f"{namespace}.{field}", KINDS[kind], f"{kind}, declared in smalldata.yaml")
        for namespace, settings in declared.items()
        for field, kind in settings.fields.items()
    )


def fold(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``geo.nearest_store.name=X`` becomes ``{"geo.nearest_store": {"name": "X"}}``."""
    folded: dict[str, Any] = {}
    for name, value in overrides.items():
        ref = resolve(name)
        if ref is not None and ref.key is not None:
            mapping = dict(folded.get(ref.base) or {})
            mapping[ref.key] = value
            folded[ref.base] = mapping
        else:
            folded[name] = value
    return folded
