"""What every console page works with: the rules folder, the settings, the catalogue, the events file."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from smalldata.recommend import CatalogueRecommender
from smalldata.rules import Engine, Ruleset
from smalldata.settings import Settings
from smalldata.signals.clock import system_clock
from smalldata.tools.console.workspace import Workspace


@dataclass
class Console:
    """One running console (``request.app.state.console``)."""

    workspace: Workspace
    settings: Settings
    events: Path | None  # the JSON-lines events file the experiments page reads
    recommender: CatalogueRecommender | None = None  # fills recommendation cards from the shop's catalogue
    clock: Callable[[], datetime] = system_clock  # "now" for a Try form that names no time
    author: str = "console"  # who the history says saved (--author, else the system user's name)
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    _engine: tuple[Ruleset, Engine] | None = field(default=None, repr=False)

    def sample_products(self, count: int = 2) -> list[str]:
        """Ids of a few products in stock, of different categories, for the personas that shopped before."""
        if self.recommender is None:
            return []
        chosen: dict[str, str] = {}
        for product in self.recommender.catalogue.products():
            category = product.categories[0] if product.categories else ""
            if product.in_stock and category not in chosen:
                chosen[category] = product.id
        return list(chosen.values())[:count]

    def engine(self, ruleset: Ruleset) -> Engine:
        """The engine of ``ruleset``, compiled once per checked version of the folder."""
        if self._engine is None or self._engine[0] is not ruleset:
            self._engine = (ruleset, Engine(ruleset))
        return self._engine[1]
