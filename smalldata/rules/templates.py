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

from smalldata.foundation.problems import did_you_mean
from smalldata.rules.when import unknown_signal_message
from smalldata.signals.base import Signals, read_signal
from smalldata.signals.catalog import BUILT_IN, SignalCatalog, SignalRef

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
    money: bool = False  # ``{basket.total:money}``: an amount in the basket's currency
    number: bool = False  # a number (or list) the page's language writes its own way

    @classmethod
    def of(cls, ref: SignalRef, *, money: bool = False) -> Placeholder:
        return cls(ref.name, ref.base, ref.key, ref.missing, money, ref.kind in ("number", "list"))

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

    def render(self, signals: Signals, *, escape: bool = True, language: str | None = None) -> str:
        """The filled text, numbers written as ``language`` writes them; raises :class:`Unknown` when a
        placeholder has no value."""
        out: list[str] = []
        for part in self.parts:
            if type(part) is str:
                out.append(part)
                continue
            assert isinstance(part, Placeholder)
            value = part.value(signals)
            if value is None or value == "" or value == []:
                raise Unknown(part.name)
            if part.money and _is_number(value):
                text = format_money(value, signals.get("basket.currency"), language)
            else:
                text = format_value(value, language)
            out.append(html.escape(text) if escape else text)
        return "".join(out)


# (thousands, decimal) separators by language; others write numbers as English does
_SEPARATORS = {"da": (".", ","), "de": (".", ","), "nl": (".", ","), "es": (".", ","), "it": (".", ","),
               "sv": ("\u00a0", ","), "nb": ("\u00a0", ","), "no": ("\u00a0", ","), "fi": ("\u00a0", ","),
               "fr": ("\u202f", ",")}  # fmt: skip
# how an amount is written with its currency, by (currency, language); else "<amount> <code>"
_MONEY = {("DKK", "da"): "{} kr.", ("DKK", "en"): "DKK {}", ("SEK", "sv"): "{} kr", ("NOK", "nb"): "{} kr",
          ("EUR", "en"): "€{}", ("EUR", "da"): "{} €", ("EUR", "de"): "{} €", ("USD", "en"): "${}",
          ("GBP", "en"): "£{}"}  # fmt: skip


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def format_number(value: float, language: str | None, decimals: int | None = None) -> str:
    """``2450`` → ``"2.450"`` (da) or ``"2,450"`` (en); a fraction with two decimals (``"12,50"`` in da)."""
    if decimals is None:
        decimals = 0 if float(value).is_integer() else 2
    written = f"{value:,.{decimals}f}"  # "2,450.00"
    thousands, decimal = _SEPARATORS.get(language or "", (",", "."))
    return written.replace(",", "\0").replace(".", decimal).replace("\0", thousands)


def format_money(value: float, currency: Any, language: str | None) -> str:
    """An amount with its currency as ``language`` writes it: ``"60,00 kr."`` (da), ``"DKK 60.00"`` (en)."""
    amount = format_number(value, language, decimals=2)
    if not isinstance(currency, str) or not currency:
        return amount
    code = currency.upper()
    return _MONEY.get((code, language or ""), "{} " + code).format(amount)


def format_value(value: Any, language: str | None = None) -> str:
    """A value as a shopper reading ``language`` should read it (numbers grouped and separated their way)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return format_number(value, language)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(format_value(v, language) for v in value)
    return str(value)


def compile_template(source: str, *, literal_is_html: bool, catalog: SignalCatalog = BUILT_IN) -> Template:
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
        name, _, style = name.strip().partition(":")
        name, style = name.strip(), style.strip()
        if not name:
            raise TemplateError("empty placeholder '{}'; name a signal such as {user.first_name}, "
                                "or write '{{}}' for literal braces")
        ref = catalog.resolve(name)
        if ref is None:
            raise TemplateError(f"{unknown_signal_message(name, catalog)} (in placeholder '{{{name}}}')")
        if style and (style != "money" or ref.kind != "number"):
            raise TemplateError(f"'{{{name}:{style}}}': the one format is ':money', for an amount such as "
                                "{basket.total:money}")
        parts.append(Placeholder.of(ref, money=style == "money"))
        reads.add(ref.base)
        if style:
            reads.add("basket.currency")
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
        return reads | {"page.language"} if self._by_language else reads

    @property
    def _by_language(self) -> bool:
        """Does the page's language change this text: a version per language, or a number to write its way?"""
        return len(self.versions) > 1 or any(
            isinstance(part, Placeholder) and part.number for t in self.versions.values() for part in t.parts)

    def choose(self, language: str | None) -> Template:
        if language is not None and language in self.versions:
            return self.versions[language]
        if self.fallback in self.versions:
            return self.versions[self.fallback]
        return next(iter(self.versions.values()))

    def render(self, signals: Signals, *, escape: bool = True) -> str:
        language = signals.get("page.language") if self._by_language else None
        template = self.choose(language)
        # numbers are written as the chosen version's language writes them (one text for all: the page's)
        written = next((code for code, version in self.versions.items() if version is template and code), language)
        return template.render(signals, escape=escape, language=written)


def compile_text(text: str | dict[str, str], *, fallback: str, literal_is_html: bool = False,
                 languages: tuple[str, ...] = (), catalog: SignalCatalog = BUILT_IN) -> LangText:
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
