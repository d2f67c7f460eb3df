"""JSON in and out through ``orjson`` when it is installed (the ``fast`` extra, ~5-8x quicker),
else the standard library, with the same result either way.

:func:`page_json` writes what a page carries (dates and dataclasses as their ``str``);
:func:`utf8_json` and :func:`read_json` write and read stored data (the visitor cookie):
``utf8_json`` answers None for data ``read_json`` would not read back exactly (integers
beyond 64 bits, infinities, lone surrogates), which :func:`exact_json` writes and
:func:`read_exact_json` reads with the standard library.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - the json module does the same, slower
    _orjson = None  # type: ignore[assignment]

_page_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def _std_page_json(data: Any) -> str:
    return _page_encoder(data)


def _std_utf8_json(data: Any) -> bytes | None:
    try:
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no UTF-8 for it
        return None


def exact_json(data: Any) -> bytes:
    """Compact JSON of any data, exactly as the standard library writes it (non-ASCII escaped)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def read_exact_json(raw: bytes) -> Any:
    """Parse JSON with the standard library (exact for integers of any size)."""
    return json.loads(raw.decode("utf-8"))


_std_read_json = read_exact_json


page_json: Callable[[Any], str] = _std_page_json
"""Compact JSON text, non-ASCII kept, dates, datetimes and dataclasses as ``str()``. With orjson two
differences remain, both invisible to ``JSON.parse``: ``1e300`` for ``1e+300``, and NaN or infinity
as ``null`` (the standard library writes ``NaN``, which no JSON parser accepts)."""

utf8_json: Callable[[Any], bytes | None] = _std_utf8_json
"""Compact UTF-8 JSON that :func:`read_json` reads back exactly, or None (then use :func:`exact_json`)."""

read_json: Callable[[bytes], Any] = _std_read_json
"""Parse UTF-8 JSON written by :func:`utf8_json`; ``ValueError`` when it is not JSON."""

if _orjson is not None:
    _dumps, _loads = _orjson.dumps, _orjson.loads
    _PAGE = _orjson.OPT_NON_STR_KEYS | _orjson.OPT_PASSTHROUGH_DATETIME | _orjson.OPT_PASSTHROUGH_DATACLASS

    def _orjson_page_json(data: Any) -> str:
        try:
            return _dumps(data, default=str, option=_PAGE).decode()
        except TypeError:
            return _page_encoder(data)

    def _orjson_utf8_json(data: Any) -> bytes | None:
        try:
            raw: bytes = _dumps(data)
        except TypeError:  # ints past 64 bits (orjson would read them back as floats), odd keys
            return None
        return raw if b"null" not in raw else None  # orjson writes infinities as null

    def _orjson_read_json(raw: bytes) -> Any:
        try:
            return _loads(raw)
        except ValueError:  # orjson is stricter (NaN, huge exponents): json decides, may refuse
            return _std_read_json(raw)

    page_json, utf8_json, read_json = _orjson_page_json, _orjson_utf8_json, _orjson_read_json
