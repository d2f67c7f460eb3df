"""Sinks: JSON lines (default), logger, HTTP collector in batches off the request path, callable."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from smalldata.events import (
    CallableSink,
    EventSettings,
    HttpSink,
    JsonLinesSink,
    LoggerSink,
    NullSink,
    make_sink,
)

URL = "https://collect.example/batch"


def event(n: int) -> dict[str, Any]:
    return {"type": "conversion", "visitor": f"v{n}", "n": n}


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_the_file_sink_writes_json_lines_in_the_background(tmp_path: Path) -> None:
    sink = JsonLinesSink(tmp_path / "events.jsonl", flush_seconds=0.05)
    sink.emit(event(1))
    sink.emit(event(2))
    await asyncio.sleep(0.2)
    assert [e["n"] for e in lines(tmp_path / "events.jsonl")] == [1, 2]
    await sink.aclose()


async def test_a_full_batch_is_written_without_waiting_for_the_interval(tmp_path: Path) -> None:
    sink = JsonLinesSink(tmp_path / "events.jsonl", batch_size=3, flush_seconds=3600)
    for n in range(3):
        sink.emit(event(n))
    await asyncio.sleep(0.2)
    assert len(lines(tmp_path / "events.jsonl")) == 3
    await sink.aclose()


async def test_closing_writes_what_is_left(tmp_path: Path) -> None:
    sink = JsonLinesSink(tmp_path / "events.jsonl", flush_seconds=3600)
    for n in range(5):
        sink.emit(event(n))
    await sink.aclose()
    assert [e["n"] for e in lines(tmp_path / "events.jsonl")] == [0, 1, 2, 3, 4]
    assert sink.stats()["written"] == 5


def test_without_an_event_loop_events_wait_for_write_now(tmp_path: Path) -> None:
    sink = JsonLinesSink(tmp_path / "events.jsonl")
    sink.emit(event(1))
    sink.write_now()
    assert lines(tmp_path / "events.jsonl") == [event(1)]


@respx.mock
async def test_the_http_sink_posts_batches() -> None:
    route = respx.post(URL).respond(204)
    sink = HttpSink(URL, batch_size=100, flush_seconds=3600)
    for n in range(250):
        sink.emit(event(n))
    await sink.aclose()
    sizes = [len(json.loads(call.request.content)["events"]) for call in route.calls]
    assert sizes == [100, 100, 50]
    assert sink.stats()["written"] == 250


@respx.mock
async def test_a_failing_collector_loses_the_batch_but_is_counted() -> None:
    respx.post(URL).respond(500)
    sink = HttpSink(URL, flush_seconds=3600)
    sink.emit(event(1))
    await sink.aclose()
    assert sink.stats()["failed"] == 1


@respx.mock
async def test_a_stalled_collector_never_blocks_emit_and_drops_the_oldest() -> None:
    async def stall(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(10)
        return httpx.Response(204)

    route = respx.post(URL).mock(side_effect=stall)
    sink = HttpSink(URL, batch_size=1, flush_seconds=0.01, queue_size=10, timeout=0.2)
    started = time.perf_counter()
    sink.emit(event(0))
    await asyncio.sleep(0.05)  # the writer is now stuck on event 0
    for n in range(1, 101):
        sink.emit(event(n))
    assert time.perf_counter() - started < 0.5
    stats = sink.stats()
    assert stats["queued"] == 10 and stats["dropped"] == 90
    route.mock(side_effect=None, return_value=httpx.Response(204))  # the collector recovers
    await sink.aclose()
    assert sink.stats()["written"] == 10


def test_the_logger_sink_logs_one_json_line_per_event(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="shop.analytics")
    LoggerSink("shop.analytics").emit(event(7))
    assert [json.loads(r.getMessage()) for r in caplog.records if r.name == "shop.analytics"] == [event(7)]


async def test_the_callable_sink_calls_sync_and_async_functions() -> None:
    got: list[dict[str, Any]] = []

    async def track(e: dict[str, Any]) -> None:
        got.append(e)

    sink = CallableSink(got.append)
    sink.emit(event(1))
    async_sink = CallableSink(track)
    async_sink.emit(event(2))
    await async_sink.aclose()
    assert got == [event(1), event(2)]


def test_a_raising_callable_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def broken(e: dict[str, Any]) -> None:
        raise RuntimeError("analytics down")

    sink = CallableSink(broken)
    sink.emit(event(1))
    assert sink.stats()["failed"] == 1
    assert "event callable failed" in caplog.text


def record(e: dict[str, Any]) -> None:
    """Target of the ``callable`` sink setting in a test below."""
    RECORDED.append(e)


RECORDED: list[dict[str, Any]] = []


@pytest.mark.parametrize(
    ("config", "kind"),
    [
        ({}, JsonLinesSink),
        ({"sink": "logger"}, LoggerSink),
        ({"sink": "http", "url": URL}, HttpSink),
        ({"sink": "callable", "callable": f"{__name__}:record"}, CallableSink),
        ({"sink": "none"}, NullSink),
    ],
)
def test_settings_choose_the_sink(config: dict[str, Any], kind: type) -> None:
    assert isinstance(make_sink(EventSettings.model_validate(config)), kind)


def test_the_default_file_is_relative_to_the_given_base(tmp_path: Path) -> None:
    sink = make_sink(EventSettings(), base=tmp_path)
    assert isinstance(sink, JsonLinesSink) and sink.path == tmp_path / "smalldata-events.jsonl"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"sink": "http"}, "needs a url"),
        ({"sink": "callable"}, "needs callable"),
        ({"sink": "http", "url": "collect.example"}, "http:// or https://"),
        ({"sink": "kafka"}, "Input should be"),
    ],
)
def test_incomplete_event_settings_are_refused(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EventSettings.model_validate(config)


def test_a_missing_callable_is_explained() -> None:
    with pytest.raises(ValueError, match=r"cannot import 'shop\.nothing:track'"):
        make_sink(EventSettings(sink="callable", callable="shop.nothing:track"))


HANG_SCRIPT = """
import asyncio
from smalldata.events.sinks import JsonLinesSink

