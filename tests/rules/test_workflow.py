"""The merchandiser's loop without traps: switching a rule off, one message per mistake, where a field
belongs, a version that depends on the files' content only, enumerations and strict yes/no values."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from smalldata.cli import main
from smalldata.rules import check_ruleset
from tests.rules.helpers import SETTINGS, problems_of, write_rules

WITH_TESTS = """
rules:
  - id: welcome-back
    enabled: false
    when: {visitor.returning: true}
    then: {greeting: Velkommen tilbage}
  - id: first-visit
    when: {visitor.returning: false}
    then: {greeting: Velkommen}
tests:
  - name: a returning visitor is welcomed back
    given: {visitor.returning: true}
    expect: {matched: [welcome-back]}
  - name: a new visitor is not welcomed back
    expect: {not_matched: [welcome-back]}
"""


# -- 1. a disabled rule stays known --------------------------------------------------------------


def test_a_disabled_rule_named_by_tests_passes_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_rules(tmp_path, WITH_TESTS)
    assert main(["check", str(tmp_path)]) == 0
    assert "1 rule (and 1 disabled) in 1 file" in capsys.readouterr().out


def test_a_test_expecting_a_disabled_rule_to_match_says_it_is_disabled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_rules(tmp_path, WITH_TESTS)
    assert main(["test", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "rule 'welcome-back' should match but is disabled (enabled: false)" in out
    assert "1 failed, 1 passed" in out


def test_try_explain_shows_a_disabled_rule_as_disabled(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_rules(tmp_path, WITH_TESTS)
    assert main(["try", "--rules", str(tmp_path), "--set", "visitor.returning=true", "--explain"]) == 0
    out = capsys.readouterr().out
    assert "⊘ welcome-back  disabled: enabled: false" in out
    assert main(["try", "--rules", str(tmp_path), "--json"]) == 0
    trace = json.loads(capsys.readouterr().out)["trace"]
    assert {"rule": "welcome-back", "status": "disabled", "detail": "enabled: false"} in trace


# -- 2. one mistake, one message -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("cap: {max: 1, per: month}", "cap.per: must be one of 'visit', 'day', 'week' or 'ever'"),
        ("priority: high", "priority: expected a whole number"),
        ("descripton: Velkommen", "unknown field 'descripton' — did you mean 'description'?"),
    ],
)
def test_a_mistake_in_a_rule_named_by_tests_is_one_message(tmp_path: Path, field: str, message: str) -> None:
    write_rules(tmp_path, WITH_TESTS.replace("enabled: false", field))
    problems = problems_of(tmp_path)
    assert len(problems) == 1, problems
    assert message in problems[0]


def test_a_misspelt_rule_id_in_a_test_is_still_reported(tmp_path: Path) -> None:
    write_rules(tmp_path, WITH_TESTS.replace("{matched: [welcome-back]}", "{matched: [welcome-bak]}"))
    assert [p.split(": ", 1)[1] for p in problems_of(tmp_path)] == [
        "unknown rule 'welcome-bak' — did you mean 'welcome-back'?"
    ]


# -- 3. a field in the wrong place says where it belongs ------------------------------------------


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("    when: {visitor.returning: true}\n    greeting: Hej\n",
         "rules.yaml:4:5: unknown field 'greeting': actions go under 'then:'"),
        ("    then: {greeting: Hej}\n    per: day\n", "rules.yaml:4:5: unknown field 'per': it goes under 'cap:'"),
        ("    then: {greeting: Hej}\n    weekdays: [sat]\n",
         "rules.yaml:4:5: unknown field 'weekdays': it goes under 'active:'"),
    ],
)
def test_a_field_in_the_wrong_place_says_where_it_belongs(tmp_path: Path, rule: str, message: str) -> None:
    write_rules(tmp_path, "rules:\n  - id: a\n" + rule)
    assert [p.removeprefix(f"{tmp_path}/") for p in problems_of(tmp_path)] == [message]


def test_an_expectation_outside_expect_says_where_it_belongs(tmp_path: Path) -> None:
    write_rules(tmp_path, "rules: []\ntests:\n  - name: t\n    greeting: Hej\n    expect: {}\n")
    assert problems_of(tmp_path) == [f"{tmp_path}/rules.yaml:4:5: unknown field 'greeting': it goes under 'expect:'"]


# -- 5. the version is the content's ------------------------------------------------------------


def test_the_version_does_not_depend_on_how_the_folder_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_rules(tmp_path / "rules", WITH_TESTS)
    write_rules(tmp_path / "copy", WITH_TESTS)
    monkeypatch.chdir(tmp_path)
    versions = set()
    for path in ("rules", "rules/", str(tmp_path / "rules"), os.path.join("..", tmp_path.name, "rules"), "copy"):
        ruleset, problems = check_ruleset(path, SETTINGS)
        assert ruleset is not None, problems
        versions.add(ruleset.version)
    assert len(versions) == 1


def test_the_version_changes_with_a_file_name_or_its_content(tmp_path: Path) -> None:
    def version(folder: Path) -> str:
        ruleset, _ = check_ruleset(folder, SETTINGS)
        assert ruleset is not None
        return ruleset.version

    first = version(write_rules(tmp_path / "a", WITH_TESTS, "greetings.yaml"))
    assert version(write_rules(tmp_path / "b", WITH_TESTS, "welcome.yaml")) != first
    assert version(write_rules(tmp_path / "c", WITH_TESTS.replace("Velkommen}", "Hej}"), "greetings.yaml")) != first


# -- 6. text operators on enumerated signals ------------------------------------------------------


@pytest.mark.parametrize(
    "condition",
    [
        "time.weekday: {starts_with: s}",
        "time.weekday: {ends_with: [un, at]}",
        "device.type: {contains: mob}",
        "device.type: {contains_any: [mob, tab]}",
        "time.daypart: {matches: '^(morn|even)'}",
    ],
)
def test_a_text_operator_on_an_enumerated_signal_that_some_value_satisfies_is_fine(
    tmp_path: Path, condition: str
) -> None:
    write_rules(tmp_path, f"rules:\n  - id: a\n    when: {{{condition}}}\n    then: {{greeting: Hej}}\n")
    assert problems_of(tmp_path) == []


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("time.weekday: {starts_with: x}",
         "time.weekday never starts with 'x' (it is one of mon, tue, wed, thu, fri, sat, sun)"),
        ("device.type: {contains: phone}",
         "device.type never contains 'phone' (it is one of mobile, tablet, desktop, bot, other)"),
        ("device.type: {contains_any: [mob, phone]}", "device.type never contains 'phone'"),
        ("time.daypart: {matches: '^noon'}", "time.daypart never matches '^noon'"),
        ("time.weekday: {eq: satuday}", "time.weekday is never 'satuday' — did you mean 'sat'?"),
    ],
)
def test_a_text_operator_no_value_of_an_enumerated_signal_satisfies_is_an_error(
    tmp_path: Path, condition: str, message: str
) -> None:
    write_rules(tmp_path, f"rules:\n  - id: a\n    when: {{{condition}}}\n    then: {{greeting: Hej}}\n")
    problems = problems_of(tmp_path)
    assert len(problems) == 1 and message in problems[0], problems


def test_a_text_operator_on_an_enumerated_signal_matches_by_its_meaning(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    write_rules(tmp_path, "rules:\n  - id: weekend\n    when: {time.weekday: {starts_with: s}}\n"
                          "    then: {greeting: God weekend}\n")
    assert main(["try", "--rules", str(tmp_path), "--at", "2026-11-28T10:00", "--json"]) == 0  # a Saturday
    assert json.loads(capsys.readouterr().out)["matched"] == ["weekend"]


# -- 7. strict yes/no values ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"), [("no", "'no'"), ("yes", "'yes'"), ("0", "0"), ('"false"', "'false'"), ("off", "'off'")]
)
def test_enabled_takes_only_true_or_false(tmp_path: Path, value: str, shown: str) -> None:
    write_rules(tmp_path, f"rules:\n  - id: a\n    enabled: {value}\n    then: {{greeting: Hej}}\n")
    assert problems_of(tmp_path) == [f"{tmp_path}/rules.yaml:3:14: enabled: expected true or false, not {shown}"]


def test_a_chat_switch_takes_only_true_or_false(tmp_path: Path) -> None:
    write_rules(tmp_path, "rules:\n  - id: a\n    then:\n      chat: {message: Hej, on_exit_intent: yes}\n")
    assert problems_of(tmp_path) == [
        f"{tmp_path}/rules.yaml:4:44: then.chat.on_exit_intent: expected true or false, not 'yes'"
    ]
