"""The shop's gate (`smalldata bench`): budgets in ms, verdicts that hold on a noisy machine, CI outputs."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from smalldata.tools.bench import command, shop
from smalldata.tools.bench.verdict import BudgetError, judge, median_interval, parse_budget

RULES = """\
rules:
  - id: returning-greeting
    when: {visitor.returning: true}
    then: {greeting: Welcome back}
  - id: slow-signal
    when: {slow.ok: true}
    then: {banner: {slot: hero, text: Hello}}
tests:
  - name: a returning visitor is greeted
    given: {visitor.returning: true}
    expect: {matched: [returning-greeting]}
"""
SOURCE = """\
import time

SPIN = {spin}


async def slow(request):
    end = time.perf_counter() + SPIN
    while time.perf_counter() < end:
        pass
    return {{"ok": True}}
"""
# small, so ten reruns take seconds; min_rounds 6 so the interval of the median is the rounds' range
SMALL = shop.Plan(pairs=80, settle=10, warmup=60, min_rounds=6, max_rounds=30, seconds=6)


def _shop(folder: Path, spin_seconds: float, module: str) -> Path:
    (folder / "rules").mkdir(parents=True)
    (folder / "rules" / "shop.yaml").write_text(RULES, encoding="utf-8")
    (folder / f"{module}.py").write_text(SOURCE.format(spin=spin_seconds), encoding="utf-8")
    (folder / "smalldata.yaml").write_text(
        f"rules: {folder / 'rules'}\nsignals:\n  slow:\n    source: {module}:slow\n    fields: {{ok: yesno}}\n",
        encoding="utf-8")
    return folder / "smalldata.yaml"


def _run(config: Path, capsys: pytest.CaptureFixture[str], *budgets: str, **more: Any) -> tuple[int, str]:
    options = command.Options(config=str(config), budgets=list(budgets), progress=False, **more)
    code = command.main(options, plan=SMALL)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _p50(json_file: Path) -> float:
    return float(json.loads(json_file.read_text())["gate"]["p50"]["median"])


@pytest.fixture
def shop_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_an_unchanged_build_passes_a_budget_set_above_its_median_ten_times_out_of_ten(
        shop_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _shop(shop_folder, 0.0, "steady_source")
    _run(config, capsys, json=str(shop_folder / "first.json"))
    budget = f"p50={_p50(shop_folder / 'first.json') * 1.5:.4f}ms"

    codes = [_run(config, capsys, budget)[0] for _ in range(10)]

    assert codes == [command.EXIT_OK] * 10


def test_a_build_made_twice_as_slow_breaks_the_budget_every_time(
        shop_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _shop(shop_folder / "fast", 0.0, "fast_source")
    _run(config, capsys, json=str(shop_folder / "fast.json"))
    p50 = _p50(shop_folder / "fast.json")
    slow = _shop(shop_folder / "slow", 2 * p50 / 1000, "slow_source")  # a source spinning 2× the overhead
    sys.path.insert(0, str(shop_folder / "slow"))

    runs = [_run(slow, capsys, f"p50={p50 * 1.5:.4f}ms") for _ in range(5)]

    assert [code for code, _ in runs] == [command.EXIT_BROKEN] * 5
    assert all("BUDGET BROKEN: p50: measured" in out for _, out in runs)


def test_the_report_names_the_measured_folder_and_its_rule_count(
        shop_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _shop(shop_folder, 0.0, "named_source")

    code, out = _run(config, capsys, "p50=50ms")

    assert code == command.EXIT_OK
    assert f"{shop_folder / 'rules'} (2 rules, 1 rule tests)" in out


def test_junit_has_a_test_case_per_budget_and_a_failure_with_the_figures_for_a_broken_one(
        shop_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _shop(shop_folder, 0.0, "junit_source")
    junit = shop_folder / "out" / "bench.xml"

    code, _ = _run(config, capsys, "p50=50ms", "p99=0.0001ms", junit=str(junit))

    suite = ET.parse(junit).getroot()
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert code == command.EXIT_BROKEN
    assert set(cases) == {"p50 ≤ 50ms", "p99 ≤ 0.0001ms"}
    assert cases["p50 ≤ 50ms"].find("failure") is None
    failure = cases["p99 ≤ 0.0001ms"].find("failure")
    assert failure is not None and "measured" in failure.get("message", "") and "budget 0.0001ms" in failure.get(
        "message", "")


def test_budgets_come_from_the_settings_bench_section(shop_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _shop(shop_folder, 0.0, "settings_source")
    config.write_text(config.read_text() + "bench:\n  budget: {p50: 0.0001ms}\n", encoding="utf-8")

    code, out = _run(config, capsys)

    assert code == command.EXIT_BROKEN
    assert "BUDGET BROKEN: p50: measured" in out and "budget 0.0001ms" in out


def test_a_regression_against_a_stored_run_is_named(shop_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _shop(shop_folder / "fast", 0.0, "base_source")
    _run(config, capsys, json=str(shop_folder / "base.json"))
    slow = _shop(shop_folder / "slow", 3 * _p50(shop_folder / "base.json") / 1000, "regressed_source")
    sys.path.insert(0, str(shop_folder / "slow"))

    code, out = _run(slow, capsys, baseline=str(shop_folder / "base.json"), max_regression="15%")

    assert code == command.EXIT_BROKEN
    assert "BUDGET BROKEN: regression p50: measured" in out


def test_an_unreadable_budget_is_a_usage_error(shop_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _shop(shop_folder, 0.0, "usage_source")

    code, out = _run(config, capsys, "p50=fast")

    assert code == command.EXIT_USAGE
    assert "budget p50=fast: write a number with a unit" in out


@pytest.mark.parametrize(("text", "name", "limit"), [("p50=1ms", "p50", 1.0), ("p99=800µs", "p99", 0.8),
                                                      ("share=5%", "share", 0.05), ("mean=0.25", "mean", 0.25)])
def test_budgets_are_read_in_ms_or_percent(text: str, name: str, limit: float) -> None:
    budget = parse_budget(text)

    assert (budget.name, budget.limit) == (name, pytest.approx(limit))


def test_a_share_budget_in_ms_is_refused() -> None:
    with pytest.raises(BudgetError, match="a share is in %"):
        parse_budget("share=5ms")


def test_a_figure_whose_interval_straddles_the_budget_is_inconclusive() -> None:
    rounds = [0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 0.95, 1.05]

    assert judge(rounds, 1.0).verdict == "inconclusive"
    assert judge(rounds, 2.0).verdict == "holds"
    assert judge(rounds, 0.5).verdict == "broken"


def test_the_interval_of_the_median_holds_the_middle_rounds() -> None:
    low, high = median_interval([float(n) for n in range(1, 21)])

    assert low <= 10.5 <= high and low > 1 and high < 20


APP = """\
import time

