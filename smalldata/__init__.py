"""smalldata: personalise any ASGI web shop with the small data it already has."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
