"""The DuckDB engine (``pip install 'smalldata[analysis]'``): millions of events, on disk, in bounded memory.

It loads JSON-lines and Parquet files into the documented ``events`` table
(:mod:`smalldata.tools.report.sql`), parsing each line once into a temporary DuckDB file (compressed,
within a memory limit), and runs the very query ``report --sql`` prints. A line that is not a
JSON object, or has none of the table's fields, is no event.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from smalldata.tools.report.model import ArmCounts, Report, experiments
from smalldata.tools.report.sql import ANALYSIS, COLUMNS, TOTALS

__all__ = ["available", "connect", "summarise_files"]

#: JSON types DuckDB gives a number; anything else in ``value`` counts as no value (0), as in Python.
_NUMBER = "('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')"


def available() -> bool:
    """Whether the ``analysis`` extra (duckdb) is installed."""
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return False
    return True


def connect(
    paths: Sequence[Path], *, database: str = ":memory:", memory_limit: str = "1GB", threads: int | None = None
) -> Any:
    """A DuckDB connection with an ``events`` table read from ``paths`` (``.parquet`` files, the rest JSON lines).

    The files are read and parsed once into ``database`` (a file: DuckDB compresses it and keeps
    within ``memory_limit``, spilling to disk), and counted from there.
    """
    import duckdb

    con = duckdb.connect(database, config={"memory_limit": memory_limit, **({"threads": threads} if threads else {})})
    con.execute("SET enable_progress_bar = false")  # the report is what it prints
    con.execute("SET TimeZone = 'UTC'")  # an event's time without an offset is UTC, as in the Python engine
    parquet = [str(path) for path in paths if path.suffix == ".parquet"]
    lines = [str(path) for path in paths if path.suffix != ".parquet"]
    parts = []
    if lines:
        con.execute(f"CREATE VIEW json_events AS {_json_select(lines)}")
        parts.append("SELECT * FROM json_events")
    if parquet:
        con.execute(f"CREATE VIEW parquet_events AS {_parquet_select(con, parquet)}")
        parts.append("SELECT * FROM parquet_events")
    con.execute("CREATE TABLE events AS " + (" UNION ALL ".join(parts) or _empty()))
    return con


def summarise_files(
    paths: Sequence[Path], weights: Mapping[str, Mapping[str, float]] | None = None, *, memory_limit: str = "1GB"
) -> Report:
    """The report of every event in ``paths``, counted by DuckDB (the same report :func:`summarise` gives)."""
    with tempfile.TemporaryDirectory(prefix="smalldata-report-") as folder:
        con = connect(paths, database=str(Path(folder) / "events.duckdb"), memory_limit=memory_limit)
        try:
            arms: dict[str, dict[str, ArmCounts]] = {}
            for experiment, variant, visitors, conversions, value, squares in con.execute(
                ANALYSIS.format(table="events")
            ).fetchall():
                arms.setdefault(experiment, {})[variant] = ArmCounts(visitors, conversions, value, squares)
            row = con.execute(TOTALS.format(table="events")).fetchone()
        finally:
            con.close()
    events, forced, undated, without_exposure, server, browser = row
    sources = {name: count for name, count in (("server", server), ("browser", browser)) if count}
    return Report(experiments(arms, weights), events, forced, without_exposure, undated, sources)


def _files(paths: list[str]) -> str:
    """A SQL list of file names (views take no parameters)."""
    return "[" + ", ".join("'" + path.replace("'", "''") + "'" for path in paths) + "]"


def _json_select(files: list[str]) -> str:
    """Each line's fields as the table's columns; a field of another JSON type is NULL (Python skips it too).

    DuckDB's own reader parses each line once; a line that is not a JSON object (a torn write)
    reads as a row without any field, and such rows are not events (in Python neither).
    """
    shape = ", ".join(f"'{name}': 'JSON'" for name in COLUMNS)

    def text(name: str) -> str:
        return f"CASE WHEN json_type(\"{name}\") = 'VARCHAR' THEN \"{name}\" ->> '$' END"

    fields = {name: f'{text(name)} AS "{name}"' for name in COLUMNS}
    fields["at"] = f"TRY_CAST({text('at')} AS TIMESTAMPTZ) AS \"at\""
    fields["forced"] = "CASE WHEN json_type(forced) = 'BOOLEAN' THEN forced::VARCHAR = 'true' END AS forced"
    number = f"CASE WHEN json_type(\"value\") IN {_NUMBER} THEN TRY_CAST(\"value\"::VARCHAR AS DOUBLE) END"
    fields["value"] = f'{number} AS "value"'
    return (f"SELECT {', '.join(fields[name] for name in COLUMNS)} "
            f"FROM read_json({_files(files)}, format = 'newline_delimited', columns = {{{shape}}}, "
            "ignore_errors = true, maximum_object_size = 16777216) "
            f"WHERE {_ANY_FIELD}")


def _parquet_select(con: Any, files: list[str]) -> str:
    """Parquet's typed columns cast to the table's; a column no file has is NULL."""
    source = f"read_parquet({_files(files)}, union_by_name = true)"
    present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    fields = [f'TRY_CAST("{name}" AS {kind}) AS "{name}"' if name in present else f'NULL::{kind} AS "{name}"'
              for name, kind in COLUMNS.items()]  # fmt: skip
    return f"SELECT * FROM (SELECT {', '.join(fields)} FROM {source}) WHERE {_ANY_FIELD}"


#: A row with no field of the table is no event (a torn line; in Python, an object with none of them).
_ANY_FIELD = "(" + " OR ".join(f'"{name}" IS NOT NULL' for name in COLUMNS) + ")"


def _empty() -> str:
    return "SELECT " + ", ".join(f'NULL::{kind} AS "{name}"' for name, kind in COLUMNS.items()) + " WHERE false"