from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route


async def page(request):
    end = time.perf_counter() + 0.002  # the shop's own page costs 2 ms to render
    while time.perf_counter() < end:
        pass
    return HTMLResponse("<html><body>" + "<p>card</p>" * 500 + "</body></html>")


app = Starlette(routes=[Route("/{path:path}", page)])
"""


def test_the_shops_own_pages_are_measured_bare_and_wrapped_with_a_share_budget(
        shop_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _shop(shop_folder, 0.0, "app_source")
    (shop_folder / "shop_pages.py").write_text(APP, encoding="utf-8")
    result = shop_folder / "app.json"

    code, out = _run(config, capsys, "share=0.01%", app="shop_pages:app", urls=["/", "/products/mug"],
                     json=str(result))

    rows = json.loads(result.read_text())["rows"]
    assert code == command.EXIT_BROKEN
    assert set(rows) == {"/", "/products/mug"}
    assert all(row["bare_p50"]["median"] > 1.5 for row in rows.values())  # the page's own 2 ms, in ms
    assert "BUDGET BROKEN: share: measured" in out


def test_the_shops_source_is_timed_apart(shop_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _shop(shop_folder, 0.001, "timed_source")  # 1 ms in the shop's own source, on every page
    result = shop_folder / "timed.json"

    _run(config, capsys, json=str(result))

    report = json.loads(result.read_text())
    assert report["callables"] == ["timed_source:slow"]
    assert report["gate"]["callables"]["median"] >= 0.9


def test_a_missing_bench_tool_is_named_with_the_extra_to_install() -> None:
    from smalldata.tools.bench import BenchUnavailable, require

    with pytest.raises(BenchUnavailable, match=r"needs no_such_tool_xyz, from the bench extra: "
                                               r"pip install 'smalldata\[bench\]'"):
        require("json", "no_such_tool_xyz")


def test_the_command_line_passes_rules_and_budgets_to_the_gate(
        shop_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from smalldata.cli import main

    config = _shop(shop_folder, 0.0, "cli_source")

    code = main(["bench", "--quick", "--config", str(config), "--rules", str(shop_folder / "rules"), "--seconds", "3",
                 "--budget", "p50=0.0001ms"])

    out = capsys.readouterr()
    assert code == command.EXIT_BROKEN
    assert f"{shop_folder / 'rules'} (2 rules, 1 rule tests)" in out.out
    assert "BUDGET BROKEN: p50: measured" in out.err


def test_url_without_app_is_a_usage_error(shop_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from smalldata.cli import main

    config = _shop(shop_folder, 0.0, "url_source")

    assert main(["bench", "--config", str(config), "--url", "/"]) == command.EXIT_USAGE
    assert "--url needs --app module:attr" in capsys.readouterr().err