async def serve(sink):
    for i in range(50):
        sink.emit({"type": "x", "i": i})
        await asyncio.sleep(0)
    await asyncio.sleep(0.001)

for _ in range(300):
    asyncio.run(serve(JsonLinesSink(PATH, flush_seconds=0.0005, batch_size=5)))
print("ended")
"""


def test_a_running_sink_never_keeps_asyncio_run_from_ending(tmp_path: Path) -> None:
    # a server or script that stops without closing the sink: the writer task is cancelled and must stop
    import subprocess
    import sys

    script = HANG_SCRIPT.replace("PATH", repr(str(tmp_path / "events.jsonl")))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ended", done.stderr


def test_the_file_rotates_past_its_size_and_keeps_a_bounded_number_of_old_files(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    sink = JsonLinesSink(path, max_bytes=2_000, backups=2)
    for n in range(200):  # ~16 KB of events: eight times the limit
        sink.emit({"type": "conversion", "order_id": f"order-{n:04d}", "value": 100})
        sink.write_now()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["events.jsonl", "events.jsonl.1", "events.jsonl.2"]
    assert all((tmp_path / name).stat().st_size <= 2_000 for name in files)
    newest = [json.loads(line)["order_id"] for line in path.read_text().splitlines()]
    assert newest[-1] == "order-0199"  # the newest events are in the file smalldata report reads
    kept = [json.loads(line)["order_id"]
            for name in reversed(files) for line in (tmp_path / name).read_text().splitlines()]  # fmt: skip
    assert kept == sorted(kept) and kept[-1] == "order-0199"  # in order, nothing cut in half
    assert sink.rotations > 2
