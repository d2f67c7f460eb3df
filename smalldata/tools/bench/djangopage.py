"""The informative Django row: a minimal Django project (no apps, no middleware, one async view) serving
the same 20 KB page on every path through Django's own ASGI handler, bare and wrapped by ``SmallData``.

Django is configured once per process (``settings.configure``), so this row lives in the project
suite's process and nowhere else. Django is not a dependency of smalldata: without it the row is
left out.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

from smalldata.tools.bench.inprocess import App, html_page

PAGE = html_page(20 * 1024)


async def page(request: Any) -> Any:
    """The view: the ready 20 KB page, whatever the path."""
    http: Any = importlib.import_module("django.http")  # imported by name: Django is optional and untyped
    return http.HttpResponse(PAGE, content_type="text/html; charset=utf-8")


def _urlpatterns() -> list[Any]:
    urls: Any = importlib.import_module("django.urls")
    return [urls.re_path(r"^.*$", page)]


urlpatterns: list[Any] = []  # filled when Django is configured (ROOT_URLCONF is this module)


def available() -> bool:
    return importlib.util.find_spec("django") is not None


def django_pair(rules: Path, settings: Any) -> tuple[App, App]:
    """Django's ASGI app for the page, bare and wrapped by ``SmallData`` (``settings``: smalldata's)."""
    django: Any = importlib.import_module("django")
    django_settings: Any = importlib.import_module("django.conf").settings

    if not django_settings.configured:
        django_settings.configure(DEBUG=False, SECRET_KEY="smalldata-bench-django-page-" + "x" * 20,
                                  ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"], MIDDLEWARE=[], INSTALLED_APPS=[],
                                  USE_TZ=True)
        django.setup()
        urlpatterns[:] = _urlpatterns()
    from smalldata.middleware import SmallData

    get_asgi_application = importlib.import_module("django.core.asgi").get_asgi_application
    bare: App = get_asgi_application()
    return bare, SmallData(get_asgi_application(), rules=rules, settings=settings)
