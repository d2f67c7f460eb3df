"""A chat invitation's buttons and labels speak the language of its message."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from smalldata.rules import Engine, load_ruleset
from smalldata.rules.chat_texts import BUILT_IN_TEXTS as BUILT_IN
from smalldata.rules.chat_texts import ClientSettings
from smalldata.settings import Settings
from smalldata.signals.base import StaticSignals
from tests.rules.helpers import write_rules

CHAT = """
rules:
  - id: help
    then:
      chat:
        after_seconds: 5
        message: {message}
        only_when_open: true
        outside_hours: {{message: {offline}}}
"""
LANGUAGES = '{da: "Spørgsmål?", en: "Questions?"}'


def chat(tmp_path: Path, signals: dict[str, Any], *, message: str = LANGUAGES, offline: str = LANGUAGES,
         settings: Settings | None = None) -> dict[str, Any]:
    rules = write_rules(tmp_path, CHAT.format(message=message, offline=offline))
    decision = Engine(load_ruleset(rules, settings or Settings())).decide(StaticSignals({"time.open": True, **signals}))
    assert decision.chat is not None
    return decision.to_json()["chat"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("language", "message", "button", "dismiss"),
    [
        pytest.param("da", "Spørgsmål?", "Chat med os", "Luk", id="Danish"),
        pytest.param("en", "Questions?", "Chat with us", "Dismiss", id="English"),
        pytest.param("fi", "Spørgsmål?", "Chat med os", "Luk", id="another language: the shop's, as the message"),
    ],
)
def test_the_buttons_are_in_the_language_of_the_message(tmp_path: Path, language: str, message: str, button: str,
                                                        dismiss: str) -> None:
    found = chat(tmp_path, {"page.language": language})
    assert (found["message"], found["texts"]) == (message, {"button": button, "dismiss": dismiss})
    assert found["language"] == ("en" if language == "en" else "da")


def test_a_message_without_languages_is_in_the_shops_default_language(tmp_path: Path) -> None:
    found = chat(tmp_path, {"page.language": "da"}, message='"Questions?"', settings=Settings(default_language="en"))
    assert found["language"] == "en" and found["texts"]["button"] == "Chat with us"


def test_outside_opening_hours_the_button_offers_contact(tmp_path: Path) -> None:
    found = chat(tmp_path, {"page.language": "da", "time.open": False})
    assert found["mode"] == "offline" and found["texts"] == {"button": "Kontakt os", "dismiss": "Luk"}


def test_the_shop_may_change_a_built_in_word(tmp_path: Path) -> None:
    settings = Settings(client=ClientSettings.model_validate({"texts": {"da": {"contact_button": "Skriv til os"}}}))
    found = chat(tmp_path, {"page.language": "da", "time.open": False}, settings=settings)
    assert found["texts"] == {"button": "Skriv til os", "dismiss": "Luk"}


def test_a_language_without_built_in_texts_gets_the_shops(tmp_path: Path) -> None:
    french = {"chat_button": "Discuter avec nous", "contact_button": "Nous contacter", "dismiss_label": "Fermer"}
    settings = Settings(languages=("da", "fr"), client=ClientSettings.model_validate({"texts": {"fr": french}}))
    found = chat(tmp_path, {"page.language": "fr"}, message='{da: "Spørgsmål?", fr: "Des questions ?"}',
                 offline='"Lukket"', settings=settings)
    assert found["texts"] == {"button": "Discuter avec nous", "dismiss": "Fermer"}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        pytest.param({"languages": ["da", "is"]},
                     "'is' has no built-in chat texts: give client.texts.is with chat_button, contact_button and "
                     "dismiss_label", id="a language without texts"),
        pytest.param({"languages": ["da", "is"], "client": {"texts": {"is": {"chat_button": "Spjalla"}}}},
                     "give client.texts.is with contact_button and dismiss_label", id="a language with some"),
        pytest.param({"client": {"texts": {"sv": {"chat_button": "Chatta"}}}},
                     "texts for 'sv', which is not one of the shop's languages (da, en)", id="not the shop's"),
    ],
)
def test_settings_say_which_texts_are_missing(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        Settings.model_validate(settings)


def test_every_built_in_language_has_every_text() -> None:
    assert {"da", "en", "sv", "nb", "de", "fi"} <= set(BUILT_IN)
    assert all(all(texts.model_dump().values()) for texts in BUILT_IN.values())
