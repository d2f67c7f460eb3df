"""The markup placed before ``</body>``: the decision as JSON and the client script tag.

The JSON is escaped the way Django's ``json_script`` does it: ``<``, ``>`` and ``&``
become ``\\u003C``-style escapes, so no value can close the ``<script>`` element or
open an HTML comment, and U+2028/U+2029 are escaped for old JavaScript parsers.
The result is still valid JSON that ``JSON.parse`` reads back unchanged.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

from smalldata.delivery.headers import ResponseHeaders
from smalldata.foundation.jsonfast import page_json

PAYLOAD_ID = "smalldata"
#: Where ``request.state`` holds the page's payload, for a template that renders it itself.
PAGE_KEY = "smalldata.page"

# (character, escape) pairs; chained ``str.replace`` calls run in C, while
# ``str.translate`` with a table that maps to longer strings goes character by
# character through a dict (about 10 us for a typical 500-character payload).
_JSON_SCRIPT_ESCAPES = (
    ("&", "\\u0026"),
    ("<", "\\u003C"),
    (">", "\\u003E"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


_PAYLOAD_OPEN = f'<script type="application/json" id="{PAYLOAD_ID}">'

# A nonce is base64 (RFC 7636 charset plus base64's own); anything else is not a nonce.
_NONCE = re.compile(r"'nonce-([A-Za-z0-9+/_=-]+)'")


def json_script_text(data: Any, *, ascii_only: bool = False) -> str:
    """``data`` as JSON that is safe to place inside a ``<script>`` element.

    ``ascii_only`` writes every other character as a ``\\uXXXX`` escape: safe in a page of any
    ASCII-compatible charset (ISO-8859-1, windows-1252, …), where UTF-8 bytes would read as mojibake.
    """
    text = page_json(data)
    for char, escaped in _JSON_SCRIPT_ESCAPES:
        if char in text:
            text = text.replace(char, escaped)
    if ascii_only and not text.isascii():
        text = _NON_ASCII.sub(_json_escape, text)
    return text


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # beyond the first plane: a surrogate pair, as JSON writes it
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def payload_tag(data: Any, nonce: str | None = None, *, ascii_only: bool = False) -> str:
    """``<script type="application/json" id="smalldata">…</script>`` (see :func:`json_script_text`)."""
    if not nonce:  # most pages: one concatenation instead of two f-strings
        return _PAYLOAD_OPEN + json_script_text(data, ascii_only=ascii_only) + "</script>"
    attrs = f'type="application/json" id="{PAYLOAD_ID}"{_nonce_attr(nonce)}'
    return f"<script {attrs}>{json_script_text(data, ascii_only=ascii_only)}</script>"


def utf8_page(headers: ResponseHeaders) -> bool:
    """Does the response say it is UTF-8 (``Content-Type: text/html; charset=utf-8``)?"""
    content_type = headers.get("content-type") or ""
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower() in ("utf-8", "utf8")
    return False


def client_tag(src: str, nonce: str | None = None) -> str:
    """The deferred ``<script src=…>`` tag that loads the client."""
    return f'<script src="{escape(src)}" defer{_nonce_attr(nonce)}></script>'


def csp_nonce(headers: ResponseHeaders) -> str | None:
    """The script nonce a page's ``Content-Security-Policy`` allows, if it names one.

    ``script-src`` wins over ``default-src``, as in browsers. Report-only policies
    are ignored: they do not block, so the page needs no nonce for them.
    """
    for policy in headers.getlist("content-security-policy"):
        directives: dict[str, str] = {}
        for directive in policy.split(";"):
            name, _, value = directive.strip().partition(" ")
            directives.setdefault(name.lower(), value)
        for name in ("script-src-elem", "script-src", "default-src"):
            if name in directives:
                match = _NONCE.search(directives[name])
                if match:
                    return match.group(1)
                break
    return None


def _nonce_attr(nonce: str | None) -> str:
    return f' nonce="{escape(nonce)}"' if nonce else ""
