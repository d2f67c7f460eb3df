"""docs/architecture.md, "Where to add something": the worked signal, action and store are run or found here."""

from __future__ import annotations

import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from smalldata.foundation.asgi import make_scope
from smalldata.delivery.plan import RequestPlan
from smalldata.rules.load import DefaultRuleSettings, check_ruleset, load_ruleset
from smalldata.settings import Settings
from smalldata.signals.catalog import BUILT_IN_NAMESPACES
from smalldata.signals.providers import build
from smalldata.signals.request import Request, RequestSignals
from smalldata.signals.spec import Namespace
from smalldata.state.config import StateSettings
from tests.docs.helpers import ROOT, Block, blocks

ARCHITECTURE = ROOT / "docs" / "architecture.md"
EVENING = datetime(2026, 11, 25, 21, 0, tzinfo=ZoneInfo("Europe/Copenhagen"))


def _block(containing: str) -> Block:
    found = [block for block in blocks(ARCHITECTURE) if block.info == "python" and containing in block.text]
    assert len(found) == 1, f"one python block of docs/architecture.md holds {containing!r}"
    return found[0]


def _run(block: Block) -> dict[str, Any]:
    scope: dict[str, Any] = {"__name__": "worked_example"}
    exec(compile(block.text, block.where, "exec"), scope)
    return scope


def _screen() -> Namespace:
    namespace = _run(_block("NAMESPACE = Namespace("))["NAMESPACE"]
    assert isinstance(namespace, Namespace)
    return namespace


def _plan(tmp_path: Path, screen: Namespace, when: str) -> tuple[RequestPlan, Any]:
    settings = Settings()
    rule_settings = DefaultRuleSettings(signal_catalog=settings.signal_catalog.with_fields(screen.signals))
    (tmp_path / "rules.yaml").write_text(textwrap.dedent(f"""\
        rules:
          - id: night-owl
            when: {{{when}: true}}
            then: {{greeting: "Easy on the eyes tonight"}}
        """), encoding="utf-8")
    _, problems = check_ruleset(tmp_path, rule_settings)
    assert [str(problem) for problem in problems] == []
    providers = build(settings, namespaces=(*BUILT_IN_NAMESPACES, screen))
    return RequestPlan.compile(load_ruleset(tmp_path, rule_settings), providers.map), providers


def test_the_worked_example_signal_is_checked_and_read_by_a_rule(tmp_path: Path) -> None:
    plan, providers = _plan(tmp_path, _screen(), "screen.dark")
    dark = Request(make_scope("/", headers={"Sec-CH-Prefers-Color-Scheme": '"dark"'}), EVENING)
    light = Request(make_scope("/", headers={"Sec-CH-Prefers-Color-Scheme": '"light"'}), EVENING)

    assert plan.engine.decide(RequestSignals(dark, providers.map)).greeting == "Easy on the eyes tonight"
    assert plan.engine.decide(RequestSignals(light, providers.map)).greeting is None


def test_the_worked_example_signal_varies_a_page_on_the_header_it_declares(tmp_path: Path) -> None:
    plan, _ = _plan(tmp_path, _screen(), "screen.dark")

    assert plan.vary == ("Sec-CH-Prefers-Color-Scheme",)


def test_a_page_whose_rules_do_not_read_the_worked_example_signal_does_not_vary_on_its_header(
    tmp_path: Path,
) -> None:
    plan, _ = _plan(tmp_path, _screen(), "user.logged_in")

    assert "Sec-CH-Prefers-Color-Scheme" not in plan.vary


def test_the_worked_example_action_is_the_greeting_as_the_code_has_it() -> None:
    source = (ROOT / "smalldata" / "rules" / "action_types.py").read_text(encoding="utf-8")
    shown = _block("GREETING = ActionType(").text

    for part in shown.split("\n\n"):  # the compile step and the table entry, each as written in the module
        assert part.strip() + "\n" in source, part


async def test_the_worked_example_store_keeps_a_returning_visitor_in_its_backend() -> None:
    store_class = _run(_block("class CountingStore("))["CountingStore"]
    store = store_class(StateSettings.model_validate({"secret_keys": ["test-secret-key-0123456789"]}))
    first = await store.load({}, now=EVENING)
    first.touch(EVENING)
    cookie = (await store.save(first, secure=True))[0].split(";", 1)[0]
    name, _, value = cookie.partition("=")

    again = await store.load({name: value}, now=EVENING)
    again.touch(EVENING)
    await store.save(again, secure=True)

    assert again.id == first.id
    assert store.backend.trips == 2  # the returning visitor's load and save; a first visit asks the server nothing
