"""Fixtures for state tests: a real redis-server, settings, and a clock in the shop's timezone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import redis

try:  # the repository root on sys.path (pytest `pythonpath = ["."]`)
    from tests.redis_server import closed_port, redis_server
except ImportError:  # tests/ on sys.path (pytest's default rootdir insertion)
    from redis_server import closed_port, redis_server  # type: ignore[no-redef]

__all__ = ["closed_port", "redis_server"]

from smalldata.state import StateSettings

SHOP = ZoneInfo("Europe/Copenhagen")
KEY = "test-secret-key-0123456789"


@pytest.fixture(scope="session")
def redis_session_url() -> Iterator[str]:
    """One redis-server for the whole session (started on first use)."""
    with redis_server() as url:
        yield url


@pytest.fixture
def redis_url(redis_session_url: str) -> str:
    """The URL of a real, empty Redis database."""
    client = redis.Redis.from_url(redis_session_url)
    try:
        client.flushall()
    finally:
        client.close()
    return redis_session_url


@pytest.fixture
def now() -> datetime:
    """Wednesday 25 November 2026, 10:00 in the shop's timezone."""
    return datetime(2026, 11, 25, 10, 0, tzinfo=SHOP)


@pytest.fixture
def settings() -> StateSettings:
    return StateSettings.model_validate({"secret_keys": [KEY]})
