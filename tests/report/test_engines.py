"""The DuckDB engine and the pure-Python engine give identical reports, for any set of events."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smalldata.tools.report import summarise
from smalldata.tools.report.duck import summarise_files

duckdb = pytest.importorskip("duckdb")

_TIMES = ["2026-11-25T10:00:00Z", "2026-11-25T10:00:00.500Z", "2026-11-25T11:00:00+01:00",  # = 10:00Z: a tie
          "2026-11-25T10:05:00", "2026-11-25", "2026-11-24T23:59:59.999999Z", "garbage", ""]  # fmt: skip

EVENT = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["exposure", "conversion", "chat_shown", 5, None]),
        "visitor": st.sampled_from(["v1", "v2", "v3", "v4", "", 7, None]),
        "at": st.sampled_from([*_TIMES, None, 12]),
        "experiment": st.sampled_from(["e1", "e2", 3]),
        "variant": st.sampled_from(["control", "a", "b", True]),
        "forced": st.sampled_from([True, False, "true", None]),
        "value": st.one_of(st.integers(-5, 500), st.integers(0, 4000).map(lambda q: q / 4),
                           st.sampled_from(["12", True, None])),
        "order_id": st.sampled_from(["o1", "o2", 9, None]),
        "source": st.sampled_from(["server", "browser", "x", None]),
    },
)
# Mostly well-formed exposures and conversions of a few visitors, so that they meet; some noise.
WELL_FORMED = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["exposure", "conversion"]),
        "visitor": st.sampled_from(["v1", "v2", "v3"]),
        "at": st.sampled_from(_TIMES[2:5]),  # few moments: ties and same-moment conversions are common
        "experiment": st.sampled_from(["e1", "e1", "e2"]),
        "variant": st.sampled_from(["control", "a", "b"]),
    },
    optional={"forced": st.sampled_from([True, False]), "value": st.integers(0, 4000).map(lambda q: q / 4),
              "order_id": st.sampled_from(["o1", "o2"]), "source": st.sampled_from(["server", "browser"])},
)  # fmt: skip
EVENTS = st.lists(st.one_of(WELL_FORMED, WELL_FORMED, WELL_FORMED, EVENT), min_size=4, max_size=40)
WEIGHTS = {"e1": {"control": 50.0, "a": 50.0}, "e2": {"a": 30.0, "b": 30.0, "control": 40.0}}


def _write(folder: Path, name: str, events: list[dict[str, Any]]) -> Path:
    path = folder / name
    path.write_text("".join(json.dumps(event) + "\n" for event in events), encoding="utf-8")
    return path


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EVENTS, EVENTS)
def test_duckdb_and_python_give_identical_reports(
    host_one: list[dict[str, Any]], host_two: list[dict[str, Any]]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        files = [_write(Path(folder), "one.jsonl", host_one), _write(Path(folder), "two.jsonl.1", host_two)]

        on_duckdb = summarise_files(files, WEIGHTS)

    assert on_duckdb == summarise([*host_one, *host_two], WEIGHTS)


def test_parquet_files_give_the_report_their_json_lines_give(tmp_path: Path) -> None:
    events = [{"type": "exposure", "at": "2026-11-25T10:00:00Z", "visitor": f"v{n}", "experiment": "e1",
               "variant": "ab"[n % 2], "forced": False} for n in range(40)]  # fmt: skip
    events += [{"type": "conversion", "at": "2026-11-25T10:30:00Z", "visitor": f"v{n}", "value": 10.0 * n,
                "order_id": f"o{n}"} for n in range(0, 40, 3)]  # fmt: skip
    lines = _write(tmp_path, "events.jsonl", events)
    parquet = tmp_path / "events.parquet"
    duckdb.execute(f"COPY (SELECT * FROM read_json('{lines}', format = 'newline_delimited')) TO '{parquet}'")

    assert summarise_files([parquet], WEIGHTS) == summarise(events, WEIGHTS)
