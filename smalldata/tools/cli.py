"""The ``smalldata`` command: check, try, test, report, preview, demo, console, bench."""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from smalldata.decision import Decision, TraceEntry
from smalldata.foundation.problems import ProblemsError
from smalldata.rules import Engine, check_ruleset, load_ruleset
from smalldata.rules.explain import (
    decision_rows,
    json_default,
    produced_signals,
    show_value,
    shown_signals,
    trace_words,
)
from smalldata.rules.imagine import DEFAULT_VISITOR_ID, Imagined, parse_moment, parse_sets
from smalldata.settings import Settings, load_settings
from smalldata.tools.commands.shop_code import shop_code_problems

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_NO_TESTS = 5  # `smalldata test` found no tests: pytest's convention, so a CI gate does not pass on nothing


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_USAGE
    if "" not in sys.path and os.getcwd() not in sys.path:
        # like uvicorn: the shop's own modules that smalldata.yaml names ("package.module:function",
        # e.g. a source under `signals:`) import from the folder the command runs in
        sys.path.insert(0, os.getcwd())
    try:
        code: int = args.run(args)
    except ProblemsError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_FAILED
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `smalldata try --json | head`: the reader left; say nothing more
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115
        return EXIT_OK
    return code


class UsageError(Exception):
    """A command-line value that cannot be used; the message says why."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smalldata", description="Personalise a web shop with small data.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--rules", default=None, help="rules folder or file (default: settings' rules, else rules/)")
    common.add_argument("--config", default=None, help="settings file (default: smalldata.yaml if present)")
    verbs = parser.add_subparsers(title="commands", metavar="COMMAND")

    check = verbs.add_parser("check", parents=[common], help="validate rule files; exit 1 on errors")
    check.add_argument("path", nargs="?", help="rules folder or file (same as --rules)")
    check.set_defaults(run=_check)

    try_ = verbs.add_parser("try", parents=[common], help="evaluate the rules for an imagined visitor")
    try_.add_argument("--set", dest="sets", action="append", default=[], metavar="SIGNAL=VALUE",
                      help="set a signal; the value is read as YAML (true, 400, [DK, SE], {shoes: 3})")
    try_.add_argument("--url", help="the page, e.g. /pricing or https://shop.example/pricing?utm_source=x")
    try_.add_argument("--user-agent", help="the User-Agent header")
    try_.add_argument("--ip", help="the client IP address")
    try_.add_argument("--language", help="the Accept-Language header")
    try_.add_argument("--at", help="the time, e.g. 2026-12-24T18:00 (shop time zone unless an offset is given)")
    try_.add_argument("--visitor-id", help=f"visitor id for experiment assignment (default '{DEFAULT_VISITOR_ID}')")
    try_.add_argument("--geoip", help="a GeoIP2/GeoLite2 City .mmdb file to resolve --ip with "
                                      "(MaxMind's geoipupdate fetches GeoLite2; scripts/geoip_test_database.py "
                                      "writes a small test one)")
    try_.add_argument("--explain", action="store_true", help="say for every rule why it matched or not")
    try_.add_argument("--json", action="store_true", help="print {decision, matched, trace, signals} as JSON")
    try_.set_defaults(run=_try)

    test = verbs.add_parser("test", parents=[common], help="run the tests: blocks of the rule files")
    test.add_argument("path", nargs="?", help="rules folder or file (same as --rules)")
    test.add_argument("-v", "--verbose", action="store_true", help="list every test")
    test.add_argument("--allow-empty", action="store_true",
                      help=f"exit 0 when the rules have no tests (default: exit {EXIT_NO_TESTS}, as pytest does)")
    test.set_defaults(run=_test)

    demo = verbs.add_parser("demo", parents=[common], help="start the example shop on http://127.0.0.1:8000")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--clock", metavar="TIME|OFFSET",
                      help="travel in time: the shop's clock starts at TIME (e.g. 2026-12-05T10:00, shop time zone) "
                           "or runs OFFSET ahead (e.g. +31m: browse, stop the demo, start it with --clock +31m "
                           "and reload to come back as a returning visitor)")
    demo.set_defaults(run=_demo)

    report = verbs.add_parser("report", parents=[common],
                              help="experiment results from events files (JSON lines, Parquet)")
    report.add_argument("events", nargs="*", help="files and globs, e.g. 'logs/*/smalldata-events.jsonl*' "
                                                  "(default: events.path of the settings and its backups)")
    report.add_argument("--json", action="store_true", help="print the report as JSON")
    report.add_argument("--sql", action="store_true", help="print the analysis as SQL over the events table")
    report.add_argument("--engine", choices=("auto", "python", "duckdb"), default="auto",
                        help="count in Python or on DuckDB (auto: DuckDB for large files and Parquet if installed)")
    report.set_defaults(run=_report)

    preview = verbs.add_parser("preview", parents=[common],
                               help="print a signed link showing a page as an imagined visitor sees it")
    preview.add_argument("--url", default="/", help="the page, e.g. /pricing")
    preview.add_argument("--set", dest="sets", action="append", default=[], metavar="SIGNAL=VALUE",
                         help="set a signal, read as YAML (repeatable)")
    preview.add_argument("--at", help="the time the page is shown at, e.g. 2026-12-24T18:00")
    preview.add_argument("--variant", dest="variants", action="append", default=[], metavar="EXPERIMENT=VARIANT",
                         help="force an experiment's variant (repeatable)")
    preview.add_argument("--ttl", type=int, default=None, metavar="SECONDS",
                         help="how long the link works: 60 seconds to 30 days "
                              "(default: preview.ttl_seconds in the settings, else 24 hours)")
    preview.add_argument("--base-url", metavar="URL",
                         help="the shop's address to put in front of --url, e.g. https://staging.shop.example "
                              "(default: preview.base_url in the settings; without either, only the path)")
    preview.set_defaults(run=_preview)

    console = verbs.add_parser("console", parents=[common],
                               help="the rule workflow in a browser (rules, try, edit, tests, preview, experiments)")
    console.add_argument("--host", default="127.0.0.1",
                         help="address to listen on (default 127.0.0.1; any other address needs --token)")
    console.add_argument("--port", type=int, default=8001, help="port (default 8001, beside the demo shop's 8000)")
    console.add_argument("--token", default=None,
                         help="the token every page needs (default: $SMALLDATA_CONSOLE_TOKEN); required off 127.0.0.1")
    console.add_argument("--events", default=None,
                         help="the events file the experiments page reads (default: events.path of the settings)")
    console.add_argument("--author", default=None,
                         help="the name the history keeps with each save (default: $SMALLDATA_CONSOLE_AUTHOR, "
                              "else your user name)")
    console.add_argument("--token-label", default=None,
                         help="the name the history keeps for saves made with the token (default: token)")
    console.set_defaults(run=_console)

    bench = verbs.add_parser("bench", parents=[common],
                             help="what smalldata costs on the shop's rules, traffic and pages; budgets in ms",
                             description="Measure smalldata's overhead on the shop's own rules (--rules, --config) "
                                         "and traffic, and gate on budgets. Exit 0: every budget holds; 1: a budget "
                                         "is broken; 2: usage error; 3: inconclusive (see docs/qa.md).")
    bench.add_argument("--quick", action="store_true", help="a shorter run (within 60 s on a 2-core runner)")
    bench.add_argument("--budget", dest="budgets", action="append", default=[], metavar="NAME=VALUE",
                       help="p50=1ms, p90=2ms, p99=5ms, mean=1ms or (with --app) share=5%% (repeatable; "
                            "overrides bench: budget: in the settings)")
    bench.add_argument("--app", metavar="MODULE:ATTR", help="the shop's ASGI app without smalldata, measured bare "
                                                            "and wrapped on its own pages (--url)")
    bench.add_argument("--url", dest="urls", action="append", default=[], metavar="PATH",
                       help="a page of --app to measure (repeatable; default /)")
    bench.add_argument("--baseline", metavar="FILE", help="a run written with --json to compare with")
    bench.add_argument("--max-regression", metavar="PERCENT", help="how much slower than --baseline a figure "
                                                                   "may be (default 15%%)")
    bench.add_argument("--json", metavar="FILE", help="write the run as JSON (a later --baseline)")
    bench.add_argument("--junit", metavar="FILE", help="write JUnit XML: each budget a test case")
    bench.add_argument("--markdown", metavar="FILE", help="write a Markdown summary for the CI job page")
    bench.add_argument("--seconds", type=float, default=None,
                       help="time limit of the rounds (default 35 with --quick, 240 without)")
    bench.add_argument("--suite", choices=("shop", "project"), default=None,
                       help="shop (default): the shop's gate; project: smalldata's own suite (a source checkout)")
    bench.add_argument("--check", action="store_true",
                       help="smalldata's own suite: exit 1 when its gate breaks (implies --suite project)")
    bench.add_argument("--output", default=None, help="--suite project: where to write its JSON report and plot")
    bench.set_defaults(run=_bench)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def _rules_path(args: argparse.Namespace, settings: Settings) -> str:
    """The rules to read: a path given on the command line (from the current folder), else the settings'
    ``rules:``, which, like every path in a settings file, starts at the settings file's folder."""
    given = getattr(args, "path", None) or args.rules
    if given:
        return str(given)
    rules = Path(settings.rules)
    if args.config and not rules.is_absolute():
        return str(Path(args.config).parent / rules)
    return str(rules)


