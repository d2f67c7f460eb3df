"""What every console page works with: the rules folder, the settings, the catalogue, the events file."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from smalldata.console.workspace import Workspace
from smalldata.recommend import Recommender
from smalldata.rules import Engine, Ruleset
from smalldata.settings import Settings
from smalldata.signals.clock import system_clock


@dataclass
class Console:
    """One running console (``request.app.state.console``)."""

    workspace: Workspace
    settings: Settings
    events: Path | None  # the JSON-lines events file the experiments page reads
    recommender: Recommender | None = None  # fills recommendation cards from the shop's catalogue
    clock: Callable[[], datetime] = system_clock  # "now" for a Try form that names no time
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    _engine: tuple[Ruleset, Engine] | None = field(default=None, repr=False)

    def engine(self, ruleset: Ruleset) -> Engine:
        """The engine of ``ruleset``, compiled once per checked version of the folder."""
        if self._engine is None or self._engine[0] is not ruleset:
            self._engine = (ruleset, Engine(ruleset))
        return self._engine[1]
