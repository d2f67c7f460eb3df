"""``smalldata report``: which files (those named, else the settings' events file and its backups) and which
weights (the rules' experiments) the report reads; :mod:`smalldata.tools.report` does the counting."""

from __future__ import annotations

from pathlib import Path

from smalldata.rules import check_ruleset
from smalldata.settings import Settings
from smalldata.tools.report import backups_of, report_main, weights_of

__all__ = ["default_files", "report_command"]


class NoEventsFile(Exception):
    """The settings name an events file that is not there (the message says where it was looked for)."""


def default_files(settings: Settings, config: str | None) -> list[str]:
    """The settings' events file (relative to the settings file's folder) and its rotated backups."""
    path = Path(settings.events.path)
    if not path.is_absolute() and config is not None:
        path = Path(config).parent / path
    files = backups_of(path)
    if not files:
        raise NoEventsFile(f"{path}: no events file (events.path of the settings); "
                           "name the files: smalldata report FILE-OR-GLOB...")  # fmt: skip
    return [str(file) for file in files]


def report_command(
    files: list[str], *, settings: Settings, config: str | None, rules: str, json_output: bool, sql: bool,
    engine: str,
) -> int:
    """Run ``report`` over ``files`` (none: the settings' events file and backups), with the rules' weights."""
    if not sql and not files:
        try:
            files = default_files(settings, config)
        except NoEventsFile as exc:
            import sys

            print(exc, file=sys.stderr)
            return 1
    weights = None
    if not sql and Path(rules).exists():
        ruleset, _ = check_ruleset(rules, settings)
        weights = weights_of(ruleset) if ruleset is not None else None
    return report_main(files, json_output=json_output, sql=sql, engine=engine, weights=weights)
