"""RemoteSource: strict timeout, TTL cache, single flight, circuit breaker; failures are unknown."""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import pytest
import respx

from smalldata.foundation.remote import CircuitBreaker, RemoteSettings, RemoteSource

URL = "https://crm.example/profiles/{id}"
PROFILE = {"id": "42", "first_name": "Ada"}


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def source(clock: FakeClock | None = None, **config: object) -> RemoteSource:
    return RemoteSource("profile", URL, RemoteSettings.model_validate(config), clock=clock or time.monotonic)


def slow(seconds: float, then: httpx.Response) -> object:
    async def answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(seconds)
        return then

    return answer


@respx.mock
async def test_success_returns_the_json_object_and_caches_it() -> None:
    route = respx.get("https://crm.example/profiles/42").respond(json=PROFILE)
    crm = source()
    assert await crm.fetch("42") == PROFILE
    assert await crm.fetch("42") == PROFILE
    assert route.call_count == 1


@respx.mock
async def test_a_slow_service_is_cut_off_at_the_timeout() -> None:
    respx.get("https://crm.example/profiles/42").mock(side_effect=slow(1.0, httpx.Response(200, json=PROFILE)))
    crm = source(timeout_ms=50)
    started = time.perf_counter()
    assert await crm.fetch("42") is None
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(500, text="oops"),
        httpx.Response(503),
        httpx.Response(200, text="{not json"),
        httpx.Response(200, json="just a string"),
        httpx.Response(302, headers={"location": "https://elsewhere.example/"}),
    ],
    ids=["500", "503", "malformed JSON", "not an object", "redirect"],
)
@respx.mock
async def test_errors_and_malformed_answers_are_unknown(response: httpx.Response) -> None:
    respx.get("https://crm.example/profiles/42").mock(return_value=response)
    assert await source().fetch("42") is None


@respx.mock
async def test_json_nested_too_deep_to_parse_is_a_failure_like_any_malformed_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    route = respx.get(url__regex=r"https://crm\.example/profiles/.*").respond(200, text="[" * 4096)
    crm = source(FakeClock(), failures_before_pause=3, pause_seconds=30)
    with caplog.at_level(logging.DEBUG):
        for i in range(5):
            assert await crm.fetch(str(i)) is None
        await asyncio.sleep(0)

    assert route.call_count == 3  # each counted as a failure: the breaker pauses the service
    assert [record.exc_info for record in caplog.records if record.exc_info] == []  # no traceback


@respx.mock
async def test_a_connection_error_is_unknown() -> None:
    respx.get("https://crm.example/profiles/42").mock(side_effect=httpx.ConnectError("refused"))
    assert await source().fetch("42") is None


@respx.mock
async def test_failures_are_not_cached_so_a_recovered_service_answers() -> None:
    delays = [1.0, 0.0]

    async def slow_then_fast(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(delays.pop(0))
        return httpx.Response(200, json=PROFILE)

    respx.get("https://crm.example/profiles/42").mock(side_effect=slow_then_fast)
    crm = source(timeout_ms=50, call_timeout_ms=100)
    assert await crm.fetch("42") is None
    await asyncio.sleep(0.1)  # the call outlasts call_timeout_ms: a failure
    assert await crm.fetch("42") == PROFILE
    assert delays == []  # both calls went out: the failure was not cached
    assert crm.breaker.failures == 0  # and the answer closed the count again


@respx.mock
async def test_an_answer_too_late_for_the_page_is_kept_for_the_next_one() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.1)
        return httpx.Response(200, json=PROFILE)

    route = respx.get("https://crm.example/profiles/42").mock(side_effect=slow)
    crm = source(timeout_ms=20)
    assert await crm.fetch("42") is None  # the page went on without it
    await asyncio.sleep(0.15)
    assert await crm.fetch("42") == PROFILE  # the next page has it, from the cache
    assert (route.call_count, crm.late, crm.breaker.failures) == (1, 1, 0)


@respx.mock
async def test_a_burst_of_answers_slower_than_a_page_waits_does_not_pause_a_healthy_service() -> None:
    async def busy(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.08)  # a healthy service under a burst: slower than the 20 ms a page waits
        return httpx.Response(200, json=PROFILE)

    respx.get(url__regex=r"https://crm\.example/profiles/\d+").mock(side_effect=busy)
    crm = source(timeout_ms=20, failures_before_pause=5)
    answers = await asyncio.gather(*(crm.fetch(str(n)) for n in range(20)))  # 20 new customers at once
    assert answers == [None] * 20
    await asyncio.sleep(0.15)
    assert crm.breaker.state == "closed"
    assert await crm.fetch("7") == PROFILE


async def test_the_client_is_made_at_start_up_not_on_the_first_page() -> None:
    from smalldata.signals.config import BasketSettings, UserSettings
    from smalldata.signals.sources import Sources

    sources = Sources.configured(UserSettings(profile_url="https://crm.example/profiles/{id}"), BasketSettings(), {})
    assert sources.profile is not None and not sources.profile.started
    await sources.start()
    assert sources.profile.started
    await sources.aclose()


@respx.mock
async def test_not_found_is_a_cached_answer_not_a_failure() -> None:
    route = respx.get("https://crm.example/profiles/7").respond(404)
    crm = source(failures_before_pause=1)
    assert await crm.fetch("7") is None
    assert await crm.fetch("7") is None
    assert route.call_count == 1
    assert crm.breaker.state == "closed"


