"""smalldata.yaml: every section validated, with errors as file:line:col."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from smalldata.foundation.problems import ProblemsError
from smalldata.settings import Settings, load_settings
from smalldata.signals.config import MonthDay, TimeRange

FULL = """\
timezone: Europe/Copenhagen
languages: [da, en]
opening_hours:
  mon: "09:00-17:30"
  fri: ["09:00-17:00", "22:00-02:00"]
  sun: closed
closed_dates: [2026-12-25]
special_days:
  2026-12-24: "10:00-14:00"
calendar:
  christmas: {from: 12-20, until: 12-26}
  black_friday: {from: 2026-11-27, until: 2026-11-30}
  launch: {from: "2026-03-01T18:00", until: "2026-03-01T20:00"}
page:
  product: /products/{product}
  category: ["/category/{category}", "/c/{category}"]
campaign: {email_params: [mc_cid]}
trusted_proxies: [10.0.0.0/8, "::1"]
geo: {database: GeoLite2-City.mmdb, cdn_country_header: CF-IPCountry}
stores:
  - {name: Copenhagen, latitude: 55.68, longitude: 12.57, opening_hours: {sat: "10:00-16:00"}}
user: {session_key: customer, profile_url: "https://crm.example/profiles/{id}", timeout_ms: 80}
basket: {cookie: cart, currency: DKK, free_shipping_threshold: 499}
consent: {cookie: cookie_consent}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "smalldata.yaml"
    path.write_text(text)
    return path


def test_a_full_settings_file_loads(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, FULL))
    assert settings.opening_hours["fri"] == (TimeRange(540, 1020), TimeRange(1320, 120))
    assert settings.opening_hours["sun"] == ()
    assert settings.closed_dates == (date(2026, 12, 25),)
    assert settings.special_days == {date(2026, 12, 24): (TimeRange(600, 840),)}
    assert settings.calendar["christmas"].start == MonthDay(12, 20)
    assert settings.calendar["black_friday"].until == date(2026, 11, 30)
    assert settings.calendar["launch"].start == datetime(2026, 3, 1, 18, 0)
    assert settings.page.category == ("/category/{category}", "/c/{category}")
    assert settings.geo.cdn_country_header == "cf-ipcountry"
    assert settings.stores[0].opening_hours == {"sat": (TimeRange(600, 960),)}
    assert settings.user.timeout_ms == 80
    assert settings.basket.free_shipping_threshold == 499
    assert settings.consent.cookie == "cookie_consent"


def test_an_empty_file_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""))
    assert settings == Settings()
    assert settings.user.timeout_ms == 50


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("opening_hours:\n  mon: 9-17\n", ":2:8:", "is not an opening time"),
        ("opening_hours:\n  mon: \"09:00-25:00\"\n", ":2:8:", "is not a time of day"),
        ("opening_hours:\n  mon: \"09:00-09:00\"\n", ":2:8:", "same minute"),
        ("special_days:\n  2026-12-24: [\"10:00\"]\n", ":2:15:", "is not an opening time"),
        ("calendar:\n  xmas: {from: 12-20, until: 2026-12-26}\n", ":2:9:", "yearly days"),
        ("calendar:\n  sale: {from: 2026-12-20, until: 2026-12-01}\n", ":2:9:", "before"),
        ("calendar:\n  sale: {from: 13-40, until: 12-01}\n", ":2:16:", "not a day of the year"),
        ("calendar:\n  sale: {start: 12-01, until: 12-02}\n", ":2:10:", "unknown field 'start'"),
        ("page:\n  product: /p/{id}\n", ":2:3:", "no {product} placeholder"),
        ("page:\n  product: products/{product}\n", ":2:12:", "must start with '/'"),
        ("trusted_proxies: [10.0.0.0/8, proxy.local]\n", ":1:18:", "not an IP address"),
        ("geo: {databse: x.mmdb}\n", ":1:7:", "unknown field 'databse'"),
        ("stores:\n  - {name: A, latitude: 95, longitude: 0}\n", ":2:25:", "must be at most 90"),
        ("user: {profile_url: \"https://crm/profiles\"}\n", ":1:21:", "must contain {id}"),
        ("user: {callable: not-a-function}\n", ":1:18:", "package.module:function"),
        ("basket: {service_url: \"ftp://x/{id}\"}\n", ":1:23:", "http:// or https://"),
        ("basket: {free_shipping_threshold: -5}\n", ":1:35:", "must be at least 0"),
        ("timezone: Mars/Olympus\n", ":1:11:", "unknown time zone"),
    ],
)
def test_mistakes_are_reported_with_their_line(tmp_path: Path, text: str, where: str, message: str) -> None:
    with pytest.raises(ProblemsError) as caught:
        load_settings(write(tmp_path, text))
    report = str(caught.value)
    assert where in report and message in report, report
