"""Check problems as the console shows them: at their line, with the line itself and the suggestion."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from smalldata.foundation.problems import Problem
from smalldata.tools.console.workspace import Workspace

# "unknown signal 'vistor.returning' — did you mean 'visitor.returning'?"
SUGGESTION = re.compile(r"'([^']+)'.*— did you mean '([^']+)'\?$")


@dataclass(frozen=True)
class ProblemView:
    """One error or warning: where (the file's name in the folder, when it is a rule file), what, and a fix."""

    name: str | None
    file: str
    line: int
    col: int
    message: str
    severity: str
    excerpt: str = ""  # the line the problem is on
    wrong: str = ""  # with ``right``: the suggestion, when the text at line:col is the word it corrects
    right: str = ""

    @property
    def caret(self) -> str:
        """Spaces up to the column and a ``^`` under it."""
        return " " * max(0, self.col - 1) + "^"

    @property
    def where(self) -> str:
        return f"{self.name or self.file}:{self.line}:{self.col}"


def problem_views(problems: Iterable[Problem], workspace: Workspace,
                  texts: Mapping[str, str] | None = None) -> list[ProblemView]:
    """The views of ``problems``; ``texts`` are files' texts being edited (by name), read instead of the disk."""
    lines: dict[str, list[str]] = {}

    def source(name: str) -> list[str]:
        if name not in lines:
            try:
                text = (texts or {}).get(name)
                lines[name] = (text if text is not None else workspace.read(name)).splitlines()
            except (OSError, LookupError, UnicodeDecodeError):
                lines[name] = []
        return lines[name]

    views = []
    for problem in problems:
        position = problem.position
        name = workspace.name_of(position.file)
        file_lines = source(name) if name is not None else []
        excerpt = file_lines[position.line - 1] if 0 < position.line <= len(file_lines) else ""
        wrong = right = ""
        match = SUGGESTION.search(problem.message)
        if match and excerpt[position.col - 1:].startswith(match.group(1)):
            wrong, right = match.groups()
        views.append(ProblemView(name, position.file, position.line, position.col, problem.message,
                                 problem.severity, excerpt, wrong, right))  # fmt: skip
    return views
