"""Who may use the console, and which requests may change something.

The console edits the shop's rules, so it trusts only its own pages:

- **On 127.0.0.1** (the default) anyone on this machine may use it, but only under
  a loopback host name (``127.0.0.1``, ``localhost``, ``[::1]``): a page on another
  site that rebinds its own domain name to 127.0.0.1 (DNS rebinding) is refused.
- **On any other address** it needs a token (``--token`` or
  ``$SMALLDATA_CONSOLE_TOKEN``): ``Authorization: Bearer <token>``, or
  ``?token=<token>`` once, which the browser then keeps in a ``SameSite=Strict``
  cookie. Without a token configured it serves 403 on every page (and
  ``smalldata console`` refuses to start like that).
- **Every request that can change something** (every method but GET and HEAD) must
  come from the console's own pages: a browser's ``Sec-Fetch-Site`` must say
  ``same-origin`` and an ``Origin`` must be the console's own; a cross-site one is
  refused with 403. The pages' forms also carry a CSRF token that
  :func:`smalldata.tools.console.pages.common.form_of` checks.

No request body is larger than :data:`MAX_BODY`: one that says so in ``Content-Length`` is
refused with 413 before a byte of it is read, and one sent without it (chunked) is counted
as it streams in and refused as soon as it passes the limit, so memory stays bounded.

Every response forbids framing and inline scripts and is not stored by caches
(see https://owasp.org/www-community/attacks/csrf and
https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Sec-Fetch-Site).
"""

from __future__ import annotations

import hmac
import ipaddress
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import cookie_parser
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "smalldata_console_token"
#: The largest request body the console reads: a rule file (2 MB, the loader's limit) form-encoded, and a few fields.
MAX_BODY = 8 * 1024 * 1024
TOO_LARGE = "413 — the request is larger than the console takes (8 MB)"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",  # "no-referrer" would make a browser send "Origin: null" with a form
    "cache-control": "no-store",
}  # fmt: skip


def is_loopback(host: str) -> bool:
    """Is ``host`` (an address to bind, or a Host header's name) this machine only?"""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_name(host_header: str) -> str:
    """``127.0.0.1:8001`` → ``127.0.0.1``; ``[::1]:8001`` → ``::1``."""
    return urlsplit(f"//{host_header}").hostname or ""


class _Denied:
    """The plain answers of a refused request (no page, no console texts: nothing to leak)."""

    @staticmethod
    def unauthorised() -> Response:
        return PlainTextResponse(
            "401 — this console needs its token: open it with ?token=… once, or send Authorization: Bearer …\n"
            "401 — konsollen kræver sin nøgle: åbn den én gang med ?token=…\n",
            status_code=401, headers={"www-authenticate": 'Bearer realm="smalldata console"'},
        )  # fmt: skip

    @staticmethod
    def forbidden(why: str) -> Response:
        return PlainTextResponse(f"403 — {why}\n", status_code=403)


class ConsoleGuard:
    """Pure ASGI middleware in front of every console page and file (see the module's docstring)."""

    def __init__(self, app: ASGIApp, *, token: str | None, loopback: bool) -> None:
        self.app = app
        self.token = token or None
        self.loopback = loopback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        received = 0

        async def receive_counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > MAX_BODY:  # raised where the page reads its body: it answers 413 there
                raise HTTPException(413, TOO_LARGE)
            return message

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive_counted, send_with_headers)

    def _refusal(self, scope: Scope) -> Response | None:
        if not scope.get("query_string", b"").isascii():  # a browser percent-encodes; raw bytes are no console's
            return PlainTextResponse("400 — the address must be percent-encoded\n", status_code=400)
        headers = Headers(scope=scope)
        if self.token is None:
            if not self.loopback:
                return _Denied.forbidden("this console listens beyond this machine and has no token; "
                                         "restart it with --token or SMALLDATA_CONSOLE_TOKEN")
            if not is_loopback(_host_name(headers.get("host", ""))):
                return _Denied.forbidden("this console answers only to 127.0.0.1 and localhost")
        elif not self._authorised(headers):
            return self._token_in_query(scope) or _Denied.unauthorised()
        if scope["method"] not in SAFE_METHODS and not _same_origin(headers):
            return _Denied.forbidden("cross-site request refused: changes come only from the console's own pages")
        declared = headers.get("content-length", "")
        if declared and not (declared.isascii() and declared.isdigit()):
            return PlainTextResponse("400 — Content-Length is not a number\n", status_code=400)
        if declared and (len(declared) > 12 or int(declared) > MAX_BODY):  # refused before a byte is read
            return PlainTextResponse(TOO_LARGE + "\n", status_code=413)
        return None

    def _authorised(self, headers: Headers) -> bool:
        assert self.token is not None
        offered = [headers.get("authorization", "").removeprefix("Bearer ").strip()]
        offered.append(cookie_parser(headers.get("cookie", "")).get(COOKIE, ""))
        return any(hmac.compare_digest(value.encode(), self.token.encode()) for value in offered if value)

    def _token_in_query(self, scope: Scope) -> Response | None:
        """``?token=`` with the right token: keep it in a cookie, and show the address without it."""
        assert self.token is not None
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = next((value for name, value in query if name == "token"), "")
        if scope["method"] != "GET" or not hmac.compare_digest(given.encode(), self.token.encode()):
            return None
        rest = urlencode([(name, value) for name, value in query if name != "token"])
        response = RedirectResponse(scope["path"] + (f"?{rest}" if rest else ""), status_code=303)
        response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/")
        return response


def _same_origin(headers: Headers) -> bool:
    """A request that can change something: does it come from the console's own pages?"""
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = headers.get("origin")
    if origin is None:
        return True  # not a browser's cross-site request (those send Origin); the CSRF token still counts
    parts = urlsplit(origin)
    return bool(parts.scheme in ("http", "https") and parts.netloc and parts.netloc == headers.get("host"))
