"""Whatever a visitor sends, every signal is a value or None, never an exception."""

from __future__ import annotations

import logging
from pathlib import Path

from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from smalldata.foundation.asgi import make_scope
from smalldata.signals.catalog import NAMESPACES, SIGNALS
from smalldata.signals.providers import signals_for

from .helpers import WEDNESDAY_MORNING, settings

HEADERS = ["user-agent", "cookie", "accept-language", "referer", "x-forwarded-for", "host", "cf-ipcountry",
           "sec-gpc"]
NAMES = [name for name in SIGNALS if name.count(".") == 1]


class _Failures(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    headers=st.lists(st.tuples(st.sampled_from(HEADERS), st.binary(max_size=300)), max_size=8),
    query=st.binary(max_size=300),
    path=st.text(max_size=100),
    client=st.one_of(st.none(), st.text(max_size=40), st.ip_addresses().map(str)),
)
def test_any_request_gives_values_or_none(
    city_mmdb: Path, headers: list[tuple[str, bytes]], query: bytes, path: str, client: str | None
) -> None:
    config = settings(
        trusted_proxies=["0.0.0.0/0", "::/0"],  # believe every forwarding header: the hardest case
        geo={"database": str(city_mmdb), "cdn_country_header": "cf-ipcountry"},
        page={"product": "/p/{product}", "category": "/c/{category}"},
        basket={"cookie": "cart", "free_shipping_threshold": 100},
        opening_hours={"wed": "09:00-17:00"},
        stores=[{"name": "A", "latitude": 55, "longitude": 12}],
    )
    scope = make_scope("/", client_ip=None)
    scope.update(path=path, query_string=query, client=(client, 1) if client is not None else None,
                 headers=[(name.encode(), value) for name, value in headers])
    failures = _Failures()
    logger = logging.getLogger("smalldata")
    logger.addHandler(failures)
    try:
        signals = signals_for(scope, config, now=WEDNESDAY_MORNING)
        for name in NAMES:
            signals.get(name)
    finally:
        logger.removeHandler(failures)
    assert failures.records == []
    assert set(signals.computed) == set(NAMESPACES)
