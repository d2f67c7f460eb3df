"""Settings for visitor state (``state:``) and consent (``consent:``) in ``smalldata.yaml``.

Example::

    state:
      store: redis://localhost:6379/0   # or "cookie" (default) or "memory" (tests); a cluster:
                                        # redis+cluster://h1:6379,h2:6379; Sentinel:
                                        # redis+sentinel://s1:26379,s2:26379/mymaster/0
      # keys: $SMALLDATA_SECRET_KEYS=new-key,old-key (first signs, all verify), never in this file
      max_age_days: 180
      ttl_days: 90     # a server store forgets a visitor this long after their last change
    consent:
      cookie: cookie_consent
      accepted: [all, statistics]
      required: true
"""

from __future__ import annotations

import logging
import os
import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator

from smalldata.state.redis_topology import parse_store_url

__all__ = ["ConsentSettings", "HistorySettings", "StateSettings"]

log = logging.getLogger("smalldata.state")

#: Where keys come from when the settings file names none (keeps secrets out of git).
KEYS_ENV = "SMALLDATA_SECRET_KEYS"
_DEV_KEY = "smalldata-development-key-do-not-use-in-production"
_COOKIE_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


def _cookie_name(value: str) -> str:
    if not _COOKIE_NAME.match(value):
        raise ValueError("a cookie name is 1-64 letters, digits, '_' or '-'")
    return value


CookieName = Annotated[str, AfterValidator(_cookie_name)]
_MIN_KEY_LENGTH = 16


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HistorySettings(_Model):
    """How much browsing history a visitor's state keeps (bounded so the cookie stays small)."""

    products: int = Field(default=12, ge=0, le=50, description="recently viewed products kept")
    categories: int = Field(default=12, ge=0, le=50, description="recently viewed categories kept")
    category_views: int = Field(default=30, ge=0, le=100, description="categories counted")
    searches: int = Field(default=5, ge=0, le=20, description="recent searches kept")


class StateSettings(_Model):
    """Where visitor state lives, how it is signed and how long it lasts."""

    store: str = "cookie"
    cookie: CookieName = "sd_visitor"
    secret_keys: tuple[SecretStr, ...] = ()
    # Browsers cap cookie lifetimes at 400 days, so a longer setting would be a lie.
    max_age_days: int = Field(default=365, ge=1, le=400)
    # A server store's record of a visitor lives this long after its last write (every page view
    # that changes the state refreshes it): the store's size follows the visitors of the last
    # 90 days, not every client ever seen. The cookie still carries the counters for max_age_days.
    ttl_days: int = Field(default=90, ge=1, le=400)
    visit_timeout_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # 500, not 100: on a busy two-core machine an event-loop stall alone makes a 100 ms read time out,
    # and a capped rule whose count times out is not shown (the store gives up after 3 in a row).
    redis_timeout_ms: int = Field(default=500, ge=5, le=5000)
    history: HistorySettings = HistorySettings()

    @field_validator("store")
    @classmethod
    def _known_store(cls, value: str) -> str:
        if value in ("cookie", "memory"):
            return value
        if "://" not in value:
            raise ValueError(f"unknown store '{value}' (use 'cookie', 'memory' or a redis:// URL)")
        parse_store_url(value)  # redis://, redis+cluster://, redis+sentinel:// (rediss too): says what is wrong
        return value

    @field_validator("secret_keys")
    @classmethod
    def _long_keys(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        if any(len(key.get_secret_value()) < _MIN_KEY_LENGTH for key in value):
            raise ValueError(f"every secret key must be at least {_MIN_KEY_LENGTH} characters")
        return value

    @property
    def max_age(self) -> timedelta:
        return timedelta(days=self.max_age_days)

    @property
    def ttl(self) -> timedelta:
        return timedelta(days=self.ttl_days)

    @property
    def visit_timeout(self) -> timedelta:
        return timedelta(minutes=self.visit_timeout_minutes)

    def signing_keys(self) -> tuple[bytes, ...]:
        """The HMAC keys, newest first: from the settings, else ``$SMALLDATA_SECRET_KEYS``
        (comma-separated), else a development key with a loud warning."""
        keys = [key.get_secret_value() for key in self.secret_keys]
        if not keys:
            keys = [key.strip() for key in os.environ.get(KEYS_ENV, "").split(",") if key.strip()]
            if any(len(key) < _MIN_KEY_LENGTH for key in keys):
                log.warning("smalldata: a key in $%s is shorter than %d characters", KEYS_ENV, _MIN_KEY_LENGTH)
        if not keys:
            _warn_of_dev_key()
            keys = [_DEV_KEY]
        return tuple(key.encode("utf-8") for key in keys)


_warned_of_dev_key = False


def _warn_of_dev_key() -> None:
    """Say once per process (the cookie store and preview links both ask) that the public key is in use."""
    global _warned_of_dev_key
    if _warned_of_dev_key:
        return
    _warned_of_dev_key = True
    log.warning(
        "smalldata: NO SECRET KEY CONFIGURED - visitor cookies and preview links are signed with a public "
        "development key and can be forged. Set one in the environment (never in the settings file): "
        "export %s=\"$(python -c 'import secrets; print(secrets.token_urlsafe(32))')\"",
        KEYS_ENV,
    )


class ConsentSettings(_Model):
    """How the site's consent banner records consent, and what holds without an answer.

    The consent cookie's value is URL-decoded and split into items (at ``,``, ``;``,
    ``|``, ``&`` and spaces); consent is given by an item that is one of ``accepted``
    (``all``) or an accepted key set to a true value (``statistics:true``,
    ``marketing=1``), case-insensitive. A cookie without one means "no". Without
    a cookie, ``required: true`` means "no" and ``false`` means "yes".
    ``Sec-GPC: 1`` means "no" whatever the cookie says (unless ``honour_gpc`` is off).
    """

    cookie: CookieName = "sd_consent"
    accepted: tuple[str, ...] = ("yes", "true", "1", "all", "accept", "accepted", "granted")
    required: bool = False
    honour_gpc: bool = True

    @field_validator("accepted")
    @classmethod
    def _lowercase(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(word.strip().lower() for word in value if word.strip())
