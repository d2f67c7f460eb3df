"""Insert markup before the last ``</body>`` of an HTML page, streaming-safe.

The responder wraps one request's ``send``. It decides at ``http.response.start``
whether the response is a page it may touch, and otherwise passes every message
through untouched. For a page it holds back only what it must: the last few bytes
of each chunk (so a ``</body>`` split across chunks is still found), and, once a
``</body>`` is seen, the text from it onwards, because a later ``</body>`` (in a
comment, say) would be the one to insert before. If that held text grows past
``max_held`` bytes, it gives up and passes the page through unchanged.

It must sit *inside* any compression middleware (add it with
``app.add_middleware`` *before* ``GZipMiddleware``), since it leaves compressed
bodies alone.
"""

from __future__ import annotations

import re
from typing import Protocol

from starlette.types import Message, Send

from smalldata.delivery.headers import ResponseHeaders, weaken_etag

_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)
_TAIL = len(b"</body >") - 1
# A page that already carries the payload (server-rendered by the Jinja helper):
# an ``id`` attribute whose value is ``smalldata``, quoted or not. The lookbehind
# (after the literal, so the engine still searches for the literal) drops text
# like ``<title>… smalldata demo`` or ``/_smalldata/`` before a match object is made.
_PAYLOAD_VALUE = re.compile(rb"""smalldata["'\s>/](?<=[="'\s]smalldata.)""")
_SPACES = frozenset(b" \t\n\r\f\v")
_STRIP = bytes(c for c in range(256) if chr(c).isspace())
_QUOTES = frozenset(b"\"'")
_EQUALS = ord("=")
_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
# What a chunk's scan keeps for the next one: the last bytes a split ``smalldata`` value
# may start in, plus the run before them that ``_id_ends_at`` may walk back over
# (``id``, spaces, ``=``, a quote) and the byte that ends that run, up to a bound.
_PAYLOAD_TAIL = 24
_LOOK_BACK = _SPACES | _QUOTES | {_EQUALS} | frozenset(b"idID")
_MAX_LOOK_BACK = 1024

DEFAULT_MAX_HELD = 64 * 1024


class PageHooks(Protocol):
    """What the middleware supplies for one response."""

    async def start(self, headers: ResponseHeaders, *, page: bool) -> None:
        """Edit the response headers; ``page`` is true for an HTML page that may get markup."""

    def markup(self, headers: ResponseHeaders) -> bytes:
        """The bytes to insert before ``</body>`` (may be empty)."""


def is_page(message: Message, method: str) -> bool:
    """An uncompressed ``text/html`` 200 response to a GET/POST that is not a download."""
    return _is_page(ResponseHeaders({"headers": message.get("headers")}), message["status"], method)


def _is_page(headers: ResponseHeaders, status: int, method: str) -> bool:
    if method == "HEAD" or status != 200:
        return False
    # Raw bytes, no decoding: ``_STRIP`` is what ``str.strip`` removes from a latin-1 value.
    content_type = headers.first(b"content-type")
    if content_type is None or content_type.partition(b";")[0].strip(_STRIP).lower() != b"text/html":
        return False
    encoding = headers.first(b"content-encoding")
    if encoding is not None and encoding.strip(_STRIP).lower() != b"identity":
        return False
    disposition = headers.first(b"content-disposition")
    return disposition is None or not disposition.strip(_STRIP).lower().startswith(b"attachment")


