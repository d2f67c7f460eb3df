"""Build a small GeoIP2 City ``.mmdb`` for tests with ``mmdb-writer`` (a real file, read by maxminddb)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmdb_writer import MMDBWriter
from netaddr import IPSet

LONDON = "81.2.69.142"  # a full City record (GB)
COPENHAGEN_V6 = "2a02:ff40::1"  # an IPv6 City record (DK)
SWEDEN_ONLY = "89.160.20.112"  # a country-only range: no city, no location
MISSING = "8.8.8.8"  # not in the database
TRAP_PRIVATE = "10.1.2.3"  # in the database, but private: must never be looked up

RECORDS: list[tuple[str, dict[str, Any]]] = [
    (
        "81.2.69.0/24",
        {
            "city": {"geoname_id": 2643743, "names": {"en": "London"}},
            "continent": {"code": "EU", "names": {"en": "Europe"}},
            "country": {"iso_code": "GB", "names": {"en": "United Kingdom"}},
            "location": {"latitude": 51.5142, "longitude": -0.0931, "time_zone": "Europe/London"},
            "subdivisions": [{"iso_code": "ENG", "names": {"en": "England"}}],
        },
    ),
    (
        "2a02:ff40::/32",
        {
            "city": {"names": {"en": "Copenhagen"}},
            "continent": {"code": "EU"},
            "country": {"iso_code": "DK", "is_in_european_union": True},
            "location": {"latitude": 55.6759, "longitude": 12.5655, "time_zone": "Europe/Copenhagen"},
            "subdivisions": [{"iso_code": "84", "names": {"en": "Capital Region"}}],
        },
    ),
    ("89.160.0.0/16", {"continent": {"code": "EU"}, "country": {"iso_code": "SE"}}),
    ("10.0.0.0/8", {"country": {"iso_code": "XX"}}),
]


def build_city_mmdb(
    path: Path, database_type: str = "GeoIP2-City", records: list[tuple[str, dict[str, Any]]] = RECORDS
) -> Path:
    """Write the test database (``records``: networks and their records) to ``path`` and return it."""
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type=database_type, languages=["en"],
                        description="smalldata test City database")
    for network, record in records:
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path
