"""Who may use the console: loopback by default, a token elsewhere, and no change from another site."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from smalldata.cli import main
from tests.console.helpers import console_app, copy_rules

PAGES = ["/", "/?group=slot", "/try", "/try?persona=vip", "/preview", "/edit", "/edit/greetings.yaml", "/tests",
         "/experiments", "/static/console.css", "/static/editor.js", "/nowhere"]


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    return copy_rules(tmp_path / "rules")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("path", PAGES)
def test_on_another_address_every_page_needs_the_token(rules: Path, path: str) -> None:
    client = TestClient(console_app(rules, host="0.0.0.0", token="s3cret"), base_url="http://192.0.2.7:8001")
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401


@pytest.mark.parametrize("path", PAGES)
def test_on_another_address_without_a_token_every_page_is_refused(rules: Path, path: str) -> None:
    client = TestClient(console_app(rules, host="0.0.0.0"), base_url="http://192.0.2.7:8001")
    assert client.get(path).status_code == 403
    assert client.get(path, headers={"Authorization": "Bearer "}).status_code == 403


def test_a_post_without_the_token_is_refused_before_anything_is_read(rules: Path) -> None:
    before = (rules / "chat.yaml").read_text()
    client = TestClient(console_app(rules, host="0.0.0.0", token="s3cret"), base_url="http://192.0.2.7:8001")
    response = client.post("/edit/chat.yaml", data={"text": "rules: []\n", "action": "save"})
    assert response.status_code == 401
    assert (rules / "chat.yaml").read_text() == before


def test_the_token_opens_every_page(rules: Path) -> None:
    client = TestClient(console_app(rules, host="0.0.0.0", token="s3cret"), base_url="http://192.0.2.7:8001")
    for path in PAGES[:-1]:
        assert client.get(path, headers={"Authorization": "Bearer s3cret"}).status_code == 200, path


def test_the_token_in_the_address_once_is_kept_in_a_strict_cookie(rules: Path) -> None:
    client = TestClient(console_app(rules, host="0.0.0.0", token="s3cret"), base_url="http://192.0.2.7:8001")
    response = client.get("/try?token=s3cret&persona=vip", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/try?persona=vip"  # the token leaves the address bar
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.get("/try").status_code == 200


def test_on_loopback_only_loopback_host_names_are_answered(rules: Path) -> None:
    app = console_app(rules)
    assert TestClient(app, base_url="http://127.0.0.1:8001").get("/").status_code == 200
    assert TestClient(app, base_url="http://localhost:8001").get("/").status_code == 200
    # a page elsewhere whose own name was rebound to 127.0.0.1 (DNS rebinding)
    assert TestClient(app, base_url="http://attacker.example:8001").get("/").status_code == 403


def test_a_cross_site_post_is_refused_and_changes_nothing(rules: Path) -> None:
    client = TestClient(console_app(rules), base_url="http://127.0.0.1:8001")
    before = (rules / "chat.yaml").read_text()
    csrf = csrf_of(client.get("/edit/chat.yaml").text)
    form = {"csrf": csrf, "text": before.replace("after_seconds: 20", "after_seconds: 5"), "action": "save"}
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Sec-Fetch-Site": "same-site"}, {"Origin": "null"}):
        response = client.post("/edit/chat.yaml", data=form, headers=headers, follow_redirects=False)
        assert response.status_code == 403, headers
    assert client.post("/check", json={"name": "chat.yaml", "text": before},
                       headers={"Origin": "https://evil.example", "X-CSRF-Token": csrf}).status_code == 403
    assert (rules / "chat.yaml").read_text() == before


def test_a_post_without_the_forms_csrf_token_is_refused(rules: Path) -> None:
    client = TestClient(console_app(rules), base_url="http://127.0.0.1:8001")
    before = (rules / "chat.yaml").read_text()
    edited = before.replace("after_seconds: 20", "after_seconds: 5")
    assert client.post("/edit/chat.yaml", data={"text": edited, "action": "save"}).status_code == 403
    assert client.post("/edit/chat.yaml", data={"csrf": "guess", "text": edited, "action": "save"}).status_code == 403
    assert client.post("/edit", data={"name": "x.yaml"}).status_code == 403
    assert client.post("/check", json={"name": "chat.yaml", "text": edited}).status_code == 403
    assert (rules / "chat.yaml").read_text() == before


def test_a_same_origin_post_with_the_csrf_token_saves(rules: Path) -> None:
    client = TestClient(console_app(rules), base_url="http://127.0.0.1:8001")
    before = (rules / "chat.yaml").read_text()
    csrf = csrf_of(client.get("/edit/chat.yaml").text)
    edited = before.replace("after_seconds: 20", "after_seconds: 5")
    response = client.post("/edit/chat.yaml", data={"csrf": csrf, "text": edited, "action": "save"},
                           headers={"Origin": "http://127.0.0.1:8001", "Sec-Fetch-Site": "same-origin"},
                           follow_redirects=False)
    assert response.status_code == 303
    assert (rules / "chat.yaml").read_text() == edited


def test_every_page_forbids_framing_inline_scripts_and_caching(rules: Path) -> None:
    response = TestClient(console_app(rules), base_url="http://127.0.0.1:8001").get("/try")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


def test_the_command_refuses_another_address_without_a_token(monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("SMALLDATA_CONSOLE_TOKEN", raising=False)
    assert main(["console", "--host", "0.0.0.0"]) == 2
    assert "--token" in capsys.readouterr().err


def _post_raw(app: Any, chunks: Iterator[bytes], headers: list[tuple[bytes, bytes]]) -> tuple[int, int]:
    """POST a body of ``chunks`` straight to the ASGI app: (status, bytes the app read of it)."""
    read, status = [0], [0]

    async def receive() -> dict[str, Any]:
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        read[0] += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status[0] = message["status"]

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/edit/chat.yaml", "raw_path": b"/edit/chat.yaml", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1:8001"), (b"content-type", b"application/x-www-form-urlencoded"),
                         *headers], "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8001)}  # fmt: skip
    asyncio.run(app(scope, receive, send))
    return status[0], read[0]


def _megabytes(count: int) -> Iterator[bytes]:
    return (b"text=" + b"x" * (1024 * 1024 - 5) for _ in range(count))


def test_a_body_larger_than_the_limit_is_refused_at_its_content_length_before_a_byte_is_read(rules: Path) -> None:
    status, read = _post_raw(console_app(rules), _megabytes(300), [(b"content-length", str(300 * 2**20).encode())])
    assert (status, read) == (413, 0)


def test_a_large_body_streamed_without_a_length_is_refused_as_soon_as_it_passes_the_limit(rules: Path) -> None:
    status, read = _post_raw(console_app(rules), _megabytes(300), [(b"transfer-encoding", b"chunked")])
    assert status == 413
    assert read <= 9 * 2**20  # stopped at the limit (8 MB), not after 300 MB


@pytest.mark.parametrize(("method", "path", "query", "body"), [
    ("GET", "/edit/\ufffd\ufffd.yaml", b"", b""),
    ("GET", "/edit/%FF%FE", b"", b""),
    ("GET", "/try", b"persona=%FF%FE&set=visitor.visits%3D1e99999&at=9999-99-99T99:99", b""),
    ("GET", "/", b"group=\xff\xfe&q=%ED%A0%80", b""),
    ("GET", "/preview", b"path=/%FF&variant=\xc3\xa9&set=user.tier%3D%00", b""),
    ("GET", "/experiments", b"experiment=%FF%FE", b""),
    ("POST", "/check", b"", b'{"name": "\xff\xfe", "text": "\xed\xa0\x80"}'),
    ("POST", "/check", b"", b'{"name": "chat.yaml", "text": ' + b"[" * 5000 + b"}"),
], ids=range(8))  # fmt: skip
def test_hostile_console_input_is_answered_without_a_server_error(
    rules: Path, method: str, path: str, query: bytes, body: bytes
) -> None:
    app = console_app(rules)
    status = [0]

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status[0] = message["status"]

    csrf = csrf_of(TestClient(app, base_url="http://127.0.0.1:8001").get("/edit/chat.yaml").text)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode("utf-8", "surrogateescape"), "query_string": query,
             "root_path": "", "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8001),
             "headers": [(b"host", b"127.0.0.1:8001"), (b"content-type", b"application/json"),
                         (b"x-csrf-token", csrf.encode())]}  # fmt: skip
    asyncio.run(app(scope, receive, send))
    assert 0 < status[0] < 500
