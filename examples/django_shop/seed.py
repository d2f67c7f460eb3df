"""Create the shop's tables and its seeded customer: ``python -m examples.django_shop.seed`` (about a second)."""

from __future__ import annotations

import os

import django

CUSTOMER = {"username": "anna", "password": "hygge-2026", "first_name": "Anna", "last_name": "Larsen",
            "email": "anna@example.com"}  # fmt: skip
GROUP = "regulars"


def prepare() -> None:
    """Migrate the database and create Anna (in the ``regulars`` group) if she is not there yet."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django_shop.settings")
    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    if not User.objects.filter(username=CUSTOMER["username"]).exists():
        user = User.objects.create_user(**CUSTOMER)
        user.groups.add(Group.objects.get_or_create(name=GROUP)[0])


if __name__ == "__main__":
    prepare()
