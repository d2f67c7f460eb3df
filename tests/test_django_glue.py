"""smalldata.django without a Django project: a clear error without Django, unknown without its middleware.

(The Django shop in ``tests/example_apps`` and ``tests/browser`` runs the rest under uvicorn.)
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)


def test_without_django_importing_smalldata_django_says_which_extra_to_install() -> None:
    done = python("import sys; sys.modules['django'] = None; import smalldata.django")
    assert done.returncode == 1
    assert "ImportError: smalldata.django needs Django: pip install 'smalldata[django]'" in done.stderr


def test_the_core_middleware_never_imports_django() -> None:
    done = python("import sys, smalldata, smalldata.middleware, smalldata.app; print('django' in sys.modules)")
    assert done.stdout.strip() == "False", done.stderr


def test_a_hook_without_the_django_middleware_raises_so_its_signals_are_unknown() -> None:
    from starlette.requests import Request

    from smalldata.django import MissingMiddleware, customer

    with pytest.raises(MissingMiddleware, match=re.escape("add 'smalldata.django.SmallDataMiddleware' to MIDDLEWARE")):
        asyncio.run(customer(Request({"type": "http", "method": "GET", "path": "/", "headers": []})))
