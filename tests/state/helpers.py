"""Small builders shared by the state tests."""

from __future__ import annotations

from datetime import datetime

from smalldata.decision import Decision, Exposure
from smalldata.state import StateSettings, VisitorState


def make_settings(**values: object) -> StateSettings:
    values.setdefault("secret_keys", ["test-secret-key-0123456789"])
    return StateSettings.model_validate(values)


def cookies_from(set_cookies: list[str]) -> dict[str, str]:
    """What the browser sends back after receiving these ``Set-Cookie`` headers."""
    jar: dict[str, str] = {}
    for header in set_cookies:
        name, _, value = header.split(";", 1)[0].partition("=")
        jar[name] = value
    return jar


def full_state(now: datetime) -> VisitorState:
    """A visitor with every bounded collection filled to its limit (the largest cookie)."""
    state = VisitorState.new(now)
    state.touch(now)
    for i in range(60):
        state.record_page(
            product=f"sku-{100000 + i * 37}",
            category=f"women/shoes-{i}",
            search=f"red running shoes size {i}",
        )
    state.set_campaign(
        {
            "source": "newsletter",
            "medium": "email",
            "name": "black-friday-2026",
            "referrer_domain": "mail.google.com",
            "landing_path": "/c/women/shoes",
            "email": True,
        }
    )
    decision = Decision(
        tags=[f"tag-{i}" for i in range(30)],
        cap_hits=[f"capped-rule-{i}" for i in range(8)],
        exposures=[Exposure(f"experiment-{i}", "b", f"rule-{i}") for i in range(20)],
        ruleset_version="0123abcd",
    )
    state.apply(decision, now)
    return state


CORE_KEYS = {"i", "f", "n", "p", "l", "s", "q", "c", "k"}


def carries_only_counters(data: dict[str, object] | None, visitor_id: str) -> bool:
    """A server store's cookie: the visitor id, visit and cap counters, never history, tags or exposures."""
    return data is not None and data.get("i") == visitor_id and data.get("k") == 1 and set(data) <= CORE_KEYS
