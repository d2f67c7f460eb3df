"""``report --sql``: the analysis as SQL over the documented events table, known to work on DuckDB,
over the very events the event log's HTTP sink posts."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx

from smalldata.decision import Exposure
from smalldata.events.log import EventLog
from smalldata.events.sinks import HttpSink
from smalldata.tools.report import report_main, summarise
from smalldata.tools.report.sql import COLUMNS

duckdb = pytest.importorskip("duckdb")

COLLECTOR = "https://collector.example/events"


async def _posted_batches() -> list[dict[str, object]]:
    """What the HTTP sink posts for a few exposures and conversions (the collector mocked: third-party HTTP)."""
    with respx.mock:
        route = respx.post(COLLECTOR).mock(return_value=httpx.Response(204))
        log = EventLog(HttpSink(COLLECTOR, batch_size=100), clock=lambda: datetime(2026, 11, 25, 10, tzinfo=UTC))
        for n in range(30):
            log.exposures([Exposure("easter-banner", "ab"[n % 2], "easter-test")], visitor_id=f"v{n}",
                          ruleset_version="r1", path="/")  # fmt: skip
        for n in range(0, 30, 4):
            log.conversion(visitor_id=f"v{n}", value=100.0 + n, currency="DKK", order_id=f"A-{n}", path="/thanks")
        await log.aclose()
        return [json.loads(call.request.content) for call in route.calls]


def _table(con: duckdb.DuckDBPyConnection, payloads: list[dict[str, object]], folder: Path) -> None:
    """The events table loaded from the collector's payloads, with the documented columns and types only."""
    path = folder / "batches.json"
    path.write_text("\n".join(json.dumps(payload) for payload in payloads))
    row = ", ".join(f'"{name}" {kind}' for name, kind in COLUMNS.items())  # a field of another type fails the read
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE TABLE events AS SELECT unnest(events, recursive := true) "
                f"FROM read_json('{path}', columns = {{'events': 'STRUCT({row})[]'}})")


async def test_the_printed_sql_counts_on_duckdb_what_report_counts(tmp_path: Path) -> None:
    payloads = await _posted_batches()
    out = io.StringIO()
    assert report_main([], sql=True, out=out) == 0
    con = duckdb.connect()
    _table(con, payloads, tmp_path)

    rows = con.execute(out.getvalue()).fetchall()

    expected = summarise([event for payload in payloads for event in payload["events"]])  # type: ignore[attr-defined]
    by_name = [(x.key, v) for x in expected.experiments for v in sorted(x.variants, key=lambda v: v.name)]
    assert [row[:5] for row in rows] == [(key, v.name, v.visitors, v.conversions, v.value) for key, v in by_name]
    assert sum(row[3] for row in rows) == 8


async def test_the_http_sinks_events_carry_only_the_tables_columns() -> None:
    payloads = await _posted_batches()

    fields = {key for payload in payloads for event in payload["events"] for key in event}  # type: ignore[attr-defined]

    assert fields <= set(COLUMNS)
    assert {"type", "at", "visitor", "experiment", "variant", "value", "order_id"} <= fields


def test_the_documented_load_and_the_printed_sql_report_the_event_logs_files(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "events-table.md").read_text()
    load = doc.split("```sql\n")[1].split("```")[0]
    events = [{"type": "exposure", "at": "2026-11-25T10:00:00.000Z", "visitor": f"v{n}", "experiment": "e",
               "variant": "ab"[n % 2], "rule": "r", "version": "1", "forced": False} for n in range(10)]  # fmt: skip
    events += [{"type": "conversion", "at": "2026-11-25T10:30:00.000Z", "visitor": "v2", "value": 80.0}]
    (tmp_path / "logs" / "web1").mkdir(parents=True)
    (tmp_path / "logs" / "web1" / "smalldata-events.jsonl.1").write_text("".join(json.dumps(e) + "\n" for e in events))
    out = io.StringIO()
    report_main([], sql=True, out=out)
    con = duckdb.connect()
    for statement in load.replace("logs/", f"{tmp_path}/logs/").split(";"):
        if statement.strip():
            con.execute(statement)

    assert con.execute(out.getvalue()).fetchall() == [("e", "a", 5, 1, 80.0, 6400.0), ("e", "b", 5, 0, 0.0, 0.0)]
