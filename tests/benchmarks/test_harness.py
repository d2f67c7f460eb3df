"""Smoke tests of the benchmark machinery (not timings): generated rules, traffic, peers, budget check."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from benchmarks import budget, inprocess, peers, rulegen, traffic
from smalldata.rules import load_ruleset
from smalldata.settings import Settings
from smalldata.signals.catalog import NAMESPACES

GOOD = {
    "overhead": {"100": {"p50_ms": 0.08, "p99_ms": 0.4}, "1000": {"p50_ms": 0.25}},
    "throughput": {"ratio": 0.93},
    "peers": {"speedup": 12.0},
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
    ("broken_path", "value", "named"),
    [
        (("overhead", "100", "p50_ms"), 0.65, "overhead p50, 100 rules, all signals: measured 0.65 ms"),
        (("overhead", "100", "p99_ms"), 1.3, "overhead p99, 100 rules, all signals: measured 1.3 ms"),
        (("overhead", "1000", "p50_ms"), 3.4, "overhead p50, 1,000 rules: measured 3.4 ms"),
        (("throughput", "ratio"), 0.31, "share of bare: measured 0.31 ×"),
        (("peers", "speedup"), 4.8, "GrowthBook evalCondition: measured 4.8 ×"),
    ],
)
def test_budget_check_names_each_broken_figure(broken_path: tuple[str, ...], value: float, named: str) -> None:
    report = _with(GOOD, broken_path, value)

    lines = budget.broken(budget.check(report))

    assert len(lines) == 1
    assert named in lines[0]


def test_budget_check_passes_a_report_inside_the_budget() -> None:
    assert budget.broken(budget.check(GOOD)) == []


def test_a_figure_that_was_not_measured_breaks_the_budget() -> None:
    report = {key: value for key, value in GOOD.items() if key != "throughput"}

    assert budget.broken(budget.check(report)) == [
        "BUDGET BROKEN: throughput behind uvicorn, 100 rules, share of bare: measured not measured, budget ≥ 0.9 ×"
    ]


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


def test_budget_table_and_plot_render_from_a_report(tmp_path: Path) -> None:
    from benchmarks import run

    stats = {"p50_ms": 0.5, "p90_ms": 0.7, "p99_ms": 1.0, "max_ms": 2.0, "bare_p50_ms": 0.2, "personalised_share": 1}
    report = {
        "machine": {"cpu": "test cpu", "cores": 2, "python": "3.11"},
        "overhead": {"fixed": stats, "10": stats, "100": stats, "1000": stats},
        "page_size": {"5KB": stats},
        "cold": stats,
        "throughput": {"error": "not run"},
    }
    report["budgets"] = budget.check(report)

    text = run.table(report)
    assert "FAIL overhead p50, 100 rules, all signals: 0.5 ms (budget ≤ 0.1 ms)" in text
    assert "throughput: not measured (not run)" in text
    assert "fixed cost: 1 rule, never matches" in text
    fixed_line = next(line for line in text.splitlines() if line.startswith("fixed cost"))
    assert fixed_line.split()[-2] == "—"  # a report without the ratio to the bare app (older runs) still renders
    plot = run._plot(report, tmp_path / "plot.png")
    assert plot is not None and plot.read_bytes().startswith(b"\x89PNG")


def _with(report: dict[str, object], path: tuple[str, ...], value: float) -> dict[str, object]:
    import copy

    changed = copy.deepcopy(report)
    node: dict[str, object] = changed
    for key in path[:-1]:
        child = node[key]
        assert isinstance(child, dict)
        node = child
    node[path[-1]] = value
    return changed


def test_throughput_report_says_what_the_ninety_percent_budget_allows_per_request() -> None:
    from benchmarks.throughput import server_cost

    cost = server_cost(bare_rps=2000, smalldata_rps=1000)

    assert cost == {"bare_ms": 0.5, "smalldata_ms": 1.0, "overhead_ms": 0.5, "allowed_overhead_ms": 0.056}


def test_stats_give_the_median_overhead_as_a_multiple_of_the_bare_request() -> None:
    from benchmarks import inprocess, run

    paired = inprocess.Paired(bare=[100_000, 200_000, 300_000], with_smalldata=[300_000, 500_000, 700_000])
    figures = run.stats(paired)
    assert (figures["p50_ms"], figures["bare_p50_ms"], figures["p50_to_bare_p50"]) == (0.3, 0.2, 1.5)


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
