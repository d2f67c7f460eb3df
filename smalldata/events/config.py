"""``events:`` in ``smalldata.yaml``: where exposures and client events are written.

Examples::

    events: {sink: file, path: smalldata-events.jsonl}      # the default
    events: {sink: logger, logger: shop.analytics}
    events: {sink: http, url: https://collect.example/batch, batch_size: 200, flush_seconds: 5}
    events: {sink: callable, callable: "shop.analytics:track"}
    events: {sink: none}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from smalldata.events.sinks import (
    CallableSink,
    EventSink,
    HttpSink,
    JsonLinesSink,
    LoggerSink,
    NullSink,
)
from smalldata.foundation.dotted import Dotted, import_function
from smalldata.foundation.remote import HttpURL

DEFAULT_PATH = "smalldata-events.jsonl"


class EventSettings(BaseModel):
    """Which sink, and how it batches."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sink: Literal["file", "logger", "http", "callable", "none"] = "file"
    path: str = DEFAULT_PATH
    logger: str = "smalldata.events"
    url: HttpURL | None = None
    callable: Dotted | None = None
    headers: dict[str, str] = {}
    timeout_ms: int = Field(default=5000, gt=0, le=60_000)
    batch_size: int = Field(default=100, ge=1, le=10_000)
    flush_seconds: float = Field(default=1.0, gt=0, le=3600)
    queue_size: int = Field(default=10_000, ge=1, le=1_000_000)
    max_bytes: int = Field(default=100 * 1024 * 1024, ge=0)  # file sink: rotate past this size (0: never)
    backups: int = Field(default=5, ge=0, le=100)  # file sink: rotated files kept
    max_value: float = Field(default=1_000_000, gt=0, le=1e9)  # a conversion worth more is refused (400)
    per_second: float = Field(default=100, gt=0)  # client events accepted per second, all visitors together
    # conversions come from the shop's server (record_conversion); true also takes them from browsers
    browser_conversions: bool = False
    # opens POST /_smalldata/conversions to an order service; better $SMALLDATA_CONVERSIONS_TOKEN than this file
    server_token: SecretStr | None = None
    # a visitor cookie first seen this long ago is an established visitor's (their own rate-limit bucket)
    established_minutes: int = Field(default=30, ge=0, le=7 * 24 * 60)


    @model_validator(mode="after")
    def _needs(self) -> EventSettings:
        if self.sink == "http" and self.url is None:
            raise ValueError("sink: http needs a url")
        if self.sink == "callable" and self.callable is None:
            raise ValueError("sink: callable needs callable: \"package.module:function\"")
        return self


def make_sink(settings: EventSettings, *, base: str | Path | None = None) -> EventSink:
    """The sink ``settings`` describe (a relative file path is taken from ``base``)."""
    batching: dict[str, Any] = {"batch_size": settings.batch_size, "flush_seconds": settings.flush_seconds,
                                "queue_size": settings.queue_size}  # fmt: skip
    if settings.sink == "file":
        path = Path(settings.path)
        return JsonLinesSink(Path(base) / path if base is not None and not path.is_absolute() else path,
                             max_bytes=settings.max_bytes, backups=settings.backups, **batching)  # fmt: skip
    if settings.sink == "logger":
        return LoggerSink(settings.logger)
    if settings.sink == "http":
        assert settings.url is not None
        return HttpSink(settings.url, timeout=settings.timeout_ms / 1000, headers=settings.headers, **batching)
    if settings.sink == "callable":
        assert settings.callable is not None
        return CallableSink(import_function(settings.callable))
    return NullSink()
