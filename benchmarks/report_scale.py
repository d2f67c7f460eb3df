"""``python -m benchmarks.report_scale``: ``smalldata report`` over 10 million events, on DuckDB, in bounded memory.

Generates the events with DuckDB itself (seconds, not minutes) into a temporary folder — as
JSON lines split over four "hosts" with a rotated backup each, and as Parquet — then times
the report on each in a fresh process (so its peak memory is the report's alone), and the
pure-Python engine on a slice for comparison. Self-contained: it needs only the
``analysis`` extra (duckdb). Prints a table and, with ``--json PATH``, writes the figures.

    python -m benchmarks.report_scale                  # 10 million events
    python -m benchmarks.report_scale --events 1000000 --python-events 200000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HOSTS = 4
#: Exposures are this share of the events; the rest are conversions (a busy shop's mix is similar).
EXPOSURE_SHARE = 0.7
MEMORY_LIMIT = "1GB"


def generate(folder: Path, events: int) -> dict[str, list[Path]]:
    """``events`` events as JSON lines (``HOSTS`` files and a backup each) and as one Parquet file."""
    import duckdb

    exposures = int(events * EXPOSURE_SHARE)
    visitors = max(1, exposures * 5 // 7)  # some visitors come back and are exposed again
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute(f"SET temp_directory = '{folder / 'spill'}'")  # not ./.tmp in the working folder
    con.execute(f"""
        CREATE TABLE events AS
        SELECT 'exposure' AS type,
               strftime(TIMESTAMP '2026-11-01' + to_seconds(i // 4), '%Y-%m-%dT%H:%M:%S.000Z') AS "at",
               'v' || (hash(i) % {visitors}) AS visitor,
               'checkout-' || (i % 2) AS experiment,
               CASE WHEN hash('v' || (hash(i) % {visitors}) || (i % 2)) % 2 = 0 THEN 'control' ELSE 'b' END
                 AS variant,
               'bench-rule' AS rule, 'r1' AS version, (i % 1000 = 0) AS forced,
               NULL::DOUBLE AS value, NULL::VARCHAR AS currency, NULL::VARCHAR AS order_id, NULL::VARCHAR AS source,
               '/checkout' AS path
        FROM range({exposures}) t(i)
        UNION ALL
        SELECT 'conversion',
               strftime(TIMESTAMP '2026-11-01' + to_seconds(i // 3 + 600), '%Y-%m-%dT%H:%M:%S.000Z'),
               'v' || (hash(i + 7) % {visitors * 6 // 5}),
               NULL, NULL, NULL, NULL, NULL,
               round(10 + (hash(i) % 50000) / 100.0, 2), 'DKK', 'o' || i,
               CASE WHEN i % 3 = 0 THEN 'server' ELSE 'browser' END, '/thanks'
        FROM range({events - exposures}) t(i)
    """)  # fmt: skip
    files: dict[str, list[Path]] = {"jsonl": [], "parquet": [folder / "events.parquet"]}
    for host in range(HOSTS):
        for part, name in enumerate(("smalldata-events.jsonl.1", "smalldata-events.jsonl")):
            path = folder / f"web{host}" / name
            path.parent.mkdir(exist_ok=True)
            con.execute(f"""COPY (SELECT * FROM events WHERE hash(visitor || "type" || "at") % {2 * HOSTS}
                            = {2 * host + part}) TO '{path}' (FORMAT JSON)""")  # fmt: skip
            files["jsonl"].append(path)
    con.execute(f"COPY events TO '{files['parquet'][0]}' (FORMAT PARQUET)")
    con.close()
    return files


_RUN = """
import json, sys, time
from pathlib import Path
from smalldata.tools.report import summarise_paths
paths = [Path(p) for p in json.loads(sys.argv[1])]
started = time.perf_counter()
report = summarise_paths(paths, {"checkout-0": {"control": 50, "b": 50}, "checkout-1": {"control": 50, "b": 50}},
                         engine=sys.argv[2])
seconds = time.perf_counter() - started
# VmHWM: this process's own peak (ru_maxrss would carry the generator's over from before exec)
status = open("/proc/self/status").read().split("VmHWM:")[1]
peak = int(status.split()[0]) * 1024
print(json.dumps({"seconds": seconds, "peak_bytes": peak, "events": report.events,
                  "visitors": sum(v.visitors for x in report.experiments for v in x.variants)}))
"""


def measure(paths: list[Path], engine: str) -> dict[str, Any]:
    """Time one report in a fresh process and take its peak resident memory (Linux: /proc/self/status)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", _RUN, json.dumps([str(p) for p in paths]), engine],
                          capture_output=True, text=True, env=env)  # fmt: skip
    if done.returncode:
        raise SystemExit(f"the {engine} report failed:\n{done.stderr}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _lines(paths: list[Path]) -> Iterator[str]:
    for path in paths:
        with path.open(encoding="utf-8") as lines:
            yield from lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report_scale", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="events to generate (default 10 million)")
    parser.add_argument("--python-events", type=int, default=500_000,
                        help="events the pure-Python engine is timed on, for comparison (0: skip)")
    parser.add_argument("--json", default=None, help="write the figures to this file")
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="smalldata-report-scale-") as folder:
        started = time.perf_counter()
        files = generate(Path(folder), args.events)
        generated = time.perf_counter() - started
        size = {kind: sum(p.stat().st_size for p in paths) for kind, paths in files.items()}
        print(f"generated {args.events:,} events in {generated:.1f} s: JSON lines {size['jsonl'] / 1e9:.2f} GB "
              f"in {len(files['jsonl'])} files, Parquet {size['parquet'] / 1e6:.0f} MB")  # fmt: skip
        for kind in ("parquet", "jsonl"):
            rows.append({"input": kind, "engine": "duckdb", **measure(files[kind], "duckdb")})
        if args.python_events:
            small = Path(folder) / "slice.jsonl"
            with small.open("w") as out:
                out.writelines(line for _, line in zip(range(args.python_events), _lines(files["jsonl"]),
                                                       strict=False))  # fmt: skip
            rows.append({"input": "jsonl slice", "engine": "python", **measure([small], "python")})
    print("\n| input | engine | events | seconds | events/s | peak memory |\n|---|---|---:|---:|---:|---:|")
    for row in rows:
        rate = row["events"] / row["seconds"] if row["seconds"] else 0
        print(f"| {row['input']} | {row['engine']} | {row['events']:,} | {row['seconds']:.1f} | {rate:,.0f} "
              f"| {row['peak_bytes'] / 2**20:,.0f} MB |")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps({"generated_seconds": generated, "runs": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
