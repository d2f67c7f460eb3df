"""The demo shop "Nordisk Hjem": Starlette + Jinja2, personalised by smalldata with the rules in ``rules/``.

Run it with ``smalldata demo`` (or ``uvicorn --factory examples.shop.app:create_app``).
It reads the repository's ``smalldata.yaml`` (time zone, opening hours, stores,
where the customer and the basket live in the session, the product catalogue).
Every page carries ``data-smalldata-slot`` elements that the shipped rules fill:
``greeting`` in the header, ``banner:hero`` on the home page, ``banner:basket`` in
the basket, ``banner:store`` on the store locator, ``recommend:recommendations``
on the home, category, product and basket pages, ``prefill:checkout`` on the
checkout form, and ``chat`` invitations (the pricing page's after a short dwell).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from examples.shop.catalog import DATA, Catalog, category_of
from examples.shop.words import translate
from smalldata import record_conversion
from smalldata.app import Overrides
from smalldata.catalogue import CatalogueSettings, format_price, open_catalogue
from smalldata.events import EventSink
from smalldata.jinja import install
from smalldata.middleware import SmallData
from smalldata.settings import Settings, load_settings
from smalldata.signals.page import preferred_language

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
REPO_RULES = ROOT / "rules"
SETTINGS = ROOT / "smalldata.yaml"
CURRENCY = "DKK"

# Demo customers for the fake log-in. Never do this in a real shop.
CUSTOMERS: dict[str, dict[str, Any]] = {
    "mette": {
        "id": "c-1001",
        "first_name": "Mette",
        "name": "Mette Hansen",
        "email": "mette@example.com",
        "phone": "+45 20 30 40 50",
        "tier": "gold",
        "birthday": "1985-06-01",
        "orders": 12,
        "purchased": ["mug-hygge", "tableware", "coffee-house", "coffee"],
    },
    "jonas": {
        "id": "c-1002",
        "first_name": "Jonas",
        "name": "Jonas Berg",
        "email": "jonas@example.com",
        "phone": "+45 61 62 63 64",
        "tier": "basic",
        "birthday": "1992-11-25",
        "orders": 1,
        "purchased": ["throw-wool", "textiles"],
    },
}


def create_app(
    *,
    rules: str | Path | None = None,
    config: str | Path | None = None,
    clock: Callable[[], datetime] | None = None,
    secret_key: str = "smalldata-demo-shop-secret-key",
    events: EventSink | None = None,
) -> Starlette:
    """The shop, with smalldata reading ``rules`` (default: the repository's ``rules/``) and
    ``config`` (default: the repository's ``smalldata.yaml``).

    ``secret_key`` signs the shop's own session cookie; smalldata's visitor cookie
    and preview links are signed with the keys of ``config`` (``state.secret_keys``
    or ``$SMALLDATA_SECRET_KEYS``), so links from ``smalldata preview`` open here.
    ``events`` replaces the configured event sink (tests).
    """
    config = Path(config) if config is not None else SETTINGS
    settings = shop_settings(config)
    catalogue = open_catalogue(settings.catalogue, base=config.parent)  # the same file smalldata reads
    assert catalogue is not None  # shop_settings always names one
    catalog = Catalog(catalogue)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    install(templates.env)
    templates.env.globals.update(
        categories=catalog.categories, money=_money, category_of=category_of, describe=catalog.describe,
        _=translate,
    )
    shop = _Shop(catalog, templates, settings.user.session_key or "user", settings)
    middleware = [
        Middleware(GZipMiddleware),  # outermost: compresses what smalldata produced
        Middleware(SessionMiddleware, secret_key=secret_key, same_site="lax"),
        Middleware(
            SmallData,
            rules=rules if rules is not None else REPO_RULES,
            config=config,
            settings=settings, overrides=Overrides(clock=clock, events=events),
        ),
    ]
    return Starlette(routes=shop.routes(), middleware=middleware)


def shop_settings(config: Path = SETTINGS) -> Settings:
    """The settings the shop runs with: ``config``, with the shop's own catalogue if it names none."""
    settings = load_settings(config)
    if settings.catalogue.path is None:
        catalogue = CatalogueSettings(path=str(DATA), currency=CURRENCY)
        settings = settings.model_copy(update={"catalogue": catalogue})
    return settings


class _Shop:
    def __init__(self, catalog: Catalog, templates: Jinja2Templates, session_key: str, settings: Settings) -> None:
        self.languages = settings.languages
        self.default_language = settings.default_language
        self.catalog = catalog
        self.templates = templates
        self.session_key = session_key  # where the log-in puts the customer (user.session_key)

    def routes(self) -> list[Route | Mount]:
        return [
            Route("/", self.home),
            Route("/category/{category}", self.category),
            Route("/products/{product}", self.product),
            Route("/basket", self.basket),
            Route("/basket/add", self.basket_add, methods=["POST"]),
            Route("/basket/remove", self.basket_remove, methods=["POST"]),
            Route("/login", self.login, methods=["GET", "POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/pricing", self.page("pricing.html")),
            Route("/faq", self.page("faq.html")),
            Route("/stores", self.page("stores.html")),
            Route("/checkout", self.checkout, methods=["GET", "POST"]),
            Route("/static/img/{product}.svg", self.image),
            Route("/favicon.ico", favicon),
            Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
        ]

    async def render(self, request: Request, template: str, **context: Any) -> Response:
        # The decision is made when first asked for; a template rendered here, on the event loop, reads it
        # once it is made (the basket and login of this request included: they happened above).
        await request.state.smalldata
        context.setdefault("customer", request.session.get(self.session_key))
        context.setdefault("basket", _basket(request))
        context.setdefault("lang", self.language(request))
        response = self.templates.TemplateResponse(request, template, context)
        response.headers["content-language"] = context["lang"]
        vary = response.headers.get("vary")
        response.headers["vary"] = f"{vary}, Accept-Language" if vary else "Accept-Language"
        return response

    def language(self, request: Request) -> str:
        """The page's language: the one smalldata's ``page.language`` picks for the personalisation (the
        browser's preferred among the shop's languages), else the shop's default, so the shop's own words
        and the personalised ones always agree."""
        return preferred_language(request.headers.get("accept-language"), self.languages) or self.default_language

    def page(self, name: str) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return await self.render(request, name)

        return endpoint

    async def home(self, request: Request) -> Response:
        return await self.render(request, "home.html", products=self.catalog.bestsellers(8))

    async def category(self, request: Request) -> Response:
        category = request.path_params["category"]
        if category not in self.catalog.categories:
            raise HTTPException(404)
        products = self.catalog.in_category(category)
        return await self.render(request, "category.html", category=category, products=products)

    async def product(self, request: Request) -> Response:
        product = self.catalog.get(request.path_params["product"])
        if product is None:
            raise HTTPException(404)
        return await self.render(request, "product.html", product=product)

    async def basket(self, request: Request) -> Response:
        return await self.render(request, "basket.html")

    async def basket_add(self, request: Request) -> Response:
        form = await _form(request)
        product = self.catalog.get(str(form.get("sku", "")))
        if product is None:
            raise HTTPException(400, "unknown product")
        lines = _basket(request)["items"]
        for line in lines:
            if line["sku"] == product.id:
                line["quantity"] += 1
                break
        else:
            lines.append(
                {
                    "sku": product.id,
                    "name": product.name,
                    "price": product.price or 0.0,
                    "quantity": 1,
                    "category": category_of(product),
                }
            )
        request.session["basket"] = {"items": lines, "currency": CURRENCY}
        return RedirectResponse("/basket", status_code=303)

    async def basket_remove(self, request: Request) -> Response:
        form = await _form(request)
        lines = [line for line in _basket(request)["items"] if line["sku"] != form.get("sku")]
        request.session["basket"] = {"items": lines, "currency": CURRENCY}
        return RedirectResponse("/basket", status_code=303)

    async def login(self, request: Request) -> Response:
        if request.method == "POST":
            form = await _form(request)
            customer = dict(CUSTOMERS.get(str(form.get("customer")), CUSTOMERS["mette"]))
            display_name = str(form.get("first_name", "")).strip()[:60]
            if display_name:  # lets you see that any name is shown as text, never as markup
                customer["first_name"] = display_name
            request.session[self.session_key] = customer
            next_page = form.get("next") or request.query_params.get("next")
            return RedirectResponse(_local_path(next_page), status_code=303)
        return await self.render(request, "login.html", customers=CUSTOMERS)

    async def logout(self, request: Request) -> Response:
        request.session.pop(self.session_key, None)
        return RedirectResponse("/", status_code=303)

    async def checkout(self, request: Request) -> Response:
        if request.method == "POST":
            form = await _form(request)
            total = _basket(request)["total"]
            request.session["basket"] = {"items": [], "currency": CURRENCY}
            order = {"order_id": f"NH-{secrets.token_hex(4).upper()}", "value": total, "currency": CURRENCY}
            if total:  # the sale, for the experiments' conversion rates: recorded here, where the order is known
                await record_conversion(request, order["order_id"], total, CURRENCY)
            name = str(form.get("name", ""))
            return await self.render(request, "thanks.html", name=name, order=order if total else None)
        return await self.render(request, "checkout.html")

    async def image(self, request: Request) -> Response:
        product = self.catalog.get(request.path_params["product"])
        if product is None:
            raise HTTPException(404)
        return Response(
            _svg(product.name, category_of(product)),
            media_type="image/svg+xml",
            headers={"Cache-Control": "public, max-age=86400"},
        )


FAVICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" '
           'fill="#2b2118"/><path d="M8 24V12l8-5 8 5v12h-6v-7h-4v7z" fill="#ffe9b8"/></svg>')


async def favicon(request: Request) -> Response:
    """The shop's icon (a little house), so browsers asking for /favicon.ico get one instead of a 404."""
    return Response(FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


async def _form(request: Request) -> dict[str, str]:
    """A URL-encoded form (all this shop posts), without needing python-multipart."""
    body = await request.body()
    return dict(parse_qsl(body.decode("utf-8", "replace")[:10_000], keep_blank_values=True))


def _local_path(target: str | None) -> str:
    """``target`` when it is a path on this site, else ``/``: a login link never sends anyone elsewhere."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target) else target


def _basket(request: Request) -> dict[str, Any]:
    basket = request.session.get("basket") or {}
    items = [dict(line) for line in basket.get("items", [])]
    total = sum(line["price"] * line["quantity"] for line in items)
    return {"items": items, "total": total, "count": sum(line["quantity"] for line in items)}


def _money(amount: float) -> str:
    """A price as the shop writes it, the same text its recommendation cards show (``549,00 kr.``)."""
    return format_price(amount, CURRENCY) or ""


_COLOURS = {
    "textiles": "#7d6b5d",
    "kitchen": "#4f6b58",
    "coffee": "#6b4226",
    "tableware": "#3f5f7f",
    "lighting": "#b07a2a",
}


def _svg(name: str, category: str) -> str:
    """A product picture drawn on the fly, so the demo needs no image files or network."""
    colour = _COLOURS.get(category, "#555")
    hue = int(hashlib.sha256(name.encode()).hexdigest()[:2], 16)
    label = escape(name.split(",")[0])
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="240" viewBox="0 0 320 240">'
        f'<rect width="320" height="240" fill="{colour}"/>'
        f'<circle cx="{60 + hue % 200}" cy="90" r="60" fill="#fff" fill-opacity=".14"/>'
        '<text x="160" y="200" font-family="system-ui,sans-serif" font-size="20" fill="#fff" '
        f'text-anchor="middle">{label}</text></svg>'
    )
