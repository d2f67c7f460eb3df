"""Insert markup before the last ``</body>`` of an HTML page, streaming-safe.

The responder wraps one request's ``send``. It decides at ``http.response.start``
whether the response is a page it may touch, and otherwise passes every message
through untouched. For a page it holds back only what it must: the last few bytes
of each chunk (so a ``</body>`` split across chunks is still found), and, once a
``</body>`` is seen, the text from it onwards, because a later ``</body>`` (in a
comment, say) would be the one to insert before. If that held text grows past
``max_held`` bytes, it gives up and passes the page through unchanged.

A page the app compressed (a compression middleware inside smalldata) is held
whole instead, within a bound, and rewritten by :mod:`smalldata.delivery.compressed`;
compressing *outside* smalldata (``app.add_middleware`` of ``GZipMiddleware`` after
smalldata's) costs nothing of the kind and stays the better order. A page that
rendered the payload itself (the Jinja helper's ``sd.payload()``) says so in the
request's state, so the page is never searched for one: the hooks then give no markup.
"""

from __future__ import annotations

import re
from typing import Protocol

from starlette.types import Message, Send

from smalldata.delivery.compressed import IDENTITY, MAX_PAGE, UNREADABLE, codec_of, with_markup
from smalldata.delivery.headers import ResponseHeaders, add_vary, weaken_etag

_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)
_TAIL = len(b"</body >") - 1
_STRIP = bytes(c for c in range(256) if chr(c).isspace())  # what str.strip removes from a latin-1 value
DEFAULT_MAX_HELD = 64 * 1024


class PageHooks(Protocol):
    """What the middleware supplies for one response."""

    async def start(self, headers: ResponseHeaders, *, page: bool) -> None:
        """Edit the response headers; ``page`` is true for an HTML page that may get markup."""

    def markup(self, headers: ResponseHeaders) -> bytes:
        """The bytes to insert before ``</body>`` (may be empty)."""


def is_page(message: Message, method: str) -> bool:
    """An uncompressed ``text/html`` 200 response to a GET/POST that is not a download."""
    return _page_codec(ResponseHeaders({"headers": message.get("headers")}), message["status"], method) == IDENTITY


def is_html(headers: ResponseHeaders) -> bool:
    """A ``text/html`` response, whatever its status (a 404 page may show the decision too)."""
    # Raw bytes, no decoding: ``_STRIP`` is what ``str.strip`` removes from a latin-1 value.
    content_type = headers.first(b"content-type")
    return content_type is not None and content_type.partition(b";")[0].strip(_STRIP).lower() == b"text/html"


def _page_codec(headers: ResponseHeaders, status: int, method: str) -> int | None:
    """None for a response that is no page; else how its body is encoded (see :func:`codec_of`)."""
    if method == "HEAD" or status != 200 or not is_html(headers):
        return None
    disposition = headers.first(b"content-disposition")
    if disposition is not None and disposition.strip(_STRIP).lower().startswith(b"attachment"):
        return None
    return IDENTITY if headers.first(b"content-encoding") is None else codec_of(headers)


