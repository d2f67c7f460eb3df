"""The smalldata demo shop: a small coffee & tea shop built with Starlette and Jinja2."""

from __future__ import annotations

from examples.shop.app import create_app

__all__ = ["create_app"]
