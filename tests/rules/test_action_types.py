"""Each kind of action is one entry of ``ACTION_TYPES``: its model, the decision's JSON and the page's client agree."""

from __future__ import annotations

import re

from smalldata.decision import Decision, Slot
from smalldata.rules.action_types import ACTION_TYPES, compile_actions
from smalldata.rules.model import Actions
from tests.docs.helpers import ROOT

CLIENT = (ROOT / "smalldata" / "delivery" / "static" / "client.js").read_text(encoding="utf-8")


def test_every_then_key_is_an_action_type_or_the_tags() -> None:
    assert set(Actions.model_fields) == {kind.key for kind in ACTION_TYPES} | {"tag"}


def test_every_action_type_fills_a_decision_field_the_page_json_carries() -> None:
    carried = Decision().to_json()

    for kind in ACTION_TYPES:
        assert kind.field in Decision.__dataclass_fields__, kind.key
        assert kind.field in carried, kind.key


def test_the_client_puts_every_action_types_field_into_the_page() -> None:
    read = set(re.findall(r"\bdecision\.(\w+)", CLIENT))

    assert {kind.field for kind in ACTION_TYPES} <= read


def test_the_client_names_slot_families_as_the_server_does() -> None:
    assert f'"{Slot.BANNER}"' in CLIENT
    assert f'"{Slot.RECOMMEND}"' in CLIENT


def test_every_action_type_compiles_to_the_slot_its_constant_names() -> None:
    then = Actions.model_validate({
        "greeting": "Hej", "chat": {"message": "Questions?", "after_seconds": 5},
        "prefill": {"form": "checkout", "fields": {"email": "a@b.dk"}},
        "recommend": {"slot": "home", "strategy": "bestsellers"}, "banner": {"slot": "hero", "text": "Sale"},
    })

    actions, errors = compile_actions(then, fallback="en")

    assert errors == []
    assert set(actions.slots) == {Slot.GREETING, Slot.CHAT, Slot.prefill("checkout"), Slot.recommend("home"),
                                  Slot.banner("hero")}  # fmt: skip

