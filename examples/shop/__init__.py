"""The smalldata demo shop "Nordisk Hjem": a small Danish home-goods shop built with Starlette and Jinja2."""

from __future__ import annotations

from examples.shop.app import create_app

__all__ = ["create_app"]