# -- check -------------------------------------------------------------------


def _check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    path = _rules_path(args, settings)
    ruleset, problems = check_ruleset(path, settings)
    problems = [*problems, *shop_code_problems(settings, args.config)]  # the functions smalldata.yaml names
    for problem in problems:
        print(problem)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if ruleset is None or errors:
        print(f"{path}: {_count(errors, 'error')}, {_count(warnings, 'warning')}")
        return EXIT_FAILED
    disabled = f" (and {len(ruleset.disabled)} disabled)" if ruleset.disabled else ""
    summary = (f"{path}: {_count(len(ruleset.rules), 'rule')}{disabled} in {_count(len(ruleset.files), 'file')}, "
               f"{_count(len(ruleset.segments), 'segment')}, {_count(len(ruleset.tests), 'test')}; "
               f"{_count(warnings, 'warning')}; version {ruleset.version}")
    print(summary)
    return EXIT_OK


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


# -- try ---------------------------------------------------------------------


def _page_url(url: str | None) -> str | None:
    """``--url pricing`` means the page /pricing: read it so, and say so (a path without its slash is
    never a page of the shop)."""
    if url is None or url.startswith("/") or "://" in url:
        return url
    fixed = "/" + url
    print(f"smalldata try: --url {url} has no leading slash; trying the page {fixed}", file=sys.stderr)
    return fixed


