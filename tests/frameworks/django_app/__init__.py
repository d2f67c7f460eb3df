"""A minimal Django project served through Django's own ASGI handler, configured once per test session.

Django's settings are process-global: :func:`application` configures them the first
time it is called (and only if nobody has), then every test shares one handler.
Django's ``GZipMiddleware`` is in ``MIDDLEWARE``, as in most Django shops: a
request that accepts gzip gets its pages compressed *inside* smalldata.
"""

from __future__ import annotations

from typing import Any

SETTINGS: dict[str, Any] = {
    "DEBUG": False,
    "SECRET_KEY": "frameworks-test-secret-key-0123456789",
    "ALLOWED_HOSTS": ["*"],
    "ROOT_URLCONF": "frameworks.django_app.urls",
    "MIDDLEWARE": ["django.middleware.gzip.GZipMiddleware"],
    "INSTALLED_APPS": [],
    "DATABASES": {},
    "USE_TZ": True,
}
_handler: Any = None


def application() -> Any:
    """Django's ASGI handler for this project (settings configured on first use)."""
    global _handler
    if _handler is None:
        import django
        from django.conf import settings

        if not settings.configured:
            settings.configure(**SETTINGS)
        django.setup(set_prefix=False)
        from django.core.handlers.asgi import ASGIHandler

        _handler = ASGIHandler()
    return _handler
