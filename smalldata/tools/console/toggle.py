"""Switch a rule on or off by editing its file's text at the rule's lines, never by writing the YAML again.

A re-dump would lose the merchandiser's comments, blank lines, quoting and key
order; here only one line changes (``enabled: …`` replaced, or added under the
rule's ``id``), so a diff of the save shows exactly the switch.
"""

from __future__ import annotations

import re

_ENABLED = re.compile(r"^(?P<lead>\s*(?:-\s+)?)enabled:\s*(?P<value>[^\s#,}]+)(?P<rest>.*)$")
_FLOW_ID = re.compile(r"(?P<open>\{\s*)(?P<id>id:\s*['\"]?(?P<name>[\w.-]+)['\"]?)")


class CannotToggle(ValueError):
    """The rule's lines are not where the check said, or not written in a way this edit knows."""


def set_enabled(text: str, line: int, rule_id: str, enabled: bool) -> str:
    """``text`` with rule ``rule_id`` (whose mapping starts at 1-based ``line``) switched on or off.

    Raises :class:`CannotToggle` when the rule is not found at that line.
    """
    lines = text.split("\n")
    index = _id_line(lines, line - 1, rule_id)
    value = "true" if enabled else "false"
    id_line = lines[index]
    if re.match(r"^\s*(-\s+)?\{", id_line):  # - {id: x, when: …, then: …}
        return _set_in_flow(lines, index, value)
    key_indent = _key_indent(id_line)
    end = _block_end(lines, index, key_indent)
    for number in range(index, end):
        found = _ENABLED.match(lines[number])
        if found and _key_indent(lines[number]) == key_indent:
            lines[number] = f"{found.group('lead')}enabled: {value}{found.group('rest')}"
            return "\n".join(lines)
    lines.insert(index + 1, " " * key_indent + f"enabled: {value}")
    return "\n".join(lines)


def _id_line(lines: list[str], start: int, rule_id: str) -> int:
    """The index of the line holding ``id: rule_id``, at or just after ``start``."""
    pattern = re.compile(rf"\bid:\s*['\"]?{re.escape(rule_id)}['\"]?\s*(?:[,}}#]|$)")
    for index in range(max(start, 0), min(start + 3, len(lines))):
        if pattern.search(lines[index]):
            return index
    raise CannotToggle(f"rule {rule_id} is not at line {start + 1} any more")


def _key_indent(line: str) -> int:
    """The column the rule's keys start at: ``  - id: x`` → 4, ``    enabled: true`` → 4."""
    found = re.match(r"^(\s*)(-\s+)?", line)
    assert found is not None  # the pattern matches every line
    return len(found.group(0))


def _block_end(lines: list[str], index: int, key_indent: int) -> int:
    """Where the rule's mapping ends: the first later line with text indented less than its keys."""
    for number in range(index + 1, len(lines)):
        stripped = lines[number].strip()
        if stripped and not stripped.startswith("#") and _indent(lines[number]) < key_indent:
            return number
    return len(lines)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _set_in_flow(lines: list[str], index: int, value: str) -> str:
    """A rule written on one line as ``- {id: x, …}``: replace its ``enabled:`` or add one after the id."""
    line = lines[index]
    if re.search(r"\benabled:\s*(true|false)\b", line):
        lines[index] = re.sub(r"\benabled:\s*(true|false)\b", f"enabled: {value}", line, count=1)
    else:
        found = _FLOW_ID.search(line)
        assert found is not None
        lines[index] = line[:found.end()] + f", enabled: {value}" + line[found.end():]
    return "\n".join(lines)
