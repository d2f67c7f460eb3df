"""The example Django shop under uvicorn: personalised like any shop, its own behaviour exactly as without smalldata.

Two uvicorn processes serve the same settings and database: ``examples.django_shop.asgi``
(smalldata around Django, as README shows it) and Django's bare ASGI application.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .django_server import CUSTOMER, REPO, environment, prepare, serve

PAYLOAD = re.compile(rb'<script type="application/json" id="smalldata">.*?</script><script[^>]*></script>', re.S)
CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')
SLOT_CONTENT = re.compile(rb'(data-smalldata-slot="[^"]*">)[^<]*')  # what the template tags wrote server-side
# headers smalldata may set or edit on a personalised page; every other header must be the app's own
OURS = {"cache-control", "vary", "content-length", "set-cookie", "date"}


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("django-shop") / "shop.sqlite3"
    prepare(path)
    return path


@pytest.fixture(scope="module")
def shop(database: Path) -> Iterator[str]:
    with serve(database) as url:
        yield url


@pytest.fixture(scope="module")
def bare_shop(database: Path) -> Iterator[str]:
    with serve(database, bare=True) as url:
        yield url


def client(base: str) -> httpx.Client:
    """A shopper's client; uncompressed, so the tests read the pages (the gzip test asks for gzip)."""
    return httpx.Client(base_url=base, headers={"accept-encoding": "identity"})


def payload(response: httpx.Response) -> dict[str, Any]:
    match = re.search(r'id="smalldata">(.*?)</script>', response.text)
    assert match, "no payload on the page"
    result: dict[str, Any] = json.loads(match.group(1))["decision"]
    return result


def csrf_token(shopper: httpx.Client, path: str = "/login/") -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', shopper.get(path).text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def log_in(shopper: httpx.Client) -> httpx.Response:
    username, password = CUSTOMER
    token = csrf_token(shopper)
    return shopper.post("/login/", data={"username": username, "password": password, "csrfmiddlewaretoken": token})


def test_a_django_page_gets_the_payload_a_visitor_cookie_and_is_private(shop: str) -> None:
    response = httpx.get(shop + "/", headers={"accept-encoding": "identity"})
    assert payload(response)["greeting"] == "Welcome to Django Hjem"
    assert "sd_visitor" in response.cookies
    assert "private" in response.headers["cache-control"]


def test_a_gzipped_django_page_stays_personalised_and_compressed(shop: str) -> None:
    with httpx.Client(base_url=shop) as shopper:
        response = shopper.send(shopper.build_request("GET", "/", headers={"accept-encoding": "gzip"}), stream=True)
        raw = b"".join(response.iter_raw())
    assert response.headers["content-encoding"] == "gzip"
    assert b'id="smalldata"' in gzip.decompress(raw)
    assert "sd_visitor" in response.cookies


def test_the_login_response_itself_greets_the_customer_by_name(shop: str) -> None:
    with client(shop) as shopper:
        response = log_in(shopper)
    assert response.status_code == 200
    assert payload(response)["greeting"] == "Hello Anna, good to see you"
    assert '<p class="greeting" data-smalldata-slot="greeting">Hello Anna, good to see you</p>' in response.text


def test_the_login_response_itself_shows_the_basket_banner(shop: str) -> None:
    with client(shop) as shopper:
        shopper.post("/basket/add/", data={"sku": "mug", "csrfmiddlewaretoken": csrf_token(shopper, "/")})
        response = log_in(shopper)
    assert payload(response)["banners"]["basket"]["html"] == "Anna, 411 DKK more and shipping is free"


def test_a_customers_name_is_escaped_in_the_server_rendered_greeting(shop: str, database: Path) -> None:
    script = ("import django; django.setup(); from django.contrib.auth.models import User; "
              "User.objects.create_user('mallory', 'm@example.com', 'pw-12345', first_name='<i>Mal</i>')")  # fmt: skip
    subprocess.run([sys.executable, "-c", script], cwd=REPO, env=environment(database), check=True)
    with client(shop) as shopper:
        token = csrf_token(shopper)
        response = shopper.post("/login/", data={"username": "mallory", "password": "pw-12345",
                                                 "csrfmiddlewaretoken": token})  # fmt: skip
    assert 'data-smalldata-slot="greeting">Hello &lt;i&gt;Mal&lt;/i&gt;, good to see you</p>' in response.text
    assert "<i>Mal</i>" not in response.text


