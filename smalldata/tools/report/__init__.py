"""``smalldata report [FILES or GLOBS]``: how each experiment's variants convert, and whether it is real yet.

It reads every file named (each host's, each rotated backup; JSON lines or Parquet), by default the
settings' events file with its backups; on DuckDB (``pip install 'smalldata[analysis]'``) when the
files are large or Parquet, else in Python: the same report either way (``--sql`` prints the query).

Per experiment and variant:

- **visitors**: distinct visitors exposed to it (forced preview exposures left out;
  a visitor counts in the variant they were first exposed to);
- **conversions**: distinct exposed visitors with a ``conversion`` event at or after
  their first exposure;
- **rate** with a 95 % Wilson score interval (sound for small counts and rates near 0), and
  **value per visitor** (each order once) with its 95 % interval;
- versus the baseline (``control`` when there is one, else the first variant by
  name): the relative lift and a two-sided, pooled two-proportion z-test p-value.

A difference is called significant only when p < 0.05 *and* both arms have at
least :data:`MIN_COUNT` conversions and non-conversions (below that the normal
approximation behind the z-test is not trustworthy); otherwise the report says
"not yet significant", with the visitors per variant still needed to see a 10 % lift.

With the experiment's weights (from the rules), a **sample-ratio-mismatch** check tests the
observed split against them (chi-square, p < 0.001): a broken split makes every figure untrustworthy,
and the report says so loudly.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from smalldata.tools.report.engine import summarise
from smalldata.tools.report.files import UnreadableFiles, backups_of, expand, iter_events, read_events
from smalldata.tools.report.model import CONTROL, LIFT, MIN_COUNT, ExperimentResult, Report, VariantResult
from smalldata.tools.report.sql import analysis_sql
from smalldata.tools.report.stats import Z95, two_proportion_p_value, wilson_interval
from smalldata.tools.report.text import format_report, needed_words, split_warning

__all__ = [
    "CONTROL", "LIFT", "MIN_COUNT", "Z95", "ExperimentResult", "Report", "VariantResult", "backups_of",
    "format_report", "needed_words", "read_events", "report_main", "split_warning", "summarise",
    "summarise_paths", "two_proportion_p_value", "weights_of", "wilson_interval",
]  # fmt: skip

#: Above this many bytes of JSON lines (and for any Parquet), ``auto`` counts on DuckDB when it is installed.
DUCKDB_FROM_BYTES = 64 * 1024 * 1024

Weights = Mapping[str, Mapping[str, float]]


def weights_of(ruleset: Any) -> dict[str, dict[str, float]]:
    """Each experiment's split in ``ruleset``: variant → weight, ``control`` the share left over."""
    weights: dict[str, dict[str, float]] = {}
    for rule in getattr(ruleset, "rules", ()):
        experiment = getattr(rule, "experiment", None)
        if experiment is None:
            continue
        variants: Sequence[Any] = getattr(experiment, "arms", None) or experiment.variants  # compiled, or as written
        arms = {variant.name: float(variant.weight) for variant in variants}
        if sum(arms.values()) < 100:
            arms[CONTROL] = 100 - sum(arms.values())
        weights[experiment.key] = arms
    return weights


def summarise_paths(
    paths: Sequence[Path], weights: Weights | None = None, *, engine: str = "auto", problems: list[str] | None = None
) -> Report:
    """The report of every event in ``paths`` on ``engine`` (``python``, ``duckdb`` or ``auto``: DuckDB for
    large sets and Parquet when installed). ``problems`` collects unreadable lines (Python engine)."""
    from smalldata.tools.report import duck

    parquet = any(path.suffix == ".parquet" for path in paths)
    if engine == "auto":
        large = sum(path.stat().st_size for path in paths) >= DUCKDB_FROM_BYTES
        engine = "duckdb" if (parquet or large) and duck.available() else "python"
    if engine == "duckdb" or parquet:
        if not duck.available():
            raise UnreadableFiles("reading Parquet and --engine duckdb need duckdb: pip install 'smalldata[analysis]'")
        return duck.summarise_files(paths, weights)
    return summarise(iter_events(paths, problems if problems is not None else []), weights)


def report_main(
    paths: str | Sequence[str],
    *,
    json_output: bool = False,
    sql: bool = False,
    engine: str = "auto",
    weights: Weights | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """The ``smalldata report`` verb: 0 when the files were read, 1 when one could not be."""
    out = out or sys.stdout
    err = err or sys.stderr
    if sql:
        out.write(analysis_sql() + "\n")
        return 0
    problems: list[str] = []
    try:
        files = expand([paths] if isinstance(paths, str) else paths)
        report = summarise_paths(files, weights, engine=engine, problems=problems)
    except UnreadableFiles as exc:
        print(exc, file=err)
        return 1
    except OSError as exc:
        print(f"{exc.filename}: cannot read events: {exc.strerror}", file=err)
        return 1
    for problem in problems:
        print(problem, file=err)
    if json_output:
        json.dump(report.to_json(), out, indent=2)
        out.write("\n")
    else:
        out.write(format_report(report))
    return 0