class HtmlInjector:
    """Wraps ``send`` for one request; see the module docstring."""

    __slots__ = (
        "has_payload", "headers", "held", "hooks", "markup", "max_held", "method", "page", "passthrough",
        "scan_tail", "send", "start_message",
    )  # fmt: skip

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
        self.has_payload = False
        self.scan_tail = b""
        self.markup: bytes = b""

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            await self._on_start(message)
        elif kind == "http.response.body" and self.page and not self.passthrough:
            if self.start_message is not None and not message.get("more_body", False):
                await self._send_whole(message.get("body", b""), message)  # the common case, one await deep
            else:
                await self._on_body(message)
        else:
            if self.start_message is not None:
                await self._flush_start()
            await self.send(message)

    async def _on_start(self, message: Message) -> None:
        self.start_message = message
        self.headers = headers = ResponseHeaders(message)
        self.page = _is_page(headers, message["status"], self.method)
        await self.hooks.start(headers, page=self.page)
        if self.page:
            self.markup = self.hooks.markup(headers)
        if not self.page or not self.markup:
            self.page, self.start_message = False, None
            await self.send(message)

    async def _on_body(self, message: Message) -> None:
        chunk: bytes = message.get("body", b"")
        more = bool(message.get("more_body", False))
        if self.start_message is not None:
            if not more:
                await self._send_whole(chunk, message)
                return
            self._prepare_stream_headers()
            await self._flush_start()
        self._scan_for_payload(chunk)
        buffer = self.held + chunk
        if not more:
            await self._send_last(buffer, message)
            return
        out, self.held = self._split(buffer)
        if len(self.held) > self.max_held:
            out, self.held, self.passthrough = out + self.held, b"", True
        if out:
            await self.send({"type": "http.response.body", "body": out, "more_body": True})

    async def _send_whole(self, body: bytes, message: Message) -> None:
        """The common case: the whole page in one message, so Content-Length can stay exact."""
        new_body = body if _has_payload(body) else _insert(body, self.markup)
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

    async def _send_last(self, buffer: bytes, message: Message) -> None:
        body = buffer if self.has_payload else _insert(buffer, self.markup)
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

    def _scan_for_payload(self, chunk: bytes) -> None:
        if self.has_payload:
            return
        window = self.scan_tail + chunk
        self.has_payload = _has_payload(window)
        self.scan_tail = _scan_tail(window)

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


def _has_payload(buffer: bytes) -> bool:
    """Whether an element with ``id="smalldata"`` (any quoting) is already in ``buffer``.

    Ids are case-sensitive (like ``getElementById``), attribute names are not.
    Pages that use ``data-smalldata-slot`` mention smalldata many times, so the
    search is for the value (a literal, which the regex engine finds fast) and
    only the few bytes before each hit are checked: a regex for ``\\bid\\s*=``
    tries every position of the page and costs tens of microseconds a page.
    """
    for match in _PAYLOAD_VALUE.finditer(buffer):  # noqa: SIM110 - a loop, not any(): no generator per page
        if _id_ends_at(buffer, match.start()):
            return True
    return False


def _scan_tail(window: bytes) -> bytes:
    """The end of ``window`` that the next chunk's scan needs (see ``_PAYLOAD_TAIL``)."""
    start = max(len(window) - _PAYLOAD_TAIL, 0)
    floor = max(start - _MAX_LOOK_BACK, 0)
    while start > floor and window[start - 1] in _LOOK_BACK:
        start -= 1
    return window[max(start - 1, 0) :]


def _id_ends_at(buffer: bytes, at: int) -> bool:
    """Does ``buffer[:at]`` end with ``id=``, ``id="`` or ``id='`` (any case, spaces around ``=``)?"""
    i = at
    if i and buffer[i - 1] in _QUOTES:
        i -= 1
    while i and buffer[i - 1] in _SPACES:
        i -= 1
    if not i or buffer[i - 1] != _EQUALS:
        return False
    i -= 1
    while i and buffer[i - 1] in _SPACES:
        i -= 1
    if i < 2 or buffer[i - 2 : i].lower() != b"id":
        return False
    return i == 2 or buffer[i - 3] not in _WORD


def _insert(body: bytes, markup: bytes) -> bytes:
    at = _last_body_end(body)
    if at is None:
        return body
    view = memoryview(body)  # slices of a view are not copies: the page is copied once, into the result
    return b"".join((view[:at], markup, view[at:]))
