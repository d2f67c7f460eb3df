"""``report`` reads many files: every host's and every rotated backup, by glob, or by default the settings'
events file with its backups."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from smalldata.cli import main
from smalldata.tools.report import report_main


def _write(path: Path, visitors: range, variant: str = "a") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"type": "exposure", "at": "2026-11-25T10:00:00Z", "visitor": f"v{n}",
                                        "experiment": "easter", "variant": variant}) + "\n"
                            for n in visitors))  # fmt: skip


def _visitors(out: str) -> int:
    return sum(v["visitors"] for x in json.loads(out)["experiments"] for v in x["variants"])


def test_report_reads_every_file_a_glob_names(tmp_path: Path) -> None:
    _write(tmp_path / "web1" / "events.jsonl", range(0, 10))
    _write(tmp_path / "web1" / "events.jsonl.1", range(10, 15))
    _write(tmp_path / "web2" / "events.jsonl", range(15, 22))
    out = io.StringIO()

    assert report_main([str(tmp_path / "*" / "events.jsonl*")], json_output=True, out=out) == 0

    assert _visitors(out.getvalue()) == 22


def test_a_file_named_twice_counts_once(tmp_path: Path) -> None:
    _write(tmp_path / "events.jsonl", range(5))
    out = io.StringIO()

    report_main([str(tmp_path / "events.jsonl"), str(tmp_path / "*.jsonl")], json_output=True, out=out)

    assert _visitors(out.getvalue()) == 5


def test_a_glob_that_matches_nothing_is_an_error(tmp_path: Path) -> None:
    err = io.StringIO()

    assert report_main([str(tmp_path / "*.jsonl")], err=err) == 1
    assert err.getvalue() == f"{tmp_path / '*.jsonl'}: no file matches\n"


def test_report_without_files_reads_the_settings_events_file_and_its_backups(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "smalldata.yaml").write_text("events: {path: logs/events.jsonl}\n")
    _write(tmp_path / "logs" / "events.jsonl", range(0, 4))
    _write(tmp_path / "logs" / "events.jsonl.1", range(4, 6))
    _write(tmp_path / "logs" / "events.jsonl.2", range(6, 7))
    _write(tmp_path / "logs" / "events.jsonl.old", range(100, 150))  # not a backup the sink writes

    assert main(["report", "--json", "--config", str(tmp_path / "smalldata.yaml")]) == 0

    assert _visitors(capsys.readouterr().out) == 7


def test_report_reads_parquet_on_duckdb(tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    _write(tmp_path / "events.jsonl", range(12))
    duckdb.execute(f"COPY (SELECT * FROM read_json('{tmp_path / 'events.jsonl'}')) TO '{tmp_path / 'e.parquet'}'")
    out = io.StringIO()

    assert report_main([str(tmp_path / "e.parquet")], json_output=True, out=out) == 0

    assert _visitors(out.getvalue()) == 12
