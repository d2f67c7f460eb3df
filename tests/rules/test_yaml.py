"""Rule files are YAML 1.2 with positions; PyYAML's 1.1 traps are closed."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from smalldata.foundation.yamlpos import MAX_DEPTH, YamlError, load_text, load_value


def test_norway_stays_a_country_code() -> None:
    assert load_value("[DK, SE, NO, no]") == ["DK", "SE", "NO", "no"]


def test_clock_times_stay_text() -> None:
    assert load_value("22:00") == "22:00"


def test_yes_and_on_stay_words() -> None:
    assert load_value("[yes, on, off]") == ["yes", "on", "off"]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("400", 400),
        ("99.5", 99.5),
        ("[DK, SE]", ["DK", "SE"]),
        ("{shoes: 3}", {"shoes": 3}),
        ("2026-12-24", date(2026, 12, 24)),
        ("2026-12-24T18:00", datetime(2026, 12, 24, 18, 0)),
        ("null", None),
    ],
)
def test_values_read_as_a_merchandiser_expects(text: str, value: object) -> None:
    assert load_value(text) == value


def test_every_value_and_key_keeps_its_position() -> None:
    doc = load_text("rules:\n  - id: a\n    when: {page.path: /x}\n", "r.yaml")
    assert str(doc.at(("rules", 0, "when", "page.path"))) == "r.yaml:3:23"
    assert str(doc.key_at(("rules", 0, "when", "page.path"))) == "r.yaml:3:12"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a: 1\na: 2\n", "duplicate key 'a'"),
        ("[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5), "nested"),
        ("a: 2026-13-45\n", "cannot read the value"),
        ("a: !!python/object:os.system ls\n", "YAML syntax"),
    ],
)
def test_unusable_yaml_is_a_clear_error(content: str, message: str) -> None:
    with pytest.raises(YamlError) as error:
        load_text(content, "r.yaml")
    assert message in str(error.value)


def test_alias_bombs_are_stopped() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        prev = chr(ord("a") + i - 1)
        lines.append(f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [" + ", ".join([f"*{prev}"] * 10) + "]")
    with pytest.raises(YamlError, match="too many values"):
        load_text("\n".join(lines), "bomb.yaml")


def test_huge_files_are_refused() -> None:
    with pytest.raises(YamlError, match="larger than"):
        load_text(b"# " + b"x" * (3 * 1024 * 1024), "huge.yaml")
