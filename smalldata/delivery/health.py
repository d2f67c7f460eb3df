"""What ``GET /_smalldata/health`` reports: the rules as loaded, the event log and the catalogue."""

from __future__ import annotations

from typing import Any

from smalldata.catalogue import FileCatalogue
from smalldata.delivery.live_rules import LiveRules
from smalldata.events import EventLog


class ShopHealth:
    """Implements :class:`~smalldata.delivery.visit.Health` for one app."""

    def __init__(self, rules: LiveRules, events: EventLog, catalogue: FileCatalogue | None = None) -> None:
        self.rules = rules
        self.events = events
        self.catalogue = catalogue

    async def report(self) -> dict[str, Any]:
        await self.rules.settle()  # the rules as the files are now, not as the last page saw them
        data = self.rules.health()
        data["events"] = self.events.stats()
        catalogue = self.catalogue
        if catalogue is not None:
            data["catalogue"] = {
                "products": len(catalogue.products()),
                "skipped_rows": [str(problem) for problem in catalogue.problems],
                "error": str(catalogue.error) if catalogue.error is not None else None,
            }
        return data
