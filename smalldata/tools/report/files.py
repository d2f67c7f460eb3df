"""Which files a report reads: paths and globs (every host's file, every rotated backup), or by default
the settings' events file with its backups; and the pure-Python reader of JSON lines."""

from __future__ import annotations

import glob
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = ["UnreadableFiles", "backups_of", "expand", "iter_events", "read_events"]

_GLOB = re.compile(r"[*?\[]")


class UnreadableFiles(Exception):
    """A path that names no readable file, or a glob that matches none (the message says which)."""


def expand(patterns: Sequence[str]) -> list[Path]:
    """Every file ``patterns`` name, in order, each once; globs (``events-*.jsonl*``, ``**``) expanded."""
    found: dict[Path, None] = {}
    for pattern in patterns:
        if _GLOB.search(pattern):
            matches = sorted(glob.glob(pattern, recursive=True))
            files = [Path(match) for match in matches if Path(match).is_file()]
            if not files:
                raise UnreadableFiles(f"{pattern}: no file matches")
        else:
            path = Path(pattern)
            if not path.is_file():
                reason = "Is a directory" if path.is_dir() else "No such file or directory"
                raise UnreadableFiles(f"{pattern}: cannot read events: {reason}")
            files = [path]
        found.update((file, None) for file in files)
    return list(found)


def backups_of(path: Path) -> list[Path]:
    """``path`` and its rotated backups (``path.1``, ``path.2``…, as the file sink rotates), those that exist."""
    backups = [p for p in path.parent.glob(glob.escape(path.name) + ".*") if p.name[len(path.name) + 1:].isdigit()]
    backups.sort(key=lambda p: int(p.name[len(path.name) + 1:]))
    return ([path] if path.is_file() else []) + backups


def read_events(path: str | Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The events of a JSON-lines file, and ``file:line: message`` for each line that is not one."""
    problems: list[str] = []
    return list(_events(Path(path), problems)), problems


def iter_events(paths: Sequence[Path], problems: list[str]) -> Iterator[dict[str, Any]]:
    """The events of every file in turn (``problems`` collects the lines that are not events)."""
    for path in paths:
        yield from _events(path, problems)


def _events(path: Path, problems: list[str]) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError:
                problems.append(f"{path}:{number}: not a JSON event (a torn write?); skipped")
                continue
            if isinstance(event, dict):
                yield event
            else:
                problems.append(f"{path}:{number}: not a JSON object; skipped")
