"""Smoke tests of the benchmark machinery (not timings): generated rules, traffic, peers, budget check."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from smalldata.rules import load_ruleset
from smalldata.settings import Settings
from smalldata.signals.catalog import NAMESPACES
from smalldata.tools.bench import gate, inprocess, peers, rulegen, traffic


def _report(**ratios: float) -> dict[str, Any]:
    """A project report whose gate ratios are the given ones in every round (default: comfortably inside)."""
    r = {"fixed": 1.5, "100": 3.0, "1000": 1.3, "cold": 1.1, "throughput": 0.92, "engine": 9.0, "conditions": 12.0}
    r.update(ratios)
    floor = [0.02] * 6
    return {
        "floor": {key: {"p50_rounds_ms": floor} for key in ("fixed", "100", "1000")},
        "overhead": {key: {"p50_rounds_ms": [0.02 * r[key]] * 6} for key in ("fixed", "100", "1000")},
        "cold": {"p50_rounds_ms": [0.02 * r["100"] * r["cold"]] * 6},
        "throughput": {"ratio_rounds": [r["throughput"]] * 6},
        "peers": {"speedup_rounds": [r["conditions"]] * 6, "engine": {"speedup_rounds": [r["engine"]] * 6}},
    }


def test_generated_rules_are_valid_distinct_and_varied(tmp_path: Path) -> None:
    ruleset = load_ruleset(rulegen.write_ruleset(tmp_path, 120), Settings())

    ids = [rule.id for rule in ruleset.rules]
    assert len(ids) == len(set(ids)) == 120
    assert len({rule_id.rsplit("-", 1)[0] for rule_id in ids}) == len(rulegen.TEMPLATES)
    assert ruleset.namespaces == frozenset(NAMESPACES)  # "all signals"
    assert len({slot for rule in ruleset.rules for slot in rule.slots}) >= 15


def test_the_same_seed_generates_the_same_rules() -> None:
    assert rulegen.generate(40, seed=3) == rulegen.generate(40, seed=3)
    assert rulegen.generate(40, seed=3) != rulegen.generate(40, seed=4)


def test_growthbook_translation_gives_the_same_answers(tmp_path: Path) -> None:
    result = peers.compare(rulegen.write_ruleset(tmp_path, 45), 45, contexts_count=20, rounds=1)

    assert result["agreement"] == 1.0
    assert result["smalldata_ns"] > 0 and result["growthbook_ns"] > 0


@pytest.mark.parametrize(
    ("ratio", "value", "named"),
    [
        ("fixed", 3.0, "fixed cost p50 (1 rule, never matches): measured 3.00×"),
        ("100", 6.0, "overhead p50, 100 rules, all signals: measured 6.00×"),
        ("1000", 2.5, "overhead p50, 1,000 rules: measured 2.50×"),
        ("cold", 2.5, "cold p50 (new UA, IP, visitor; 100 rules): measured 2.50×"),
        ("throughput", 0.7, "throughput, uvicorn, page rendered in 2-3 ms: measured 70.0%"),
        ("engine", 4.0, "a decision (new context + 100 rules) vs GrowthBook: measured 4.00×"),
        ("conditions", 6.0, "condition evaluation vs GrowthBook evalCondition: measured 6.00×"),
    ],
)
def test_the_project_gate_names_each_broken_ratio(ratio: str, value: float, named: str) -> None:
    lines = gate.broken(gate.check(_report(**{ratio: value})))

    assert len(lines) == 1
    assert named in lines[0]


def test_the_project_gate_passes_ratios_inside_it() -> None:
    assert gate.broken(gate.check(_report())) == []


def test_a_gate_figure_that_was_not_measured_breaks_the_gate() -> None:
    report = {key: value for key, value in _report().items() if key != "throughput"}

    assert gate.broken(gate.check(report)) == [
        "BUDGET BROKEN: throughput, uvicorn, page rendered in 2-3 ms: measured not measured, budget ≥ 85% of bare"
    ]


def test_throughput_above_bare_reads_as_one_hundred_percent() -> None:
    result = next(r for r in gate.check(_report(throughput=1.3)) if r["name"].startswith("throughput"))

    assert result["measured"] == 1.0


def test_user_agent_pool_is_thousands_of_distinct_strings_real_ones_first() -> None:
    pool = traffic.user_agent_pool(3000)
    real = traffic.real_user_agents()

    assert len(set(pool)) == 3000
    assert len(real) > 500
    assert pool[: len(real)] == real


def test_traffic_mix_has_a_long_tail_of_user_agents_and_addresses() -> None:
    plan = traffic.plan_geo()
    mix = traffic.Mix(user_agents=traffic.user_agent_pool(5000), addresses=traffic.address_pool(plan, 2000),
                      sessions=["session=x"], visitors=1500, new_share=0.3)  # fmt: skip
    requests = [mix.next() for _ in range(3000)]

    agents = Counter(dict(r.headers)["user-agent"] for r in requests)
    assert len(agents) > 800
    assert agents.most_common(1)[0][1] > 3000 * 0.03  # a head of popular browsers
    assert sum(1 for count in agents.values() if count == 1) > len(agents) / 4  # and a long tail
    assert len({r.address for r in requests}) > 500
    assert {r.path.split("/")[1] for r in requests} >= {"", "category", "products", "basket", "checkout"}
    assert any(r.visitor is None for r in requests) and any(r.visitor is not None for r in requests)


def test_geoip_database_resolves_the_mix_addresses(tmp_path: Path) -> None:
    import maxminddb

    plan = traffic.plan_geo()
    database = traffic.build_mmdb(tmp_path / "city.mmdb", plan)
    addresses = traffic.address_pool(plan, 400)

    with maxminddb.open_database(str(database)) as reader:
        found: list[Any] = [reader.get(address) for address in addresses]
    located = [record for record in found if record]
    assert 0.8 < len(located) / len(addresses) < 1.0  # most are in it, some are not
    assert {record["country"]["iso_code"] for record in located} >= {"DK", "SE", "DE"}


def test_returning_cookie_is_a_real_signed_visitor_state() -> None:
    from pydantic import SecretStr

    from smalldata.state import CookieStore, StateSettings

    store = CookieStore(StateSettings(secret_keys=(SecretStr(traffic.SECRET),)))
    now = datetime.now(UTC)
    name, _, value = traffic.returning_cookie(random.Random(1), now).partition("=")

    state = store.from_cookie({name: value}, now)
    assert name == store.settings.cookie
    assert not state.is_new and state.visits >= 2
    assert state.history.products or state.history.categories


@pytest.mark.parametrize("size", [5 * 1024, 100 * 1024])
def test_html_page_has_the_size_asked_for_and_ends_with_body(size: int) -> None:
    page = inprocess.html_page(size)

    assert size - 300 < len(page) <= size
    assert page.endswith(b"</body></html>")


def test_gate_table_and_plot_render_from_a_report(tmp_path: Path) -> None:
    from smalldata.tools.bench import project as run

    stats = {"p50_ms": 0.08, "p90_ms": 0.1, "p99_ms": 0.2, "max_ms": 2.0, "bare_p50_ms": 0.02,
             "personalised_share": 1, "p50_s": 8.0, "p90_s": 10.0, "p99_s": 20.0}  # fmt: skip
    report = {
        "machine": {"cpu": "test cpu", "cores": 2, "python": "3.11"},
        "S": {"p50_ms": 0.01},
        "overhead": {"fixed": stats, "10": stats, "100": stats, "1000": {**stats, "p50_s": None}},
        "page_size": {"5KB": stats},
        "cold": stats,
        "throughput": {"error": "not run"},
    }
    report["budgets"] = gate.check({**report, **_report(fixed=3.0)})

    text = run.table(report)
    assert "S = 10.0 µs" in text
    fixed_gate = next(line for line in text.splitlines() if line.startswith("fixed cost p50 (1 rule"))
    assert "3.00×  3.00×–3.00×     ≤ 2.5× floor" in fixed_gate
    assert "BROKEN" in fixed_gate and "≤ 1.2× floor not yet" in fixed_gate
    assert "throughput (rendered page (~2.5 ms)): not measured (not run)" in text
    fixed_line = next(line for line in text.splitlines() if line.startswith("fixed cost: 1 rule, never matches"))
    assert fixed_line.split()[-3:] == ["8.0", "20.0", "100%"]
    thousand = next(line for line in text.splitlines() if line.startswith("1000 rules"))
    assert thousand.split()[-3] == "—"  # a figure not measured in S still renders
    plot = run._plot(report, tmp_path / "plot.png")
    assert plot is not None and plot.read_bytes().startswith(b"\x89PNG")


def test_throughput_report_says_what_the_ninety_percent_budget_allows_per_request() -> None:
    from smalldata.tools.bench.throughput import server_cost

    cost = server_cost(bare_rps=2000, smalldata_rps=1000)

    assert cost == {"bare_ms": 0.5, "smalldata_ms": 1.0, "overhead_ms": 0.5, "allowed_overhead_ms": 0.056}


def test_stats_give_every_overhead_figure_in_ms_and_in_units_of_the_reference_request() -> None:
    from smalldata.tools.bench import inprocess
    from smalldata.tools.bench import project as run

    paired = inprocess.Paired(bare=[100_000, 200_000, 300_000], with_smalldata=[300_000, 500_000, 700_000])
    figures = run.stats(paired, s_ns=20_000)
    assert (figures["p50_ms"], figures["bare_p50_ms"]) == (0.3, 0.2)
    assert (figures["p50_s"], figures["p99_s"], figures["bare_p50_s"]) == (15.0, 20.0, 10.0)


async def test_the_reference_row_times_the_bare_app_alone_in_the_same_turns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inprocess, "SETTLE", 0)
    calls: list[str] = []
    rows = _recording_rows(calls)
    rows["S"] = inprocess.Row(rows["a"].bare, None, rows["a"].mix, count=4, warmup=1)
    results = await inprocess.interleaved(rows, rounds=2)

    assert len(results["S"].bare) == 4 and results["S"].with_smalldata == []
    assert calls.count("a-bare") == 2 + 7 + 1 + 4  # the "a" row's pairs, and the reference row's requests


def test_the_cold_row_sends_a_user_agent_address_and_visitor_never_seen_before() -> None:
    from smalldata.tools.bench import project as run

    mix = run.ColdMix(traffic.plan_geo())
    requests = [mix.next() for _ in range(600)]
    assert len({dict(r.headers)["user-agent"] for r in requests}) == 600
    assert len({r.address for r in requests}) == 600
    assert all(r.visitor is None and "cookie" not in dict(r.headers) for r in requests)


def test_the_rendered_page_is_rendered_on_every_request(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text("rules: []\n", encoding="utf-8")
    bare, _ = inprocess.rendered_pair(rules, Path(__file__).parents[2] / "smalldata.yaml", products=3)
    with TestClient(bare) as client:
        page = client.get("/anything").text
    assert page.count('<article class="card">') == 3 and page.endswith("</body></html>")


def _recording_rows(calls: list[str]) -> dict[str, inprocess.Row]:
    def page_app(label: str) -> Any:
        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            calls.append(label)
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
            await send({"type": "http.response.body", "body": b"<html><body></body></html>"})

        return app

    def mix(seed: int) -> traffic.Mix:
        return traffic.Mix(user_agents=["UA/1.0"], addresses=["192.0.2.1"], sessions=[], visitors=5, seed=seed)

    return {
        "a": inprocess.Row(page_app("a-bare"), page_app("a"), mix(1), count=7, warmup=2),
        "b": inprocess.Row(page_app("b-bare"), page_app("b"), mix(2), count=5, warmup=1),
    }


async def test_interleaved_rows_take_turns_in_a_rotating_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inprocess, "SETTLE", 0)
    calls: list[str] = []
    results = await inprocess.interleaved(_recording_rows(calls), rounds=3)

    assert [len(results[key].bare) for key in "ab"] == [7, 5]
    assert [len(results[key].with_smalldata) for key in "ab"] == [7, 5]
    turns = [label for label in calls if label in ("a", "b")][3:]  # after the warm-up pairs
    assert turns == ["a"] * 3 + ["b"] * 2 + ["b"] * 2 + ["a"] * 2 + ["a"] * 2 + ["b"]


async def test_each_slice_settles_unmeasured_and_keeps_the_requests_it_measured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(inprocess, "SETTLE", 2)
    calls: list[str] = []
    results = await inprocess.interleaved(_recording_rows(calls), rounds=3)

    assert (calls.count("a"), calls.count("b")) == (2 + 3 * 2 + 7, 1 + 3 * 2 + 5)  # warm-up, settling, measured
    assert [len(results[key].requests) for key in "ab"] == [7, 5]
    assert [len(results[key].with_smalldata) for key in "ab"] == [7, 5]


def test_user_agent_pools_of_two_rows_share_the_real_head_and_no_build_variant() -> None:
    real = set(traffic.real_user_agents())
    first = set(traffic.user_agent_pool(1500, seed=11, builds_from=0))
    second = set(traffic.user_agent_pool(1500, seed=12, builds_from=1_000_000))
    assert first & second == real
    assert len(first - real) == len(second - real) == 1500 - len(real)
