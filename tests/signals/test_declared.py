"""Signals a shop declares in smalldata.yaml: rules read them, check knows them, the shop fills them lazily."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from smalldata.foundation.problems import ProblemsError
from smalldata.middleware import SmallData
from smalldata.rules.imagine import parse_sets
from smalldata.rules.load import check_ruleset, load_ruleset
from smalldata.rules.testing import run_tests
from smalldata.settings import Settings

CALLS: list[str] = []
ANSWER: dict[str, Any] = {}

LOYALTY = {
    "fields": {"points": "number", "member_since": "date", "b2b": "yesno", "favourite_stores": "list", "tier": "text"}
}


def loyalty(request: Request) -> dict[str, Any]:
    CALLS.append(request.url.path)
    return ANSWER


async def loyalty_async(request: Request) -> dict[str, Any]:
    CALLS.append(request.url.path)
    await asyncio.sleep(0)
    return ANSWER


async def slow_loyalty(request: Request) -> dict[str, Any]:
    await asyncio.sleep(5)
    return ANSWER


def broken_loyalty(request: Request) -> dict[str, Any]:
    raise RuntimeError("the loyalty database is down")


def not_a_mapping(request: Request) -> list[str]:
    return ["gold"]


def mette(request: Request) -> dict[str, Any]:
    return {"id": "42", "first_name": "Mette"}


@pytest.fixture(autouse=True)
def _fresh() -> None:
    CALLS.clear()
    ANSWER.clear()
    ANSWER.update(points=1200, member_since="2021-03-01", b2b=False, favourite_stores=["aarhus"], tier="gold")


def _settings(tmp_path: Path, rules: str, **signals: Any) -> Settings:
    (tmp_path / "rules.yaml").write_text(rules)
    user = {"callable": f"{__name__}:mette"}
    return Settings.model_validate({"rules": str(tmp_path), "signals": signals, "user": user})


def _source(function: str = "loyalty", **extra: Any) -> dict[str, Any]:
    return {**LOYALTY, "source": f"{__name__}:{function}", **extra}


GOLD = """
rules:
  - id: gold
    when:
      page.path: /
      loyalty.points: {gte: 1000}
      loyalty.favourite_stores: {contains: aarhus}
      loyalty.member_since: {lt: 2022-01-01}
      loyalty.b2b: false
    then: {greeting: "You have {loyalty.points} points"}
"""


async def _greeting(settings: Settings, path: str = "/") -> str:
    async def page(request: Request) -> HTMLResponse:
        decision = await request.state.smalldata  # made when first asked for
        return HTMLResponse(f"<html><body><h1>{decision.greeting or ''}</h1></body></html>")

    app = SmallData(Starlette(routes=[Route("/", page), Route("/about", page)]), settings=settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://shop.test") as client:
        response = await client.get(path)
    assert response.status_code == 200
    return response.text.split("<h1>")[1].split("</h1>")[0]


# -- check ---------------------------------------------------------------------------------------


def test_a_declared_field_is_a_signal_a_rule_may_read(tmp_path: Path) -> None:
    ruleset, problems = check_ruleset(tmp_path, _settings(tmp_path, GOLD, loyalty=_source()))
    assert problems == [] and ruleset is not None
    assert {"loyalty.points", "loyalty.favourite_stores"} <= ruleset.reads


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("loyalty.pionts: {gte: 1000}", "1:24: unknown signal 'loyalty.pionts' — did you mean 'loyalty.points'?"),
        ("loyalty.points: {gte: many}", "loyalty.points is a number, not 'many'"),
        ("loyalty.member_since: {lt: soon}", "loyalty.member_since"),
        ("loyalty.b2b: maybe", "loyalty.b2b"),
    ],
)
def test_check_reports_an_unknown_field_or_a_value_of_the_wrong_type(
    tmp_path: Path, condition: str, message: str
) -> None:
    rules = f"rules: [{{id: r, when: {{{condition}}}, then: {{greeting: hi}}}}]"
    _, problems = check_ruleset(tmp_path, _settings(tmp_path, rules, loyalty=_source()))
    assert len(problems) == 1
    assert message in str(problems[0]) and str(problems[0]).startswith(str(tmp_path / "rules.yaml"))


def test_without_the_declaration_the_namespace_is_unknown(tmp_path: Path) -> None:
    _, problems = check_ruleset(tmp_path, _settings(tmp_path, GOLD))
    assert problems and all("unknown signal 'loyalty." in p.message for p in problems)


@pytest.mark.parametrize(
    ("signals", "message"),
    [
        ({"geo": _source()}, "'geo' is a built-in namespace"),
        ({"loyalty": dict(LOYALTY)}, "needs either a source"),
        ({"loyalty": {**LOYALTY, "url": "https://crm.test/loyalty/{id}"}}, "must contain {user.id}"),
        ({"loyalty": {"source": "myshop:loyalty", "fields": {"points": "float"}}}, "'number'"),
        ({"user": {"fields": {"tier": "text"}}}, "user.tier is a built-in signal"),
        ({"user": {"source": "myshop:user", "fields": {"points": "number"}}}, "from the customer's profile"),
    ],
)
def test_a_declaration_that_cannot_work_is_refused_with_the_reason(signals: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        Settings.model_validate({"signals": signals})


def test_try_set_and_rule_tests_given_accept_declared_fields(tmp_path: Path) -> None:
    tests = """
tests:
  - name: a gold member
    given: {page.path: /, loyalty.points: 1500, loyalty.favourite_stores: [aarhus], loyalty.member_since: 2020-01-01,
            loyalty.b2b: false}
    expect: {matched: [gold], greeting: "You have 1,500 points"}
  - name: too few points
    given: {page.path: /, loyalty.points: 10}
    expect: {not_matched: [gold]}