def test_a_logged_in_customers_checkout_is_prefilled_with_her_name_and_email(shop: str) -> None:
    with client(shop) as shopper:
        log_in(shopper)
        response = shopper.get("/checkout/")
    assert payload(response)["prefill"] == {"checkout": {"name": "Anna Larsen", "email": "anna@example.com"}}


def test_an_async_django_view_awaits_the_decision_and_its_json_is_not_personalised(shop: str) -> None:
    with client(shop) as shopper:
        log_in(shopper)
        response = shopper.get("/api/greeting/")
    assert response.json() == {"greeting": "Hello Anna, good to see you"}
    assert b"<script" not in response.content


def test_django_static_and_media_urls_are_skipped() -> None:
    script = "from examples.django_shop import asgi; from smalldata.django import skip; print(skip())"
    printed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, check=True,
    ).stdout
    assert "'/static/'" in printed and "'/media/'" in printed


def test_sec_gpc_stores_nothing_on_a_django_page(shop: str) -> None:
    response = httpx.get(shop + "/", headers={"sec-gpc": "1", "accept-encoding": "identity"})
    assert response.status_code == 200
    assert "sd_visitor" not in response.cookies


def _comparable(response: httpx.Response) -> tuple[int, bytes, list[tuple[str, str]], list[str]]:
    body = SLOT_CONTENT.sub(rb"\1", PAYLOAD.sub(b"", response.content))
    body = CSRF_FIELD.sub(b'name="csrfmiddlewaretoken" value=""', body)  # a new mask on every page
    headers = sorted((name, value) for name, value in response.headers.multi_items() if name not in OURS)
    cookies = sorted(name for name in response.cookies if name != "sd_visitor")
    return response.status_code, body, headers, cookies


def _walk(base: str) -> list[httpx.Response]:
    """One shopper's walk through the shop's own behaviour: forms, CSRF, redirects, errors, files, JSON."""
    username, password = CUSTOMER
    with client(base) as shopper:
        token = csrf_token(shopper, "/")
        return [
            shopper.get("/"),
            shopper.get("/login/"),
            shopper.post("/login/", data={"username": username, "password": password}),  # no CSRF token: 403
            shopper.post("/login/", data={"username": username, "password": "wrong", "csrfmiddlewaretoken": token}),
            shopper.get("/basket/add/"),  # 405
            shopper.post("/basket/add/", data={"sku": "lamp", "csrfmiddlewaretoken": token}),  # 302 to the basket
            shopper.get("/basket/"),
            shopper.get("/api/basket/"),
            shopper.post("/checkout/", data={"name": "", "csrfmiddlewaretoken": token}),  # 400 with an error
            shopper.post("/checkout/", data={"name": "Bo", "email": "bo@example.com", "csrfmiddlewaretoken": token}),
            shopper.get("/static/shop.css"),
            shopper.get("/no-such-page/"),
        ]


def test_the_shops_own_behaviour_is_the_same_with_and_without_smalldata(shop: str, bare_shop: str) -> None:
    wrapped, bare = _walk(shop), _walk(bare_shop)
    assert [response.status_code for response in bare] == [200, 200, 403, 401, 405, 302, 200, 200, 400, 302, 200, 404]
    for with_smalldata, without in zip(wrapped, bare, strict=True):
        assert _comparable(with_smalldata) == _comparable(without), with_smalldata.request.url


def test_static_files_and_json_get_no_visitor_cookie_and_no_payload(shop: str) -> None:
    with client(shop) as shopper:
        for path in ("/static/shop.css", "/api/basket/"):
            response = shopper.get(path)
            assert "sd_visitor" not in response.cookies, path
            assert b"smalldata" not in response.content, path


def test_the_django_shops_settings_and_rules_check_and_their_rule_tests_pass() -> None:
    folder = REPO / "examples" / "django_shop"
    for command in ("check", "test"):
        done = subprocess.run([sys.executable, "-m", "smalldata.cli", command, "--rules", str(folder / "rules"),
                               "--config", str(folder / "smalldata.yaml")], cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
