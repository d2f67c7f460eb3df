"""One coercion for every path a value comes in by: a source's answer, ``given:``, ``--set`` and a preview."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request

from smalldata.rules.imagine import Imagined, parse_sets
from smalldata.rules.load import load_ruleset
from smalldata.rules.testing import run_tests
from smalldata.settings import Settings
from tests.signals.test_declared import _greeting

ANSWER: dict[str, Any] = {}

RULES = """
rules:
  - id: ten
    when: {loyalty.code: {eq: "10"}, loyalty.stores: {contains: 3}}
    then: {greeting: code ten}
tests:
  - name: the code and the stores given as numbers
    given: {loyalty.code: 10, loyalty.stores: [1, 2, 3]}
    expect: {matched: [ten]}
"""


def loyalty(request: Request) -> dict[str, Any]:
    return ANSWER


def _settings(tmp_path: Path) -> Settings:
    (tmp_path / "rules.yaml").write_text(RULES)
    fields = {"code": "text", "stores": "list"}
    return Settings.model_validate(
        {"rules": str(tmp_path),
         "signals": {"loyalty": {"source": f"{__name__}:loyalty", "fields": fields, "timeout_ms": 5000}}}
    )


async def test_a_text_field_a_source_answers_with_a_number_matches_its_text_in_the_shop(tmp_path: Path) -> None:
    ANSWER.update(code=10, stores=[1, 2, 3])
    assert await _greeting(_settings(tmp_path)) == "code ten"


def test_a_text_field_given_a_number_in_a_rule_test_matches_its_text(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    results = run_tests(load_ruleset(tmp_path, settings), settings)
    assert [result.passed for result in results] == [True]


def test_set_reads_a_number_for_a_text_field_as_the_shop_does(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    given = parse_sets(["loyalty.code=10", "loyalty.stores=[1, 2.0, 3.5]"], settings.signal_catalog)
    assert given == {"loyalty.code": "10", "loyalty.stores": ["1", "2", "3.5"]}


def test_an_imagined_visitor_holds_the_text_a_source_would_give(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    signals = Imagined(given={"loyalty.code": 10.0, "loyalty.stores": [7]}).signals(settings)
    assert (signals["loyalty.code"], signals["loyalty.stores"]) == ("10", ["7"])


async def test_a_text_field_answered_with_a_number_too_large_to_write_is_unknown(tmp_path: Path) -> None:
    ANSWER.update(code=10**5000, stores=[1, 2, 3, 10**5000])  # str() of it raises: no text, no traceback
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "rules.yaml").write_text(
        "rules:\n  - {id: unknown-code, when: {loyalty.code: {exists: false}, loyalty.stores: {contains: 3}},\n"
        "     then: {greeting: no code}}\n"
    )
    settings = Settings.model_validate({"rules": str(rules), "signals": {"loyalty": {
        "source": f"{__name__}:loyalty", "fields": {"code": "text", "stores": "list"}, "timeout_ms": 5000}}})
    assert await _greeting(settings) == "no code"
