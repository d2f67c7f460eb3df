"""``preview:`` settings: signed links that show a page as an imagined visitor would see it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from smalldata.remote import HttpURL

PARAM = "sd_preview"


class PreviewSettings(BaseModel):
    """``preview:`` in ``smalldata.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    param: str = Field(default=PARAM, pattern=r"^[A-Za-z0-9_-]{1,40}$")
    ttl_seconds: int = Field(default=24 * 3600, ge=60, le=30 * 24 * 3600)
    base_url: HttpURL | None = None
    secret_keys: tuple[SecretStr, ...] = ()

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value
