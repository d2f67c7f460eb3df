"""HTML injection: where the payload goes, which responses are left alone, and Content-Length."""

from __future__ import annotations

import json
import re
from datetime import date, datetime

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from smalldata.delivery.endpoints import CLIENT_VERSION
from smalldata.delivery.inject import DEFAULT_MAX_HELD
from smalldata.delivery.payload import PAGE_KEY

from .helpers import FakePersonaliser, call, greeting_decision, raw_app

PAGE = b"<html><head><title>Shop</title></head><body><h1>Shop</h1></body></html>"


def payload_of(body: bytes) -> dict[str, object]:
    match = re.search(rb'<script type="application/json" id="smalldata">(.*?)</script>', body, re.S)
    assert match, body
    data: dict[str, object] = json.loads(match.group(1))
    return data


async def test_payload_and_script_are_inserted_before_body_end(wrap) -> None:
    result = await call(wrap(raw_app([PAGE])))
    body = result.body
    assert body.startswith(b"<html><head><title>Shop</title></head><body><h1>Shop</h1><script")
    assert body.endswith(b"</script></body></html>")
    assert payload_of(body)["decision"]["greeting"] == "Welcome back!"  # type: ignore[index]
    assert f'<script src="/_smalldata/client.js?v={CLIENT_VERSION}" defer></script>'.encode() in body


async def test_content_length_is_recomputed(wrap) -> None:
    headers = [("content-type", "text/html"), ("content-length", str(len(PAGE)))]
    result = await call(wrap(raw_app([PAGE], headers=headers)))
    assert int(result.header("content-length") or 0) == len(result.body) > len(PAGE)


@pytest.mark.parametrize("split_at", range(len(b"<h1>Shop</h1>"), len(PAGE) - len(b"</html>") + 1))
async def test_body_end_split_anywhere_across_chunks_is_found(wrap, split_at: int) -> None:
    result = await call(wrap(raw_app([PAGE[:split_at], PAGE[split_at:]])))
    assert result.body.count(b'id="smalldata"') == 1
    assert result.body.endswith(b"</script></body></html>")


async def test_a_long_streamed_page_in_single_bytes_is_injected_and_loses_content_length(wrap) -> None:
    page = b"<html><body>" + b"x" * DEFAULT_MAX_HELD + b"<h1>Shop</h1></body></html>"  # longer than we hold whole
    chunks = [page[:DEFAULT_MAX_HELD]] + [page[i : i + 1] for i in range(DEFAULT_MAX_HELD, len(page))]
    headers = [("content-type", "text/html"), ("content-length", str(len(page)))]
    result = await call(wrap(raw_app(chunks, headers=headers)))
    assert result.header("content-length") is None
    assert result.body.endswith(b"</script></body></html>")
    assert b"<h1>Shop</h1><script" in result.body


async def test_a_page_sent_in_parts_with_a_small_length_is_held_whole_and_keeps_an_exact_length(wrap) -> None:
    chunks = [PAGE[:10], PAGE[10:], b""]  # as Quart sends a page: its bytes, then an empty last message
    headers = [("content-type", "text/html"), ("content-length", str(len(PAGE)))]
    result = await call(wrap(raw_app(chunks, headers=headers)))
    assert result.body.endswith(b"</script></body></html>")
    assert result.header("content-length") == str(len(result.body))


async def test_streaming_sends_early_chunks_without_waiting_for_the_end(wrap) -> None:
    head = b"<html><body>" + b"x" * 1000
    result = await call(wrap(raw_app([head, b"more", b"</body></html>"])))
    assert result.chunks[0] == head[: len(head) - 7]  # only a short tail is held back


async def test_payload_goes_before_the_last_body_end(wrap) -> None:
    page = b"<body><script>var s = '</body>';</script><p>end</p></BODY ></html>"
    result = await call(wrap(raw_app([page[:20], page[20:40], page[40:]])))
    assert result.body.startswith(b"<body><script>var s = '</body>';</script><p>end</p><script")
    assert result.body.endswith(b"</BODY ></html>")


