"""geo.*: trusted CDN header, else a real GeoIP2 City .mmdb; no invented country."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from smalldata.signals.geo import geo_database, haversine_km

from .helpers import SHOP, request, settings

try:
    from tests.geoip import COPENHAGEN_V6, LONDON, MISSING, SWEDEN_ONLY, TRAP_PRIVATE, build_city_mmdb
except ImportError:
    from geoip import (  # type: ignore[no-redef]
        COPENHAGEN_V6,
        LONDON,
        MISSING,
        SWEDEN_ONLY,
        TRAP_PRIVATE,
        build_city_mmdb,
    )


def geo(ip: str | None, database: Path | None, **config: object) -> dict[str, object]:
    config.setdefault("geo", {"database": str(database) if database else None})
    signals = request("/", client_ip=ip, config=settings(**config))
    return {name.split(".", 1)[1]: value for name, value in signals.namespace("geo").items()}


def test_ipv4_city_record(city_mmdb: Path) -> None:
    assert geo(LONDON, city_mmdb) == {
        "country": "GB",
        "region": "England",
        "city": "London",
        "continent": "EU",
        "timezone": "Europe/London",
        "latitude": 51.5142,
        "longitude": -0.0931,
        "eu": False,
        "nearest_store": None,
    }


def test_ipv6_city_record(city_mmdb: Path) -> None:
    found = geo(COPENHAGEN_V6, city_mmdb)
    assert (found["country"], found["city"], found["eu"]) == ("DK", "Copenhagen", True)


def test_country_only_range_leaves_the_rest_unknown(city_mmdb: Path) -> None:
    found = geo(SWEDEN_ONLY, city_mmdb)
    assert (found["country"], found["continent"], found["eu"]) == ("SE", "EU", True)
    assert found["city"] is None and found["latitude"] is None and found["timezone"] is None


@pytest.mark.parametrize(
    "ip",
    [MISSING, TRAP_PRIVATE, "127.0.0.1", "::1", "192.168.0.10", "169.254.1.1", "fd00::1", None, "garbage"],
)
def test_missing_private_loopback_and_bad_addresses_are_unknown(city_mmdb: Path, ip: str | None) -> None:
    assert set(geo(ip, city_mmdb).values()) == {None}


def test_no_database_configured_is_unknown() -> None:
    assert set(geo(LONDON, None).values()) == {None}


def test_a_missing_database_file_is_unknown_not_an_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert set(geo(LONDON, tmp_path / "nope.mmdb").values()) == {None}
    assert "cannot open GeoIP database" in caplog.text


def test_a_database_that_is_not_city_or_country_is_ignored(tmp_path: Path) -> None:
    path = build_city_mmdb(tmp_path / "asn.mmdb", database_type="GeoLite2-ASN")
    assert geo(LONDON, path)["country"] is None


def test_a_corrupt_database_file_is_unknown(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.mmdb"
    path.write_bytes(b"\x00" * 1024)
    assert geo(LONDON, path)["country"] is None


def test_lookups_are_cached_by_address(tmp_path: Path) -> None:
    path = build_city_mmdb(tmp_path / "City.mmdb")
    for _ in range(3):
        geo(LONDON, path)
    assert geo_database(str(path)).lookups == 1


def test_trusted_cdn_header_gives_the_country_without_opening_the_database(tmp_path: Path) -> None:
    path = build_city_mmdb(tmp_path / "City.mmdb")
    config = settings(trusted_proxies=["10.0.0.0/8"], geo={"database": str(path), "cdn_country_header": "CF-IPCountry"})
    signals = request("/", client_ip="10.0.0.2", headers={"cf-ipcountry": "dk", "x-forwarded-for": LONDON},
                      config=config)
    assert (signals.get("geo.country"), signals.get("geo.eu"), signals.get("geo.city")) == ("DK", True, None)
    assert geo_database(str(path)).opened is False


def test_cdn_header_from_an_untrusted_peer_is_ignored(city_mmdb: Path) -> None:
    config = settings(geo={"database": str(city_mmdb), "cdn_country_header": "CF-IPCountry"})
    signals = request("/", client_ip=LONDON, headers={"cf-ipcountry": "US"}, config=config)
    assert signals.get("geo.country") == "GB"


@pytest.mark.parametrize("value", ["XX", "T1", "", "D", "DEU", "1A", "ÆØ"])
def test_cdn_placeholder_or_malformed_country_falls_back_to_the_database(city_mmdb: Path, value: str) -> None:
    config = settings(trusted_proxies=["10.0.0.0/8"],
                      geo={"database": str(city_mmdb), "cdn_country_header": "cf-ipcountry"})
    signals = request("/", client_ip="10.0.0.2", headers={"cf-ipcountry": value, "x-forwarded-for": LONDON},
                      config=config)
    assert signals.get("geo.country") == "GB"


STORES = [
    {"name": "Copenhagen", "latitude": 55.6761, "longitude": 12.5683, "opening_hours": {"wed": "10:00-18:00"}},
    {"name": "London", "latitude": 51.5072, "longitude": -0.1276},
]


def test_nearest_store_with_distance_and_opening_hours(city_mmdb: Path) -> None:
    config = settings(geo={"database": str(city_mmdb)}, stores=STORES, opening_hours={"wed": "12:00-13:00"})
    wednesday_morning = datetime(2026, 11, 25, 11, 0, tzinfo=SHOP)
    near_copenhagen = request("/", client_ip=COPENHAGEN_V6, config=config, now=wednesday_morning)
    assert near_copenhagen.get("geo.nearest_store") == {"name": "Copenhagen", "distance_km": 0.2, "open": True}
    near_london = request("/", client_ip=LONDON, config=config, now=wednesday_morning)
    store = near_london.get("geo.nearest_store")
    assert store["name"] == "London" and 2 < store["distance_km"] < 3
    assert store["open"] is False  # London has no hours of its own: the shop's 12-13 apply


def test_nearest_store_is_unknown_without_coordinates(city_mmdb: Path) -> None:
    config = settings(geo={"database": str(city_mmdb)}, stores=STORES)
    assert request("/", client_ip=SWEDEN_ONLY, config=config).get("geo.nearest_store") is None


def test_haversine_copenhagen_to_london() -> None:
    assert round(haversine_km(55.6761, 12.5683, 51.5072, -0.1276)) == 956


def test_other_store_lists_at_the_same_place_get_their_own_nearest_store(city_mmdb: Path) -> None:
    for stores, name in [(STORES, "London"), (STORES[:1], "Copenhagen"), (STORES, "London")]:
        config = settings(geo={"database": str(city_mmdb)}, stores=stores)
        assert request("/", client_ip=LONDON, config=config).get("geo.nearest_store")["name"] == name


def test_cached_addresses_are_forgotten_after_ten_minutes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from smalldata.signals import memo

    clock = [1000.0]
    monkeypatch.setattr(memo.time, "monotonic", lambda: clock[0])
    path = build_city_mmdb(tmp_path / "City.mmdb")
    geo(LONDON, path)
    clock[0] += 601
    geo(LONDON, path)
    assert geo_database(str(path)).lookups == 2


# A worker that rewrites its database in place must survive: run in a child process, so a crash
# (SIGBUS from a mapped file that shrank) is a failed test, not a dead test run.
_REPLACED_IN_PLACE = """
import json, sys, time
sys.path.insert(0, sys.argv[2])
from tests.geoip import LONDON, COPENHAGEN_V6, RECORDS, build_city_mmdb
import tests.geoip as geoip
from smalldata.signals import geo