"""
    settings = _settings(tmp_path, GOLD + tests, loyalty=_source())
    results = run_tests(load_ruleset(tmp_path, settings), settings)
    assert [result.passed for result in results] == [True, True]

    assert parse_sets(["loyalty.points=1200"], settings.signal_catalog) == {"loyalty.points": 1200}
    with pytest.raises(ValueError, match=r"loyalty\.points is a number"):
        parse_sets(["loyalty.points=lots"], settings.signal_catalog)


def test_a_given_value_of_the_wrong_type_is_reported_at_its_line(tmp_path: Path) -> None:
    tests = "\ntests:\n  - {name: t, given: {loyalty.points: lots}, expect: {matched: [gold]}}\n"
    with pytest.raises(ProblemsError, match=r"loyalty\.points is a number, not 'lots'"):
        load_ruleset(tmp_path, _settings(tmp_path, GOLD + tests, loyalty=_source()))


# -- the shop ------------------------------------------------------------------------------------


@pytest.mark.parametrize("function", ["loyalty", "loyalty_async"])
async def test_a_page_reads_the_shops_source_sync_or_async(tmp_path: Path, function: str) -> None:
    settings = _settings(tmp_path, GOLD, loyalty=_source(function))
    assert await _greeting(settings) == "You have 1,200 points"
    assert CALLS == ["/"]


@pytest.mark.parametrize("function", ["loyalty", "loyalty_async"])
async def test_the_source_is_not_called_for_rules_that_do_not_read_the_namespace(tmp_path: Path, function: str) -> None:
    rules = "rules: [{id: about, when: {page.path: /about}, then: {greeting: About us}}]"
    assert await _greeting(_settings(tmp_path, rules, loyalty=_source(function)), "/about") == "About us"
    assert CALLS == []


@pytest.mark.parametrize("function", ["broken_loyalty", "slow_loyalty", "not_a_mapping"])
async def test_a_failing_slow_or_wrong_source_leaves_the_fields_unknown_and_the_page_served(
    tmp_path: Path, function: str, caplog: pytest.LogCaptureFixture
) -> None:
    rules = GOLD + "  - {id: unknown, when: {loyalty.points: null}, then: {greeting: no points known}}\n"
    settings = _settings(tmp_path, rules, loyalty=_source(function, timeout_ms=50))
    with caplog.at_level(logging.INFO, logger="smalldata"):
        assert await _greeting(settings) == "no points known"
    assert any("signals.loyalty" in record.getMessage() for record in caplog.records)  # the developer sees why


async def test_wrong_values_are_unknown_while_the_right_ones_are_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ANSWER.update(points="1500", b2b="yes")  # an amount sent as text is a number; "yes" is not a yesno
    rules = """
rules:
  - {id: r, when: {loyalty.points: {gte: 1000}, loyalty.b2b: null}, then: {greeting: "{loyalty.points} {loyalty.tier}"}}
"""
    assert await _greeting(_settings(tmp_path, rules, loyalty=_source())) == "1,500 gold"
    assert "loyalty.b2b: 'yes' is not yesno" in caplog.text


@pytest.mark.parametrize("points", [10**5000, -(10**400), "nan", "inf", float("nan"), float("-inf"), "1e999",
                                    "9" * 5000],
                         ids=["10**5000", "-10**400", "text nan", "text inf", "nan", "-inf", "text 1e999", "9s"])
async def test_a_number_field_that_is_not_a_finite_number_is_unknown_and_the_rest_of_the_page_personalised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, points: Any
) -> None:
    ANSWER.update(points=points)
    rules = """
rules:
  - {id: r, when: {loyalty.points: null}, then: {greeting: "no points, {loyalty.tier}"}}
"""
    with caplog.at_level(logging.INFO, logger="smalldata"):
        assert await _greeting(_settings(tmp_path, rules, loyalty=_source())) == "no points, gold"
    assert not [record for record in caplog.records if record.exc_info]  # a one-line warning, no traceback
    assert "loyalty.points" in caplog.text


@respx.mock
async def test_a_url_source_is_fetched_with_the_customers_id(tmp_path: Path) -> None:
    route = respx.get("https://crm.test/loyalty/42").mock(return_value=httpx.Response(200, json={"points": 2000}))
    rules = "rules: [{id: r, when: {loyalty.points: {gte: 1000}}, then: {greeting: '{loyalty.points} points'}}]"
    declared = {**LOYALTY, "url": "https://crm.test/loyalty/{user.id}", "timeout_ms": 5000}
    settings = _settings(tmp_path, rules, loyalty=declared)
    assert await _greeting(settings) == "2,000 points"
    assert route.call_count == 1


@respx.mock
async def test_declared_user_fields_come_from_the_crm_profile(tmp_path: Path) -> None:
    respx.get("https://crm.test/profiles/42").mock(
        return_value=httpx.Response(200, json={"first_name": "Mette", "loyalty_points": 800, "store": "Aarhus"})
    )
    (tmp_path / "rules.yaml").write_text(
        "rules: [{id: r, when: {user.loyalty_points: {gte: 500}},\n"
        "         then: {greeting: '{user.store} {user.loyalty_points}'}}]"
    )
    settings = Settings.model_validate({
        "rules": str(tmp_path),
        "user": {"callable": f"{__name__}:mette", "profile_url": "https://crm.test/profiles/{id}", "timeout_ms": 5000},
        "signals": {"user": {"fields": {"loyalty_points": "number", "store": "text"}}},
    })
    assert await _greeting(settings) == "Aarhus 800"
