"""Settings (``smalldata.yaml``), validated by pydantic, with errors as ``file:line:col: message``.

Each part of the library defines the settings it reads (``signals/config.py``,
``state/config.py``, ``events/config.py``, …); :class:`Settings` gathers them into one
file's worth, and the composition root (:mod:`smalldata.app`) hands each part only
its own. Nothing below this module imports it.
"""

from __future__ import annotations

from datetime import date
from functools import cached_property
from pathlib import Path as FsPath
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
)

from smalldata.catalogue.config import CatalogueSettings
from smalldata.events.config import EventSettings
from smalldata.foundation.problems import Position, Problem, ProblemsError
from smalldata.foundation.validation import validate
from smalldata.foundation.yamlpos import YamlError, load_text
from smalldata.preview.links import PreviewSettings
from smalldata.recommend.config import RecommenderSettings
from smalldata.rules.chat_texts import ChatTexts, ClientSettings
from smalldata.rules.load import DEFAULT_EXPERIMENT_SALT, DEFAULT_LANGUAGE, DEFAULT_LANGUAGES, DEFAULT_TIMEZONE
from smalldata.signals.catalog import SignalCatalog, catalog, check_declared
from smalldata.signals.config import (
    BasketSettings,
    CampaignSettings,
    Event,
    GeoSettings,
    Hours,
    Networks,
    PageSettings,
    ShopCodeSettings,
    Store,
    UserSettings,
    Weekday,
)
from smalldata.signals.declared import NamespaceSettings
from smalldata.state.config import ConsentSettings, StateSettings

DEFAULT_FILE = "smalldata.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HealthSettings(_Model):
    """``health:``: who may see the details of ``/_smalldata/health`` (everyone sees its status)."""

    # ``Authorization: Bearer <token>`` shows the details (or set SMALLDATA_HEALTH_TOKEN); so does a
    # request made on this host that no proxy forwarded
    token: SecretStr | None = None


class BenchSettings(_Model):
    """``bench:``: the shop's performance budgets for ``smalldata bench`` (e.g. ``budget: {p50: 1ms}``).

    Names and values are read by ``smalldata bench`` (docs/qa.md), which says what is wrong with one.
    """

    budget: dict[str, str | float] = {}


class Settings(_Model):
    """Everything a shop configures. Every field has a default, so an empty file works."""

    timezone: str = DEFAULT_TIMEZONE
    default_language: str = DEFAULT_LANGUAGE
    languages: tuple[str, ...] = DEFAULT_LANGUAGES
    experiment_salt: str = DEFAULT_EXPERIMENT_SALT
    rules: str = "rules"

    opening_hours: dict[Weekday, Hours] = {}
    closed_dates: tuple[date, ...] = ()
    special_days: dict[date, Hours] = {}
    calendar: dict[str, Event] = {}
    page: PageSettings = PageSettings()
    campaign: CampaignSettings = CampaignSettings()
    trusted_proxies: Networks = ()
    geo: GeoSettings = GeoSettings()
    stores: tuple[Store, ...] = ()
    user: UserSettings = UserSettings()
    basket: BasketSettings = BasketSettings()
    state: StateSettings = StateSettings()
    consent: ConsentSettings = ConsentSettings()
    catalogue: CatalogueSettings = CatalogueSettings()
    recommender: RecommenderSettings = RecommenderSettings()
    events: EventSettings = EventSettings()
    preview: PreviewSettings = PreviewSettings()
    health: HealthSettings = HealthSettings()
    bench: BenchSettings = BenchSettings()
    signals: dict[str, NamespaceSettings] = {}
    shop_code: ShopCodeSettings = ShopCodeSettings()
    client: ClientSettings = Field(default=ClientSettings(), validate_default=True)

    @field_validator("signals")
    @classmethod
    def _declared_signals(cls, value: dict[str, NamespaceSettings]) -> dict[str, NamespaceSettings]:
        check_declared(value)
        return value

    @cached_property
    def signal_catalog(self) -> SignalCatalog:
        """Every signal a rule may read: the built-in ones and those declared under ``signals:``."""
        return catalog(self.signals)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}' (use an IANA name such as Europe/Copenhagen)") from None
        return value

    @field_validator("client")
    @classmethod
    def _texts_in_every_language(cls, client: ClientSettings, info: ValidationInfo) -> ClientSettings:
        if "languages" not in info.data or "default_language" not in info.data:
            return client  # their own errors say why
        problems = client.problems((info.data["default_language"], *info.data["languages"]))
        if problems:
            raise ValueError("; ".join(problems))
        return client

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def chat_texts(self) -> dict[str, ChatTexts]:
        """The words around a chat invitation in each of the shop's languages (see ``rules/chat_texts.py``)."""
        return self.client.chat_texts((self.default_language, *self.languages))


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
