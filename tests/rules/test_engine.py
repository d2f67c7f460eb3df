"""Decision semantics: priorities, slots and shadowing, caps, schedules, templates, languages, traces."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from smalldata.rules import StaticCaps
from tests.rules.helpers import decide, write_rules

CPH = ZoneInfo("Europe/Copenhagen")

GREETINGS = """
rules:
  - id: named
    priority: 20
    when: {user.logged_in: true}
    then: {greeting: "Hej {user.first_name}"}
  - id: returning
    priority: 10
    when: {visitor.returning: true}
    then:
      greeting: {da: "Velkommen tilbage", en: "Welcome back"}
      banner: {slot: hero, text: "Nyt siden sidst"}
  - id: everyone
    priority: -5
    then: {greeting: Hej}
"""


def test_the_highest_priority_matching_rule_fills_the_slot(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, GREETINGS)
    decision = decide(rules, {"user.logged_in": True, "user.first_name": "Mette", "visitor.returning": True},
                      trace=True)
    assert decision.greeting == "Hej Mette"
    assert decision.slot_rules["greeting"] == "named"
    statuses = {e.rule: (e.status, e.by) for e in decision.trace or []}
    assert statuses["everyone"] == ("shadowed", "named")


def test_a_rule_still_fills_its_free_slots_when_another_slot_is_taken(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, GREETINGS)
    decision = decide(rules, {"user.logged_in": True, "user.first_name": "Mette", "visitor.returning": True})
    assert decision.banners["hero"].html == "Nyt siden sidst"
    assert decision.matched == ["named", "returning"]


def test_an_unknown_placeholder_skips_the_action_and_the_next_rule_fills_the_slot(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, GREETINGS)
    decision = decide(rules, {"user.logged_in": True, "visitor.returning": True, "page.language": "en"},
                      trace=True)
    assert decision.greeting == "Welcome back"
    named = next(e for e in decision.trace or [] if e.rule == "named")
    assert named.status == "unknown_value"
    assert "user.first_name" in named.detail


def test_every_template_value_is_html_escaped(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, GREETINGS)
    decision = decide(rules, {"user.logged_in": True, "user.first_name": "<script>alert(1)</script>"})
    assert decision.greeting == "Hej &lt;script&gt;alert(1)&lt;/script&gt;"
    assert "<script>" not in str(decision.to_json())


def test_plain_text_is_escaped_but_merchandiser_html_is_kept(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, """
        rules:
          - id: text
            then: {banner: {slot: a, text: "Fish & chips <3 {geo.city}"}}
          - id: markup
            then: {banner: {slot: b, html: "<strong>{geo.city}</strong>"}}
        """)
    decision = decide(rules, {"geo.city": "<b>Malmö</b>"})
    assert decision.banners["a"].html == "Fish &amp; chips &lt;3 &lt;b&gt;Malmö&lt;/b&gt;"
    assert decision.banners["b"].html == "<strong>&lt;b&gt;Malmö&lt;/b&gt;</strong>"


def test_prefill_values_are_plain_text_for_form_fields(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, """
        rules:
          - id: prefill
            then: {prefill: {form: checkout, fields: {name: "{user.name}", phone: "{user.phone}"}}}
        """)
    decision = decide(rules, {"user.name": "Åse O'Brien & Co"})
    assert decision.prefill == {"checkout": {"name": "Åse O'Brien & Co"}}


def test_language_falls_back_to_the_shop_default(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, GREETINGS)
    assert decide(rules, {"visitor.returning": True, "page.language": "en"}).greeting == "Welcome back"
    assert decide(rules, {"visitor.returning": True, "page.language": "fi"}).greeting == "Velkommen tilbage"
    assert decide(rules, {"visitor.returning": True}).greeting == "Velkommen tilbage"


def test_a_capped_rule_leaves_its_slot_to_the_next_rule(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, """
        rules:
          - id: chat-once
            priority: 10
            then: {chat: {after_seconds: 5, message: Hej}}
            cap: {max: 1, per: day}
          - id: fallback
            then: {chat: {on_exit_intent: true, message: Farvel}}
        """)
    first = decide(rules, {}, caps=StaticCaps({}))
    assert first.chat is not None and first.chat.rule == "chat-once"
    assert first.cap_hits == ["chat-once"]
    again = decide(rules, {}, caps=StaticCaps({"chat-once": 1}), trace=True)
    assert again.chat is not None and again.chat.rule == "fallback"
    assert next(e for e in again.trace or [] if e.rule == "chat-once").status == "capped"


def test_only_when_open_chat_is_withheld_or_replaced_outside_opening_hours(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, """
        rules:
          - id: sales
            priority: 10
            then: {chat: {after_seconds: 20, message: Hej, only_when_open: true}}
          - id: support
            then:
              chat:
                after_seconds: 20
                message: Hej
                only_when_open: true
                outside_hours: {message: "Skriv til os", action: form}
        """)
    assert decide(rules, {"time.open": True}).chat.rule == "sales"  # type: ignore[union-attr]
    closed = decide(rules, {"time.open": False}, trace=True)
    assert closed.chat is not None
    assert (closed.chat.rule, closed.chat.mode, closed.chat.message) == ("support", "offline", "Skriv til os")
    assert next(e for e in closed.trace or [] if e.rule == "sales").status == "closed"


def test_the_chat_context_card_tells_the_agent_who_is_asking(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, """
        rules:
          - id: help
            then: {chat: {after_seconds: 1, message: Hej, context: true, department: sales}}
        """)
    decision = decide(rules, {
        "user.logged_in": True, "user.first_name": "Mette", "user.name": "Mette Hansen", "visitor.returning": True,
        "basket.count": 2, "basket.total": 398.0, "basket.currency": "DKK",
        "history.viewed_products": ["a", "b"], "campaign.source": "newsletter",
    })
    assert decision.chat is not None
    assert decision.chat.department == "sales"
    assert decision.chat.context == {
        "name": "Mette Hansen", "visitor": "returning", "basket": {"items": 2, "total": 398.0, "currency": "DKK"},
        "recently_viewed": ["a", "b"], "campaign": "newsletter",
    }


def test_active_schedules_use_the_shop_time_zone(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, """
        rules:
          - id: xmas-eve
            active: {from: 2026-12-24, until: 2026-12-24, hours: "09:00-12:00"}
            then: {banner: {slot: hero, text: God jul}}
        """)
    inside = datetime(2026, 12, 24, 11, 30, tzinfo=CPH)
    # 08:30 UTC is 09:30 in Copenhagen
    also_inside = datetime(2026, 12, 24, 8, 30, tzinfo=ZoneInfo("UTC")).astimezone(CPH)
    after = datetime(2026, 12, 24, 12, 0, tzinfo=CPH)
    next_day = datetime(2026, 12, 25, 10, 0, tzinfo=CPH)
    assert "hero" in decide(rules, {"time.now": inside}).banners
    assert "hero" in decide(rules, {"time.now": also_inside}).banners
    assert "hero" not in decide(rules, {"time.now": after}).banners
    trace = decide(rules, {"time.now": next_day}, trace=True).trace or []
    assert trace[0].status == "inactive"


def test_tags_add_up_and_are_never_shadowed(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, """
        rules:
          - id: a
            priority: 2
            then: {tag: [shoe-lover, returning]}
          - id: b
            then: {tag: returning}
        """)
    decision = decide(rules, {})
    assert decision.tags == ["shoe-lover", "returning"]
    assert decision.matched == ["a", "b"]


def test_a_rule_that_does_not_match_says_which_condition_failed_and_the_value_seen(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, """
        rules:
          - id: pricing
            when: {page.path: {starts_with: /pricing}, time.open: true}
            then: {chat: {after_seconds: 20, message: Hej}}
        """)
    entry = (decide(rules, {"page.path": "/pricing", "time.open": False}, trace=True).trace or [])[0]
    assert (entry.status, entry.condition, entry.actual) == ("failed", "time.open is true", False)


def test_disabled_rules_do_nothing(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, "rules:\n  - id: off\n    enabled: false\n    then: {greeting: Hej}\n")
    assert decide(rules, {}).greeting is None


def test_decision_json_has_the_keys_of_spec_section_4(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, GREETINGS)
    assert set(decide(rules, {}).to_json()) == {
        "greeting", "chat", "prefill", "recommendations", "banners", "tags", "experiments"}


@pytest.mark.parametrize(("language", "banner"), [("da", "Du har 2.450 point, 60,00 kr. til fri fragt"),
                                                  ("en", "You have 2,450 points, DKK 60.00 to free shipping")])
def test_placeholders_write_numbers_and_money_as_the_pages_language_does(tmp_path: Path, language: str,
                                                                        banner: str) -> None:
    write_rules(tmp_path, """
        rules:
          - id: points
            then:
              banner:
                slot: hero
                text:
                  da: "Du har {visitor.visits} point, {basket.free_shipping_gap:money} til fri fragt"
                  en: "You have {visitor.visits} points, {basket.free_shipping_gap:money} to free shipping"
        """)
    signals = {"visitor.visits": 2450, "basket.free_shipping_gap": 60, "basket.currency": "DKK",
               "page.language": language}
    assert decide(tmp_path, signals).banners["hero"].html == banner
