"""``smalldata try`` and ``smalldata test`` as the rules reference (docs/rules-reference.md, §2) describes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smalldata.cli import main
from tests.rules.helpers import write_rules

ROOT = Path(__file__).resolve().parents[2]
SHOP = ["--rules", str(ROOT / "rules"), "--config", str(ROOT / "smalldata.yaml")]


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["try", *SHOP, "--json", *args]) == 0
    result: dict[str, object] = json.loads(capsys.readouterr().out)
    return result


def test_try_json_prints_decision_matched_and_trace(capsys: pytest.CaptureFixture[str]) -> None:
    report = run_json(capsys, "--url", "/pricing", "--at", "2026-11-25T10:00", "--set", "visitor.returning=true",
                      "--set", "user.logged_in=false", "--language", "en")
    decision = report["decision"]
    assert isinstance(decision, dict)
    assert set(decision) == {"greeting", "chat", "prefill", "recommendations", "banners", "tags", "experiments"}
    assert decision["greeting"] == "Welcome back!"
    assert decision["chat"]["department"] == "sales"
    assert report["matched"] == ["pricing-chat", "welcome-back", "winter-banner-test", "new-arrivals"]
    trace = {entry["rule"]: entry for entry in report["trace"]}  # type: ignore[union-attr]
    assert trace["named-welcome"]["status"] == "failed"
    assert trace["named-welcome"]["condition"] == "user.logged_in is true"


def test_try_at_a_closed_hour_has_no_pricing_chat(capsys: pytest.CaptureFixture[str]) -> None:
    report = run_json(capsys, "--url", "/pricing", "--at", "2026-11-25T22:00")
    assert report["decision"]["chat"] is None  # type: ignore[index]


@pytest.mark.parametrize(
    ("setting", "decision_key", "expected"),
    [
        ("basket.free_shipping_gap=60", "banners", {"basket"}),
        ("user.tier=gold", "banners", {"hero"}),
        ("history.category_views={coffee: 3}", "tags", ["coffee-lover"]),
        ("geo.nearest_store={name: Aarhus, distance_km: 2, open: true}", "banners", {"store"}),
        ("time.event=[black_friday]", "banners", {"hero"}),
    ],
)
def test_try_set_values_are_read_as_yaml(capsys: pytest.CaptureFixture[str], setting: str, decision_key: str,
                                         expected: object) -> None:
    report = run_json(capsys, "--at", "2026-11-25T10:00", "--set", setting)
    value = report["decision"][decision_key]  # type: ignore[index]
    assert (set(value) & expected if isinstance(expected, set) else value) == expected


def test_try_explain_says_why_each_rule_did_or_did_not_apply(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["try", *SHOP, "--url", "/pricing", "--at", "2026-11-25T10:00", "--explain"]) == 0
    out = capsys.readouterr().out
    assert "✓ pricing-chat" in out
    assert "✗ named-welcome             failed: user.logged_in is true (actual: " in out
    assert "… easter-banner-test" in out and "inactive" in out


def test_try_visitor_id_picks_a_sticky_variant(capsys: pytest.CaptureFixture[str]) -> None:
    variants = {run_json(capsys, "--at", "2026-12-01T10:00", "--visitor-id", f"v{i}")["decision"]["experiments"]
                .get("winter-hero") for i in range(30)}  # type: ignore[index, union-attr]
    assert variants == {"a", "b", "control"}


def test_try_rejects_an_unknown_signal_with_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["try", *SHOP, "--set", "vistor.returning=true"]) == 2
    assert "did you mean 'visitor.returning'" in capsys.readouterr().err


def test_the_shipped_rule_tests_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", *SHOP]) == 0
    assert " passed" in capsys.readouterr().out


def test_a_failing_rule_test_prints_a_clear_diff_and_exits_1(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    write_rules(tmp_path, """
        rules:
          - id: welcome-back
            when: {visitor.returning: true}
            then: {greeting: Velkommen tilbage}
        tests:
          - name: returning visitors are welcomed
            given: {visitor.returning: true}
            expect: {greeting: Velkommen tilbage}
          - name: a wrong expectation
            given: {visitor.returning: false}
            expect:
              greeting: Velkommen tilbage
              matched: [welcome-back]
        """)
    assert main(["test", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "greeting: expected 'Velkommen tilbage', got nothing" in out
    assert ("rule 'welcome-back' should match but did not — failed: visitor.returning is true (actual: False)"
            in out)
    assert "1 failed, 1 passed" in out


def test_a_test_naming_an_unknown_rule_is_a_check_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_rules(tmp_path, """
        rules:
          - id: welcome-back
            then: {greeting: Hej}
        tests:
          - name: typo
            expect: {matched: [welcome-bak]}
        """)
    assert main(["check", str(tmp_path)]) == 1
    assert "unknown rule 'welcome-bak' — did you mean 'welcome-back'?" in capsys.readouterr().out


IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.0 Mobile/15E148 Safari/604.1")


def test_try_shows_the_signals_a_real_request_would_produce(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    from tests.geoip import LONDON, build_city_mmdb

    mmdb = build_city_mmdb(tmp_path / "City.mmdb")
    report = run_json(capsys, "--user-agent", IPHONE, "--ip", LONDON, "--geoip", str(mmdb),
                      "--url", "/category/coffee?utm_source=newsletter&utm_medium=email", "--at", "2026-11-25T10:00")
    signals = report["signals"]
    assert isinstance(signals, dict)
    assert (signals["device.type"], signals["device.os"]) == ("mobile", "iOS")
    assert (signals["geo.country"], signals["geo.city"]) == ("GB", "London")
    assert (signals["page.category"], signals["campaign.source"], signals["campaign.email"]) == (
        "coffee", "newsletter", True)
    assert (signals["time.weekday"], signals["time.open"]) == ("wed", True)


def test_try_with_a_private_ip_knows_no_country(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.geoip import build_city_mmdb

    mmdb = build_city_mmdb(tmp_path / "City.mmdb")
    report = run_json(capsys, "--ip", "10.1.2.3", "--geoip", str(mmdb))
    assert report["signals"]["geo.country"] is None  # type: ignore[index]


def test_try_without_the_geoip_file_says_where_to_get_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["try", *SHOP, "--ip", "81.2.69.142", "--geoip", str(tmp_path / "GeoLite2-City.mmdb")]) == 2
    err = capsys.readouterr().err
    assert f"smalldata try: --geoip {tmp_path}/GeoLite2-City.mmdb: no such file" in err
    assert "geoipupdate" in err
    assert "python scripts/geoip_test_database.py GeoLite2-City.mmdb" in err
    (tmp_path / "junk.mmdb").write_text("not a database")
    assert main(["try", *SHOP, "--ip", "81.2.69.142", "--geoip", str(tmp_path / "junk.mmdb")]) == 2
    assert "is not a GeoIP2 database" in capsys.readouterr().err


def test_the_test_geoip_database_script_writes_a_database_try_can_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import runpy

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", ["geoip_test_database.py", "GeoLite2-City.mmdb"])
    runpy.run_path(str(ROOT / "scripts" / "geoip_test_database.py"), run_name="__main__")
    assert "81.2.69.142" in capsys.readouterr().out
    report = run_json(capsys, "--ip", "81.2.69.142", "--geoip", "GeoLite2-City.mmdb")
    assert report["signals"]["geo.city"] == "London"  # type: ignore[index]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "i morgen"], "'i morgen' is not a time"),
        (["--url", "http://[bad"], "smalldata try: Invalid IPv6 URL"),
        (["--set", "visitor.returning=yes"], "visitor.returning is true or false, not 'yes'"),
        (["--set", "visitor.returning"], "write SIGNAL=VALUE"),
    ],
)
def test_try_explains_bad_input_instead_of_a_traceback(args: list[str], message: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["try", *SHOP, *args]) == 2
    assert message in capsys.readouterr().err


def test_an_imagined_visitor_is_new_and_anonymous_unless_told_otherwise(capsys: pytest.CaptureFixture[str]) -> None:
    report = run_json(capsys, "--at", "2026-11-25T10:00")
    signals = report["signals"]
    assert isinstance(signals, dict)
    assert (signals["visitor.returning"], signals["visitor.visits"], signals["user.logged_in"]) == (False, 1, False)
    assert report["decision"]["greeting"] == "Velkommen til Nordisk Hjem"  # type: ignore[index]


def test_preview_prints_a_signed_link(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", *SHOP, "--url", "/pricing", "--set", "geo.country=SE", "--at", "2026-12-24T18:00",
                 "--variant", "winter-hero=b"]) == 0
    assert capsys.readouterr().out.startswith("http://127.0.0.1:8000/pricing?sd_preview=v1.")


def test_preview_refuses_an_unknown_experiment(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", *SHOP, "--variant", "nope=b"]) == 2
    assert "no experiment 'nope'" in capsys.readouterr().err


def test_report_counts_visitors_and_conversions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [
        {"type": "exposure", "visitor": "v1", "experiment": "hero", "variant": "a", "at": "2026-11-25T10:00:00Z"},
        {"type": "exposure", "visitor": "v2", "experiment": "hero", "variant": "control", "at": "2026-11-25T10:00:00Z"},
        {"type": "conversion", "visitor": "v1", "at": "2026-11-25T10:05:00Z"},
    ]
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    assert main(["report", str(events), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (hero,) = report["experiments"]
    variants = {v["name"]: v for v in hero["variants"]}
    assert (variants["a"]["visitors"], variants["a"]["conversions"]) == (1, 1)
    assert (variants["control"]["visitors"], variants["control"]["conversions"]) == (1, 0)
    assert variants["a"]["verdict"].startswith("not yet significant")


def test_try_counts_the_page_being_viewed_in_the_history_like_the_shop(capsys: pytest.CaptureFixture[str]) -> None:
    signals = run_json(capsys, "--url", "/category/coffee")["signals"]
    assert signals["history.viewed_categories"] == ["coffee"]  # type: ignore[index]
    assert signals["history.category_views"] == {"coffee": 1}  # type: ignore[index]


def test_a_time_without_an_offset_is_shop_time(capsys: pytest.CaptureFixture[str]) -> None:
    signals = run_json(capsys, "--set", "visitor.first_seen=2026-11-24T23:30")["signals"]
    assert signals["visitor.first_seen"] == "2026-11-24T23:30:00+01:00"  # type: ignore[index]


def test_preview_checks_set_values_and_the_ttl(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", *SHOP, "--set", "visitor.returning=yes"]) == 2
    assert "visitor.returning is true or false, not 'yes'" in capsys.readouterr().err
    assert main(["preview", *SHOP, "--ttl", "10"]) == 2
    assert "between 60 seconds and 30 days" in capsys.readouterr().err


def test_preview_base_url_overrides_the_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", *SHOP, "--url", "/pricing?x=1", "--base-url", "https://www.shop.example/"]) == 0
    assert capsys.readouterr().out.startswith("https://www.shop.example/pricing?x=1&sd_preview=v1.")
    assert main(["preview", *SHOP, "--base-url", "shop.example"]) == 2
    assert "--base-url: 'shop.example'" in capsys.readouterr().err


def test_preview_help_says_the_limits_of_the_ttl_and_the_base_url(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["preview", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "60 seconds to 30 days" in help_text
    assert "--base-url URL" in help_text


def test_test_exits_5_when_the_rules_have_no_tests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_rules(tmp_path, """
        rules:
          - id: welcome-back
            when: {visitor.returning: true}
            then: {greeting: Velkommen tilbage}
        """)

    assert main(["test", str(tmp_path)]) == 5
    assert "no tests" in capsys.readouterr().err


def test_test_allow_empty_passes_rules_without_tests(tmp_path: Path) -> None:
    write_rules(tmp_path, """
        rules:
          - id: welcome-back
            when: {visitor.returning: true}
            then: {greeting: Velkommen tilbage}
        """)

    assert main(["test", str(tmp_path), "--allow-empty"]) == 0
