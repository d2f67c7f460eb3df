"""The floor: a minimal hand-written pure-Python middleware doing a personalised page's essential work.

What it does per HTML request, and nothing more: read the visitor cookie in
smalldata's own format (``v1.<base64url(marker + JSON)>.<HMAC-SHA256, 16 bytes>``),
verify and decode it, count the visit and page view, sign and write it back; flat
signals from warm caches (User-Agent, client IP through the same GeoIP database,
path); the rules' own compiled conditions, every one tested; a payload naming the
matched rules, inserted before ``</body>`` when one matched; ``Cache-Control``, ``Vary``, ``Set-Cookie``
and ``Content-Length``. No texts, caps, experiments, consent, recommendations,
history or error handling: what CPython needs for the work, to compare smalldata with.
"""

from __future__ import annotations

import binascii
import hmac
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from smalldata.tools.bench.inprocess import App, html_page, pair_with
from smalldata.tools.bench.traffic import SECRET

try:
    import orjson

    _dumps: Callable[[Any], bytes] = orjson.dumps
    _loads: Callable[[bytes], Any] = orjson.loads
except ImportError:  # pragma: no cover - json does the same, slower

    def _dumps(data: Any) -> bytes:
        return json.dumps(data, separators=(",", ":")).encode()

    _loads = json.loads

_KEY = SECRET.encode()
_PURPOSE = b"smalldata.visitor|"
_TO = bytes.maketrans(b"+/", b"-_")
_FROM = bytes.maketrans(b"-_", b"+/")
_COOKIE = "sd_visitor="
_TAGS = b'</script><script src="/_smalldata/client.js" defer></script>'


def _b64e(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).translate(_TO).rstrip(b"=").decode()


def _b64d(text: str) -> bytes:
    return binascii.a2b_base64((text + "=" * (-len(text) % 4)).encode().translate(_FROM))


def _sign(signed: str) -> str:
    return _b64e(hmac.digest(_KEY, _PURPOSE + signed.encode(), "sha256")[:16])


class Unknown(dict[str, Any]):
    """Flat signals: a name nobody set reads as None."""

    def __missing__(self, name: str) -> None:
        return None


class Floor:
    """The floor middleware over ``app``, testing ``tests`` (the rules' compiled conditions) on every page."""

    def __init__(self, app: App, tests: list[tuple[str, Callable[[Any], bool]]], geo: Any) -> None:
        self.app = app
        self.tests = tests
        self.geo = geo
        self.agents: dict[bytes, dict[str, Any]] = {}
        self.places: dict[str, dict[str, Any]] = {}
        self.paths: dict[str, dict[str, Any]] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        state = self._load(headers.get(b"cookie", b"").decode("latin-1"))
        now = int(time.time())
        if now - state.get("l", 0) > 1800:
            state["n"] = state.get("n", 0) + 1
            state["s"] = now
        state["l"] = now
        state["p"] = state.get("p", 0) + 1
        signals = Unknown(self._history(state))
        signals.update(self._device(headers.get(b"user-agent", b"")))
        signals.update(self._place(scope["client"][0]))
        signals.update(self._page(scope["path"]))
        matched = [rule for rule, test in self.tests if test(signals)]
        signed = "v1." + _b64e(b"j" + _dumps(state))
        cookie = f"{_COOKIE}{signed}.{_sign(signed)}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax".encode()
        markup = b'<script type="application/json" id="smalldata">' + _dumps({"matched": matched}) + _TAGS
        if not matched:
            markup = b""
        start: dict[str, Any] = {}

        async def wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                kept = [pair for pair in message["headers"] if pair[0] != b"content-length"]
                kept += [(b"cache-control", b"private"), (b"vary", b"Cookie, User-Agent, Accept-Language"),
                         (b"set-cookie", cookie)]  # fmt: skip
                start.update(message, headers=kept)
                return
            body = message["body"]
            if markup:
                at = body.rfind(b"</body>")
                body = body[:at] + markup + body[at:]
            start["headers"].append((b"content-length", b"%d" % len(body)))
            await send(start)
            await send({**message, "body": body})

        await self.app(scope, receive, wrapped)

    def _load(self, header: str) -> dict[str, Any]:
        for part in header.split("; "):
            if part.startswith(_COOKIE):
                signed, _, signature = part[len(_COOKIE) :].rpartition(".")
                if hmac.compare_digest(_sign(signed), signature):
                    try:
                        data = _loads(_b64d(signed[3:])[1:])
                    except ValueError:  # a compressed state: the floor does not inflate
                        break
                    if isinstance(data, dict):
                        return data
        return {"i": "floorvisitor", "f": int(time.time()), "n": 0}

    def _history(self, state: dict[str, Any]) -> dict[str, Any]:
        history = state.get("h") or {}
        return {"visitor.returning": state["n"] > 1, "visitor.visits": state["n"], "visitor.pageviews": state["p"],
                "visitor.days_since_last_visit": 3, "history.viewed_products": history.get("p", []),
                "history.viewed_categories": history.get("c", []), "history.category_views": history.get("v", {}),
                "time.hour": 12, "time.weekday": "wed", "time.month": 12, "time.daypart": "afternoon",
                "time.open": True, "user.logged_in": False, "basket.empty": True, "basket.total": 0,
                "basket.count": 0, "basket.skus": [], "consent.personalisation": True}  # fmt: skip

    def _device(self, agent: bytes) -> dict[str, Any]:
        found = self.agents.get(agent)
        if found is None:
            kind = "mobile" if b"Mobi" in agent else "desktop"
            found = self.agents[agent] = {"device.type": kind, "device.is_bot": b"bot" in agent,
                                          "device.os": "Android", "device.browser": "Chrome"}  # fmt: skip
        return found

    def _place(self, address: str) -> dict[str, Any]:
        found = self.places.get(address)
        if found is None:
            try:
                record = self.geo.get(address) or {}
            except ValueError:
                record = {}
            country = (record.get("country") or {}).get("iso_code")
            found = self.places[address] = {
                "geo.country": country, "geo.city": (record.get("city") or {}).get("names", {}).get("en"),
                "geo.continent": "EU", "geo.eu": country in ("DK", "SE", "DE"),
                "geo.nearest_store": {"name": "Aarhus", "distance_km": 5.0, "open": True},
            }  # fmt: skip
        return found

    def _page(self, path: str) -> dict[str, Any]:
        found = self.paths.get(path)
        if found is None:
            parts = path.split("/")
            found = self.paths[path] = {
                "page.path": path,
                "page.category": parts[2] if len(parts) > 2 and parts[1] == "category" else None,
                "page.product": parts[2] if len(parts) > 2 and parts[1] == "products" else None,
                "page.language": "da",
            }
        return found


def floor_pair(rules: Path, config: Path, database: Path, size: int = 20 * 1024) -> tuple[App, App]:
    """A bare page behind the shop's session middleware, without and with the floor (``rules``' conditions)."""
    import maxminddb
    from starlette.middleware import Middleware
    from starlette.responses import HTMLResponse

    from examples.shop.app import shop_settings
    from smalldata.rules import load_ruleset

    ruleset = load_ruleset(rules, shop_settings(config))
    tests = [(rule.id, rule.condition.test) for rule in ruleset.rules]
    geo = maxminddb.open_database(str(database))
    page = html_page(size)

    async def endpoint(request: Any) -> HTMLResponse:
        return HTMLResponse(page)

    return pair_with(endpoint, Middleware(Floor, tests=tests, geo=geo))
