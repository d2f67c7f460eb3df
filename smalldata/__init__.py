"""smalldata: personalise any ASGI web shop with the small data it already has.

The public API is this short list; everything else is reachable through its
modules but may change. Names are imported when first used (PEP 562), so
``import smalldata.rules`` loads the rules and what they need, not the middleware.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smalldata.conversions import record_conversion
    from smalldata.decision import Banner, Chat, Decision, Exposure, Recommendation
    from smalldata.delivery.lazy import LazyDecision, decision_of
    from smalldata.delivery.page import Recommender
    from smalldata.events.sinks import EventSink
    from smalldata.middleware import SmallData
    from smalldata.problems import Problem, ProblemsError
    from smalldata.rules import Engine, Ruleset, check_ruleset, load_ruleset
    from smalldata.settings import Settings, load_settings
    from smalldata.signals.providers import register_provider
    from smalldata.state import StateStore

__version__ = "0.1.0"

_WHERE = {
    "Banner": "smalldata.decision",
    "Chat": "smalldata.decision",
    "Decision": "smalldata.decision",
    "Exposure": "smalldata.decision",
    "Recommendation": "smalldata.decision",
    "LazyDecision": "smalldata.delivery.lazy",
    "decision_of": "smalldata.delivery.lazy",
    "Recommender": "smalldata.delivery.page",
    "EventSink": "smalldata.events.sinks",
    "SmallData": "smalldata.middleware",
    "Problem": "smalldata.problems",
    "ProblemsError": "smalldata.problems",
    "Engine": "smalldata.rules",
    "Ruleset": "smalldata.rules",
    "check_ruleset": "smalldata.rules",
    "load_ruleset": "smalldata.rules",
    "Settings": "smalldata.settings",
    "load_settings": "smalldata.settings",
    "register_provider": "smalldata.signals.providers",
    "StateStore": "smalldata.state",
    "record_conversion": "smalldata.conversions",
}

__all__ = [
    "Banner",
    "Chat",
    "Decision",
    "Engine",
    "EventSink",
    "Exposure",
    "LazyDecision",
    "Problem",
    "ProblemsError",
    "Recommendation",
    "Recommender",
    "Ruleset",
    "Settings",
    "SmallData",
    "StateStore",
    "__version__",
    "check_ruleset",
    "decision_of",
    "load_ruleset",
    "load_settings",
    "record_conversion",
    "register_provider",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'smalldata' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return __all__