path = sys.argv[1]
now = [0.0]
database = geo.GeoDatabase(path, clock=lambda: now[0])
seen = {"before": database.lookup(LONDON)["geo.city"]}
with open(path, "r+b") as f:  # truncated in place, as `> file` or a half-done `cp` leaves it
    f.truncate(0)
seen["truncated"] = (database.lookup(COPENHAGEN_V6) or {}).get("geo.city")
geoip.RECORDS[0][1]["city"]["names"]["en"] = "Londinium"  # a new version, written over the same file
build_city_mmdb(geoip.Path(path + ".new"))
with open(path + ".new", "rb") as new, open(path, "r+b") as f:
    f.write(new.read())
now[0] += geo.CHECK_SECONDS
database.lookup("192.0.2.1")  # the next lookup after the interval notices; a thread loads it
deadline = time.monotonic() + 5
while database.reloads == 0 and time.monotonic() < deadline:
    time.sleep(0.01)
    database.lookup("192.0.2.1")
seen["after"] = database.lookup(LONDON)["geo.city"]
print(json.dumps(seen))
"""


def test_a_database_changed_in_place_never_crashes_and_a_new_version_is_picked_up(tmp_path: Path) -> None:
    path = build_city_mmdb(tmp_path / "city.mmdb")
    root = str(Path(__file__).resolve().parents[2])
    done = subprocess.run([sys.executable, "-c", _REPLACED_IN_PLACE, str(path), root],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == {"before": "London", "truncated": "Copenhagen", "after": "Londinium"}
