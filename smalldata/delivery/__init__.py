"""Delivery: puts a decision where the page can use it (scope state, HTML, JSON, headers)."""

from __future__ import annotations

from smalldata.delivery.endpoints import CLIENT_VERSION, Endpoints
from smalldata.delivery.inject import HtmlInjector, is_page
from smalldata.delivery.payload import client_tag, csp_nonce, json_script_text, payload_tag
from smalldata.delivery.visit import ClientEvent, ClientEvents, Health, Pages, Visit, payload_data

__all__ = [
    "CLIENT_VERSION",
    "ClientEvent",
    "ClientEvents",
    "Endpoints",
    "Health",
    "HtmlInjector",
    "Pages",
    "Visit",
    "client_tag",
    "csp_nonce",
    "is_page",
    "json_script_text",
    "payload_data",
    "payload_tag",
]