async def test_upper_case_body_end_is_found(wrap) -> None:
    result = await call(wrap(raw_app([b"<BODY>hi</BODY>"])))
    assert b'id="smalldata"' in result.body


async def test_page_that_grows_too_much_after_body_end_is_passed_through(
    fake: FakePersonaliser,
) -> None:
    from smalldata.delivery.inject import HtmlInjector

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    class Hooks:
        async def start(self, headers: object, *, page: bool) -> None: ...
        def markup(self, headers: object) -> bytes:
            return b"<!--x-->"

    injector = HtmlInjector(send, "GET", Hooks(), max_held=100)
    await injector({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
    chunks = [b"<body></body>", b"y" * 200, b"z"]
    for i, chunk in enumerate(chunks):
        await injector({"type": "http.response.body", "body": chunk, "more_body": i < 2})
    assert b"".join(m.get("body", b"") for m in sent[1:]) == b"".join(chunks)  # type: ignore[misc]


PASSTHROUGH = {
    "json": ([("content-type", "application/json")], 200, "GET", b'{"a": "</body>"}'),
    "gzip-compressed": (
        [("content-type", "text/html"), ("content-encoding", "gzip")],
        200,
        "GET",
        PAGE,
    ),
    "no-content-type": ([], 200, "GET", PAGE),
    "event-stream": ([("content-type", "text/event-stream")], 200, "GET", b"data: </body>\n\n"),
    "attachment": (
        [("content-type", "text/html"), ("content-disposition", 'attachment; filename="a.html"')],
        200,
        "GET",
        PAGE,
    ),
    "partial-content": (
        [("content-type", "text/html"), ("content-range", "bytes 0-9/99")],
        206,
        "GET",
        PAGE,
    ),
    "not-found": ([("content-type", "text/html")], 404, "GET", PAGE),
    "server-error": ([("content-type", "text/html")], 500, "GET", PAGE),
    "redirect": ([("content-type", "text/html"), ("location", "/")], 302, "GET", PAGE),
    "head": ([("content-type", "text/html"), ("content-length", str(len(PAGE)))], 200, "HEAD", b""),
    "no-content": ([("content-type", "text/html")], 204, "GET", b""),
    "not-modified": ([("content-type", "text/html"), ("etag", '"abc"')], 304, "GET", b""),
    "no-body-end": ([("content-type", "text/html")], 200, "GET", b"<html><body><p>fragment"),
}


@pytest.mark.parametrize("case", PASSTHROUGH.values(), ids=PASSTHROUGH.keys())
@pytest.mark.parametrize("chunked", [False, True], ids=["whole", "chunked"])
async def test_responses_that_are_not_plain_pages_are_left_untouched(wrap, case, chunked: bool) -> None:
    headers, status, method, body = case
    chunks = [body[i : i + 5] for i in range(0, len(body), 5)] or [b""] if chunked else [body]
    result = await call(wrap(raw_app(chunks, status=status, headers=headers)), method=method)
    assert result.status == status
    assert result.body == body
    sent = dict(result.start["headers"])
    for name, value in headers:
        if name in ("content-length", "content-type", "content-encoding", "etag"):
            assert sent[name.encode()] == value.encode()


def rendering_app(*, renders: bool, snippet: bytes = b"", chunk: int = 0) -> ASGIApp:
    """A page whose template places the payload itself (as ``sd.payload()`` does), or does not."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if renders:
            await scope["state"]["smalldata"]  # decided before the template renders, as a handler does
        placed = scope["state"][PAGE_KEY].render_payload().encode() if renders else b""
        page = b"<html><body>" + snippet + placed + b"<p>end</p></body></html>"
        chunks = [page[i : i + chunk] for i in range(0, len(page), chunk)] if chunk else [page]
        await raw_app(chunks)(scope, receive, send)

    return app


@pytest.mark.parametrize("chunk", [0, 7], ids=["whole", "chunked"])
async def test_page_with_a_server_rendered_payload_is_not_injected_twice(wrap, chunk: int) -> None:
    result = await call(wrap(rendering_app(renders=True, chunk=chunk)))
    assert result.body.count(b'<script type="application/json" id="smalldata">') == 1
    assert result.body.count(b"client.js") == 1
    assert result.body.index(b"client.js") < result.body.index(b"<p>end</p>")  # where the template put it
    assert payload_of(result.body)["decision"]["greeting"] == "Welcome back!"  # type: ignore[index]


SNIPPETS = {
    # the page is not searched: only a payload rendered through smalldata counts as placed
    'id="smalldata"': b'<div id="smalldata"></div>',
    "slot attribute": b'<div data-smalldata-slot="greeting"></div>',
    "text": b"<title>Shop \xc2\xb7 smalldata demo</title><p>smalldata</p>",
}


@pytest.mark.parametrize("snippet", SNIPPETS.values(), ids=SNIPPETS.keys())
async def test_page_that_does_not_render_the_payload_gets_it_injected_whatever_it_mentions(
    wrap, snippet: bytes
) -> None:
    result = await call(wrap(rendering_app(renders=False, snippet=snippet, chunk=7)))
    assert result.body.count(b'<script type="application/json" id="smalldata">') == 1
    assert result.body.endswith(b"</script></body></html>")
    assert snippet in result.body


@pytest.mark.parametrize(
    "content_type, injected",
    [
        ("text/html", True),
        ("TEXT/HTML ; charset=utf-8", True),
        ("\ttext/html\x1f;charset=utf-8", True),  # what str.strip() removes, as Starlette reads it
        ("text/html-fragment", False),
        ("text/plain", False),
    ],
)
async def test_only_html_content_types_are_injected(wrap, content_type: str, injected: bool) -> None:
    result = await call(wrap(raw_app([PAGE], headers=[("content-type", content_type)])))
    assert (b'id="smalldata"' in result.body) is injected


async def test_etag_is_weakened_and_length_fixed_once_among_other_headers(wrap) -> None:
    headers = [("content-length", str(len(PAGE))), ("etag", '"v1"'), ("content-type", "text/html"), ("x-a", "1")]
    result = await call(wrap(raw_app([PAGE], headers=headers)))
    assert result.headers("content-length") == [str(len(result.body))]
    assert result.headers("etag") == ['W/"v1"']
    assert result.header("x-a") == "1"


async def test_empty_decision_leaves_the_page_byte_identical(wrap, fake: FakePersonaliser) -> None:
    from smalldata.decision import Decision

    fake.decision = Decision()
    fake.cookies = []
    headers = [
        ("content-type", "text/html"),
        ("content-length", str(len(PAGE))),
        ("cache-control", "public"),
    ]
    result = await call(wrap(raw_app([PAGE], headers=headers)))
    assert result.body == PAGE
    assert result.header("cache-control") == "public"


async def test_csp_nonce_is_put_on_both_script_tags(wrap) -> None:
    csp = "default-src 'self'; script-src 'self' 'nonce-r4nd0m+/='"
    result = await call(
        wrap(raw_app([PAGE], headers=[("content-type", "text/html"), ("content-security-policy", csp)]))
    )
    assert result.body.count(b'nonce="r4nd0m+/="') == 2


async def test_no_value_can_close_the_payload_script(wrap, fake: FakePersonaliser) -> None:
    evil = "</script><img src=x onerror=alert(1)><!-- & \u2028"
    fake.decision = greeting_decision(evil)
    result = await call(wrap(raw_app([PAGE])))
    script = re.search(rb'id="smalldata">(.*?)</script>', result.body, re.S)
    assert script is not None
    assert b"<" not in script.group(1) and b">" not in script.group(1) and b"&" not in script.group(1)
    assert payload_of(result.body)["decision"]["greeting"] == evil  # type: ignore[index]


async def test_deferred_mode_adds_only_the_script_tag_and_keeps_headers(wrap, fake: FakePersonaliser) -> None:
    headers = [("content-type", "text/html"), ("cache-control", "public, max-age=60")]
    result = await call(wrap(raw_app([PAGE], headers=headers), deferred=True))
    assert b'id="smalldata"' not in result.body
    assert b"client.js" in result.body
    assert result.header("cache-control") == "public, max-age=60"
    assert result.header("set-cookie") is None
    assert fake.delivered == []


def test_the_payload_decision_leaves_out_unset_fields_and_keeps_the_rest() -> None:
    from smalldata.decision import Banner, Chat, Decision, Recommendation

    decision = Decision(
        greeting="Hi &amp; welcome",
        chat=Chat(rule="c", message="Questions?", after_seconds=5, context={"basket": {"items": 2}}),
        prefill={"checkout": {"email": "a@example.com"}},
        recommendations={"recs": Recommendation(rule="r", slot="recs", strategy="complements", items=[{"id": "x"}])},
        banners={"hero": Banner(rule="b", slot="hero", html="Sale", link="/sale")},
        tags=["t"],
        experiments={"e": "a"},
    )
    assert decision.to_json() == {
        "greeting": "Hi &amp; welcome",
        "chat": {"rule": "c", "message": "Questions?", "after_seconds": 5, "on_exit_intent": False,
                 "mode": "online", "context": {"basket": {"items": 2}}},
        "prefill": {"checkout": {"email": "a@example.com"}},
        "recommendations": {"recs": {"rule": "r", "slot": "recs", "strategy": "complements", "limit": 4,
                                     "exclude": [], "options": {}, "items": [{"id": "x"}]}},
        "banners": {"hero": {"rule": "b", "slot": "hero", "html": "Sale", "link": "/sale"}},
        "tags": ["t"],
        "experiments": {"e": "a"},
    }


async def test_nonce_left_by_the_app_in_request_state_is_used(wrap) -> None:
    async def app(scope, receive, send) -> None:
        scope["state"]["csp_nonce"] = "fromstate"
        await raw_app([PAGE])(scope, receive, send)

    result = await call(wrap(app))
    assert result.body.count(b'nonce="fromstate"') == 2


ODD_VALUES = [
    pytest.param('\x00\x1f\n\t"\\ \u2028\u2029 æøå 😀 </script><!--&', id="escapes and non-ASCII"),
    pytest.param([1.5, 0.1, -0.0, 249.0, 1e15, 10**20, 2**70], id="numbers, beyond 64 bits too"),
    pytest.param({1: "int key", None: "null key"}, id="keys that are not text"),
    pytest.param({"date": date(2026, 11, 25), "moment": datetime(2026, 11, 25, 10, 30)}, id="dates"),
]
SCRIPT_ESCAPES = {"<": "\\u003C", ">": "\\u003E", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


@pytest.mark.parametrize("value", ODD_VALUES)
def test_payload_json_is_what_the_standard_library_writes_made_script_safe(value: object) -> None:
    from smalldata.delivery.payload import json_script_text

    expected = json.dumps({"value": value}, ensure_ascii=False, separators=(",", ":"), default=str)
    for char, escaped in SCRIPT_ESCAPES.items():
        expected = expected.replace(char, escaped)
    assert json_script_text({"value": value}) == expected


@pytest.mark.parametrize(
    ("content_type", "ascii_only"),
    [("text/html; charset=iso-8859-1", True), ("text/html; charset=windows-1252", True), ("text/html", True),
     ("text/html; charset=UTF-8", False), ('text/html; charset="utf-8"', False)],
)
async def test_a_page_not_declared_utf8_gets_a_payload_that_reads_the_same_in_its_charset(
    wrap, fake: FakePersonaliser, content_type: str, ascii_only: bool
) -> None:
    fake.decision = greeting_decision("Hej Søren, velkommen 😀")
    result = await call(wrap(raw_app([PAGE], headers=[("content-type", content_type)])))
    match = re.search(rb'id="smalldata">(.*?)</script>', result.body, re.S)
    assert match
    assert match.group(1).isascii() is ascii_only
    assert json.loads(match.group(1))["decision"]["greeting"] == "Hej Søren, velkommen 😀"
