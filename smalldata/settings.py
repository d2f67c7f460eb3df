"""Settings (``smalldata.yaml``), validated by pydantic, with errors as ``file:line: message``."""

from __future__ import annotations

from pathlib import Path as FsPath
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, field_validator

from smalldata.problems import Position, Problem, ProblemsError
from smalldata.validation import validate
from smalldata.yamlpos import YamlError, load_text

DEFAULT_FILE = "smalldata.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Settings(_Model):
    """Everything a shop configures. Every field has a default, so an empty file works."""

    timezone: str = "Europe/Copenhagen"
    default_language: str = "da"
    languages: tuple[str, ...] = ("da", "en")
    experiment_salt: str = "smalldata"
    rules: str = "rules"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}' (use an IANA name such as Europe/Copenhagen)") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load_settings(path: str | FsPath | None = None) -> Settings:
    """Read settings from ``path`` (default ``smalldata.yaml`` if it exists, else defaults).

    Raises :class:`ProblemsError` listing every problem with its line.
    """
    if path is None:
        if not FsPath(DEFAULT_FILE).exists():
            return Settings()
        path = DEFAULT_FILE
    file = str(path)
    try:
        doc = load_text(FsPath(path).read_bytes(), file)
    except OSError as exc:
        raise ProblemsError([Problem(Position(file, 1, 1), f"cannot read settings: {exc.strerror}")]) from None
    except YamlError as exc:
        raise ProblemsError([exc.problem]) from None
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise ProblemsError([Problem(doc.at(()), "settings must be a mapping of names to values")])
    settings, problems = validate(Settings, data, doc)
    if settings is None:
        raise ProblemsError(problems)
    return settings


