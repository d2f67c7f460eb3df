"""Every message in the reference's "What each error message means" (docs/rules-reference.md, §9) is real.

Each case below makes one message: a rule file (or several) checked in the example shop's project
folder, or a command. The message, without the ``file:line:column:`` that ``check`` prints in front
of it, must be in the reference's tables; and every message in those tables must be made by a case.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.docs.helpers import REFERENCE, cells, code, project, run

SECTION = "9. What each error message means"


def rule(body: str, rule_id: str = "r") -> str:
    """A rule file with one rule whose lines (after ``- id:``) are ``body``."""
    return f"rules:\n  - id: {rule_id}\n" + textwrap.indent(textwrap.dedent(body).strip("\n") + "\n", "    ")


def when(condition: str) -> str:
    """A rule file with one rule: when ``condition``, a greeting."""
    return rule(f"when: {condition}\nthen: {{greeting: A}}")


def with_a_test(given: str = "{}", expect: str = "{greeting: A}", at: str = "") -> str:
    """A rule ``welcome-back`` and one test of it."""
    return rule("then: {greeting: A}", "welcome-back") + (
        f"tests:\n  - name: t\n{'    at: ' + at + chr(10) if at else ''}    given: {given}\n    expect: {expect}\n"
    )


WRONG_GIVEN = with_a_test(given="{visitor.returning: yes, basket.total: \"1500\", time.weekday: lørdag}")

#: (message, rule files: one file's text or {name: text}), made by ``smalldata check`` of a rules folder
CHECKED: list[tuple[str, str | dict[str, str]]] = [
    # the file itself
    ("YAML syntax: expected <block end>, but found '<block mapping start>' (check the indentation of this line "
     "and the one before it)",
     "rules:\n  - id: r\n    when: {visitor.returning: true}\n     then:\n      greeting: A\n"),
    ("YAML syntax: mapping values are not allowed here (put text that contains ': ' in quotes, or check the "
     "indentation)", "rules:\n  - id: r\n    then:\n      greeting: Velkommen tilbage: godt at se dig\n"),
    ("YAML syntax: mapping values are not allowed here (put text that contains ': ' in quotes, or check the "
     "indentation)", "rules:\n  - id: r\n    then:\n      greeting: A\n        banner: x\n"),
    ("YAML syntax: expected ',' or '}', but got ':'",
     "rules:\n  - id: r\n    when: {visitor.returning: true\n    then:\n      greeting: A\n"),
    ("YAML syntax: could not find expected ':' (a key needs a colon after it, e.g. `greeting: Hej`)",
     "rules:\n  - id: r\n    when\n      visitor.returning: true\n    then:\n      greeting: A\n"),
    ("YAML syntax: found character '\\t' that cannot start any token (use spaces, not tabs, to indent)",
     "rules:\n  - id: r\n\tthen:\n      greeting: A\n"),
    ("duplicate key 'visitor.returning' (the first one would be ignored)",
     rule("when:\n  visitor.returning: true\n  visitor.returning: false\nthen: {greeting: A}")),
    ("unknown section 'rule' — did you mean 'rules'?", "rule:\n  - id: r\n    then: {greeting: A}\n"),
    ("a rule file is a mapping with 'rules:' (and optionally 'segments:', 'tests:')",
     "- id: r\n  then: {greeting: A}\n"),
    ("'rules' must be a list", "rules:\n  id: r\n  then: {greeting: A}\n"),
    # conditions
    ("a key must be a plain word, not a list or mapping", when("{[a]: 1}")),
    ("unknown signal 'vistor.returning' — did you mean 'visitor.returning'?",
     when("{vistor.returning: true}")),
    ("'visitor' is a namespace; name one of its signals, such as 'visitor.id'",
     when("{visitor: true}")),
    ("unknown operator 'startswith' — did you mean 'starts_with'?",
     when("{page.path: {startswith: /x}}")),
    ("unknown operator 'greater_than' — did you mean 'gt'?",
     when("{basket.total: {greater_than: 3}}")),
    ("'starts_with' does not apply to basket.total (a number); use one of between, eq, exists, gt, gte, in, lt, "
     "lte, ne, not_in", when("{basket.total: {starts_with: 1}}")),
    ("'empty' does not apply to visitor.visits (a number); use one of between, eq, exists, gt, gte, in, lt, lte, "
     "ne, not_in", when("{visitor.visits: {empty: true}}")),
    ("empty is true or false, not 'no'", when("{history.viewed_products: {empty: no}}")),
    ("exists is true or false, not 'ja'", when("{user.tier: {exists: ja}}")),
    ("visitor.returning is true or false, not 'ja'", when("{visitor.returning: ja}")),
    ("basket.total is a number, not 'tusind'", when("{basket.total: tusind}")),
    ("time.weekday is never 'lørdag' (one of mon, tue, wed, thu, fri, sat, sun)",
     when("{time.weekday: lørdag}")),
    ("time.daypart is never 'evning' — did you mean 'evening'?",
     when("{time.daypart: evning}")),
    ("time.weekday never starts with 'x' (it is one of mon, tue, wed, thu, fri, sat, sun)",
     when("{time.weekday: {starts_with: x}}")),
    ("user.birthday is a date; write it as 2026-12-24, not '24-12-1990'",
     when("{user.birthday: {lt: 24-12-1990}}")),
    ("time.now is a moment in time; compare it with a date such as 2026-12-24 or a time such as 2026-12-24T18:00, "
     "or use a window such as \"08:00-10:00\" — not '08:00'",
     when("{time.now: {between: [\"08:00\", \"10:00\"]}}")),
    ("expected a list of values such as [a, b], not 'DK'", when("{geo.country: {in: DK}}")),
    ("contains_any takes a list such as [a, b], not 'sofa'",
     when("{page.path: {contains_any: sofa}}")),
    ("page.path holds text, not ['a']", when("{page.path: {eq: [a]}}")),
    ("matches takes a regular expression in quotes, not 3", when("{page.path: {matches: 3}}")),
    ("between takes two values, [low, high], not [10]", when("{basket.total: {between: [10]}}")),
    ("bad regular expression '^/sofa(er|s': missing ): ^/sofa(er|s",
     when("{page.path: {matches: \"^/sofa(er|s\"}}")),
    ("bad regular expression '(?<=/)sofa': invalid perl operator: (?<=",
     when("{page.path: {matches: \"(?<=/)sofa\"}}")),
    ("bad regular expression '(a)\\1': invalid escape sequence: \\1",
     when("{page.path: {matches: '(a)\\1'}}")),
    ("'2days' is not a duration; write e.g. 30m, 12h, 7d, 2w, 18y or 1h30m",
     when("{visitor.last_seen: {within: 2days}}")),
    ("'200y' is longer than 150 years", when("{user.birthday: {older_than: 200y}}")),
    ("'22-02' is not a time window; write e.g. \"09:00-17:30\" or \"22:00-02:00\"",
     when("{time.now: \"22-02\"}")),
    ("'25:00-02:00' has a time that does not exist", when("{time.now: \"25:00-02:00\"}")),
    ("'10:00-10:00' is empty: it starts and ends at the same minute",
     when("{time.now: \"10:00-10:00\"}")),
    ("'within' does not apply to visitor.visits (a number); use one of between, eq, exists, gt, gte, in, lt, lte, "
     "ne, not_in", when("{visitor.visits: {within: 2d}}")),
    ("'gte' does not apply to basket.items (a list of records); use one of empty, eq, exists, ne",
     when("{basket.items: {gte: 2}}")),
    ("basket.items can only be compared with null (or use 'exists' or 'empty')",
     when("{basket.items: {eq: [x]}}")),
    ("a condition is a mapping such as {visitor.returning: true}", when("returning")),
    ("'all' takes a non-empty list of conditions", when("{all: visitor.returning}")),
    ("no operator given for visitor.visits", when("{visitor.visits: {}}")),
    # conditions that can never match
    ("condition can never match: no value of visitor.visits satisfies all of its limits",
     when("{visitor.visits: {gt: 10, lt: 5}}")),
    ("time.hour is never 25 (it runs from 0 to 23)", when("{time.hour: 25}")),
    ("time.hour is never 25 (it runs from 0 to 23)", when("{time.hour: {between: [20, 25]}}")),
    ("condition can never match: no value of geo.country satisfies all of its conditions",
     when("{all: [{geo.country: DK}, {geo.country: SE}]}")),
    ("condition can never match: user.tier cannot be unknown and known at once",
     when("{user.tier: {exists: false, eq: gold}}")),
    ("between [500, 100] can never match: the low end is above the high end",
     when("{basket.total: {between: [500, 100]}}")),
    # rules, segments and tests
    ("duplicate rule id 'welcome-back' (first defined at rules/greetings.yaml:2:9)",
     rule("then: {greeting: A}", "welcome-back")
     + rule("then: {greeting: B}", "welcome-back").removeprefix("rules:\n")),
    ("id: 'Welcome Back' is not a rule id: use lowercase letters, digits, -, _ and .",
     rule("then: {greeting: A}", "Welcome Back")),
    ("missing field 'id'", "rules:\n  - when: {visitor.returning: true}\n    then: {greeting: A}\n"),
    ("a rule needs exactly one of 'then' or 'experiment'", rule("when: {visitor.returning: true}")),
    ("then: no action given: use greeting, prefill, chat, recommend, banner or tag", rule("then: {}")),
    ("then: 'greeting' has no value", rule("then:\n  greeting:")),
    ("then.greeting: expected text, or a mapping such as {name: value}", rule("then: {greeting: [Hej, Hello]}")),
    ("unknown field 'priorty' — did you mean 'priority'?", rule("priorty: 3\nthen: {greeting: A}")),
    ("unknown field 'greting' — did you mean 'greeting'?", rule("then: {greting: A}")),
    ("unknown field 'greeting': actions go under 'then:'",
     rule("when: {visitor.returning: true}\ngreeting: A\nthen: {banner: {slot: x, text: A}}")),
    ("unknown field 'per': it goes under 'cap:'", rule("then: {greeting: A}\ncap: {max: 1}\nper: day")),
    ("enabled: expected true or false, not 'no'", rule("enabled: no\nthen: {greeting: A}")),
    ("cap.per: must be one of 'visit', 'day', 'week' or 'ever'",
     rule("then: {greeting: A}\ncap: {max: 1, per: month}")),
    ("cap.max: must be at least 1", rule("then: {greeting: A}\ncap: {max: 0, per: day}")),
    ("then.recommend.strategy: must be one of 'recently_viewed', 'complements', 'bestsellers', 'new_arrivals', "
     "'personal' or 'remote'", rule("then: {recommend: {strategy: popular}}")),
    ("then.recommend.exclude.0: must be one of 'in_basket', 'purchased' or 'viewed'",
     rule("then: {recommend: {strategy: bestsellers, exclude: [basket]}}")),
    ("then.prefill.form: 'Checkout' is not a slot name: use lowercase letters, digits, - and _",
     rule("then: {prefill: {form: Checkout, fields: {email: '{user.email}'}}}")),
    ("then.prefill.fields: must not be empty", rule("then: {prefill: {form: checkout, fields: {}}}")),
    ("active.weekdays.0: must be one of 'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or 'sun'",
     rule("then: {greeting: A}\nactive: {weekdays: [lør]}")),
    ("active.hours: '8-16' is not a time window; write e.g. \"09:00-17:30\" or \"22:00-02:00\"",
     rule("then: {greeting: A}\nactive: {hours: 8-16}")),
    ("active: 'from' is after 'until': this rule would never run",
     rule("then: {greeting: A}\nactive: {from: 2026-12-24, until: 2026-12-01}")),
    ("then.chat: a chat invitation needs after_seconds, on_exit_intent, or both", rule("then: {chat: {message: Hej}}")),
    ("then.chat: outside_hours only makes sense with only_when_open: true",
     rule("then: {chat: {message: Hej, after_seconds: 5, outside_hours: {message: Lukket}}}")),
    ("then.banner: a banner needs exactly one of text or html", rule("then: {banner: {slot: hero}}")),
    ("two actions of this rule fill the same slot 'banner:hero'",
     rule("then: {banner: [{slot: hero, text: A}, {slot: hero, text: B}]}")),
    ("then.tag: 'Kaffe Elsker' is not a tag name: use lowercase letters, digits, - and _",
     rule("then: {tag: Kaffe Elsker}")),
    ("experiment: variant weights add up to 120, more than 100",
     rule("experiment: {key: k, variants: [{name: a, weight: 60}, {name: b, weight: 60}]}")),
    ("experiment: variant names must be unique and not 'control' (the share left over)",
     rule("experiment: {key: k, variants: [{name: a, weight: 10}, {name: control, weight: 60}]}")),
    ("experiment.key: use only lowercase letters, digits, '-', '_' and '.'",
     rule("experiment: {key: Vinter Hero, variants: [{name: a, weight: 10}]}")),
    ("experiment.variants.0.then: no action given: use greeting, prefill, chat, recommend, banner or tag",
     rule("experiment: {key: k, variants: [{name: a, weight: 10, then: {}}]}")),
    ("unknown segment 'vips' — did you mean 'vip'?",
     "segments:\n  vip: {user.tier: gold}\n" + when("{segment: vips}")),
    ("segment takes the name of one segment", "segments:\n  vip: {user.tier: gold}\n  loyal: {user.orders: {gte: 3}}\n"
     + when("{segment: [vip, loyal]}")),
    ("segment cycle: vip → loyal → vip", "segments:\n  vip: {segment: loyal}\n  loyal: {segment: vip}\n"),
    ("duplicate segment 'vip' (first defined at rules/a.yaml:2:3)",
     {"a.yaml": "segments:\n  vip: {user.tier: gold}\n", "b.yaml": "segments:\n  vip: {user.tier: gold}\n"}),
    ("unknown signal 'visitor.returing' — did you mean 'visitor.returning'?",
     with_a_test(given="{visitor.returing: true}")),
    ("visitor.returning is true or false, not 'yes'", WRONG_GIVEN),
    ("basket.total is a number, not '1500'", WRONG_GIVEN),
    ("time.weekday is one of mon, tue, wed, thu, fri, sat, sun, not 'lørdag'", WRONG_GIVEN),
    ("unknown rule 'welcome-bak' — did you mean 'welcome-back'?", with_a_test(expect="{matched: [welcome-bak]}")),
    ("unknown field 'greting' — did you mean 'greeting'?", with_a_test(expect="{greting: A}")),
    ("at: expected a time such as 2026-12-24T18:00", with_a_test(at="i morgen")),
    # texts
    ("unknown signal 'user.firstname' — did you mean 'user.first_name'? (in placeholder '{user.firstname}')",
     rule("then: {greeting: \"Hej {user.firstname}\"}")),
    ("unmatched '{' in text; write '{{' for a literal brace", rule("then: {greeting: \"Hej {user.first_name\"}")),
    ("empty placeholder '{}'; name a signal such as {user.first_name}, or write '{{}}' for literal braces",
     rule("then: {greeting: \"Hej {}\"}")),
    ("then.greeting: this looks like a placeholder without quotes: write \"{user.first_name}\" in quotes",
     rule("then:\n  greeting: {user.first_name}")),
    ("'dansk' is not a language code such as da or en", rule("then: {greeting: {dansk: Hej}}")),
    ("'dk' is not one of the shop's languages (da, en)", rule("then: {greeting: {dk: Hej}}")),
    ("'user' is a namespace; name one of its signals, such as 'user.logged_in' (in placeholder '{user}')",
     rule("then: {greeting: \"Hej {user}\"}")),
    # warnings
    ("warning: rule 'evening-welcome-back' is always shadowed by 'welcome-back': a higher-priority rule fills "
     "greeting whenever this one matches",
     rule("priority: 10\nwhen: {visitor.returning: true}\nthen: {greeting: A}", "welcome-back")
     + rule("when: {visitor.returning: true, time.daypart: evening}\nthen: {greeting: B}",
            "evening-welcome-back").removeprefix("rules:\n")),
    ("warning: experiments 'hero-colour' and 'hero-text' overlap in banner:hero: visitors in both see only "
     "'hero-colour-test', which biases 'hero-text-test'",
     rule("experiment: {key: hero-colour, variants: [{name: a, weight: 50, then: {banner: {slot: hero, text: A}}}]}",
          "hero-colour-test")
     + rule("experiment: {key: hero-text, variants: [{name: a, weight: 50, then: {banner: {slot: hero, text: B}}}]}",
            "hero-text-test").removeprefix("rules:\n")),
    ("warning: experiment key 'hero-colour' is also used by rule 'hero-colour-test': their exposures would be mixed",
     rule("experiment: {key: hero-colour, variants: [{name: a, weight: 50, then: {banner: {slot: hero, text: A}}}]}",
          "hero-colour-test")
     + rule("when: {geo.country: DK}\nexperiment: {key: hero-colour, variants: [{name: a, weight: 50, "
            "then: {banner: {slot: top, text: B}}}]}", "hero-colour-again").removeprefix("rules:\n")),
]

#: (message, command) for ``try``, ``test``, ``preview`` and ``report``, run in the example shop's folder;
#: a message ending in "…" is shown shortened
COMMANDS: list[tuple[str, list[str]]] = [
    ("smalldata try: --set: unknown signal 'vistor.returning' — did you mean 'visitor.returning'?",
     ["try", "--set", "vistor.returning=true"]),
    ("smalldata try: --set 'visitor.returning': write SIGNAL=VALUE, e.g. --set visitor.returning=true",
     ["try", "--set", "visitor.returning"]),
    ("smalldata try: --set visitor.returning: visitor.returning is true or false, not 'yes'",
     ["try", "--set", "visitor.returning=yes"]),
    ("smalldata try: --set user.birthday: user.birthday is a date such as 2026-12-24, not '24-12-1990'",
     ["try", "--set", "user.birthday=24-12-1990"]),
    ("smalldata try: --set history.viewed_products: history.viewed_products is a list such as [a, b], not 'sofa'",
     ["try", "--set", "history.viewed_products=sofa"]),
    ("smalldata try: 'i-morgen' is not a time; write e.g. 2026-12-24T18:00", ["try", "--at", "i-morgen"]),
    ("smalldata try: Invalid IPv6 URL", ["try", "--url", "http://[bad"]),
    ("smalldata preview: --set: unknown signal 'geo.contry' — did you mean 'geo.country'?",
     ["preview", "--set", "geo.contry=SE"]),
    ("smalldata preview: --variant: no experiment 'winter-hro' in the rules — did you mean 'winter-hero'?",
     ["preview", "--variant", "winter-hro=b"]),
    ("smalldata preview: --variant: experiment 'winter-hero' has no variant 'c' (it has a, b, control)",
     ["preview", "--variant", "winter-hero=c"]),
    ("smalldata preview: --variant 'winter-hero': write EXPERIMENT=VARIANT, e.g. easter-banner=b",
     ["preview", "--variant", "winter-hero"]),
    ("smalldata preview: --base-url: 'nordiskhjem.dk' must be an http:// or https:// URL",
     ["preview", "--base-url", "nordiskhjem.dk"]),
    ("smalldata preview: --ttl must be between 60 seconds and 30 days", ["preview", "--ttl", "30"]),
    ("smalldata try: --geoip GeoLite2-City.mmdb: no such file. MaxMind's free GeoLite2 City database comes with …",
     ["try", "--geoip", "GeoLite2-City.mmdb"]),
    ("nope.yaml:1:1: cannot read settings: No such file or directory", ["check", "--config", "nope.yaml"]),
    ("nope.jsonl: cannot read events: No such file or directory", ["report", "nope.jsonl"]),
]


def documented() -> set[str]:
    return {message for row in cells(REFERENCE, SECTION) if (message := code(row[0])) is not None}


def without_position(line: str) -> str:
    """``rules/a.yaml:4:7: unknown …`` → ``unknown …``."""
    head, sep, rest = line.partition(": ")
    return rest if sep and head.count(":") == 2 and head.rsplit(":", 2)[1].isdigit() else line


@pytest.mark.parametrize(("message", "files"), CHECKED, ids=[m[:70] for m, _ in CHECKED])
def test_check_prints_the_message(
    message: str, files: str | dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = project(tmp_path, monkeypatch)
    (folder / "rules").unlink()  # a rules folder of its own, in place of the example shop's
    (folder / "rules").mkdir()
    for name, text in ({"greetings.yaml": files} if isinstance(files, str) else files).items():
        (folder / "rules" / name).write_text(text, encoding="utf-8")
    _, printed = run(["check"])
    assert message in [without_position(line) for line in printed]
    assert message in documented()


@pytest.mark.parametrize(("message", "argv"), COMMANDS, ids=[m[:70] for m, _ in COMMANDS])
def test_the_command_prints_the_message(
    message: str, argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(tmp_path, monkeypatch)
    code, printed = run(argv)
    assert code != 0
    assert printed[0] == message or (message.endswith("…") and printed[0].startswith(message[:-1]))
    assert message in documented()


def test_every_message_in_the_reference_is_made_by_a_case() -> None:
    made = {message for message, _ in CHECKED} | {message for message, _ in COMMANDS}
    assert sorted(documented() - made) == []