class HtmlInjector:
    """Wraps ``send`` for one request; see the module docstring."""

    __slots__ = ("codec", "headers", "held", "hooks", "markup", "max_held", "method", "page", "parts",
                 "passthrough", "send", "start_message")  # fmt: skip

    def __init__(self, send: Send, method: str, hooks: PageHooks, *, max_held: int = DEFAULT_MAX_HELD) -> None:
        self.send = send
        self.method = method
        self.hooks = hooks
        self.max_held = max_held
        self.start_message: Message | None = None
        self.headers: ResponseHeaders | None = None
        self.page = False
        self.passthrough = False
        self.held = b""
        self.markup: bytes = b""
        self.codec = IDENTITY
        self.parts: list[bytes] | None = None  # a page held whole while it comes in parts

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.start_message = message
            self.headers = headers = ResponseHeaders(message)
            codec = _page_codec(headers, message["status"], self.method)
            self.page = page = codec is not None
            await self.hooks.start(headers, page=page)  # a page we cannot read still gets its cookie
            if codec is not None and codec != UNREADABLE:
                self.markup = self.hooks.markup(headers)
                self.codec = codec
            if not self.markup:
                self.page, self.start_message = False, None
                await self.send(message)
        elif kind == "http.response.body" and self.page and not self.passthrough:
            if self.codec:
                await self._on_compressed(message)
            elif self.start_message is not None and not message.get("more_body", False) and self.parts is None:
                await self._send_whole(message.get("body", b""), message)  # the common case, one await deep
            else:
                await self._on_body(message)
        else:
            if self.start_message is not None:
                await self._flush_start()
            await self.send(message)

    async def _on_body(self, message: Message) -> None:
        chunk: bytes = message.get("body", b"")
        more = bool(message.get("more_body", False))
        if self.start_message is not None:
            parts = self.parts
            if not more:
                if parts:
                    parts.append(chunk)
                    chunk = b"".join(parts)
                    parts.clear()
                await self._send_whole(chunk, message)
                return
            if self._small_declared_length():  # sent in parts (Quart does) but small: held whole, length kept
                if parts is None:
                    parts = self.parts = []
                parts.append(chunk)
                return
            self._prepare_stream_headers()
            await self._flush_start()
            if parts:
                chunk = b"".join((*parts, chunk))
                parts.clear()
        buffer = self.held + chunk
        if not more:
            await self._send_last(buffer, message)
            return
        out, self.held = self._split(buffer)
        if len(self.held) > self.max_held:
            out, self.held, self.passthrough = out + self.held, b"", True
        if out:
            await self.send({"type": "http.response.body", "body": out, "more_body": True})

    def _small_declared_length(self) -> bool:
        """Does the response declare a ``Content-Length`` within ``max_held`` bytes?"""
        assert self.headers is not None
        length = self.headers.first(b"content-length")
        return length is not None and length.strip().isdigit() and int(length) <= self.max_held

    async def _send_whole(self, body: bytes, message: Message) -> None:
        """The common case: the whole page in one message, so Content-Length can stay exact."""
        new_body = _insert(body, self.markup)
        headers = self.headers
        assert headers is not None
        if new_body is not body:
            if headers.first(b"content-length") is not None:
                headers.set(b"content-length", b"%d" % len(new_body))
            if headers.first(b"etag") is not None:
                weaken_etag(headers)
        start, self.start_message = self.start_message, None
        assert start is not None
        await self.send(start)
        await self.send({**message, "body": new_body})

    async def _on_compressed(self, message: Message) -> None:
        """Hold a compressed page whole (within :data:`MAX_PAGE`), then send it rewritten, or as it was."""
        parts = self.parts
        if parts is None:
            parts = self.parts = []
        parts.append(message.get("body", b""))
        if message.get("more_body", False):
            if sum(map(len, parts)) > MAX_PAGE:  # too large to rewrite: out as it came, from here on
                self.passthrough = True
                await self._flush_start()
                await self.send({"type": "http.response.body", "body": b"".join(parts), "more_body": True})
                parts.clear()
            return
        body = b"".join(parts)
        parts.clear()
        markup = self.markup
        changed = with_markup(body, self.codec, lambda page: _insert(page, markup))
        if changed is not None:
            headers = self.headers
            assert headers is not None
            body = changed
            if headers.first(b"content-length") is not None:
                headers.set(b"content-length", b"%d" % len(body))
            weaken_etag(headers)
            add_vary(headers, ("Accept-Encoding",))
        await self._flush_start()
        await self.send({"type": "http.response.body", "body": body, "more_body": False})

    async def _send_last(self, buffer: bytes, message: Message) -> None:
        body = _insert(buffer, self.markup)
        await self.send({**message, "body": body})

    def _prepare_stream_headers(self) -> None:
        # Headers go out before we know whether we will find </body>, so promise
        # nothing about length or byte-identity.
        headers = self.headers
        assert headers is not None
        del headers["Content-Length"]
        weaken_etag(headers)

    def _split(self, buffer: bytes) -> tuple[bytes, bytes]:
        """What can go out now, and what must wait for later chunks."""
        last = _last_body_end(buffer)
        if last is not None:
            return buffer[:last], buffer[last:]
        cut = max(len(buffer) - _TAIL, 0)
        return buffer[:cut], buffer[cut:]

    async def _flush_start(self) -> None:
        if self.start_message is not None:
            message, self.start_message = self.start_message, None
            await self.send(message)


def _last_body_end(buffer: bytes) -> int | None:
    """Where the last ``</body>`` starts (any case, spaces before ``>``), searching from the end.

    ``</body>`` is nearly always among the last few tags, so walking back over
    ``</`` is much cheaper than a case-insensitive scan of the whole page. Most
    pages write it in lower case: then one ``rfind`` and a look at the few bytes
    after it (no other body end there) settle it, a third of the walk's cost.
    """
    at = buffer.rfind(b"</body>")
    if at >= 0 and _BODY_END.search(buffer, at + len(b"</body>")) is None:
        return at
    end = len(buffer)
    while True:
        at = buffer.rfind(b"</", 0, end)
        if at < 0:
            return None
        if buffer[at + 2 : at + 6].lower() == b"body" and _BODY_END.match(buffer, at):
            return at
        end = at


def _insert(body: bytes, markup: bytes) -> bytes:
    at = _last_body_end(body)
    if at is None:
        return body
    view = memoryview(body)  # slices of a view are not copies: the page is copied once, into the result
    return b"".join((view[:at], markup, view[at:]))
