"""``client:`` settings: the words the client script shows beside the rules' own texts.

A chat invitation's message comes from the rule; its buttons and screen-reader labels come from
here, in the language the message was chosen in, so a Danish message never gets English buttons.
Danish, English, Swedish, Norwegian, German and Finnish are built in; a shop changes a word, or
adds a language, per language::

    client:
      texts:
        da: {contact_button: "Skriv til os"}
        fr: {chat_button: "Discuter avec nous", contact_button: "Nous contacter", dismiss_label: "Fermer"}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from smalldata.foundation.problems import did_you_mean

Mode = Literal["online", "offline"]
MAX_TEXT = 80


class ChatTexts(BaseModel):
    """The words around one language's chat invitation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    chat_button: str = Field(min_length=1, max_length=MAX_TEXT)  # accepts an invitation while someone can answer
    contact_button: str = Field(min_length=1, max_length=MAX_TEXT)  # accepts it outside opening hours
    dismiss_label: str = Field(min_length=1, max_length=MAX_TEXT)  # names the × that closes it, for screen readers

    def payload(self, mode: Mode) -> dict[str, str]:
        """What an invitation carries to the page: only the words its bubble shows."""
        return {"button": self.contact_button if mode == "offline" else self.chat_button,
                "dismiss": self.dismiss_label}  # fmt: skip


class _SomeTexts(BaseModel):
    """A language's texts in ``smalldata.yaml``: any of them, over the built-in ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    chat_button: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT)
    contact_button: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT)
    dismiss_label: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT)


_NORWEGIAN = ChatTexts(chat_button="Chat med oss", contact_button="Kontakt oss", dismiss_label="Lukk")

BUILT_IN_TEXTS: dict[str, ChatTexts] = {
    "da": ChatTexts(chat_button="Chat med os", contact_button="Kontakt os", dismiss_label="Luk"),
    "en": ChatTexts(chat_button="Chat with us", contact_button="Contact us", dismiss_label="Dismiss"),
    "sv": ChatTexts(chat_button="Chatta med oss", contact_button="Kontakta oss", dismiss_label="Stäng"),
    "nb": _NORWEGIAN,
    "no": _NORWEGIAN,
    "de": ChatTexts(chat_button="Mit uns chatten", contact_button="Kontakt aufnehmen", dismiss_label="Schließen"),
    "fi": ChatTexts(chat_button="Keskustele kanssamme", contact_button="Ota yhteyttä", dismiss_label="Sulje"),
}


class ClientSettings(BaseModel):
    """``client:`` in ``smalldata.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    texts: dict[str, _SomeTexts] = {}

    @field_validator("texts")
    @classmethod
    def _language_codes(cls, value: dict[str, _SomeTexts]) -> dict[str, _SomeTexts]:
        for language in value:
            if not re.fullmatch(r"[a-z]{2,3}", language):
                raise ValueError(f"'{language}' is not a language code such as da or en")
        return value

    def chat_texts(self, languages: tuple[str, ...]) -> dict[str, ChatTexts]:
        """The texts of each of ``languages`` that has all of them (the shop's words over the built-in)."""
        found: dict[str, ChatTexts] = {}
        for language in dict.fromkeys(languages):
            merged = self._merged(language)
            if len(merged) == len(ChatTexts.model_fields):
                found[language] = ChatTexts(**merged)
        return found

    def problems(self, languages: tuple[str, ...]) -> list[str]:
        """What is missing for ``languages`` (the shop's), and texts given for other languages, in words."""
        problems: list[str] = []
        for language in dict.fromkeys(languages):
            absent = [name for name in ChatTexts.model_fields if name not in self._merged(language)]
            if absent:
                problems.append(f"'{language}' has no built-in chat texts: give client.texts.{language} "
                                f"with {_and(absent)}")  # fmt: skip
        for language in self.texts:
            if language not in languages:
                problems.append(f"texts for '{language}', which is not one of the shop's languages "
                                f"({', '.join(dict.fromkeys(languages))}){did_you_mean(language, languages)}")
        return problems

    def _merged(self, language: str) -> dict[str, str]:
        given = self.texts.get(language)
        base = BUILT_IN_TEXTS[language].model_dump() if language in BUILT_IN_TEXTS else {}
        return {**base, **(given.model_dump(exclude_none=True) if given else {})}


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def texts_for(texts: Mapping[str, ChatTexts], language: str, fallback: str) -> ChatTexts:
    """The texts of ``language``, else of ``fallback`` (the shop's language), else English."""
    return texts.get(language) or texts.get(fallback) or BUILT_IN_TEXTS["en"]
