"""The example shop's loyalty programme: a namespace of the shop's own (``signals: loyalty`` in smalldata.yaml).

smalldata calls :func:`loyalty` on pages whose rules read ``loyalty.*``, before the page
is decided, with the page's Starlette ``Request`` (as it calls every function of the
shop's, see docs/shop-code.md); it answers the fields declared in ``smalldata.yaml``.
It is a plain function, so smalldata runs it in a thread of its own: a real shop may
look the customer up in its own database here.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

# Demo members, by customer id (the fake log-in's customers). Never do this in a real shop.
MEMBERS: dict[str, dict[str, Any]] = {
    "c-1001": {"points": 2450, "member_since": "2019-04-12", "b2b": False, "favourite_stores": ["Aarhus"]},
    "c-1002": {"points": 120, "member_since": "2026-10-02", "b2b": False, "favourite_stores": []},
}


def loyalty(request: Request) -> dict[str, Any] | None:
    """The logged-in customer's loyalty account; None (every field unknown) for anyone else."""
    customer = request.session.get("user") if "session" in request.scope else None
    if not isinstance(customer, dict):
        return None
    return MEMBERS.get(str(customer.get("id")))
