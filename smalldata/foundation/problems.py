"""Problems found in a merchandiser's files, reported as ``file:line:col: message``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Position:
    """Where a value came from: a file and a 1-based line and column."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Problem:
    """One error or warning in a rule or settings file, meant for people."""

    position: Position
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.position}: {prefix}{self.message}"


class ProblemsError(Exception):
    """Raised when a folder of files has errors; carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.position)
        super().__init__("\n".join(str(p) for p in self.problems))


def did_you_mean(word: str, choices: list[str] | tuple[str, ...] | set[str]) -> str:
    """A ``— did you mean 'x'?`` suffix for the closest choice, or an empty string."""
    import difflib

    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" — did you mean '{close[0]}'?" if close else ""
