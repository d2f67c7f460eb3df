"""Settings of the example Django shop (``DJANGO_SETTINGS_MODULE=examples.django_shop.settings``).

The database is a SQLite file in the temporary folder (``DJANGO_SHOP_DB`` names another);
``python -m examples.django_shop.seed`` creates its tables and the seeded customer.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

HERE = Path(__file__).parent

SECRET_KEY = os.environ.get("DJANGO_SHOP_SECRET_KEY", "django-shop-development-key-never-in-production")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "examples.django_shop.urls"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.gzip.GZipMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "smalldata.django.SmallDataMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [HERE / "templates"],
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ],
            "libraries": {"smalldata": "smalldata.django"},
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_SHOP_DB", str(Path(tempfile.gettempdir()) / "smalldata-django-shop.sqlite3")),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]

STATIC_URL = "static/"
STATICFILES_DIRS = [HERE / "static"]
MEDIA_URL = "media/"

USE_TZ = True
TIME_ZONE = "Europe/Copenhagen"
LANGUAGE_CODE = "en"
