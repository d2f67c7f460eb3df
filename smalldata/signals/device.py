"""``device.*`` from the ``User-Agent`` header, in two parts that cost very different amounts.

- ``device.type``, ``device.is_bot`` and ``device.is_touch`` come from a cheap
  classification of the string (a few substring tests and one bounded regular
  expression, about a microsecond), helped by the ``Sec-CH-UA-Mobile`` client hint
  when the browser sends one. A ruleset that reads only these never parses the
  User-Agent fully.
- ``device.os`` and ``device.browser`` come from a full parse with ``ua-parser``
  (the uap-core regexes: ~30 µs with google-re2, ~10 µs with the ``ua-parser-rs``
  accelerator of ``pip install smalldata[fast]``), only when a rule reads them.

Both are remembered by User-Agent string in bounded memos, so a returning browser
costs a dictionary lookup. Strings are cut at :data:`MAX_USER_AGENT` characters first.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import re2

from smalldata.signals.spec import Group, Namespace, signal

if TYPE_CHECKING:
    from smalldata.signals.request import Request, RequestSignals

MAX_USER_AGENT = 512
CACHE_SIZE = 10_000
K = TypeVar("K")

DEVICE_TYPES = ("mobile", "tablet", "desktop", "bot", "other")  # what classify() answers
TYPE_NAMES = ("device.type", "device.is_bot", "device.is_touch")
SOFTWARE_NAMES = ("device.os", "device.browser")
_NO_TYPE: Mapping[str, Any] = dict.fromkeys(TYPE_NAMES)
_NO_SOFTWARE: Mapping[str, Any] = dict.fromkeys(SOFTWARE_NAMES)

# Crawlers, link previewers and monitors name themselves; "bot" as a word ends most of their names.
# RE2 matches all of these in one linear pass (Python's re tries each at every position: 20x slower).
_BOT = re2.compile(
    r"(?i)bot\b|bot[/_-]|crawl|spider|slurp|archiver|mediapartners|externalhit|facebookcatalog|feedfetcher|"
    r"bingpreview|google-(?:read-aloud|inspectiontool)|lighthouse|headlesschrome|phantomjs|pingdom|"
    r"whatsapp|embedly|vkshare|skypeuripreview|qwantify|yahoo! slurp|baiduspider|petalsearch|"
    r"ahrefs|semrush|mj12|dotbot|bytespider|gptbot|ccbot|claudebot|perplexity|applebot|yandex(?:bot|images|metrika|direct|favicons)",
)
_TABLETS = ("iPad", "Tablet", "Kindle", "Silk/", "PlayBook")
_ANDROID_TABLET = re.compile(r"\bKF[A-Z]{2,4}\b|Nexus (?:7|9|10)\b|SM-[TPX]\d")  # Fire, Nexus and Galaxy Tab models
_PHONES = ("Mobi", "iPhone", "iPod", "Windows Phone", "BlackBerry", "BB10", "Opera Mini", "J2ME", "MIDP", "Symbian")
_DESKTOPS = ("Windows NT", "Macintosh", "X11", "Linux", "CrOS", "FreeBSD", "OpenBSD")


def classify(user_agent: str, mobile_hint: str | None = None) -> str:
    """The kind of device: ``bot``, ``tablet``, ``mobile``, ``desktop`` or ``other``.

    ``mobile_hint`` is the ``Sec-CH-UA-Mobile`` header: Chromium sends ``?1`` on phones,
    where its reduced User-Agent no longer names the device.
    """
    if _BOT.search(user_agent):
        return "bot"
    android = "Android" in user_agent
    if _has(user_agent, _TABLETS) or (android and _ANDROID_TABLET.search(user_agent)):
        return "tablet"
    if mobile_hint == "?1":
        return "mobile"
    if "Macintosh" in user_agent:  # an iPad asking for desktop pages says "Macintosh ... Mobile/"
        return "desktop"
    if android:  # Android without "Mobile" is a tablet: the rule Android browsers follow
        return "mobile" if "Mobi" in user_agent else "tablet"
    if _has(user_agent, _PHONES):
        return "mobile"
    if _has(user_agent, _DESKTOPS):
        return "desktop"
    return "other"


def _has(text: str, markers: tuple[str, ...]) -> bool:
    for marker in markers:  # noqa: SIM110 - a loop, not any(): no generator per call
        if marker in text:
            return True
    return False


def type_values(user_agent: str, mobile_hint: str | None = None) -> dict[str, Any]:
    """``device.type``, ``device.is_bot`` and ``device.is_touch`` for one User-Agent."""
    kind = classify(user_agent, mobile_hint)
    touch = kind in ("mobile", "tablet") or (kind == "desktop" and "Touch" in user_agent)
    return {"device.type": kind, "device.is_bot": kind == "bot", "device.is_touch": touch}


class DeviceType:
    """The provider of ``device.type``, ``device.is_bot`` and ``device.is_touch``."""

    def __init__(self, cache_size: int = CACHE_SIZE) -> None:
        self.cache = _Memo[tuple[str, str | None]](cache_size)
        self.classified = 0  # cache misses (tests and benchmarks read it)

    def __call__(self, request: Request, signals: RequestSignals) -> Mapping[str, Any]:
        return self.of(request)

    def of(self, request: Request) -> Mapping[str, Any]:
        """The three values for the request's User-Agent (remembered by User-Agent)."""
        user_agent = request.header(b"user-agent")
        if not user_agent or not user_agent.strip():
            return _NO_TYPE
        key = (user_agent[:MAX_USER_AGENT], request.header(b"sec-ch-ua-mobile"))
        found = self.cache.get(key)
        if found is None:
            self.classified += 1
            found = self.cache.put(key, type_values(*key))
        return found

    def is_bot(self, request: Request) -> bool:
        """Whether the request's User-Agent names a crawler, a link previewer or a monitor."""
        return bool(self.of(request)["device.is_bot"])

    def clear(self) -> None:
        """Forget every classification (tests)."""
        self.cache.clear()
        self.classified = 0


