"""Deterministic, sticky experiment assignment.

A visitor's bucket is a hash of (salt, experiment key, visitor id): the same
visitor gets the same variant in every process and after every restart, with
no state stored. Weights are percentages; what they leave below 100 is the
control group, which gets nothing from the rule.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from smalldata.rules.actions import ActionSet

CONTROL = "control"


@dataclass(frozen=True)
class Arm:
    """A compiled variant."""

    name: str
    weight: float
    actions: ActionSet


@dataclass(frozen=True)
class CompiledExperiment:
    """An experiment ready to assign visitors."""

    key: str
    salt: str
    arms: tuple[Arm, ...]

    def bucket(self, visitor_id: str) -> float:
        """Where the visitor falls in [0, 100)."""
        digest = hashlib.sha256(f"{self.salt}:{self.key}:{visitor_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 * 100

    def assign(self, visitor_id: str) -> Arm | None:
        """The visitor's variant, or ``None`` for the control group."""
        point = self.bucket(visitor_id)
        edge = 0.0
        for arm in self.arms:
            edge += arm.weight
            if point < edge:
                return arm
        return None

    def arm(self, name: str) -> Arm | None:
        return next((a for a in self.arms if a.name == name), None)
