"""Signed preview links: see a page as an imagined visitor would, at an imagined time.

``smalldata preview --set geo.country=SE --at 2026-12-24T18:00 --variant easter-banner=b --url /pricing``
prints ``https://shop.example/pricing?sd_preview=<token>``. The token carries the
signal overrides, the moment and the forced experiment variants, an expiry, and
an HMAC-SHA256 signature::

    v1.<base64url(JSON payload)>.<base64url(HMAC-SHA256(key, "v1." + payload))>

The middleware applies a valid token as signal overrides, forced variants (their
exposures are tagged ``forced`` so reports leave them out) and a fixed clock. A
token that is unsigned, tampered with, expired, too large or malformed is
ignored: the visitor sees the normal page.

Keys: ``preview.secret_keys`` if set, else the visitor-cookie keys
(``state.secret_keys`` / ``$SMALLDATA_SECRET_KEYS``). Each is first derived
with HMAC for this one purpose, so a preview token can never pass as a cookie
or the other way round. The first key signs; all verify (rotation).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from smalldata.foundation.remote import HttpURL
from smalldata.signals.catalog import BUILT_IN, SignalCatalog
from smalldata.state.config import StateSettings

VERSION = "v1"
MAX_TOKEN = 4096
_PURPOSE = b"smalldata preview link v1"



PARAM = "sd_preview"


class PreviewSettings(BaseModel):
    """``preview:`` in ``smalldata.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    param: str = Field(default=PARAM, pattern=r"^[A-Za-z0-9_-]{1,40}$")
    ttl_seconds: int = Field(default=24 * 3600, ge=60, le=30 * 24 * 3600)
    base_url: HttpURL | None = None
    secret_keys: tuple[SecretStr, ...] = ()

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value


@dataclass(frozen=True)
class Preview:
    """What a valid token asks for."""

    overrides: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = None
    variants: dict[str, str] = field(default_factory=dict)
    expires: datetime | None = None
    draft: str | None = None  # the drafts' fingerprint (smalldata.rules.drafts): decide with them, this link only


def preview_keys(preview: PreviewSettings, state: StateSettings | None = None) -> tuple[bytes, ...]:
    """The keys that sign (first) and verify (all) preview tokens, derived for this purpose only:
    ``preview.secret_keys``, else those of the visitor cookie (``state``)."""
    if preview.secret_keys:
        raw = tuple(key.get_secret_value().encode("utf-8") for key in preview.secret_keys)
    else:
        raw = (state or StateSettings()).signing_keys()
    return tuple(hmac.new(key, _PURPOSE, hashlib.sha256).digest() for key in raw)


# -- tokens ------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, signed: str) -> str:
    return _b64(hmac.new(secret, signed.encode("ascii"), hashlib.sha256).digest())


def make_preview_token(
    *,
    sets: Mapping[str, Any],
    at: datetime | None,
    variants: Mapping[str, str],
    secret: bytes,
    ttl_seconds: int,
    now: datetime | None = None,
    draft: str | None = None,
) -> str:
    """A signed token; ``at`` must be time-zone aware (the shop's zone is kept in the offset).
    ``draft`` names the drafts the link applies (:func:`smalldata.rules.drafts.drafts_digest`)."""
    if at is not None and at.tzinfo is None:
        raise ValueError("the preview time needs a time zone")
    issued = now or datetime.now(UTC)
    payload = {
        "s": {name: _jsonable(value) for name, value in sets.items()},
        "a": at.isoformat() if at is not None else None,
        "x": dict(variants),
        "e": int((issued + timedelta(seconds=ttl_seconds)).timestamp()),
    }
    if draft is not None:
        payload["d"] = draft
    body = _b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    signed = f"{VERSION}.{body}"
    return f"{signed}.{_sign(secret, signed)}"


def _jsonable(value: Any) -> Any:
    """Dates typed on the command line travel as ISO text."""
    if isinstance(value, date):  # and datetime
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def make_preview_url(
    base_url: str,
    *,
    sets: Mapping[str, Any],
    at: datetime | None,
    variants: Mapping[str, str],
    secret: bytes,
    ttl_seconds: int,
    now: datetime | None = None,
    param: str = PARAM,
    draft: str | None = None,
) -> str:
    """``base_url`` (absolute or a path, its query kept) with the signed token added as ``param``."""
    token = make_preview_token(sets=sets, at=at, variants=variants, secret=secret, ttl_seconds=ttl_seconds, now=now,
                               draft=draft)
    parts = urlsplit(base_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != param]
    query.append((param, token))
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), parts.fragment))


def read_preview_token(token: str | None, secrets: Iterable[bytes], now: datetime,
                       catalog: SignalCatalog = BUILT_IN) -> Preview | None:
    """The preview a token asks for, or None when it is unsigned, tampered with, expired or malformed."""
    if not token or len(token) > MAX_TOKEN or not token.isascii():  # a signature is ASCII: "v1.xé.y" is none
        return None
    version, _, rest = token.partition(".")
    body, _, signature = rest.partition(".")
    if version != VERSION or not body or not signature:
        return None
    signed = f"{version}.{body}"
    if not any(hmac.compare_digest(_sign(secret, signed), signature) for secret in secrets):
        return None
    try:
        payload = json.loads(_unb64(body))
        return _preview(payload, now, catalog)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, OSError, RecursionError):
        return None  # signed but odd (an expiry past year 9999, say): no preview, never an error


def _preview(payload: Any, now: datetime, catalog: SignalCatalog) -> Preview | None:
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    expires = datetime.fromtimestamp(int(payload["e"]), UTC)
    if now >= expires:
        return None
    sets, variants, at = payload["s"], payload["x"], payload["a"]
    if not isinstance(sets, dict) or not all(catalog.resolve(name) is not None for name in sets):
        return None
    if not isinstance(variants, dict) or not all(isinstance(v, str) for v in variants.values()):
        return None
    moment = datetime.fromisoformat(at) if isinstance(at, str) else None
    if moment is not None and moment.tzinfo is None:
        return None
    draft = payload.get("d")
    return Preview(overrides=dict(sets), at=moment, variants={str(k): v for k, v in variants.items()}, expires=expires,
                   draft=draft if isinstance(draft, str) else None)


def preview_from_query(query_string: bytes | str, secrets: Iterable[bytes], now: datetime,
                       param: str = PARAM, catalog: SignalCatalog = BUILT_IN) -> Preview | None:
    """The preview in a request's query string (``scope["query_string"]``), if it carries a valid one."""
    text = query_string.decode("latin-1") if isinstance(query_string, bytes) else query_string
    if param not in text:
        return None  # the common case costs one substring test
    for key, value in parse_qsl(text, keep_blank_values=True):
        if key == param:
            return read_preview_token(value, secrets, now, catalog)
    return None
