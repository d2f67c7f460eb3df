"""The Django shop's views: plain Django (sessions, auth, CSRF, redirects), nothing of smalldata but templates' tags."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate, login, logout
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect, render

from examples.django_shop import basket

Request = Any  # django.http.HttpRequest (Django ships no type hints)


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HttpResponse:
    lines = basket.lines(request.session)
    context.update(products=basket.PRODUCTS, lines=lines, count=sum(line["quantity"] for line in lines),
                   total=sum(line["price"] * line["quantity"] for line in lines), currency=basket.CURRENCY)
    response: HttpResponse = render(request, template, context, status=status)
    return response


def home(request: Request) -> HttpResponse:
    """The products, each with an "Add to basket" form."""
    return _page(request, "home.html")


def basket_page(request: Request) -> HttpResponse:
    """What is in the basket."""
    return _page(request, "basket.html")


def add_to_basket(request: Request) -> HttpResponse:
    """Put a product in the session basket, then show the basket (post/redirect/get)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    sku = request.POST.get("sku", "")
    if sku not in basket.PRODUCTS:
        return _page(request, "home.html", status=400, error="No such product.")
    basket.add(request.session, sku)
    response: HttpResponse = redirect("basket")
    return response


def log_in(request: Request) -> HttpResponse:
    """The login form; a good login shows the home page at once, as the logged-in customer sees it."""
    if request.method != "POST":
        return _page(request, "login.html")
    user = authenticate(request, username=request.POST.get("username", ""),
                        password=request.POST.get("password", ""))  # fmt: skip
    if user is None:
        return _page(request, "login.html", status=401, error="Wrong user name or password.")
    login(request, user)  # keeps the session's basket, under a new session key
    return _page(request, "home.html", notice="You are logged in.")


def log_out(request: Request) -> HttpResponse:
    """Log out and go home."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    logout(request)
    response: HttpResponse = redirect("home")
    return response


def checkout(request: Request) -> HttpResponse:
    """The checkout form (``data-smalldata-form="checkout"``: smalldata prefills its empty fields)."""
    if request.method != "POST":
        return _page(request, "checkout.html")
    name, email = request.POST.get("name", "").strip(), request.POST.get("email", "").strip()
    if not (name and "@" in email):
        return _page(request, "checkout.html", status=400, error="Please give your name and e-mail.")
    request.session["basket"] = {}
    response: HttpResponse = redirect("thanks")
    return response


def thanks(request: Request) -> HttpResponse:
    """The order confirmation."""
    return _page(request, "thanks.html")


async def greeting_json(request: Request) -> JsonResponse:
    """The greeting for the shop's own scripts: an async view reads the decision with ``await``."""
    view = await request.asmalldata()
    return JsonResponse({"greeting": str(view.greeting)})


def basket_json(request: Request) -> JsonResponse:
    """The basket as JSON (for the shop's own scripts): never personalised."""
    return JsonResponse({"lines": basket.lines(request.session)})
