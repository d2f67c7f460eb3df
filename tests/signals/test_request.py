"""RequestSignals: lazy, once per request, overridable; only used namespaces cost anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import respx
from starlette.authentication import SimpleUser

from smalldata.foundation.asgi import make_scope
from smalldata.signals import providers as provider_registry
from smalldata.signals.device import SOFTWARE, TYPES
from smalldata.signals.geo import geo_database
from smalldata.signals.request import ProviderMap, Request, RequestSignals

from .helpers import WEDNESDAY_MORNING, context, request, settings, sources_of

try:
    from tests.geoip import LONDON, build_city_mmdb
except ImportError:
    from geoip import LONDON, build_city_mmdb  # type: ignore[no-redef]

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"


@respx.mock
async def test_a_ruleset_reading_only_page_never_parses_ua_opens_geoip_or_calls_the_crm(tmp_path: Path) -> None:
    crm = respx.get(url__startswith="https://crm.example/").respond(json={"tier": "gold"})
    mmdb = build_city_mmdb(tmp_path / "City.mmdb")
    config = settings(geo={"database": str(mmdb)}, user={"profile_url": "https://crm.example/p/{id}"})
    SOFTWARE.clear()
    TYPES.clear()
    signals = request("/sale", headers={"user-agent": IPHONE}, client_ip=LONDON, config=config,
                      sources=sources_of(config), user=SimpleUser("ada"))
    await signals.prefetch(["page"])  # what a ruleset reading only page.* asks for
    assert signals.get("page.path") == "/sale"
    assert signals.computed == ("page",)
    assert SOFTWARE.cold_parses == 0 and TYPES.classified == 0
    assert geo_database(str(mmdb)).opened is False
    assert not crm.called


def test_reading_only_the_device_type_never_parses_the_browser_or_os() -> None:
    SOFTWARE.clear()
    TYPES.clear()
    signals = request("/", headers={"user-agent": IPHONE + " Build/only-type"})

    assert (signals["device.type"], signals["device.is_touch"]) == ("mobile", True)
    assert TYPES.classified == 1 and SOFTWARE.cold_parses == 0
    assert signals["device.os"] == "iOS"  # read now: parsed now
    assert SOFTWARE.cold_parses == 1


@respx.mock
async def test_reading_each_namespace_pays_only_for_it(tmp_path: Path) -> None:
    crm = respx.get(url__startswith="https://crm.example/").respond(json={"tier": "gold"})
    mmdb = build_city_mmdb(tmp_path / "City.mmdb")
    profile = {"profile_url": "https://crm.example/p/{id}", "timeout_ms": 5000}  # a loaded machine still answers
    config = settings(geo={"database": str(mmdb)}, user=profile)
    SOFTWARE.clear()
    signals = request("/", headers={"user-agent": IPHONE}, client_ip=LONDON, config=config,
                      sources=sources_of(config), user=SimpleUser("ada"))
    await signals.prefetch(["user", "device", "geo"])
    assert crm.call_count == 1
    assert (signals.get("device.os"), signals.get("geo.country"), signals.get("user.tier")) == (
        "iOS", "GB", "gold")  # fmt: skip
    assert SOFTWARE.cold_parses == 1
    assert geo_database(str(mmdb)).opened is True


def _one_provider(provider: Any) -> ProviderMap:
    providers = ProviderMap()
    providers.add(("page.path", "page.url"), provider, group="page")
    return providers


def test_a_provider_runs_once_per_request() -> None:
    calls: list[str] = []

    def counting(request: Request, signals: RequestSignals) -> dict[str, Any]:
        calls.append("ran")
        return {"page.path": "/x", "page.url": "http://x/x"}

    signals = RequestSignals(context("/"), _one_provider(counting))
    for _ in range(3):
        signals.get("page.path")
        signals.get("page.url")
    assert calls == ["ran"]
    assert signals.computed == ("page",)


def test_unknown_names_and_namespaces_are_none() -> None:
    signals = request("/")
    assert signals.get("page.nonsense") is None
    assert signals.get("nowhere.at_all") is None
    assert signals.get("") is None


def test_a_failing_provider_makes_its_signals_unknown_not_an_error(caplog: pytest.LogCaptureFixture) -> None:
    def broken(request: Request, signals: RequestSignals) -> dict[str, Any]:
        raise RuntimeError("bug")

    signals = RequestSignals(context("/"), _one_provider(broken))
    assert signals.get("page.path") is None
    assert "signal provider 'page' failed" in caplog.text


def test_overrides_win_over_computed_values() -> None:
    signals = request("/real", overrides={"page.path": "/imagined", "geo.nearest_store.name": "Aarhus"})
    assert signals.get("page.path") == "/imagined"
    assert signals.get("page.url") == "http://localhost/real"
    assert signals.get("geo.nearest_store") == {"name": "Aarhus"}


def test_a_fully_overridden_namespace_is_not_computed() -> None:
    overrides = {
        "device.type": "tablet", "device.os": "iOS", "device.browser": "Safari", "device.is_bot": False,
        "device.is_touch": True,
    }  # fmt: skip
    SOFTWARE.clear()
    TYPES.clear()
    signals = request("/", headers={"user-agent": IPHONE}, overrides=overrides)
    assert signals.get("device.type") == "tablet"
    assert signals.computed == ()
    assert SOFTWARE.cold_parses == 0 and TYPES.classified == 0


def test_namespace_lists_every_signal_of_a_namespace() -> None:
    assert set(request("/").namespace("time")) == {
        "time.now", "time.hour", "time.minute", "time.weekday", "time.date", "time.month", "time.daypart",
        "time.open", "time.event",
    }  # fmt: skip


def test_visitor_history_and_consent_come_from_the_state_package() -> None:
    signals = request("/", headers={"sec-gpc": "1"})
    assert signals.get("visitor.returning") is None  # no state: unknown
    assert signals.get("history.viewed_products") is None
    assert signals.get("consent.storage") is False


def test_signals_for_uses_the_given_moment() -> None:
    assert request("/", now=WEDNESDAY_MORNING).get("time.weekday") == "wed"


def test_make_scope_builds_a_realistic_asgi_scope() -> None:
    scope = make_scope("https://shop.example:8443/p%C3%A5/x?q=1", headers={"User-Agent": "ua"}, client_ip="1.2.3.4")
    assert scope["type"] == "http" and scope["method"] == "GET" and scope["scheme"] == "https"
    assert scope["path"] == "/på/x"
    assert scope["raw_path"] == b"/p%C3%A5/x"
    assert scope["query_string"] == b"q=1"
    assert scope["server"] == ("shop.example", 8443)
    assert scope["client"] == ("1.2.3.4", 50000)
    assert scope["headers"] == [(b"host", b"shop.example:8443"), (b"user-agent", b"ua")]


def test_make_scope_with_a_bare_path_and_no_client() -> None:
    scope = make_scope("/", client_ip=None)
    assert scope["client"] is None
    assert scope["headers"] == [(b"host", b"localhost")]


@pytest.fixture
def stock() -> Any:
    yield
    provider_registry.unregister_provider("stock")


@pytest.mark.parametrize(("needed", "runs"), [(None, True), (lambda request: True, True),
                                              (lambda request: False, False)])  # fmt: skip
async def test_a_shop_namespace_is_prefetched_unless_its_check_says_there_is_nothing_to_fetch(
    stock: None, needed: Any, runs: bool
) -> None:
    ran: list[str] = []

    async def prefetch(request: Request) -> None:
        ran.append("fetched")
        request.prefetched["stock"] = 7

    provider_registry.register_provider("stock", lambda request: {"level": request.prefetched.get("stock")},
                                        prefetch, needed=needed)  # fmt: skip
    signals = request("/")
    await signals.prefetch(["stock"])

    assert ran == (["fetched"] if runs else [])
    assert signals.get("stock.level") == (7 if runs else None)


def test_without_sources_or_callables_nothing_is_prefetched() -> None:
    providers = provider_registry.build(settings())

    assert not providers.map.fetches("user") and not providers.map.fetches("basket")
    signals = request("/", user=SimpleUser("ada"))
    assert signals.get("user.logged_in") is True


@respx.mock
async def test_a_basket_service_alone_is_prefetched() -> None:
    service = respx.get(url__startswith="https://basket.example/").respond(json={"items": [{"sku": "mug"}]})
    config = settings(basket={"service_url": "https://basket.example/b/{id}", "id_cookie": "basket_id"})
    signals = request("/", headers={"cookie": "basket_id=b1"}, config=config, sources=sources_of(config))

    await signals.prefetch(["user", "basket"])

    assert service.call_count == 1
    assert signals.get("basket.skus") == ["mug"]
