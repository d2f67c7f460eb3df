"""``device.*`` from the ``User-Agent`` header.

Parsing a User-Agent with ``user-agents`` costs about a millisecond cold, so
results are cached by string in a bounded LRU. When the ``ua-parser-rs``
accelerator is installed (``pip install smalldata[fast]``), cold parses use
ua-parser 1.x's Rust-backed resolver instead of Python regexes; the
classification (mobile, tablet, bot, touch) is still ``user-agents``' own.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

from user_agents.parsers import (
    UserAgent,
    parse_browser,
    parse_device,
    parse_operating_system,
)

if TYPE_CHECKING:
    from smalldata.signals.context import RequestContext

MAX_USER_AGENT = 512
UNKNOWN: dict[str, Any] = dict.fromkeys(("type", "os", "browser", "is_bot", "is_touch"))


def device_signals(ctx: RequestContext) -> dict[str, Any]:
    """The ``device`` namespace for one request."""
    return PARSER.parse(ctx.headers.get("user-agent"))


class UserAgentParser:
    """Turns User-Agent strings into ``device`` signals, caching by string.

    ``cold_parses`` counts cache misses (tests and benchmarks read it).
    """

    def __init__(self, maxsize: int = 10_000) -> None:
        # A plain dict kept in recency order (a hit moves its entry last): cachetools' LRUCache
        # runs several Python calls per hit, and this runs on every page.
        self.cache: dict[str, dict[str, Any]] = {}
        self.maxsize = max(1, maxsize)
        self.cold_parses = 0
        self._lock = threading.Lock()
        self._fast: Any = None
        self._fast_loaded = False

    def parse(self, user_agent: str | None) -> dict[str, Any]:
        """``device`` signals for a User-Agent; missing or empty gives all unknown."""
        if not user_agent or not user_agent.strip():
            return dict(UNKNOWN)
        # a bound keeps hostile megabyte headers out of the parser and the cache keys
        key = user_agent[:MAX_USER_AGENT]
        cache = self.cache
        found = cache.pop(key, None)
        if found is None:
            found = self._classify(self._user_agent(key))
            self.cold_parses += 1
            if len(cache) >= self.maxsize:
                # the first key is the least recently used (errors: another thread won the race)
                with contextlib.suppress(StopIteration, KeyError, RuntimeError):
                    del cache[next(iter(cache))]
        cache[key] = found  # (re)inserted last: the most recently used
        return dict(found)

    def warm_up(self) -> None:
        """Load the parser now (about 0.1 s with ua-parser-rs) rather than on the first request."""
        self._user_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36")

    def clear(self) -> None:
        """Forget every cached parse (tests)."""
        self.cache.clear()
        self.cold_parses = 0

    def _user_agent(self, text: str) -> UserAgent:
        fast = self._fast_resolver()
        if fast is None:
            return UserAgent(text)
        # The resolver's three Rust extractors, called directly: its Python wrapper (enum flag
        # tests, result dataclasses) cost as much again as the extraction on a cold parse.
        agent: UserAgent = UserAgent.__new__(UserAgent)
        agent.ua_string = text
        if browser := fast.ua.extract(text):
            agent.browser = parse_browser(browser.family, browser.major, browser.minor, browser.patch)
        else:
            agent.browser = parse_browser("Other")
        if os := fast.os.extract(text):
            agent.os = parse_operating_system(os.family, os.major, os.minor, os.patch)
        else:
            agent.os = parse_operating_system("Other")
        if device := fast.de.extract(text):
            agent.device = parse_device(device.family, device.brand, device.model)
        else:
            agent.device = parse_device("Other", None, None)
        return agent

    def _fast_resolver(self) -> Any:
        """ua-parser 1.x's Rust resolver when ``ua_parser_rs`` is importable, else None (loaded once)."""
        if self._fast_loaded:
            return self._fast
        with self._lock:
            if not self._fast_loaded:
                self._fast = _load_fast_resolver()
                self._fast_loaded = True
        return self._fast

    @staticmethod
    def _classify(agent: UserAgent) -> dict[str, Any]:
        if agent.is_bot:
            kind = "bot"
        elif agent.is_tablet:
            kind = "tablet"
        elif agent.is_mobile:
            kind = "mobile"
        elif agent.is_pc:
            kind = "desktop"
        else:
            kind = "other"
        return {
            "type": kind,
            "os": _family(agent.os.family),
            "browser": _family(agent.browser.family),
            "is_bot": bool(agent.is_bot),
            "is_touch": bool(agent.is_touch_capable),
        }


def _family(name: str | None) -> str | None:
    return None if not name or name == "Other" else name


def _load_fast_resolver() -> Any:
    try:
        from ua_parser import load_lazy_builtins
        from ua_parser.regex import Resolver
    except ImportError:  # no ua-parser 1.x or no ua-parser-rs: plain user-agents
        return None
    return Resolver(load_lazy_builtins())


PARSER = UserAgentParser()
"""The process-wide parser and cache used by :func:`device_signals`."""
