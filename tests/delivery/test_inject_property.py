"""Any page, sent whole or in chunks: the markup lands before its last ``</body>``, once."""

from __future__ import annotations

import asyncio
import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from smalldata.delivery.inject import HtmlInjector

MARKUP = b"<!--sd-->"
# Pieces that make the search take its less common turns (mentions of smalldata change nothing).
PIECES = [
    b"<p>x</p>", b"</body>", b"</BODY >", b"</Body\n>", b"</bod", b"y>", b"</html>", b"</", b"<body>",
    b'id="smalldata"', b"data-smalldata-slot", b" smalldata ", b"\t", b"\xc2\xb7",
]  # fmt: skip
BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)


class Hooks:
    async def start(self, headers: object, *, page: bool) -> None: ...

    def markup(self, headers: object) -> bytes:
        return MARKUP


def expected(page: bytes) -> bytes:
    ends = list(BODY_END.finditer(page))
    if not ends:
        return page
    at = ends[-1].start()
    return page[:at] + MARKUP + page[at:]


def send_through(chunks: list[bytes]) -> bytes:
    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    async def run() -> None:
        injector = HtmlInjector(send, "GET", Hooks())
        await injector({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        for i, chunk in enumerate(chunks):
            await injector({"type": "http.response.body", "body": chunk, "more_body": i < len(chunks) - 1})

    asyncio.run(run())
    return b"".join(m.get("body", b"") for m in sent[1:])  # type: ignore[misc]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12), st.lists(st.integers(0, 200), max_size=4))
# a body end cut across two chunks
@example([b"<p>x</p></bod", b"y>", b"<p>x</p></BODY >", b"<p>x</p>"], [12, 20])
def test_markup_goes_before_the_last_body_end(
    pieces: list[bytes], cuts: list[int]
) -> None:
    page = b"".join(pieces)
    assert send_through([page]) == expected(page)
    bounds = sorted({min(cut, len(page)) for cut in cuts})
    chunks = [page[a:b] for a, b in zip([0, *bounds], [*bounds, len(page)], strict=True)]
    assert send_through(chunks) == expected(page)
