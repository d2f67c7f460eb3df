"""Fixtures shared by the signal tests."""

from __future__ import annotations

from pathlib import Path

import pytest

try:  # the repository root on sys.path (pytest `pythonpath = ["."]`)
    from tests.geoip import build_city_mmdb
except ImportError:  # tests/ on sys.path (pytest's default rootdir insertion)
    from geoip import build_city_mmdb  # type: ignore[no-redef]


@pytest.fixture(scope="session")
def city_mmdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real GeoIP2 City database file, built with mmdb-writer."""
    return build_city_mmdb(tmp_path_factory.mktemp("geoip") / "City.mmdb")
