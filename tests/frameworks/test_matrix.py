"""Every common ASGI framework, each sending HTML its own way, personalised the same; what is not a page untouched."""

from __future__ import annotations

import gzip
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from starlette.types import ASGIApp

from smalldata.app import Overrides
from smalldata.events import NullSink
from smalldata.middleware import SmallData
from smalldata.settings import Settings
from smalldata.signals.config import UserSettings
from smalldata.state import CookieStore, StateSettings

from .shops import SHOPS, Answer, call

pytest.importorskip("django")
pytest.importorskip("litestar")
pytest.importorskip("quart")

RULES = """
rules:
  - id: hello
    when: {page.path: {starts_with: /}}
    then: {greeting: "Hello"}
  - id: member
    when: {user.logged_in: true}
    then: {banner: {slot: member, html: "Members save 10%"}}
"""
USERS: list[Any] = []
PLAIN = [(b"accept", b"text/html"), (b"accept-encoding", b"identity")]
BROWSER = [(b"accept", b"text/html"), (b"accept-encoding", b"gzip, deflate, br")]
FRAMEWORKS = pytest.mark.parametrize("framework", list(SHOPS))


def current_user(request: Any) -> dict[str, Any]:
    USERS.append(request)
    return {"id": "c-1", "first_name": "Ada"}


@pytest.fixture
def wrapped(tmp_path: Path) -> Any:
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    settings = Settings(timezone="Europe/Copenhagen", user=UserSettings(callable=f"{__name__}:current_user"))
    store = CookieStore(StateSettings(secret_keys=(SecretStr("test-secret-key-0123456789"),)))
    USERS.clear()

    def wrap(app: ASGIApp) -> SmallData:
        moment = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/Copenhagen"))
        overrides = Overrides(store=store, events=NullSink(), clock=lambda: moment)
        return SmallData(app, rules=tmp_path, settings=settings, overrides=overrides)

    return wrap


def payload(body: bytes) -> dict[str, Any] | None:
    match = re.search(rb'id="smalldata">(.*?)</script>', body)
    return json.loads(match.group(1))["decision"] if match else None  # type: ignore[no-any-return]


def assert_personalised(answer: Answer, body: bytes) -> None:
    assert answer.status == 200
    assert (payload(body) or {}).get("greeting") == "Hello"
    assert (payload(body) or {}).get("banners", {}).get("member") is not None
    assert body.rstrip().endswith(b"</script></body></html>")
    assert any(cookie.startswith("sd_visitor=") for cookie in answer.headers("set-cookie"))
    assert "private" in (answer.header("cache-control") or "")


@FRAMEWORKS
async def test_an_html_page_is_personalised(wrapped, framework: str) -> None:
    answer = await call(wrapped(SHOPS[framework]()), "/", PLAIN)
    assert_personalised(answer, answer.body)
    length = answer.header("content-length")
    assert length is None or int(length) == len(answer.body)


@FRAMEWORKS
async def test_a_streamed_page_is_personalised(wrapped, framework: str) -> None:
    answer = await call(wrapped(SHOPS[framework]()), "/stream", PLAIN)
    assert_personalised(answer, answer.body)


@FRAMEWORKS
async def test_a_page_the_framework_gzips_is_personalised_and_still_gzipped(wrapped, framework: str) -> None:
    answer = await call(wrapped(SHOPS[framework]()), "/", BROWSER)
    assert answer.header("content-encoding") == "gzip"
    assert_personalised(answer, gzip.decompress(answer.body))


@FRAMEWORKS
@pytest.mark.parametrize("path", ["/api", "/file"])
async def test_json_and_files_go_out_exactly_as_without_smalldata_and_decide_nothing(
    wrapped, framework: str, path: str
) -> None:
    bare = await call(SHOPS[framework](), path, PLAIN)  # Django pads gzip with random bytes (BREACH): compare plain
    answer = await call(wrapped(SHOPS[framework]()), path, PLAIN)
    assert (answer.status, answer.raw_headers, answer.body) == (bare.status, bare.raw_headers, bare.body)
    assert USERS == []  # the shop's user callable was never asked


@FRAMEWORKS
async def test_a_handler_reads_the_decision(wrapped, framework: str) -> None:
    answer = await call(wrapped(SHOPS[framework]()), "/decision", PLAIN)
    assert json.loads(answer.body) == {"greeting": "Hello"}
    assert len(USERS) == 1


@FRAMEWORKS
async def test_header_names_keep_the_frameworks_spelling(wrapped, framework: str) -> None:
    bare = await call(SHOPS[framework](), "/", PLAIN)
    answer = await call(wrapped(SHOPS[framework]()), "/", PLAIN)
    sent = {name for name, _ in answer.raw_headers}
    assert {name for name, _ in bare.raw_headers} <= sent  # Django's "Content-Type" stays "Content-Type"
