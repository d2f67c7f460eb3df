"""Text templates: ``"Hej {user.first_name}"``, compiled once, rendered per request.

Every value placed in a template is HTML-escaped (and, for plain-text templates,
so is the merchandiser's own text). A placeholder whose signal is unknown makes
the whole text unknown, so no page ever says "Hej ,".
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from smalldata.problems import did_you_mean
from smalldata.rules.when import unknown_signal_message
from smalldata.signals.base import Signals, read_signal
from smalldata.signals.catalog import BUILT_IN, Catalog, SignalRef

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
MAX_TEXT = 5000


class TemplateError(ValueError):
    """A template that cannot be compiled; the message is for people."""


class Unknown(Exception):
    """A placeholder's signal has no value for this request."""

    def __init__(self, signal: str) -> None:
        self.signal = signal
        super().__init__(signal)


@dataclass(frozen=True)
class Placeholder:
    """``{history.category_views.shoes}``: the name as written, and how to read it."""

    name: str
    base: str
    key: str | None = None
    missing: Any = None

    @classmethod
    def of(cls, ref: SignalRef) -> Placeholder:
        return cls(ref.name, ref.base, ref.key, ref.missing)

    def value(self, signals: Signals) -> Any:
        return read_signal(signals, self.base, self.key, self.missing)


@dataclass(frozen=True)
class Template:
    """Literal text and placeholders, ready to render."""

    source: str
    parts: tuple[str | Placeholder, ...]
    reads: frozenset[str]

    @property
    def constant(self) -> str | None:
        """The text itself when it has no placeholder (rendered once, at load), else None."""
        parts = self.parts
        if not parts:
            return ""
        return parts[0] if len(parts) == 1 and type(parts[0]) is str else None

    def render(self, signals: Signals, *, escape: bool = True) -> str:
        """The filled text; raises :class:`Unknown` when a placeholder has no value."""
        out: list[str] = []
        for part in self.parts:
            if type(part) is str:
                out.append(part)
                continue
            assert isinstance(part, Placeholder)
            value = part.value(signals)
            if value is None or value == "" or value == []:
                raise Unknown(part.name)
            text = format_value(value)
            out.append(html.escape(text) if escape else text)
        return "".join(out)


def format_value(value: Any) -> str:
    """A value as a shopper should read it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.2f}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(format_value(v) for v in value)
    return str(value)


def compile_template(source: str, *, literal_is_html: bool, catalog: Catalog = BUILT_IN) -> Template:
    """Compile ``source``; with ``literal_is_html`` the text around placeholders is trusted markup."""
    if len(source) > MAX_TEXT:
        raise TemplateError(f"text is longer than {MAX_TEXT} characters")
    parts: list[str | Placeholder] = []
    reads: set[str] = set()
    position = 0

    def literal(text: str) -> None:
        if text:
            parts.append(text if literal_is_html else html.escape(text))

    for match in _PLACEHOLDER.finditer(source):
        literal(source[position:match.start()])
        position = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            literal(token[0])
            continue
        name = match.group(1)
        if name is None:
            raise TemplateError(f"unmatched '{token}' in text; write '{token * 2}' for a literal brace")
        name = name.strip()
        if not name:
            raise TemplateError("empty placeholder '{}'; name a signal such as {user.first_name}, "
                                "or write '{{}}' for literal braces")
        ref = catalog.resolve(name)
        if ref is None:
            raise TemplateError(f"{unknown_signal_message(name, catalog)} (in placeholder '{{{name}}}')")
        parts.append(Placeholder.of(ref))
        reads.add(ref.base)
    literal(source[position:])
    return Template(source, tuple(parts), frozenset(reads))


@dataclass(frozen=True)
class LangText:
    """A text in one or several languages, chosen per request by ``page.language``."""

    versions: dict[str, Template]
    fallback: str

    @property
    def reads(self) -> frozenset[str]:
        reads = frozenset().union(*(t.reads for t in self.versions.values()))
        return reads | {"page.language"} if len(self.versions) > 1 else reads

    def choose(self, language: str | None) -> Template:
        if language is not None and language in self.versions:
            return self.versions[language]
        if self.fallback in self.versions:
            return self.versions[self.fallback]
        return next(iter(self.versions.values()))

    def render(self, signals: Signals, *, escape: bool = True) -> str:
        language = signals.get("page.language") if len(self.versions) > 1 else None
        return self.choose(language).render(signals, escape=escape)


def compile_text(text: str | dict[str, str], *, fallback: str, literal_is_html: bool = False,
                 languages: tuple[str, ...] = (), catalog: Catalog = BUILT_IN) -> LangText:
    """Compile a text or a mapping of language codes (from ``languages``, when given) to texts."""
    if isinstance(text, str):
        return LangText({"": compile_template(text, literal_is_html=literal_is_html, catalog=catalog)}, "")
    if not text:
        raise TemplateError("give the text, or a mapping of languages such as {da: …, en: …}")
    versions: dict[str, Template] = {}
    for language, source in text.items():
        if not re.fullmatch(r"[a-z]{2,3}", language):
            raise TemplateError(f"'{language}' is not a language code such as da or en")
        if languages and language not in languages:
            raise TemplateError(f"'{language}' is not one of the shop's languages ({', '.join(languages)})"
                                f"{did_you_mean(language, languages)}")
        versions[language] = compile_template(source, literal_is_html=literal_is_html, catalog=catalog)
    return LangText(versions, fallback)
