"""user.*: the logged-in customer from the app, enriched from a CRM over HTTP."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import respx
from starlette.authentication import SimpleUser, UnauthenticatedUser
from starlette.requests import Request

from smalldata.signals.user import is_birthday, rfm_segment

from .helpers import SHOP, request, settings, sources_of

TODAY = date(2026, 11, 25)
CRM = "https://crm.example/profiles/{id}"
PROFILE = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "phone": "+45 12345678",
    "birthday": "1990-11-25",
    "tier": "gold",
    "orders": [
        {"date": "2026-11-01", "total": 400, "items": [{"sku": "p1", "category": "shoes"}]},
        {"date": "2026-10-01", "total": 200, "items": [{"sku": "p2", "category": "bags"}]},
        {"date": "2026-09-15", "total": 100, "items": ["p3"]},
        {"date": "2026-08-01T12:00:00Z", "total": "99.5"},
    ],
}


class ShopUser:
    """An app's own user object, as AuthenticationMiddleware would put in scope["user"]."""

    is_authenticated = True

    def __init__(self) -> None:
        self.id = 42
        self.first_name = "Grace"
        self.email = "grace@example.com"

    @property
    def identity(self) -> str:
        raise NotImplementedError


def current_user(request: Request) -> dict[str, Any] | None:
    return {"id": "7", "name": "Alan Turing"} if request.url.path == "/me" else None


async def current_user_async(request: Request) -> dict[str, Any]:
    return {"id": "8", "first_name": "Async"}


def broken_user(request: Request) -> None:
    raise RuntimeError("the app's bug")


def user(signals: Any) -> dict[str, Any]:
    return {name.split(".", 1)[1]: value for name, value in signals.namespace("user").items()}


def test_nobody_can_tell_without_auth_session_or_callable() -> None:
    assert set(user(request("/")).values()) == {None}


def test_starlette_simple_user_is_logged_in() -> None:
    found = user(request("/", user=SimpleUser("ada")))
    assert found["logged_in"] is True
    assert found["id"] == "ada"


def test_starlette_unauthenticated_user_is_logged_out() -> None:
    found = user(request("/", user=UnauthenticatedUser()))
    assert found["logged_in"] is False
    assert found["email"] is None


def test_an_apps_user_object_gives_its_attributes_and_a_raising_property_is_ignored() -> None:
    found = user(request("/", user=ShopUser()))
    assert (found["logged_in"], found["id"], found["first_name"], found["email"]) == (
        True, "42", "Grace", "grace@example.com")  # fmt: skip


def test_session_key() -> None:
    config = settings(user={"session_key": "customer"})
    session = {"customer": {"id": 5, "name": "Ada Lovelace", "email": "ada@example.com"}}
    found = user(request("/", config=config, session=session))
    assert (found["logged_in"], found["id"], found["first_name"], found["name"]) == (
        True, "5", "Ada", "Ada Lovelace")  # fmt: skip


def test_session_without_the_key_is_logged_out_and_no_session_is_unknown() -> None:
    config = settings(user={"session_key": "customer"})
    assert user(request("/", config=config, session={}))["logged_in"] is False
    assert user(request("/", config=config))["logged_in"] is None


def test_session_key_holding_a_plain_id() -> None:
    config = settings(user={"session_key": "user_id"})
    assert user(request("/", config=config, session={"user_id": 99}))["id"] == "99"


async def _prefetched(path: str, config: Any) -> Any:
    signals = request(path, config=config)
    await signals.prefetch(["user"])
    return signals


async def test_configured_callable() -> None:
    config = settings(user={"callable": f"{__name__}:current_user"})
    assert user(await _prefetched("/me", config))["name"] == "Alan Turing"
    assert user(await _prefetched("/other", config))["logged_in"] is False  # None: nobody logged in


@pytest.mark.parametrize("dotted", [f"{__name__}:broken_user", "no.such.module:function", f"{__name__}:missing"])
async def test_a_failing_or_missing_callable_is_unknown(dotted: str) -> None:
    config = settings(user={"callable": dotted})
    assert user(await _prefetched("/", config))["logged_in"] is None


async def test_an_async_callable_is_awaited_by_prefetch() -> None:
    signals = request("/", config=settings(user={"callable": f"{__name__}:current_user_async"}))
    await signals.prefetch(["user"])
    assert user(signals)["first_name"] == "Async"


