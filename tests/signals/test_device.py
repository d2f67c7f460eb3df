"""device.*: the User-Agent, parsed once per distinct string."""

from __future__ import annotations

import pytest

from smalldata.signals.device import MAX_USER_AGENT, SOFTWARE, TYPES, DeviceSoftware, classify

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
    SOFTWARE.clear()
    TYPES.clear()


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


@pytest.mark.parametrize(("user_agent", "browser"), [(IPHONE, "Mobile Safari"), (GOOGLEBOT, "Googlebot")])
def test_every_parser_ua_parser_can_use_reads_the_same_families(user_agent: str, browser: str) -> None:
    from ua_parser import BasicResolver, Domain, Parser, Re2Resolver, load_builtins, load_lazy_builtins

    resolvers = [BasicResolver(load_builtins()), *([Re2Resolver(load_lazy_builtins())] if Re2Resolver else [])]
    for resolver in resolvers:
        assert Parser(resolver)(user_agent, Domain.USER_AGENT).user_agent.family == browser  # type: ignore[union-attr]
    assert DeviceSoftware().parse(user_agent)["device.browser"] == browser


MOBILE_CHROME_REDUCED = ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
                         "Chrome/120.0.0.0 Safari/537.36")


@pytest.mark.parametrize(("hint", "kind"), [("?1", "mobile"), ("?0", "tablet"), (None, "tablet")])
def test_the_mobile_client_hint_tells_a_phone_from_a_tablet(hint: str | None, kind: str) -> None:
    # Chrome's reduced User-Agent no longer says "Mobile" for every phone: Sec-CH-UA-Mobile does
    headers = {"user-agent": MOBILE_CHROME_REDUCED, **({"sec-ch-ua-mobile": hint} if hint else {})}
    assert request("/", headers=headers).get("device.type") == kind


def test_the_cheap_classification_agrees_with_user_agents_on_real_browsers() -> None:
    from user_agents.parsers import UserAgent

    from smalldata.tools.bench.traffic import real_user_agents

    def reference(agent: UserAgent) -> str:
        if agent.is_bot:
            return "bot"
        if agent.is_tablet:
            return "tablet"
        if agent.is_mobile:
            return "mobile"
        return "desktop" if agent.is_pc else "other"

    agents = real_user_agents()
    differ = [text for text in agents if classify(text) != reference(UserAgent(text))]
    assert len(agents) > 500
    # the few that differ are phones user-agents calls tablets ("Mobile DuckDuckGo" lacks "Mobile Safari")
    assert len(differ) <= len(agents) // 100, differ
    assert all("Mobile" in text for text in differ)


@pytest.mark.parametrize("user_agent", [
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.129 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; +https://openai.com/gptbot)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Twitterbot/1.0", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
])  # fmt: skip
def test_crawlers_and_link_previewers_are_bots(user_agent: str) -> None:
    signals = request("/", headers={"user-agent": user_agent})
    assert (signals.get("device.type"), signals.get("device.is_bot"), signals.get("device.is_touch")) == (
        "bot", True, False)  # fmt: skip


@pytest.mark.parametrize("user_agent", [None, "", "   "])
def test_missing_or_empty_user_agent_is_unknown(user_agent: str | None) -> None:
    headers = {"user-agent": user_agent} if user_agent is not None else {}
    assert set(request("/", headers=headers).namespace("device").values()) == {None}


def test_a_huge_user_agent_is_cut_before_parsing_and_caching() -> None:
    huge = IPHONE + "x" * 1_000_000
    signals = request("/", headers={"user-agent": huge})
    assert (signals.get("device.type"), signals.get("device.os")) == ("mobile", "iOS")
    assert all(len(key) <= MAX_USER_AGENT for key in SOFTWARE.cache)
    assert all(len(key[0]) <= MAX_USER_AGENT for key in TYPES.cache)


def test_a_non_utf8_user_agent_is_handled() -> None:
    signals = request("/")
    signals.request.scope["headers"] = [(b"user-agent", b"Mozilla/5.0 \xff\xfe\xc3( (Windows NT 10.0)")]
    assert signals.get("device.type") in {"desktop", "other"}


def test_each_distinct_user_agent_is_parsed_once() -> None:
    for _ in range(5):
        request("/", headers={"user-agent": IPHONE}).get("device.os")
    request("/", headers={"user-agent": GOOGLEBOT}).get("device.os")
    assert SOFTWARE.cold_parses == 2


def test_the_cache_is_bounded() -> None:
    parser = DeviceSoftware(cache_size=3)
    for i in range(10):
        parser.parse(f"{CURL} build{i}")
    assert len(parser.cache) == 3


def test_warm_up_loads_the_parser_without_filling_the_cache() -> None:
    parser = DeviceSoftware()
    parser.warm_up()
    assert parser.cold_parses == 0 and len(parser.cache) == 0
    assert parser.parse(IPHONE)["device.os"] == "iOS"


def test_a_full_cache_forgets_the_oldest_user_agent() -> None:
    parser = DeviceSoftware(cache_size=2)
    parser.parse(IPHONE)
    parser.parse(GOOGLEBOT)
    parser.parse(CURL)

    assert set(parser.cache) == {GOOGLEBOT, CURL}
    assert parser.cold_parses == 3