class DeviceSoftware:
    """The provider of ``device.os`` and ``device.browser``: a full parse, remembered by string.

    ``cold_parses`` counts cache misses (tests and benchmarks read it).
    """

    def __init__(self, cache_size: int = CACHE_SIZE) -> None:
        self.cache = _Memo[str](cache_size)
        self.cold_parses = 0
        self._parser: Any = None
        self._lock = threading.Lock()

    def __call__(self, request: Request, signals: RequestSignals) -> Mapping[str, Any]:
        return self.parse(request.header(b"user-agent"))

    def parse(self, user_agent: str | None) -> Mapping[str, Any]:
        """``device.os`` and ``device.browser`` of a User-Agent (shared: read it, never change it)."""
        if not user_agent or not user_agent.strip():
            return _NO_SOFTWARE
        key = user_agent[:MAX_USER_AGENT]  # a hostile megabyte header never reaches the parser or the memo
        found = self.cache.get(key)
        if found is None:
            self.cold_parses += 1
            found = self.cache.put(key, self._parse(key))
        return found

    def warm_up(self) -> None:
        """Load the parser now (a few tenths of a second) rather than on the first request."""
        self._parse("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36")

    def clear(self) -> None:
        """Forget every parse (tests)."""
        self.cache.clear()
        self.cold_parses = 0

    def _parse(self, user_agent: str) -> dict[str, Any]:
        from ua_parser import Domain

        result = self._loaded()(user_agent, Domain.OS | Domain.USER_AGENT)
        os, browser = result.os, result.user_agent
        return {
            "device.os": _family(os.family if os is not None else None),
            "device.browser": _family(browser.family if browser is not None else None),
        }

    def _loaded(self) -> Any:
        if self._parser is None:
            with self._lock:
                if self._parser is None:
                    self._parser = _best_parser()
        return self._parser


def _best_parser() -> Any:
    """ua-parser's best resolver here: ua-parser-rs when installed, else google-re2, else plain Python."""
    from ua_parser import BestAvailableResolver, Parser, load_lazy_builtins

    return Parser(BestAvailableResolver(load_lazy_builtins()))


class _Memo(dict[Any, Mapping[str, Any]], Generic[K]):
    """Answers by User-Agent, at most ``size`` of them (the oldest go first when full)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = max(1, size)

    def put(self, key: K, value: Mapping[str, Any]) -> Mapping[str, Any]:
        if len(self) >= self.size:
            with contextlib.suppress(StopIteration, KeyError, RuntimeError):  # another thread won the race
                del self[next(iter(self))]
        self[key] = value
        return value


def _family(name: str | None) -> str | None:
    return None if not name or name == "Other" else name


TYPES = DeviceType()
"""The process-wide classifier of ``device.type`` (and its memo)."""

SOFTWARE = DeviceSoftware()
"""The process-wide parser of ``device.os`` and ``device.browser`` (and its memo)."""


#: The ``device`` namespace (see :mod:`smalldata.signals.spec`): from the request's headers, so a page
#: reading a name varies on the headers of its group.
NAMESPACE = Namespace(
    "device",
    signals=(
        signal("device.type", "text", "kind of device", choices=DEVICE_TYPES),
        signal("device.os", "text", "operating system family"),
        signal("device.browser", "text", "browser family"),
        signal("device.is_bot", "bool", "a crawler or bot"),
        signal("device.is_touch", "bool", "a touch device"),
    ),
    groups=(
        Group(TYPE_NAMES, lambda parts: TYPES, vary=("User-Agent", "Sec-CH-UA-Mobile")),
        Group(SOFTWARE_NAMES, lambda parts: SOFTWARE, vary=("User-Agent",)),
    ),
)
