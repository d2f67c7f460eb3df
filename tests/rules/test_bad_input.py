"""Any rule file content ends in a clear error or a working ruleset: never a hang or a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smalldata.rules import check_ruleset

SNIPPETS = [
    "rules:", "segments:", "tests:", "- id: a", "  when:", "  then:", "{", "}", "[", "]", ": ", "- ", "\n", "  ",
    "visitor.returning", "true", "gt", "{gt: x}", "matches", "'(a'", "greeting: Hej {user.first_name}", "&a", "*a",
    "experiment:", "variants:", "weight: 200", "cap: {max: 0, per: year}", "active: {from: 2027-99-99}", "!!binary",
    "segment: x", "not: 3", "any: []", "'\\x00'", "\t", "%YAML 1.1", "---", "...", "? complex", "|", ">",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(SNIPPETS), max_size=30).map("".join))
def test_random_rule_files_never_raise(tmp_path: Path, text: str) -> None:
    (tmp_path / "rules.yaml").write_text(text, encoding="utf-8")
    ruleset, problems = check_ruleset(tmp_path)
    assert ruleset is not None or problems
    assert all(":" in str(p) for p in problems)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=512))
def test_binary_junk_is_reported_not_raised(tmp_path: Path, junk: bytes) -> None:
    (tmp_path / "rules.yaml").write_bytes(junk)
    ruleset, problems = check_ruleset(tmp_path)
    assert ruleset is not None or problems


@pytest.mark.parametrize(
    "content",
    [
        "rules:\n" + "".join(f"  - id: r{i}\n    then: {{greeting: Hej}}\n" for i in range(3000)),
        "rules:\n  - id: deep\n    when: " + "{not: " * 200 + "{page.path: /}" + "}" * 200
        + "\n    then: {greeting: x}\n",
        "rules:\n  - id: wide\n    when: {any: [" + ", ".join(f"{{page.path: /p{i}}}" for i in range(5000)) + "]}\n"
        "    then: {greeting: x}\n",
    ],
    ids=["many-rules", "deep-nesting", "wide-condition"],
)
def test_large_and_deep_files_end_in_a_ruleset_or_a_clear_error(tmp_path: Path, content: str) -> None:
    (tmp_path / "rules.yaml").write_text(content, encoding="utf-8")
    ruleset, problems = check_ruleset(tmp_path)
    assert ruleset is not None or any("nested" in str(p) for p in problems)
