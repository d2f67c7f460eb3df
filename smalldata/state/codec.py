"""The visitor cookie's value: compact, signed, and safe to receive from anyone.

Format: ``v1.<payload>.<signature>`` where ``payload`` is base64url (no padding)
of a one-byte marker and the JSON (``j``; ``J`` for JSON only the standard library
reads exactly, such as integers past 64 bits) or its raw-deflate compression
(``z``, used only for JSON over :data:`COMPRESS_OVER` bytes, and only when
smaller: setting up a deflater costs ~15 µs, more than the state's whole
bookkeeping, and a typical state is a few hundred bytes), and ``signature`` the
first 16 bytes of
HMAC-SHA256(key, purpose | "v1." + payload), base64url. The first key signs,
every key verifies, so keys rotate by putting a new one first and dropping the
old one after ``max_age``.

:meth:`CookieCodec.loads` answers ``None`` for anything it did not sign itself
— tampered, truncated, old-format, foreign, huge, non-ASCII — and never raises:
a bad cookie is a new visitor, not an error page.
"""

from __future__ import annotations

import binascii
import hmac
import zlib
from collections.abc import Sequence
from typing import Any

from smalldata.foundation.jsonfast import exact_json, read_exact_json, read_json, utf8_json

__all__ = ["COMPRESS_OVER", "MAX_COOKIE_CHARS", "CookieCodec", "cookie_header"]

VERSION = "v1"
_PREFIX = VERSION + "."
#: Longer values are not even looked at (browsers keep at most ~4 KB per cookie).
MAX_COOKIE_CHARS = 4096
_MAX_JSON = 16 * 1024  # a decompression bomb stops here
_SIG_BYTES = 16
_PURPOSE = b"smalldata.visitor|"  # the same secret used elsewhere cannot forge these
#: JSON up to this many bytes goes into the cookie uncompressed (~1,400 characters at most).
COMPRESS_OVER = 1024


class CookieCodec:
    """Turns a JSON-ready dict into a signed cookie value and back."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("at least one signing key is needed")
        self._keys = tuple(keys)
        # each key's HMAC, keyed (and fed the purpose) once: a cookie copies it
        self._macs = tuple(hmac.new(key, _PURPOSE, "sha256") for key in self._keys)

    def dumps(self, data: dict[str, Any]) -> str:
        """Sign and encode ``data`` with the newest key."""
        marker, raw = _dump_json(data)
        body = marker + raw
        if len(raw) > COMPRESS_OVER:
            # A small window and memory level: as small for a cookie-sized input, 8x faster to set up.
            deflater = zlib.compressobj(6, zlib.DEFLATED, -11, 4)
            packed = deflater.compress(raw) + deflater.flush()
            if len(packed) < len(raw):
                body = b"z" + packed
        signed = f"{VERSION}.{_b64encode(body)}"
        return f"{signed}.{_signature(self._macs[0], signed.encode('ascii'))}"

    def loads(self, value: str | None) -> dict[str, Any] | None:
        """The dict inside a cookie value this codec signed, else ``None``."""
        if not value or len(value) > MAX_COOKIE_CHARS or not value.isascii():
            return None
        signed, _, signature = value.rpartition(".")
        if not signed.startswith(_PREFIX) or not self._verify(signed, signature):
            return None
        try:
            return _unpack(_b64decode(signed[len(_PREFIX) :]))
        except (ValueError, zlib.error, RecursionError):
            return None

    def _verify(self, signed: str, signature: str) -> bool:
        message = signed.encode("ascii")
        # Compare the base64 text (what we would have written), not decoded bytes: one
        # encode instead of a decode. Check every key, so timing does not tell which matched.
        macs = self._macs
        if len(macs) == 1:  # the usual case: one key
            return hmac.compare_digest(_signature(macs[0], message), signature)
        results = [hmac.compare_digest(_signature(mac, message), signature) for mac in macs]
        return any(results)


def _signature(mac: hmac.HMAC, message: bytes) -> str:
    """The cookie signature of ``message``: HMAC-SHA256 of the purpose and the message, truncated, base64url."""
    signer = mac.copy()
    signer.update(message)
    return _b64encode(signer.digest()[:_SIG_BYTES])


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
        marker = b"J"  # written before the J marker existed: read exactly
    if marker == b"j":
        data = read_json(payload)
    elif marker == b"J":
        data = read_exact_json(payload)
    else:
        return None
    return data if isinstance(data, dict) else None


def _dump_json(data: Any) -> tuple[bytes, bytes]:
    """The state as JSON and its marker: ``j`` read back fast, ``J`` read exactly (a huge integer, or a
    lone surrogate from a query string, say, escaped so the state is still written)."""
    raw = utf8_json(data)
    if raw is not None:
        return b"j", raw
    return b"J", exact_json(data)


_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def _b64encode(data: bytes) -> str:
    # base64.urlsafe_b64encode, minus two Python-level calls
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    # base64.urlsafe_b64decode, with the translation table built once
    try:
        data = (text + "=" * (-len(text) % 4)).encode("ascii").translate(_FROM_URLSAFE)
        return binascii.a2b_base64(data)  # the signature was checked: the text is what we wrote
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError(str(exc)) from None
