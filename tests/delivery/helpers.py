"""Helpers for delivery tests: a fake shop (pages, client events, health) and a raw ASGI caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smalldata.app import Parts
from smalldata.decision import Decision, Exposure
from smalldata.delivery.endpoints import EventLimits
from smalldata.delivery.visit import ClientEvent, ServerConversion, Visit


def greeting_decision(text: str = "Welcome back!") -> Decision:
    return Decision(greeting=text, slot_rules={"greeting": "welcome-back"}, ruleset_version="v1")


@dataclass
class FakePersonaliser:
    """Decides the same thing for everyone; records what the middleware asked of it.

    It plays all three parts the middleware serves with (see :meth:`parts`).
    """

    decision: Decision = field(default_factory=greeting_decision)
    cookies: list[str] = field(default_factory=lambda: ["sd=visitor-1; Path=/; HttpOnly; SameSite=Lax"])
    vary: tuple[str, ...] = ()
    fail: bool = False
    delivered: list[bool] = field(default_factory=list)
    events: list[ClientEvent] = field(default_factory=list)
    paths: list[str | None] = field(default_factory=list)
    closed: int = 0
    started: int = 0
    regular: bool = True  # every visitor counts as an established one
    orders: list[ServerConversion] = field(default_factory=list)

    def parts(self, limits: EventLimits | None = None) -> Parts:
        """The parts for ``SmallData(app, parts=...)``: this fake as pages, client events and health
        (browsers' conversions taken, unless ``limits`` say otherwise)."""
        limits = limits or EventLimits(browser_conversions=True)
        return Parts(self, self, self, closers=[self.aclose], starters=[self.start], event_limits=limits)

    async def start(self) -> None:
        self.started += 1

    async def aclose(self) -> None:
        self.closed += 1

    async def begin(self, scope: Scope, *, path: str | None = None) -> Visit | None:
        if self.fail:
            raise RuntimeError("signal provider exploded")
        self.paths.append(path)
        return Visit(self.decision, self.vary, self._record)

    async def _record(self, page: bool) -> tuple[list[str], list[Exposure] | None]:
        self.delivered.append(page)
        return (list(self.cookies) if page else []), None

    async def record(self, scope: Scope, event: ClientEvent) -> list[str]:
        self.events.append(event)
        return []

    def visitor_key(self, scope: Scope) -> str | None:
        return "visitor-1"

    def established(self, scope: Scope) -> bool:
        return self.regular

    async def server_conversion(self, scope: Scope | None, order: ServerConversion) -> bool:
        first = order.order_id not in {o.order_id for o in self.orders}
        self.orders.append(order)
        return first

    async def report(self) -> dict[str, Any]:
        return {"ruleset_version": "v1", "errors": []}


@dataclass
class Result:
    start: Message
    chunks: list[bytes]

    @property
    def status(self) -> int:
        return int(self.start["status"])

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def header(self, name: str) -> str | None:
        values = self.headers(name)
        return values[0] if values else None

    def headers(self, name: str) -> list[str]:
        return [v.decode() for k, v in self.start["headers"] if k.decode().lower() == name.lower()]


async def call(
    app: ASGIApp,
    path: str = "/",
    *,
    method: str = "GET",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> Result:
    """Call an ASGI app directly, keeping each body message (TestClient would join them)."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers or [],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    await app(scope, receive, send)
    start = next(m for m in messages if m["type"] == "http.response.start")
    chunks = [m.get("body", b"") for m in messages if m["type"] == "http.response.body"]
    return Result(start, chunks)


def raw_app(
    chunks: list[bytes],
    *,
    status: int = 200,
    headers: list[tuple[str, str]] | None = None,
) -> ASGIApp:
    """An app that sends ``chunks`` as separate body messages."""
    if headers is None:
        headers = [("content-type", "text/html; charset=utf-8")]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raw = [(k.lower().encode(), v.encode()) for k, v in headers]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        for i, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": i < len(chunks) - 1})

    return app
