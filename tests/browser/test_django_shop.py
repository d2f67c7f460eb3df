"""The example Django shop (README's "Add it to a Django shop", nothing more) in headless Chromium under uvicorn.

Chromium asks for ``gzip, deflate, br`` and Django's ``GZipMiddleware`` compresses every page,
so each of these pages is also a compressed one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from smalldata.state.codec import CookieCodec

try:  # the repository root on sys.path (python -m pytest)
    from tests.example_apps.django_server import CUSTOMER, SECRET, prepare, serve
except ImportError:  # tests/ on sys.path (pytest's default rootdir insertion)
    from example_apps.django_server import CUSTOMER, SECRET, prepare, serve  # type: ignore[no-redef]

GREETING = '[data-smalldata-slot="greeting"]'
BANNER = '[data-smalldata-slot="banner:basket"]'
HOURS = 3600


@pytest.fixture(scope="module")
def django_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = tmp_path_factory.mktemp("django-shop-browser") / "shop.sqlite3"
    prepare(database)
    with serve(database) as url:
        yield url


def log_in(page: Any, shop: str) -> Any:
    """Fill and send the login form; the response of that POST is the page shown next."""
    username, password = CUSTOMER
    page.goto(f"{shop}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation() as navigation:
        page.click("#log-in")
    return navigation.value


def visitor_cookie(context: Any) -> dict[str, Any]:
    cookies = [cookie for cookie in context.cookies() if cookie["name"] == "sd_visitor"]
    assert len(cookies) == 1, context.cookies()
    return dict(cookies[0])


def test_a_first_visitor_is_welcomed_on_a_compressed_django_page(page: Any, django_shop: str) -> None:
    response = page.goto(f"{django_shop}/")
    assert response.headers["content-encoding"] == "gzip"
    assert page.inner_text(GREETING) == "Welcome to Django Hjem"
    assert page.locator("script#smalldata").count() == 1


def test_the_greeting_is_on_the_django_page_without_client_js(page: Any, django_shop: str) -> None:
    page.route("**/_smalldata/client.js*", lambda route: route.abort())
    page.goto(f"{django_shop}/")
    assert page.inner_text(GREETING) == "Welcome to Django Hjem"


def test_a_returning_visitor_is_welcomed_back(page: Any, context: Any, django_shop: str) -> None:
    page.goto(f"{django_shop}/")
    cookie = visitor_cookie(context)
    codec = CookieCodec([SECRET.encode()])
    data = codec.loads(cookie["value"])
    assert data is not None, "the visitor cookie is not signed with the shop's key"
    for key in ("f", "l", "s"):  # as if the last visit ended two hours ago
        data[key] -= 2 * HOURS
    context.add_cookies([{**cookie, "value": codec.dumps(data)}])
    page.goto(f"{django_shop}/")
    assert page.inner_text(GREETING) == "Welcome back to Django Hjem"


def test_the_logins_own_response_greets_the_customer_and_shows_her_basket_banner(page: Any, django_shop: str) -> None:
    page.goto(f"{django_shop}/")
    page.click("#add-mug")
    page.wait_for_url(f"{django_shop}/basket/")
    assert "1 × Hygge mug" in page.inner_text(".lines")
    response = log_in(page, django_shop)
    assert response.request.method == "POST" and response.status == 200  # no redirect: this is the login's page
    assert page.inner_text(GREETING) == "Hello Anna, good to see you"
    assert page.inner_text(BANNER) == "Anna, 411 DKK more and shipping is free"


def test_a_logged_in_customers_checkout_is_prefilled(page: Any, django_shop: str) -> None:
    log_in(page, django_shop)
    page.goto(f"{django_shop}/checkout/")
    page.wait_for_function("document.querySelector('input[name=email]').value !== ''")
    assert page.input_value("input[name=name]") == "Anna Larsen"
    assert page.input_value("input[name=email]") == "anna@example.com"


def test_sec_gpc_stores_nothing_in_the_browser(browser: Any, django_shop: str) -> None:
    context = browser.new_context(extra_http_headers={"Sec-GPC": "1"})
    try:
        page = context.new_page()
        page.goto(f"{django_shop}/")
        page.goto(f"{django_shop}/basket/")
        assert page.inner_text("h1") == "Your basket"
        assert "sd_visitor" not in {cookie["name"] for cookie in context.cookies()}
    finally:
        context.close()
