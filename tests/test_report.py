"""``smalldata report``: visitors, conversions, rates, Wilson intervals and a z-test, checked by hand."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

from smalldata.tools.report import report_main, summarise, two_proportion_p_value, wilson_interval


def at(minute: int) -> str:
    return f"2026-11-25T10:{minute // 60:02d}:{minute % 60:02d}.000Z"


def exposure(visitor: str, variant: str, minute: int = 1, *, experiment: str = "easter-banner",
             forced: bool = False, version: str = "r1") -> dict[str, Any]:
    return {"type": "exposure", "at": at(minute), "visitor": visitor, "experiment": experiment,
            "variant": variant, "rule": "t", "version": version, "forced": forced}


def conversion(visitor: str, minute: int = 30, value: float = 100.0, order_id: str | None = None) -> dict[str, Any]:
    event = {"type": "conversion", "at": at(minute), "visitor": visitor, "value": value}
    if order_id:
        event["order_id"] = order_id
    return event


def generated_events() -> list[dict[str, Any]]:
    """200 control visitors (20 convert after exposure), 200 in b (40 convert), and noise to ignore."""
    events: list[dict[str, Any]] = []
    for n in range(200):
        events.append(exposure(f"c{n}", "control", minute=5))
        events.append(exposure(f"c{n}", "control", minute=6, version="r2"))  # the rules changed: same visitor
        events.append(exposure(f"b{n}", "b", minute=5))
    events += [conversion(f"c{n}") for n in range(20)]
    events += [conversion(f"c{n}", minute=1) for n in range(20, 30)]  # bought before they saw the test
    events += [conversion(f"b{n}") for n in range(40)]
    events += [conversion("b0", minute=40, order_id="again")]  # a second purchase: still one visitor
    events += [exposure(f"p{n}", "b", forced=True) for n in range(30)]  # previews
    events += [conversion(f"p{n}") for n in range(30)]  # which also do not count as exposed visitors
    events += [{"type": "chat_shown", "at": at(3), "visitor": "c1", "rule": "pricing-chat"}]
    return events


def test_the_report_matches_a_hand_computation() -> None:
    report = summarise(generated_events())
    (experiment,) = report.experiments
    control, b = experiment.variants
    assert experiment.baseline == "control"
    assert (control.name, control.visitors, control.conversions) == ("control", 200, 20)
    assert (b.name, b.visitors, b.conversions) == ("b", 200, 40)
    assert (control.rate, b.rate) == (0.10, 0.20)
    # Wilson, z = 1.96: centre = (p + z²/2n) / (1 + z²/n), half = z·√(p(1-p)/n + z²/4n²) / (1 + z²/n)
    # control: p = 0.1, n = 200 → centre 0.10754, half 0.04187 → [0.0657, 0.1494]
    assert (round(control.ci_low, 4), round(control.ci_high, 4)) == (0.0657, 0.1494)
    # b: p = 0.2 → centre 0.20565, half 0.05520 → [0.1505, 0.2609]
    assert (round(b.ci_low, 4), round(b.ci_high, 4)) == (0.1505, 0.2609)
    # pooled p = 60/400 = 0.15; se = √(0.15·0.85·(1/200 + 1/200)) = 0.035707; z = 0.1/se = 2.8006; p = 0.0051
    assert b.p_value is not None and round(b.p_value, 4) == 0.0051
    assert b.lift == pytest.approx(1.0)
    assert b.verdict == "significant: better"
    assert control.verdict == "baseline"
    assert b.value == 41 * 100.0  # 40 first purchases and b0's second order
    assert report.forced_left_out == 30
    assert report.conversions_without_exposure == 30


def test_small_differences_are_not_yet_significant() -> None:
    events = [exposure(f"a{n}", "a") for n in range(100)] + [exposure(f"b{n}", "b") for n in range(100)]
    events += [conversion(f"a{n}") for n in range(10)] + [conversion(f"b{n}") for n in range(12)]
    (experiment,) = summarise(events).experiments
    _, b = experiment.variants
    assert experiment.baseline == "a"  # no control: the first variant by name
    assert b.p_value is not None and b.p_value > 0.05
    assert b.verdict == "not yet significant"


def test_too_few_conversions_are_never_called_significant() -> None:
    events = [exposure(f"a{n}", "a") for n in range(40)] + [exposure(f"b{n}", "b") for n in range(40)]
    events += [conversion(f"b{n}") for n in range(4)]
    b = summarise(events).experiments[0].variants[1]
    assert b.verdict.startswith("not yet significant (too few conversions")


def test_a_visitor_counts_in_the_variant_they_saw_first() -> None:
    events = [exposure("v1", "b", minute=10), exposure("v1", "a", minute=2), conversion("v1", minute=20)]
    (experiment,) = summarise(events).experiments
    assert [(v.name, v.visitors, v.conversions) for v in experiment.variants] == [("a", 1, 1)]


def test_events_without_a_readable_time_are_left_out_and_counted() -> None:
    events = [{"type": "conversion", "visitor": "v1"}, exposure("v1", "a"),
              {"type": "exposure", "visitor": "v2", "experiment": "easter-banner", "variant": "a", "at": "soon"}]

    report = summarise(events)

    assert [(v.visitors, v.conversions) for v in report.experiments[0].variants] == [(1, 0)]
    assert report.undated_left_out == 2


def test_the_order_of_events_makes_no_difference() -> None:
    # files from several hosts have no order between them: same-moment exposures, a re-sent order
    events = [*generated_events(), exposure("t1", "b", minute=5), exposure("t1", "control", minute=5),
              conversion("t1", value=10.0, order_id="o1"), conversion("t1", value=12.0, order_id="o1")]

    assert summarise(events) == summarise(list(reversed(events)))


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    [(0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (5, 10, 0.2366, 0.7634), (0, 0, 0.0, 0.0)],
)
def test_wilson_intervals_stay_inside_zero_and_one(x: int, n: int, low: float, high: float) -> None:
    assert tuple(round(v, 4) for v in wilson_interval(x, n)) == (low, high)


def test_the_p_value_is_one_when_both_arms_are_identical_extremes() -> None:
    assert two_proportion_p_value(0, 50, 0, 50) == 1.0
    assert two_proportion_p_value(1, 0, 1, 10) is None
    assert math.isclose(two_proportion_p_value(20, 200, 40, 200) or 0, 0.0051014, rel_tol=1e-4)


def write_events(path: Path, events: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))


def test_report_main_prints_a_table_for_people(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    write_events(path, generated_events())
    out = io.StringIO()
    assert report_main(str(path), json_output=False, out=out) == 0
    text = out.getvalue()
    assert "Experiment easter-banner (baseline: control)" in text
    assert "control" in text and "10.00%" in text and "[6.57%, 14.94%]" in text
    assert "+100.0%, p=0.005, significant: better" in text
    assert "30 forced (preview) exposures left out" in text


def test_report_main_prints_json(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    write_events(path, generated_events())
    out = io.StringIO()
    assert report_main(str(path), json_output=True, out=out) == 0
    data = json.loads(out.getvalue())
    assert [(v["name"], v["visitors"], v["conversions"]) for v in data["experiments"][0]["variants"]] == [
        ("control", 200, 20), ("b", 200, 40)]


def test_torn_lines_are_reported_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(exposure("v1", "a")) + "\n" + '{"type": "conv' + "\n[1]\n")
    out, err = io.StringIO(), io.StringIO()
    assert report_main(str(path), json_output=False, out=out, err=err) == 0
    assert err.getvalue().splitlines() == [f"{path}:2: not a JSON event (a torn write?); skipped",
                                           f"{path}:3: not a JSON object; skipped"]
    assert "Experiment x" not in out.getvalue() and "easter-banner" in out.getvalue()


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    err = io.StringIO()
    assert report_main(str(tmp_path / "nope.jsonl"), json_output=False, err=err) == 1
    assert "cannot read events" in err.getvalue()


def test_a_file_without_exposures_says_so(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    write_events(path, [conversion("v1")])
    out = io.StringIO()
    report_main(str(path), json_output=False, out=out)
    assert out.getvalue() == "No experiment exposures in 1 events.\n"
