"""smalldata: personalise any ASGI web shop with the small data it already has.

The public API is :data:`PUBLIC`, one short list; everything else is reachable through
its modules but may change. Names are imported when first used (PEP 562), so
``import smalldata.rules`` loads the rules and what they need, not the middleware.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers; tests/layout checks these match PUBLIC
    from smalldata.app import Overrides, Parts
    from smalldata.conversions import record_conversion
    from smalldata.decision import Banner, Chat, Decision, Exposure, Recommendation
    from smalldata.delivery.lazy import LazyDecision, decision_of
    from smalldata.delivery.page import Recommender
    from smalldata.events.sinks import EventSink
    from smalldata.foundation.problems import Problem, ProblemsError
    from smalldata.middleware import SmallData
    from smalldata.rules import Engine, Ruleset, check_ruleset, load_ruleset
    from smalldata.settings import Settings, load_settings
    from smalldata.signals.providers import register_provider
    from smalldata.state import StateStore

__version__ = "0.1.0"

#: Where each public name lives: the one list of them (``__all__`` and the loader read it).
PUBLIC = {
    "smalldata.app": ("Overrides", "Parts"),
    "smalldata.conversions": ("record_conversion",),
    "smalldata.decision": ("Banner", "Chat", "Decision", "Exposure", "Recommendation"),
    "smalldata.delivery.lazy": ("LazyDecision", "decision_of"),
    "smalldata.delivery.page": ("Recommender",),
    "smalldata.events.sinks": ("EventSink",),
    "smalldata.middleware": ("SmallData",),
    "smalldata.foundation.problems": ("Problem", "ProblemsError"),
    "smalldata.rules": ("Engine", "Ruleset", "check_ruleset", "load_ruleset"),
    "smalldata.settings": ("Settings", "load_settings"),
    "smalldata.signals.providers": ("register_provider",),
    "smalldata.state": ("StateStore",),
}
_WHERE = {name: module for module, names in PUBLIC.items() for name in names}
__all__ = sorted([*_WHERE, "__version__"])


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'smalldata' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return __all__
