"""Suite-wide test ordering."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the browser tests last.

    Playwright's sync API keeps an event loop running in the main thread while
    its session-scoped browser lives; asyncio tests after it could not start
    their own loop.
    """
    items.sort(key=lambda item: "tests/browser/" in item.nodeid)
