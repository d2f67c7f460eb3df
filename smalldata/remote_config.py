"""How smalldata calls a remote HTTP service (CRM, basket service, recommender)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def check_http_url(value: str) -> str:
    """Refuse anything but an http:// or https:// URL (no file:, ftp:, or a bare host)."""
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"'{value}' must be an http:// or https:// URL")
    return value


HttpURL = Annotated[str, AfterValidator(check_http_url)]


class RemoteSettings(BaseModel):
    """How to call one HTTP service: a strict timeout, a TTL cache and a circuit breaker."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_ms: int = Field(default=50, gt=0, le=10_000)  # how long a page waits for an answer
    # how long the call itself may take: a late answer is still cached for the next page, and only a call
    # that fails or outlasts this counts towards the pause (a burst of slow-ish answers is not an outage)
    call_timeout_ms: int = Field(default=2_000, gt=0, le=60_000)
    cache_seconds: float = Field(default=60, ge=0)
    cache_size: int = Field(default=10_000, ge=0)
    failures_before_pause: int = Field(default=5, ge=1)
    pause_seconds: float = Field(default=30, ge=0)
    headers: dict[str, str] = {}
