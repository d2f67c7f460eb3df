"""A minimal django-oscar shop in a SQLite file, and one request through Oscar's middleware that runs the recipe.

``python tests/django_oscar/oscar_shop.py DATABASE`` prints, as JSON, what the recipe's
``customer`` and ``basket`` callables answered for a customer with two orders' worth of
history and a basket of two mugs and a lamp. It runs in a process of its own: Django's
settings are configured once per process.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import django
import oscar
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def configure(database: str) -> None:
    from oscar import defaults

    settings.configure(
        SECRET_KEY="oscar-recipe-test", ALLOWED_HOSTS=["*"], SITE_ID=1, USE_TZ=True,
        INSTALLED_APPS=oscar.INSTALLED_APPS, ROOT_URLCONF=__name__,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": database}},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        HAYSTACK_CONNECTIONS={"default": {"ENGINE": "haystack.backends.simple_backend.SimpleEngine"}},
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}],
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        **{name: getattr(defaults, name) for name in dir(defaults) if name.startswith("OSCAR_")},
    )  # fmt: skip
    django.setup()


urlpatterns: list[Any] = []


def run(database: str) -> dict[str, Any]:
    configure(database)
    from asgiref.sync import async_to_sync
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.test import AsyncRequestFactory
    from oscar.apps.basket.middleware import BasketMiddleware
    from oscar.apps.catalogue.categories import create_from_breadcrumbs
    from oscar.apps.partner.strategy import Default
    from oscar.core.loading import get_model
    from oscar.test import factories
    from starlette.requests import Request

    from examples import oscar_recipe
    from smalldata.django import share

    call_command("migrate", verbosity=0, interactive=False)
    anna = User.objects.create_user("anna", "anna@example.com", "pw", first_name="Anna", last_name="Larsen")
    mug = factories.create_product(upc="mug-1", title="Hygge mug", price=89)
    lamp = factories.create_product(upc="lamp-1", title="Paper lamp", price=599)
    kitchen = create_from_breadcrumbs("Kitchen")
    get_model("catalogue", "ProductCategory").objects.create(product=mug, category=kitchen)
    for _ in range(2):
        factories.create_order(user=anna)
    basket = get_model("basket", "Basket").objects.create(owner=anna)
    basket.strategy = Default()
    basket.add_product(mug, 2)
    basket.add_product(lamp, 1)

    answers: dict[str, Any] = {}

    def view(request: Any) -> Any:
        from django.http import HttpResponse

        share(request)  # what SmallDataMiddleware does
        page = Request(request.scope)  # what smalldata hands the callables
        answers["customer"] = async_to_sync(oscar_recipe.customer)(page)
        answers["basket"] = async_to_sync(oscar_recipe.basket)(page)
        return HttpResponse("ok")

    request = AsyncRequestFactory().get("/")
    request.session = SessionStore()
    request.user = anna
    BasketMiddleware(view)(request)
    customer = answers["customer"]
    customer["last_order"] = str(customer["last_order"])
    return answers


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    print(json.dumps(run(sys.argv[1])))
