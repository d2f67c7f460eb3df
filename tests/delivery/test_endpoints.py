"""The /_smalldata/ endpoints: client.js, decide, events, health."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from smalldata.delivery.endpoints import CLIENT_VERSION
from smalldata.delivery.ratelimit import RateLimiter
from smalldata.middleware import SmallData

from .helpers import FakePersonaliser


@pytest.fixture
def client(fake: FakePersonaliser) -> TestClient:
    return TestClient(SmallData.from_parts(Starlette(), fake.parts()))


def test_client_js_with_its_version_is_cacheable_for_a_year(client: TestClient) -> None:
    response = client.get(f"/_smalldata/client.js?v={CLIENT_VERSION}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "immutable" in response.headers["cache-control"]
    assert "smalldata" in response.text


def test_client_js_revalidates_with_its_etag(client: TestClient) -> None:
    first = client.get("/_smalldata/client.js")
    assert first.headers["cache-control"] == "public, no-cache"
    again = client.get("/_smalldata/client.js", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304


def test_decide_returns_the_decision_for_a_path_and_is_never_cached(client: TestClient, fake: FakePersonaliser) -> None:
    response = client.get("/_smalldata/decide", params={"path": "/pricing?plan=pro"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-store"
    assert response.json()["decision"]["greeting"] == "Welcome back!"
    assert response.headers["set-cookie"].startswith("sd=visitor-1")
    assert fake.paths == ["/pricing?plan=pro"]


@pytest.mark.parametrize("path", ["https://evil.example/", "//evil.example/", "pricing"])
def test_decide_refuses_paths_off_the_site(client: TestClient, path: str) -> None:
    assert client.get("/_smalldata/decide", params={"path": path}).status_code == 400


def test_chat_dismissal_is_recorded(client: TestClient, fake: FakePersonaliser) -> None:
    response = client.post("/_smalldata/events", json={"type": "chat_dismissed", "rule": "pricing-chat"})
    assert response.status_code == 204
    assert [(e.type, e.rule) for e in fake.events] == [("chat_dismissed", "pricing-chat")]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "JSON"),
        (b"[1, 2]", "ClientEvent"),
        (json.dumps({"type": "teleport"}).encode(), "type"),
        (json.dumps({"type": "chat_shown"}).encode(), "rule"),
        (json.dumps({"type": "conversion", "value": -5}).encode(), "value"),
        (json.dumps({"type": "conversion", "password": "x"}).encode(), "password"),
        (b"[" * 4000, "nests too deeply"),
        (b'{"type": "conversion", "rule": ' + b"[" * 3000 + b"}", "nests too deeply"),
    ],
)
def test_malformed_events_get_400_with_a_reason(client: TestClient, fake: FakePersonaliser, body, message) -> None:
    response = client.post("/_smalldata/events", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert fake.events == []


def test_oversized_event_gets_413(client: TestClient) -> None:
    body = json.dumps({"type": "conversion", "order_id": "x" * 5000})
    assert client.post("/_smalldata/events", content=body).status_code == 413


def test_a_visitor_sending_too_many_events_gets_429(fake: FakePersonaliser) -> None:
    middleware = SmallData.from_parts(Starlette(), fake.parts())
    now = [0.0]
    middleware.endpoints.limiter = RateLimiter(rate=1.0, burst=3, clock=lambda: now[0])
    client = TestClient(middleware)
    event = {"type": "conversion", "value": 10}
    statuses = [client.post("/_smalldata/events", json=event).status_code for _ in range(4)]
    assert statuses == [204, 204, 204, 429]
    now[0] += 1.0
    assert client.post("/_smalldata/events", json=event).status_code == 204


LOCAL = ("127.0.0.1", 50000)  # the shop's own host: health shows its details


def test_health_reports_version_errors_and_counters(fake: FakePersonaliser) -> None:
    client = TestClient(SmallData.from_parts(Starlette(), fake.parts()), client=LOCAL)
    client.post("/_smalldata/events", json={"type": "conversion"})
    health = client.get("/_smalldata/health").json()
    assert health["ruleset_version"] == "v1"
    assert health["errors"] == []
    assert health["counters"]["events.conversion"] == 1


def test_wrong_method_and_unknown_endpoint(client: TestClient) -> None:
    assert client.get("/_smalldata/events").status_code == 405
    assert client.get("/_smalldata/nope").status_code == 404


def test_prefix_is_configurable(fake: FakePersonaliser) -> None:
    client = TestClient(SmallData.from_parts(Starlette(), fake.parts(), prefix="/p13n"))
    assert client.get("/p13n/health").status_code == 200
    assert client.get("/_smalldata/health").status_code == 404


def test_decide_that_fails_answers_without_a_decision_and_logs(
    client: TestClient, fake: FakePersonaliser, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail = True
    with caplog.at_level(logging.ERROR, logger="smalldata"):
        response = client.get("/_smalldata/decide", params={"path": "/pricing"})
    assert response.status_code == 200
    assert response.json() == {"decision": None}
    assert response.headers["cache-control"] == "private, no-store"
    assert "deciding for /pricing failed" in caplog.text


def test_health_shows_anyone_its_status_and_nothing_more(client: TestClient) -> None:
    # a load balancer's check needs the status; paths, errors and conversion counts are not for the public
    client.post("/_smalldata/events", json={"type": "conversion"})
    for headers in ({}, {"authorization": "Bearer guess"}):
        response = client.get("/_smalldata/health", headers=headers)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


def test_health_details_need_the_token_or_a_request_from_this_host_no_proxy_forwarded(fake: FakePersonaliser) -> None:
    parts = fake.parts()
    parts.health_token = "s3cret-token"
    remote = TestClient(SmallData.from_parts(Starlette(), parts), client=("203.0.113.9", 4000))
    local = TestClient(SmallData.from_parts(Starlette(), parts), client=LOCAL)

    assert "errors" in remote.get("/_smalldata/health", headers={"authorization": "Bearer s3cret-token"}).json()
    assert "errors" not in remote.get("/_smalldata/health", headers={"authorization": "Bearer s3cret-toke"}).json()
    assert "errors" in local.get("/_smalldata/health").json()
    # a proxy on this host makes every visitor local: what it forwards is not
    forwarded = local.get("/_smalldata/health", headers={"x-forwarded-for": "203.0.113.9"})
    assert forwarded.json() == {"status": "ok"}


def limited(fake: FakePersonaliser, now: list[float], **limits: Any) -> TestClient:
    from collections import Counter

    from smalldata.delivery.endpoints import Endpoints, EventLimits

    limits.setdefault("browser_conversions", True)
    endpoints = Endpoints(fake, fake, fake, prefix="/_smalldata/", counters=Counter(),
                          limits=EventLimits(**limits), clock=lambda: now[0])  # fmt: skip
    return TestClient(endpoints)


def test_a_conversion_worth_more_than_the_limit_is_refused(fake: FakePersonaliser) -> None:
    client = limited(fake, [0.0], max_value=50_000)
    refused = client.post("/_smalldata/events", json={"type": "conversion", "value": 999_999_999})
    assert refused.status_code == 400 and "at most 50000" in refused.json()["error"]
    assert client.post("/_smalldata/events", json={"type": "conversion", "value": 49_999}).status_code == 204
    assert [e.value for e in fake.events] == [49_999]


def test_conversions_are_limited_per_visitor_more_tightly_than_other_events(fake: FakePersonaliser) -> None:
    now = [0.0]
    client = limited(fake, now, conversions_burst=2, conversion_seconds=60)
    conversion, shown = {"type": "conversion", "value": 10}, {"type": "chat_shown", "rule": "r"}
    assert [client.post("/_smalldata/events", json=conversion).status_code for _ in range(3)] == [204, 204, 429]
    assert client.post("/_smalldata/events", json=shown).status_code == 204
    now[0] += 60
    assert client.post("/_smalldata/events", json=conversion).status_code == 204


def test_all_visitors_together_are_bounded(fake: FakePersonaliser) -> None:
    # minted cookies each get their own bucket: the total stops a flood of them all the same
    now = [0.0]
    client = limited(fake, now, per_second=1, total_burst=5)
    keys = iter(range(100))
    fake.visitor_key = lambda scope: f"minted-{next(keys)}"  # type: ignore[method-assign]
    statuses = [client.post("/_smalldata/events", json={"type": "chat_shown", "rule": "r"}).status_code
                for _ in range(8)]  # fmt: skip
    assert statuses == [204] * 5 + [429] * 3
    now[0] += 2
    assert client.post("/_smalldata/events", json={"type": "chat_shown", "rule": "r"}).status_code == 204