@respx.mock
async def test_a_json_list_is_returned_as_items() -> None:
    respx.get("https://crm.example/profiles/b1").respond(json=[{"sku": "a"}])
    assert await source().fetch("b1") == {"items": [{"sku": "a"}]}


@respx.mock
async def test_the_id_is_url_quoted() -> None:
    route = respx.get("https://crm.example/profiles/a%2F..%2Fadmin%3Fx%3D1").respond(json=PROFILE)
    assert await source().fetch("a/../admin?x=1") == PROFILE
    assert route.called


@respx.mock
async def test_parallel_requests_for_one_user_make_one_fetch() -> None:
    route = respx.get("https://crm.example/profiles/42").mock(
        side_effect=slow(0.02, httpx.Response(200, json=PROFILE))
    )
    crm = source(timeout_ms=500)
    answers = await asyncio.gather(*(crm.fetch("42") for _ in range(20)))
    assert answers == [PROFILE] * 20
    assert route.call_count == 1


@respx.mock
async def test_parallel_requests_for_different_users_fetch_each() -> None:
    route = respx.get(url__regex=r"https://crm\.example/profiles/\d+").respond(json=PROFILE)
    crm = source()
    await asyncio.gather(*(crm.fetch(str(i)) for i in range(5)))
    assert route.call_count == 5


@respx.mock
async def test_one_cancelled_waiter_does_not_cancel_the_shared_fetch() -> None:
    respx.get("https://crm.example/profiles/42").mock(side_effect=slow(0.05, httpx.Response(200, json=PROFILE)))
    crm = source(timeout_ms=500)
    impatient = asyncio.ensure_future(crm.fetch("42"))
    patient = asyncio.ensure_future(crm.fetch("42"))
    await asyncio.sleep(0.01)
    impatient.cancel()
    assert await patient == PROFILE


@respx.mock
async def test_answers_expire_after_the_cache_time() -> None:
    route = respx.get("https://crm.example/profiles/42").respond(json=PROFILE)
    clock = FakeClock()
    crm = source(clock, cache_seconds=60)
    await crm.fetch("42")
    clock.now += 59
    await crm.fetch("42")
    clock.now += 2
    await crm.fetch("42")
    assert route.call_count == 2


class TickingClock(FakeClock):
    """A clock that moves on by itself each time it is read, as time does between two look-ups."""

    def __call__(self) -> float:
        self.now += 1
        return self.now


@respx.mock
async def test_an_answer_expiring_while_it_is_looked_up_is_fetched_again_not_an_error() -> None:
    route = respx.get("https://crm.example/profiles/42").respond(json=PROFILE)
    clock = TickingClock()
    crm = source(clock, cache_seconds=60)
    await crm.fetch("42")
    clock.now += 58  # fresh for the next read of the clock, expired for the one after it
    assert await crm.fetch("42") == PROFILE
    assert route.call_count <= 2


@respx.mock
async def test_the_circuit_breaker_pauses_calls_after_repeated_failures() -> None:
    route = respx.get(url__regex=r"https://crm\.example/profiles/.*").respond(500)
    clock = FakeClock()
    crm = source(clock, failures_before_pause=3, pause_seconds=30)
    for i in range(10):
        assert await crm.fetch(str(i)) is None
    assert route.call_count == 3
    assert crm.breaker.state == "open"


@respx.mock
async def test_after_the_pause_one_trial_call_decides() -> None:
    route = respx.get(url__regex=r"https://crm\.example/profiles/.*")
    route.respond(500)
    clock = FakeClock()
    crm = source(clock, failures_before_pause=2, pause_seconds=30)
    await crm.fetch("a")
    await crm.fetch("b")
    clock.now += 31
    assert await crm.fetch("c") is None  # the trial fails: paused again at once
    assert route.call_count == 3
    assert await crm.fetch("d") is None
    assert route.call_count == 3
    clock.now += 31
    route.respond(json=PROFILE)
    assert await crm.fetch("e") == PROFILE  # the trial succeeds: calls resume
    assert await crm.fetch("f") == PROFILE
    assert route.call_count == 5
    assert crm.breaker.state == "closed"


def test_breaker_lets_one_trial_through_when_half_open() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=1, cooldown=10, clock=clock)
    breaker.failure()
    assert breaker.allow() is False
    clock.now += 10
    assert breaker.state == "half-open"
    assert breaker.allow() is True
    assert breaker.allow() is False  # a second caller waits for the trial's outcome
    breaker.success()
    assert breaker.allow() is True


@respx.mock
async def test_configured_headers_are_sent() -> None:
    route = respx.get("https://crm.example/profiles/42").respond(json=PROFILE)
    await source(headers={"Authorization": "Bearer token"}).fetch("42")
    assert route.calls.last.request.headers["authorization"] == "Bearer token"


async def test_aclose_closes_its_own_client() -> None:
    crm = source()
    client = crm._http()
    await crm.aclose()
    assert client.is_closed


def test_a_source_keeps_working_when_each_request_runs_in_a_new_event_loop() -> None:
    crm = source(cache_seconds=0)
    with respx.mock:
        route = respx.get("https://crm.example/profiles/42").respond(json=PROFILE)
        assert asyncio.run(crm.fetch("42")) == PROFILE
        assert asyncio.run(crm.fetch("42")) == PROFILE
    assert route.call_count == 2
