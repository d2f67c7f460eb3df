"""smalldata: personalise any ASGI web shop with the small data it already has.

The public API is this short list; everything else is reachable through its
modules but may change.
"""

from __future__ import annotations

from smalldata.decision import Banner, Chat, Decision, Exposure, Recommendation
from smalldata.middleware import SmallData
from smalldata.problems import Problem, ProblemsError
from smalldata.rules import Engine, Ruleset, check_ruleset, load_ruleset
from smalldata.settings import Settings, load_settings

__version__ = "0.1.0"

__all__ = [
    "Banner",
    "Chat",
    "Decision",
    "Engine",
    "Exposure",
    "Problem",
    "ProblemsError",
    "Recommendation",
    "Ruleset",
    "Settings",
    "SmallData",
    "__version__",
    "check_ruleset",
    "load_ruleset",
    "load_settings",
]
