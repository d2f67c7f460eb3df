"""``smalldata check``: exit 0 on the shipped rules, ``file:line:col: message`` and exit 1 on broken ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from smalldata.cli import main
from tests.rules.helpers import problems_of, write_rules

ROOT = Path(__file__).resolve().parents[2]

GOOD_RULE = """
rules:
  - id: ok
    when: {visitor.returning: true}
    then: {greeting: Hej}
"""


def test_the_shipped_rules_pass_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(ROOT / "rules"), "--config", str(ROOT / "smalldata.yaml")]) == 0
    assert "0 warnings" in capsys.readouterr().out


CASES = [
    ("yaml-syntax", "rules:\n  - id: a\n    when: {visitor.returning: true\n", "rules.yaml:4:1: YAML syntax"),
    (
        "unknown-signal",
        "rules:\n  - id: a\n    when:\n      vistor.returning: true\n    then: {greeting: Hej}\n",
        "rules.yaml:4:7: unknown signal 'vistor.returning' — did you mean 'visitor.returning'?",
    ),
    (
        "unknown-operator",
        "rules:\n  - id: a\n    when: {basket.total: {greater: 3}}\n    then: {greeting: Hej}\n",
        "rules.yaml:3:27: unknown operator 'greater' — did you mean",
    ),
    (
        "wrong-value-type",
        "rules:\n  - id: a\n    when: {visitor.visits: {gt: many}}\n    then: {greeting: Hej}\n",
        "rules.yaml:3:33: visitor.visits is a number, not 'many'",
    ),
    (
        "wrong-value-for-bool",
        "rules:\n  - id: a\n    when: {visitor.returning: yes}\n    then: {greeting: Hej}\n",
        "rules.yaml:3:31: visitor.returning is true or false, not 'yes'",
    ),
    (
        "bad-regex",
        "rules:\n  - id: a\n    when: {page.path: {matches: '(unclosed'}}\n    then: {greeting: Hej}\n",
        "rules.yaml:3:33: bad regular expression '(unclosed'",
    ),
    (
        "backreference-regex",
        "rules:\n  - id: a\n    when: {page.path: {matches: '(a)\\1'}}\n    then: {greeting: Hej}\n",
        "bad regular expression",
    ),
    (
        "duplicate-id",
        "rules:\n  - id: a\n    then: {greeting: Hej}\n  - id: a\n    then: {greeting: Hi}\n",
        "rules.yaml:4:9: duplicate rule id 'a' (first defined at",
    ),
    (
        "unknown-segment",
        "segments:\n  vip: {user.tier: gold}\nrules:\n  - id: a\n    when: {segment: vipp}\n"
        "    then: {greeting: Hej}\n",
        "rules.yaml:5:21: unknown segment 'vipp' — did you mean 'vip'?",
    ),
    (
        "segment-cycle",
        "segments:\n  a: {segment: b}\n  b: {segment: a}\nrules: []\n",
        "segment cycle: a → b → a",
    ),
    (
        "impossible-condition",
        "rules:\n  - id: a\n    when: {visitor.visits: {gt: 10, lt: 5}}\n    then: {greeting: Hej}\n",
        "rules.yaml:3:28: condition can never match: no value of visitor.visits satisfies all of its limits",
    ),
    (
        "impossible-hour",
        "rules:\n  - id: a\n    when: {time.hour: 25}\n    then: {greeting: Hej}\n",
        "time.hour is never 25 (it runs from 0 to 23)",
    ),
    (
        "impossible-weekday",
        "rules:\n  - id: a\n    when: {time.weekday: satuday}\n    then: {greeting: Hej}\n",
        "time.weekday is never 'satuday' — did you mean 'sat'?",
    ),
    (
        "unknown-field",
        "rules:\n  - id: a\n    priorty: 3\n    then: {greeting: Hej}\n",
        "rules.yaml:3:5: unknown field 'priorty'",
    ),
    ("no-action", "rules:\n  - id: a\n    when: {visitor.returning: true}\n", "exactly one of 'then' or 'experiment'"),
    (
        "unknown-placeholder",
        "rules:\n  - id: a\n    then: {greeting: 'Hej {user.firstname}'}\n",
        "unknown signal 'user.firstname' — did you mean 'user.first_name'? (in placeholder '{user.firstname}')",
    ),
    (
        "duplicate-yaml-key",
        "rules:\n  - id: a\n    then: {greeting: Hej}\n    then: {greeting: Hi}\n",
        "rules.yaml:4:5: duplicate key 'then'",
    ),
    ("binary-junk", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "rules.yaml:1:1: not UTF-8 text"),
    ("nul-character", "rules:\n  - id: a\x00\n", "is not allowed in a rule file"),
    ("empty-action", "rules:\n  - id: a\n    then: {greeting: }\n", "'greeting' has no value"),
    (
        "placeholder-without-quotes",
        "rules:\n  - id: a\n    then: {greeting: {user.first_name}}\n",
        'this looks like a placeholder without quotes: write "{user.first_name}" in quotes',
    ),
    (
        "unknown-language",
        "rules:\n  - id: a\n    then: {greeting: {dk: Hej, en: Hi}}\n",
        "'dk' is not one of the shop's languages (da, en)",
    ),
    ("bad-tag", "rules:\n  - id: a\n    then: {tag: Big Spender}\n", "'Big Spender' is not a tag name"),
    (
        "hour-out-of-range-in-between",
        "rules:\n  - id: a\n    when: {time.hour: {between: [20, 25]}}\n    then: {greeting: Hej}\n",
        "time.hour is never 25",
    ),
    (
        "operator-synonym",
        "rules:\n  - id: a\n    when: {basket.total: {greater_than: 3}}\n    then: {greeting: Hej}\n",
        "unknown operator 'greater_than' — did you mean 'gt'?",
    ),
    (
        "pydantic-words-are-translated",
        "rules:\n  - id: a\n    then: {greeting: Hej}\n    cap: {max: 0, per: year}\n",
        "cap.max: must be at least 1",
    ),
    (
        "given-value-of-the-wrong-kind",
        "rules: []\ntests:\n  - name: t\n    given: {visitor.returning: 'yes'}\n    expect: {}\n",
        "rules.yaml:4:32: visitor.returning is true or false, not 'yes'",
    ),
]


@pytest.mark.parametrize(("case", "content", "message"), CASES, ids=[c[0] for c in CASES])
def test_check_reports_each_error_class_with_its_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, content: str | bytes, message: str
) -> None:
    tmp_path.joinpath("rules.yaml").write_bytes(content if isinstance(content, bytes) else content.encode())
    assert main(["check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert message in out, out


def test_check_reports_every_problem_of_a_folder_at_once(tmp_path: Path) -> None:
    write_rules(tmp_path, "rules:\n  - id: a\n    when: {vistor.returning: true}\n    then: {greeting: x}\n", "a.yaml")
    write_rules(tmp_path, "rules:\n  - id: b\n    when: {page.pth: /}\n    then: {greeting: Hej}\n", "b.yaml")
    write_rules(tmp_path, "rules: [\n", "c.yaml")
    problems = problems_of(tmp_path)
    assert [p.split(":")[0].rsplit("/", 1)[-1] for p in problems] == ["a.yaml", "b.yaml", "c.yaml"]


def test_check_warns_about_a_rule_that_is_always_shadowed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_rules(tmp_path, """
        rules:
          - id: everyone
            priority: 10
            then: {greeting: Hej}
          - id: returning
            when: {visitor.returning: true}
            then: {greeting: Velkommen tilbage}
        """)
    assert main(["check", str(tmp_path)]) == 0
    assert "warning: rule 'returning' is always shadowed by 'everyone'" in capsys.readouterr().out


def test_check_warns_about_overlapping_experiments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_rules(tmp_path, """
        rules:
          - id: first
            priority: 5
            experiment:
              key: one
              variants: [{name: a, weight: 50, then: {banner: {slot: hero, text: A}}}]
          - id: second
            experiment:
              key: two
              variants: [{name: a, weight: 50, then: {banner: {slot: hero, text: B}}}]
        """)
    assert main(["check", str(tmp_path)]) == 0
    assert "warning: experiments 'one' and 'two' overlap in banner:hero" in capsys.readouterr().out


def test_experiments_on_disjoint_visitors_do_not_warn(tmp_path: Path) -> None:
    write_rules(tmp_path, """
        rules:
          - id: danes
            when: {geo.country: DK}
            experiment:
              key: one
              variants: [{name: a, weight: 50, then: {banner: {slot: hero, text: A}}}]
          - id: swedes
            when: {geo.country: SE}
            experiment:
              key: two
              variants: [{name: a, weight: 50, then: {banner: {slot: hero, text: B}}}]
        """)
    assert problems_of(tmp_path) == []


def test_a_missing_rules_folder_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "nope")]) == 1
    assert "no such rules folder" in capsys.readouterr().out


def test_good_rules_in_a_folder_pass(tmp_path: Path) -> None:
    write_rules(tmp_path, GOOD_RULE)
    assert problems_of(tmp_path) == []
