"""Cookie and in-memory stores: what a browser experiences across requests."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from smalldata.decision import Decision
from smalldata.state import (
    CookieStore,
    MemoryStore,
    RedisStore,
    StateSettings,
    StateStore,
    VisitorState,
    make_store,
)
from smalldata.state.codec import CookieCodec

from .helpers import carries_only_counters, cookies_from, make_settings


async def _request(
    store: StateStore,
    jar: dict[str, str],
    at: datetime,
    *,
    user_id: str | None = None,
    product: str | None = None,
) -> VisitorState:
    """One page view: load, count, remember, save, and let the browser keep the cookie."""
    state = await store.load(jar, now=at, user_id=user_id)
    assert state is not None
    state.touch(at)
    state.record_page(product=product)
    jar.update(cookies_from(await store.save(state, secure=True, user_id=user_id)))
    return state


@pytest.fixture(params=["cookie", "memory"])
def store(request: pytest.FixtureRequest) -> StateStore:
    return make_store(make_settings(store=request.param))


async def test_a_visitor_without_a_cookie_is_new(store: StateStore, now: datetime) -> None:
    state = await store.load({}, now=now)

    assert state is not None
    assert state.is_new
    assert state.visits == 0


async def test_a_visitor_is_remembered_between_requests(store: StateStore, now: datetime) -> None:
    jar: dict[str, str] = {}
    first = await _request(store, jar, now, product="p1")
    await _request(store, jar, now + timedelta(days=1), product="p2")

    state = await _request(store, jar, now + timedelta(days=1, minutes=5))

    assert state.id == first.id
    assert not state.is_new
    assert (state.visits, state.pageviews, state.returning) == (2, 2, True)
    assert state.history.products == ["p2", "p1"]


@pytest.mark.parametrize("cookie", ["garbage", "v1.AAAA.AAAA", "", "v1." + "A" * 5000])
async def test_a_bad_cookie_is_a_new_visitor(store: StateStore, now: datetime, cookie: str) -> None:
    state = await store.load({"sd_visitor": cookie}, now=now)

    assert state is not None
    assert state.is_new


async def test_the_cookie_is_secure_only_over_https(store: StateStore, now: datetime) -> None:
    state = VisitorState.new(now)

    (https,) = await store.save(state, secure=True)
    (http,) = await store.save(state, secure=False)

    assert https.endswith("; Secure")
    assert "Secure" not in http
    assert "HttpOnly" in http and "SameSite=Lax" in http and "Path=/" in http


async def test_cookie_store_keeps_the_whole_state_in_the_cookie(now: datetime) -> None:
    settings = make_settings()
    jar: dict[str, str] = {}
    state = await _request(CookieStore(settings), jar, now, product="p1")

    fresh_store = CookieStore(settings)  # another worker: nothing shared but the cookie
    again = await fresh_store.load(jar, now=now)

    assert again is not None
    assert again.id == state.id
    assert again.history.products == ["p1"]


async def test_memory_store_cookie_carries_only_the_visitor_id_and_counters(now: datetime) -> None:
    settings = make_settings()
    jar: dict[str, str] = {}
    store = MemoryStore(settings)
    await _request(store, jar, now, product="p1")
    state = await _request(store, jar, now + timedelta(minutes=1), product="p2")  # back with the cookie

    assert carries_only_counters(CookieCodec(settings.signing_keys()).loads(jar["sd_visitor"]), state.id)


async def test_a_rotated_key_keeps_the_visitor(now: datetime) -> None:
    jar: dict[str, str] = {}
    old = await _request(CookieStore(make_settings(secret_keys=["old-key-0123456789abc"])), jar, now)

    rotated = CookieStore(make_settings(secret_keys=["new-key-0123456789abc", "old-key-0123456789abc"]))
    state = await rotated.load(jar, now=now)

    assert state is not None
    assert state.id == old.id


async def test_a_cookie_from_a_server_store_keeps_its_id_in_the_cookie_store(now: datetime) -> None:
    settings = make_settings()
    jar: dict[str, str] = {}
    state = await _request(MemoryStore(settings), jar, now)

    moved = await CookieStore(settings).load(jar, now=now)

    assert moved is not None
    assert moved.id == state.id  # experiments keep their assignment when the store changes


async def test_memory_store_follows_a_user_to_another_device(now: datetime) -> None:
    store = MemoryStore(make_settings())
    phone: dict[str, str] = {}
    laptop: dict[str, str] = {}
    await _request(store, phone, now, user_id="u-42", product="p1")

    state = await _request(store, laptop, now + timedelta(hours=1), user_id="u-42", product="p2")

    assert state.history.products == ["p2", "p1"]


async def test_tags_and_caps_are_saved(store: StateStore, now: datetime) -> None:
    jar: dict[str, str] = {}
    state = await store.load(jar, now=now)
    assert state is not None
    state.touch(now)
    state.apply(Decision(tags=["vip"], cap_hits=["chat"]), now)
    jar.update(cookies_from(await store.save(state, secure=False)))

    again = await store.load(jar, now=now)

    assert again is not None
    assert again.tags == ["vip"]
    assert again.caps_at(now).count("chat", "day") == 1


def test_make_store_picks_the_configured_store() -> None:
    assert isinstance(make_store(make_settings()), CookieStore)
    assert isinstance(make_store(make_settings(store="memory")), MemoryStore)
    assert isinstance(make_store(make_settings(store="redis://127.0.0.1:1/0")), RedisStore)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        pytest.param({"store": "mongodb://x"}, "unknown store 'mongodb://x'", id="store"),
        pytest.param({"secret_keys": ["short"]}, "at least 16 characters", id="short-key"),
        pytest.param({"max_age_days": 1000}, "less than or equal to 400", id="max-age"),
        pytest.param({"cookie": "bad name;"}, "cookie name", id="cookie-name"),
        pytest.param({"visit_timeout": 30}, "Extra inputs", id="unknown-field"),
    ],
)
def test_bad_settings_are_explained(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        StateSettings.model_validate(values)


def test_missing_secret_key_warns_loudly_once_and_says_how_to_set_one(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smalldata.state import config

    monkeypatch.delenv("SMALLDATA_SECRET_KEYS", raising=False)
    monkeypatch.setattr(config, "_warned_of_dev_key", False)  # as in a new process

    with caplog.at_level(logging.WARNING, logger="smalldata.state"):
        keys = StateSettings().signing_keys()
        StateSettings().signing_keys()  # the cookie store and the preview links both ask

    assert len(keys) == 1
    assert caplog.text.count("NO SECRET KEY") == 1
    assert "export SMALLDATA_SECRET_KEYS=" in caplog.text
    assert "state.secret_keys" not in caplog.text  # secrets never go in the settings file


def test_secret_keys_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMALLDATA_SECRET_KEYS", "first-key-0123456789, second-key-0123456789")

    assert StateSettings().signing_keys() == (b"first-key-0123456789", b"second-key-0123456789")


async def test_a_search_with_a_lone_surrogate_is_saved_and_the_visitor_moves_on(
    store: StateStore, now: datetime
) -> None:
    # "%ED%A0%80" in a query string can decode to one; the state must still be written, or it is stuck
    jar: dict[str, str] = {}
    state = await store.load(jar, now=now)
    state.touch(now)
    state.record_page(search="red \ud800 shoes")
    jar.update(cookies_from(await store.save(state, secure=False)))
    again = await _request(store, jar, now + timedelta(days=1), product="p1")

    assert again.id == state.id
    assert again.visits == 2
    assert again.history.searches == ["red \ud800 shoes"]


async def test_of_two_visitor_cookies_the_one_that_verifies_is_used(store: StateStore, now: datetime) -> None:
    from smalldata.foundation.asgi import parse_cookies

    jar: dict[str, str] = {}
    first = await _request(store, jar, now, product="p1")
    for header in (f"sd_visitor=v1.forged.AAAA; sd_visitor={jar['sd_visitor']}",
                   f"sd_visitor={jar['sd_visitor']}; sd_visitor=v1.forged.AAAA"):  # fmt: skip
        state = await store.load(parse_cookies(header), now=now)
        assert state.id == first.id
        assert store.visitor_id(parse_cookies(header)) == first.id


async def test_a_long_cookie_header_keeps_the_visitor(store: StateStore, now: datetime) -> None:
    from smalldata.foundation.asgi import parse_cookies

    jar: dict[str, str] = {}
    first = await _request(store, jar, now)
    header = "; ".join(f"tracker{i}={'x' * 3000}" for i in range(8)) + f"; sd_visitor={jar['sd_visitor']}"
    assert len(header) > 16_384
    state = await store.load(parse_cookies(header), now=now)
    assert state.id == first.id
