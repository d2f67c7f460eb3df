"""The Django shop's pages."""

from __future__ import annotations

from typing import Any

from django.urls import path
from django.views.static import serve

from examples.django_shop import views
from examples.django_shop.settings import HERE

urlpatterns: list[Any] = [
    path("", views.home, name="home"),
    path("basket/", views.basket_page, name="basket"),
    path("basket/add/", views.add_to_basket, name="add"),
    path("login/", views.log_in, name="login"),
    path("logout/", views.log_out, name="logout"),
    path("checkout/", views.checkout, name="checkout"),
    path("thanks/", views.thanks, name="thanks"),
    path("api/basket/", views.basket_json, name="basket-json"),
    path("api/greeting/", views.greeting_json, name="greeting-json"),
    # the example serves its own files (no web server in front of it); a shop's proxy or CDN would
    path("static/<path:path>", serve, {"document_root": HERE / "static"}),
]
