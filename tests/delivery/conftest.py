"""Fixtures for delivery tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.types import ASGIApp

from smalldata.middleware import SmallData

from .helpers import FakePersonaliser


@pytest.fixture
def fake() -> FakePersonaliser:
    return FakePersonaliser()


@pytest.fixture
def wrap(fake: FakePersonaliser) -> Callable[..., SmallData]:
    def make(app: ASGIApp, **options: Any) -> SmallData:
        return SmallData.from_parts(app, fake.parts(), **options)

    return make
