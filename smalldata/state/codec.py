"""The visitor cookie's value: compact, signed, and safe to receive from anyone.

Format: ``v1.<payload>.<signature>`` where ``payload`` is base64url (no padding)
of a one-byte marker and the JSON (``j``) or its raw-deflate compression (``z``,
used when smaller), and ``signature`` the first 16 bytes of
HMAC-SHA256(key, purpose | "v1." + payload), base64url. The first key signs,
every key verifies, so keys rotate by putting a new one first and dropping the
old one after ``max_age``.

:meth:`CookieCodec.loads` answers ``None`` for anything it did not sign itself
— tampered, truncated, old-format, foreign, huge, non-ASCII — and never raises:
a bad cookie is a new visitor, not an error page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import zlib
from collections.abc import Sequence
from typing import Any

__all__ = ["MAX_COOKIE_CHARS", "CookieCodec", "cookie_header"]

VERSION = "v1"
#: Longer values are not even looked at (browsers keep at most ~4 KB per cookie).
MAX_COOKIE_CHARS = 4096
_MAX_JSON = 16 * 1024  # a decompression bomb stops here
_SIG_BYTES = 16
_PURPOSE = b"smalldata.visitor|"  # the same secret used elsewhere cannot forge these


class CookieCodec:
    """Turns a JSON-ready dict into a signed cookie value and back."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("at least one signing key is needed")
        self._keys = tuple(keys)

    def dumps(self, data: dict[str, Any]) -> str:
        """Sign and encode ``data`` with the newest key."""
        raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        # A small window and memory level: as small for a cookie-sized input, 8x faster to set up.
        deflater = zlib.compressobj(6, zlib.DEFLATED, -11, 4)
        packed = deflater.compress(raw) + deflater.flush()
        body = b"z" + packed if len(packed) < len(raw) else b"j" + raw
        signed = f"{VERSION}.{_b64encode(body)}"
        return f"{signed}.{_b64encode(self._sign(self._keys[0], signed))}"

    def loads(self, value: str | None) -> dict[str, Any] | None:
        """The dict inside a cookie value this codec signed, else ``None``."""
        if not value or len(value) > MAX_COOKIE_CHARS or not value.isascii():
            return None
        signed, _, signature = value.rpartition(".")
        if not signed.startswith(VERSION + ".") or not self._verify(signed, signature):
            return None
        try:
            return _unpack(_b64decode(signed[len(VERSION) + 1 :]))
        except (ValueError, zlib.error, RecursionError):
            return None

    def _sign(self, key: bytes, signed: str) -> bytes:
        mac = hmac.new(key, _PURPOSE + signed.encode("ascii"), hashlib.sha256)
        return mac.digest()[:_SIG_BYTES]

    def _verify(self, signed: str, signature: str) -> bool:
        try:
            given = _b64decode(signature)
        except ValueError:
            return False
        # Check every key, so timing does not tell which one (if any) matched.
        results = [hmac.compare_digest(self._sign(key, signed), given) for key in self._keys]
        return any(results)


def cookie_header(name: str, value: str, *, max_age: int, secure: bool) -> str:
    """A ``Set-Cookie`` value for the visitor cookie: first-party, script-proof, sent on
    top-level navigation (``SameSite=Lax``), ``Secure`` when the request came over HTTPS.
    ``max_age=0`` deletes the cookie."""
    parts = [f"{name}={value}", "Path=/", f"Max-Age={max(0, max_age)}", "HttpOnly", "SameSite=Lax"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def _unpack(body: bytes) -> dict[str, Any] | None:
    marker, payload = body[:1], body[1:]
    if marker == b"z":
        inflater = zlib.decompressobj(wbits=-15)
        payload = inflater.decompress(payload, _MAX_JSON)
        if inflater.unconsumed_tail or not inflater.eof:
            return None
    elif marker != b"j":
        return None
    data = json.loads(payload.decode("utf-8"))
    return data if isinstance(data, dict) else None


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except binascii.Error as exc:
        raise ValueError(str(exc)) from None