@respx.mock
async def test_profile_enrichment_from_the_crm() -> None:
    respx.get("https://crm.example/profiles/42").respond(json=PROFILE)
    config = settings(user={"profile_url": CRM})
    signals = request("/", config=config, user=ShopUser(), sources=sources_of(config))
    await signals.prefetch(["user"])
    assert user(signals) == {
        "logged_in": True,
        "id": "42",
        "first_name": "Ada",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "+45 12345678",
        "birthday": date(1990, 11, 25),
        "is_birthday": True,
        "tier": "gold",
        "segment": "champion",
        "orders": 4,
        "purchased": ["p1", "shoes", "p2", "bags", "p3"],
        "last_order_days": 24,
    }


@respx.mock
async def test_a_failing_crm_leaves_only_what_the_app_knows() -> None:
    respx.get("https://crm.example/profiles/42").mock(side_effect=httpx.ReadTimeout("slow"))
    config = settings(user={"profile_url": CRM})
    signals = request("/", config=config, user=ShopUser(), sources=sources_of(config))
    await signals.prefetch(["user"])
    found = user(signals)
    assert (found["logged_in"], found["first_name"], found["tier"], found["orders"]) == (True, "Grace", None, None)


@respx.mock
async def test_the_crm_is_not_called_for_logged_out_visitors() -> None:
    route = respx.get(url__startswith="https://crm.example/").respond(json=PROFILE)
    config = settings(user={"profile_url": CRM})
    signals = request("/", config=config, user=UnauthenticatedUser(), sources=sources_of(config))
    await signals.prefetch(["user"])
    assert not route.called
    assert signals.get("user.logged_in") is False


def test_a_profile_segment_wins_over_rfm_and_bad_values_are_unknown() -> None:
    session = {"u": {"id": 1, "segment": "vip", "birthday": "not a date", "orders": "many", "tier": ["x"],
                     "last_order": "2026-12-31"}}
    found = user(request("/", config=settings(user={"session_key": "u"}), session=session))
    assert found["segment"] == "vip"
    assert found["birthday"] is None and found["is_birthday"] is None
    assert found["orders"] is None and found["tier"] is None
    assert found["last_order_days"] is None  # in the future: not believable


def test_is_birthday_uses_the_shops_date() -> None:
    late_utc = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)  # already the 25th in Copenhagen
    session = {"u": {"id": 1, "birthday": "1990-11-25"}}
    signals = request("/", config=settings(user={"session_key": "u"}), session=session, now=late_utc)
    assert signals.get("user.is_birthday") is True
    assert request("/", config=settings(user={"session_key": "u"}), session=session,
                   now=datetime(2026, 11, 24, 12, tzinfo=SHOP)).get("user.is_birthday") is False


@pytest.mark.parametrize(
    ("born", "today", "expected"),
    [
        (date(2000, 2, 29), date(2027, 2, 28), True),  # not a leap year: celebrated on the 28th
        (date(2000, 2, 29), date(2028, 2, 28), False),
        (date(2000, 2, 29), date(2028, 2, 29), True),
        (date(1990, 5, 1), date(2026, 5, 1), True),
        (date(1990, 5, 1), date(2026, 5, 2), False),
    ],
)
def test_birthdays(born: date, today: date, expected: bool) -> None:
    assert is_birthday(born, today) is expected


def orders(*days_ago: int, total: float = 100) -> list[tuple[date, float | None, list[Any]]]:
    from datetime import timedelta

    return [(TODAY - timedelta(days=days), total, []) for days in days_ago]


@pytest.mark.parametrize(
    ("history", "segment"),
    [
        (orders(), "prospect"),
        (orders(3), "new"),
        (orders(1, 10, 20, 25), "champion"),
        (orders(60, 100, 200), "loyal"),
        (orders(45, 400), "promising"),
        (orders(120, 200, 300), "at_risk"),
        (orders(120, 300, total=2_000), "at_risk"),
        (orders(200), "hibernating"),
        (orders(400, 500, 600), "lost"),
    ],
)
def test_rfm_segment_from_orders(history: list[tuple[date, float | None, list[Any]]], segment: str) -> None:
    assert rfm_segment(history, TODAY) == segment
