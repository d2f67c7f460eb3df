"""``record_conversion``: the shop's server reports an order, where the order is known.

Call it from the order-confirmation handler of any framework, with the request of the
shopper who placed the order (a Starlette/FastAPI/Litestar/Quart/Django request, or the
ASGI scope itself)::

    from smalldata import record_conversion

    async def thanks(request):
        order = await place_order(request)
        await record_conversion(request, order.id, order.total, "DKK")

The visitor is found from their cookie (when they allow storage), so experiment reports
count the order for the variant they saw. Each order id is recorded once, across every
worker (in Redis with a Redis store, else in this process): a reloaded receipt page is no
second sale. Orders recorded this way are ``source: server``; a browser can never stop or
replace them (see :mod:`smalldata.delivery.client_events`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.types import Scope

from smalldata.delivery.client_events import EventRecorder
from smalldata.delivery.visit import ServerConversion

__all__ = ["record_conversion"]


async def record_conversion(request: Any, order_id: str, value: float | None = None, currency: str | None = None,
                            *, app: Any = None) -> bool:
    """Record the order ``order_id`` worth ``value`` ``currency`` for the visitor of ``request``.

    Returns ``False`` when this order id was recorded already (by any worker). ``app`` is the
    ``SmallData`` middleware to record with (default: the one this process built last).
    Raises ``ValueError`` for an order that is not one (an empty id, a negative or not finite
    value, a currency that is not three capital letters).
    """
    recorder = _recorder(app)
    order = ServerConversion.model_validate({"order_id": order_id, "value": value, "currency": currency})
    return await recorder.server_conversion(_scope(request), order)


def _recorder(app: Any) -> EventRecorder:
    if isinstance(app, EventRecorder):
        return app
    parts = getattr(app, "parts", None)
    found = getattr(parts, "events", None) if app is not None else EventRecorder.latest
    if not isinstance(found, EventRecorder):
        raise RuntimeError("record_conversion: no SmallData middleware in this process yet (or pass app=)")
    return found


def _scope(request: Any) -> Scope | None:
    """The ASGI scope of ``request`` (or one made from a WSGI Django request's cookies and headers)."""
    if request is None:
        return None
    if isinstance(request, Mapping) and "type" in request:
        return dict(request)
    scope = getattr(request, "scope", None)
    if isinstance(scope, Mapping):
        return dict(scope)
    meta, cookies = getattr(request, "META", None), getattr(request, "COOKIES", None)
    if isinstance(meta, Mapping) and isinstance(cookies, Mapping):
        headers = [(name[5:].replace("_", "-").lower().encode("latin-1"), str(value).encode("latin-1", "replace"))
                   for name, value in meta.items() if name.startswith("HTTP_")]  # fmt: skip
        return {"type": "http", "headers": headers, "path": str(getattr(request, "path", "/")), "query_string": b""}
    raise TypeError("record_conversion needs the shopper's request (or its ASGI scope)")
