"""Request: headers, cookies and the client address behind trusted proxies."""

from __future__ import annotations

from typing import Any

import pytest

from smalldata.foundation.asgi import parse_cookies
from smalldata.signals.client import ClientAddress
from smalldata.signals.request import Request

from .helpers import WEDNESDAY_MORNING, context


def _request(headers: list[Any]) -> Request:
    return Request({"type": "http", "path": "/", "headers": headers}, WEDNESDAY_MORNING)


def test_repeated_headers_are_joined() -> None:
    request = _request([(b"x-thing", b"a"), (b"x-thing", b"b")])
    assert request.header(b"x-thing") == "a, b"


def test_non_latin1_header_bytes_never_fail() -> None:
    request = _request([(b"user-agent", b"Mozilla \xff\xfe\x00 bot"), (b"cookie", b"a=\xc3\xa6")])
    assert request.header(b"user-agent") == "Mozilla ÿþ\x00 bot"
    assert request.cookies == {"a": "Ã¦"}


def test_headers_that_are_not_bytes_are_skipped() -> None:
    headers = [("text", "not bytes"), (b"ok", b"1"), (b"also", "text")]
    assert _request(headers).header(b"ok") == "1"
    assert _request(headers).header(b"also") is None


@pytest.mark.parametrize(
    ("header", "cookies"),
    [
        ("a=1; b=2", {"a": "1", "b": "2"}),
        ('a="quoted \\"value\\""', {"a": 'quoted "value"'}),
        ("no-equals; a=1", {"a": "1"}),
        ("=nameless; a=1", {"a": "1"}),
        (";;; ; a = 1 ;", {"a": "1"}),
        ("a=1; a=2", {"a": "2"}),
        ("", {}),
    ],
)
def test_cookies_are_parsed_like_browsers_send_them_and_bad_ones_skipped(header: str, cookies: dict[str, str]) -> None:
    assert parse_cookies(header) == cookies


def test_repeated_cookie_headers_are_joined() -> None:
    assert _request([(b"cookie", b"a=1"), (b"cookie", b"b=2")]).cookies == {"a": "1", "b": "2"}


PROXIES = ("10.0.0.0/8", "192.168.1.1", "2001:db8::/32")


@pytest.mark.parametrize(
    ("name", "peer", "forwarded_for", "client"),
    [
        ("no proxy, no header", "203.0.113.7", None, "203.0.113.7"),
        ("untrusted peer cannot forge the header", "203.0.113.7", "1.2.3.4", "203.0.113.7"),
        ("trusted peer, one hop", "10.0.0.5", "198.51.100.20", "198.51.100.20"),
        ("trusted peer, chain of trusted proxies", "10.0.0.5", "198.51.100.20, 192.168.1.1, 10.9.9.9",
         "198.51.100.20"),
        ("visitor-written entries left of the first untrusted hop are ignored", "10.0.0.5",
         "6.6.6.6, 198.51.100.20, 10.1.1.1", "198.51.100.20"),
        ("trusted peer without header", "10.0.0.5", None, "10.0.0.5"),
        ("every hop trusted: the leftmost", "10.0.0.5", "10.0.0.9, 10.0.0.8", "10.0.0.9"),
        ("ports are removed", "10.0.0.5", "198.51.100.20:5555", "198.51.100.20"),
        ("bracketed IPv6 with port", "10.0.0.5", "[2a02:ff40::1]:443", "2a02:ff40::1"),
        ("IPv6 trusted proxy network", "2001:db8::1", "2a02:ff40::1", "2a02:ff40::1"),
        ("garbage hop makes the client unknown", "10.0.0.5", "198.51.100.20, garbage", None),
        ("empty header from a trusted peer", "10.0.0.5", "", "10.0.0.5"),
        ("IPv4-mapped IPv6 peer", "::ffff:10.0.0.5", "198.51.100.20", "198.51.100.20"),
        ("unix socket or no client", None, "198.51.100.20", None),
        ("a peer that is not an address", "testclient", "198.51.100.20", None),
    ],
)
def test_client_ip_honours_only_trusted_proxies(
    name: str, peer: str | None, forwarded_for: str | None, client: str | None
) -> None:
    headers = {"x-forwarded-for": forwarded_for} if forwarded_for is not None else {}
    assert ClientAddress(PROXIES)(context("/", headers=headers, client_ip=peer)) == client, name


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    request = context("/", headers={"x-forwarded-for": "198.51.100.20"}, client_ip="10.0.0.5")
    assert ClientAddress(())(request) == "10.0.0.5"


@pytest.mark.parametrize(
    ("peer", "client"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:DB8:0::1", "2001:db8::1"),
        ("::ffff:198.51.100.20", "198.51.100.20"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("testclient", None),
        (None, None),
    ],
)
def test_without_proxies_the_peer_is_the_client_in_canonical_form(peer: str | None, client: str | None) -> None:
    for _ in range(2):  # the second request is answered from the parsed-address memo
        assert ClientAddress(())(context("/", client_ip=peer)) == client
