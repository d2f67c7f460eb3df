"""docs/django.md's django-oscar recipe (``examples/oscar_recipe.py``) against Oscar's own models and middleware.

A minimal Oscar (its apps, migrated into a SQLite file) runs in a subprocess, since Django's
settings are configured once per process; about 25 s, most of it Oscar's migrations.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from smalldata.signals.basket import normalise

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    try:
        import oscar  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("django-oscar (the test extra) must be installed in CI")
        pytest.skip("django-oscar is not installed")
    database = tmp_path_factory.mktemp("oscar") / "oscar.sqlite3"
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("oscar_shop.py")), str(database)],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_the_oscar_recipe_reads_the_customer_and_her_orders(answers: dict[str, Any]) -> None:
    customer = answers["customer"]
    assert customer["logged_in"] is True
    assert (customer["first_name"], customer["name"], customer["email"]) == ("Anna", "Anna Larsen", "anna@example.com")
    assert customer["orders"] == 2


def test_the_oscar_recipe_reads_the_basket_lines_prices_and_categories(answers: dict[str, Any]) -> None:
    assert answers["basket"]["items"] == [
        {"sku": "mug-1", "name": "Hygge mug", "price": 89.0, "quantity": 2, "category": "Kitchen"},
        {"sku": "lamp-1", "name": "Paper lamp", "price": 599.0, "quantity": 1, "category": None},
    ]


def test_smalldata_reads_the_oscar_basket_as_basket_signals(answers: dict[str, Any]) -> None:
    signals = normalise(answers["basket"], None, 1000)
    assert (signals["basket.count"], signals["basket.total"], signals["basket.currency"]) == (3, 777, "GBP")
    assert signals["basket.free_shipping_gap"] == 223


def test_docs_show_the_recipe_as_it_is_tested() -> None:
    docs = (ROOT / "docs" / "django.md").read_text()
    recipe = (ROOT / "examples" / "oscar_recipe.py").read_text()
    start = recipe.index("def oscar_customer")
    assert recipe[start:] in docs
