"""device.*: the User-Agent, parsed once per distinct string."""

from __future__ import annotations

import pytest

from smalldata.signals.device import MAX_USER_AGENT, PARSER, UserAgentParser

from .helpers import request

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.0 Mobile/15E148 Safari/604.1")
IPAD = ("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/16.6 Mobile/15E148 Safari/604.1")
ANDROID_PHONE = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "Chrome/120.0.6099.144 Mobile Safari/537.36")
ANDROID_TABLET = ("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/120.0.0.0 Safari/537.36")
WINDOWS_CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/120.0.0.0 Safari/537.36")
MAC_SAFARI = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/17.1 Safari/605.1.15")
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
CURL = "curl/8.4.0"

TABLE = [
    (IPHONE, "mobile", "iOS", "Mobile Safari", False, True),
    (IPAD, "tablet", "iOS", "Mobile Safari", False, True),
    (ANDROID_PHONE, "mobile", "Android", "Chrome Mobile", False, True),
    (ANDROID_TABLET, "tablet", "Android", "Chrome", False, True),
    (WINDOWS_CHROME, "desktop", "Windows", "Chrome", False, False),
    (MAC_SAFARI, "desktop", "Mac OS X", "Safari", False, False),
    (GOOGLEBOT, "bot", None, "Googlebot", True, False),
    (CURL, "other", None, "curl", False, False),
]


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    PARSER.clear()


@pytest.mark.parametrize(("user_agent", "kind", "os", "browser", "is_bot", "is_touch"), TABLE)
def test_device_from_user_agent(
    user_agent: str, kind: str, os: str | None, browser: str | None, is_bot: bool, is_touch: bool
) -> None:
    signals = request("/", headers={"user-agent": user_agent})
    assert signals.namespace("device") == {
        "device.type": kind,
        "device.os": os,
        "device.browser": browser,
        "device.is_bot": is_bot,
        "device.is_touch": is_touch,
    }


@pytest.mark.parametrize(("user_agent", "kind", "os", "browser", "is_bot", "is_touch"), TABLE)
def test_plain_user_agents_and_the_rust_accelerator_agree(
    user_agent: str, kind: str, os: str | None, browser: str | None, is_bot: bool, is_touch: bool
) -> None:
    plain = UserAgentParser()
    plain._fast_loaded = True  # as if ua-parser-rs were not installed
    assert plain.parse(user_agent) == UserAgentParser().parse(user_agent)
    assert plain.parse(user_agent)["type"] == kind


@pytest.mark.parametrize("user_agent", [None, "", "   "])
def test_missing_or_empty_user_agent_is_unknown(user_agent: str | None) -> None:
    headers = {"user-agent": user_agent} if user_agent is not None else {}
    assert set(request("/", headers=headers).namespace("device").values()) == {None}


def test_a_huge_user_agent_is_cut_before_parsing_and_caching() -> None:
    huge = IPHONE + "x" * 1_000_000
    assert request("/", headers={"user-agent": huge}).get("device.type") == "mobile"
    assert all(len(key) <= MAX_USER_AGENT for key in PARSER.cache)


def test_a_non_utf8_user_agent_is_handled() -> None:
    signals = request("/")
    signals.ctx.scope["headers"] = [(b"user-agent", b"Mozilla/5.0 \xff\xfe\xc3( (Windows NT 10.0)")]
    assert signals.get("device.type") in {"desktop", "other"}


def test_each_distinct_user_agent_is_parsed_once() -> None:
    for _ in range(5):
        request("/", headers={"user-agent": IPHONE}).get("device.type")
    request("/", headers={"user-agent": GOOGLEBOT}).get("device.type")
    assert PARSER.cold_parses == 2


def test_the_cache_is_bounded() -> None:
    parser = UserAgentParser(maxsize=3)
    for i in range(10):
        parser.parse(f"{CURL} build{i}")
    assert len(parser.cache) == 3


def test_cached_results_cannot_be_changed_by_a_caller() -> None:
    first = PARSER.parse(IPHONE)
    first["type"] = "desktop"
    assert PARSER.parse(IPHONE)["type"] == "mobile"


def test_warm_up_loads_the_parser_without_filling_the_cache() -> None:
    parser = UserAgentParser()
    parser.warm_up()
    assert parser.cold_parses == 0 and len(parser.cache) == 0
    assert parser.parse(IPHONE)["type"] == "mobile"


def test_a_full_cache_forgets_the_least_recently_used_user_agent() -> None:
    parser = UserAgentParser(maxsize=2)
    parser.parse(IPHONE)
    parser.parse(GOOGLEBOT)
    parser.parse(IPHONE)  # used again: GOOGLEBOT is now the least recent
    parser.parse(CURL)

    assert set(parser.cache) == {IPHONE, CURL}
    assert parser.cold_parses == 3