def _try(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.geoip:
        _check_geoip(args.geoip)
        settings = settings.model_copy(update={"geo": settings.geo.model_copy(update={"database": args.geoip})})
    ruleset = load_ruleset(_rules_path(args, settings), settings)
    try:
        given = parse_sets(args.sets, settings.signal_catalog)
        visitor_id = args.visitor_id or str(given.get("visitor.id") or DEFAULT_VISITOR_ID)
        at = parse_moment(args.at, settings) if args.at else None
        imagined = Imagined(given=given, url=_page_url(args.url), user_agent=args.user_agent, ip=args.ip, at=at,
                            language=args.language, visitor_id=visitor_id)
        decision, signals = asyncio.run(imagined.decide(Engine(ruleset), settings))
    except ValueError as exc:
        raise UsageError(f"smalldata try: {exc}") from None
    produced = produced_signals(signals, settings.signal_catalog)
    if args.json:
        report = {
            "decision": decision.to_json(),
            "matched": decision.matched,
            "trace": [entry.as_dict() for entry in decision.trace or []],
            "signals": produced,
        }
        print(json.dumps(report, indent=2, ensure_ascii=False, default=json_default))
        return EXIT_OK
    _print_decision(decision, sys.stdout)
    if args.explain:
        _print_signals(shown_signals(produced, ruleset.reads), sys.stdout)
        _print_trace(decision.trace or [], sys.stdout)
    return EXIT_OK


GEOIP_HELP = (
    "MaxMind's free GeoLite2 City database comes with a MaxMind account and `geoipupdate` "
    "(https://dev.maxmind.com/geoip/updating-databases); to try without one, a source checkout builds a small "
    "test database: python scripts/geoip_test_database.py GeoLite2-City.mmdb (it knows 81.2.69.142, London)"
)


def _check_geoip(path: str) -> None:
    """A ``--geoip`` file that cannot be read stops ``try`` and says where to get one (geo would be unknown)."""
    import maxminddb

    if not os.path.isfile(path):
        raise UsageError(f"smalldata try: --geoip {path}: no such file. {GEOIP_HELP}")
    try:
        maxminddb.open_database(path).close()
    except (OSError, ValueError, maxminddb.InvalidDatabaseError):
        raise UsageError(f"smalldata try: --geoip {path} is not a GeoIP2 database. {GEOIP_HELP}") from None


def _print_decision(decision: Decision, out: TextIO) -> None:
    rows = decision_rows(decision)
    if not rows:
        print("No personalisation for this visitor.", file=out)
        return
    width = max(len(row.slot) for row in rows)
    for row in rows:
        # decisions hold HTML-safe text; a terminal shows it as the page would
        print(f"  {row.slot:<{width}}  {html.unescape(row.text)}" + (f"   ← {row.rule}" if row.rule else ""),
              file=out)


def _print_signals(used: dict[str, Any], out: TextIO) -> None:
    print("\nSignals (every known value, and every one the rules read):", file=out)
    for name, value in used.items():
        print(f"  {name} = {show_value(value)}", file=out)


MARKS = {"matched": "✓", "failed": "✗", "capped": "⌀", "inactive": "…", "shadowed": "▽",
         "not_in_experiment": "○", "unknown_value": "?", "closed": "⏾",
         "disabled": "⊘"}


def _print_trace(trace: list[TraceEntry], out: TextIO) -> None:
    print("\nRules, in priority order:", file=out)
    width = max((len(e.rule) for e in trace), default=0)
    for entry in trace:
        print(f"  {MARKS.get(entry.status, ' ')} {entry.rule:<{width}}  {trace_words(entry)}", file=out)


# -- test --------------------------------------------------------------------


def _test(args: argparse.Namespace) -> int:
    from smalldata.rules.testing import run_tests

    settings = _settings(args)
    ruleset = load_ruleset(_rules_path(args, settings), settings)
    started = time.perf_counter()
    results = run_tests(ruleset, settings)
    elapsed = time.perf_counter() - started
    failed = [r for r in results if not r.passed]
    for result in results:
        name = f"{result.case.position.file}::{result.case.test.name}"
        if args.verbose or not result.passed:
            print(f"{name} {'PASSED' if result.passed else 'FAILED'}")
    for result in failed:
        print(f"\n___ {result.case.test.name} ___\n{result.case.position}")
        for difference in result.differences:
            print(f"  {difference}")
    passed = len(results) - len(failed)
    parts = ([f"{len(failed)} failed"] if failed else []) + [f"{passed} passed"]
    print(f"\n{'=' * 10} {', '.join(parts)} in {elapsed:.2f}s {'=' * 10}")
    if not results and not args.allow_empty:
        print(f"no tests: the rule files have no tests: blocks (exit {EXIT_NO_TESTS}; --allow-empty when that is "
              "on purpose)", file=sys.stderr)
        return EXIT_NO_TESTS
    return EXIT_FAILED if failed else EXIT_OK


# -- report, preview -------------------------------------------------------------


def _report(args: argparse.Namespace) -> int:
    from smalldata.tools.commands.report import report_command

    settings = _settings(args)
    return report_command(args.events, settings=settings, config=args.config, rules=_rules_path(args, settings),
                          json_output=args.json, sql=args.sql, engine=args.engine)


def _preview(args: argparse.Namespace) -> int:
    from smalldata.tools.commands.preview import preview_main

    settings = _settings(args)
    return preview_main(url=args.url, sets=args.sets, at=args.at, variants=args.variants, settings=settings,
                        preview=settings.preview, rules=_rules_path(args, settings), ttl_seconds=args.ttl,
                        base_url=args.base_url)


# -- demo, bench ---------------------------------------------------------------


def _demo(args: argparse.Namespace) -> int:
    from smalldata.tools import demo

    options: dict[str, Any] = {"rules": args.rules, "config": args.config}
    if args.clock:
        zone = load_settings(args.config or demo.EXAMPLES.parent / "smalldata.yaml").zone
        try:
            options["clock"] = demo.demo_clock(args.clock, zone)
        except ValueError as exc:
            raise UsageError(f"smalldata demo: {exc}") from None
    try:
        demo.run(host=args.host, port=args.port, **options)
    except demo.DemoNotFound as exc:
        raise UsageError(f"smalldata demo: {exc}") from None
    return EXIT_OK


def _console(args: argparse.Namespace) -> int:
    from smalldata.tools.console import is_loopback, run
    from smalldata.tools.console.app import PortInUse

    token = args.token or os.environ.get("SMALLDATA_CONSOLE_TOKEN") or None
    if token is None and not is_loopback(args.host):
        raise UsageError(f"smalldata console: --host {args.host} can be reached from other machines, and the console "
                         "edits the shop's rules; give it a token (--token or SMALLDATA_CONSOLE_TOKEN), "
                         "or leave --host at 127.0.0.1")
    settings = _settings(args)
    try:
        run(host=args.host, port=args.port, rules=_rules_path(args, settings), config=args.config,
            settings=settings, events=args.events, token=token, author=args.author,
            token_label=args.token_label)
    except PortInUse as exc:
        raise UsageError(f"smalldata console: {exc.strerror}") from None
    return EXIT_OK


def _bench(args: argparse.Namespace) -> int:
    if args.check or args.suite == "project":
        from smalldata.tools.bench.project import main as project_main

        return project_main(quick=args.quick, check=args.check, output=args.output)
    from smalldata.tools.bench.command import Options
    from smalldata.tools.bench.command import main as bench_main

    return bench_main(Options(rules=args.rules, config=args.config, quick=args.quick, budgets=args.budgets,
                              app=args.app, urls=args.urls, baseline=args.baseline, max_regression=args.max_regression,
                              json=args.json, junit=args.junit, markdown=args.markdown, seconds=args.seconds))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
