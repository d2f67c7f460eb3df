"""YAML that remembers where every value came from.

Merchandisers need ``rules/chat.yaml:14:7: …`` rather than a traceback, so the
loader composes the YAML node tree (which carries marks), converts it to plain
Python values and keeps a map from each value's path to its position.

The schema is YAML 1.2's core schema, not PyYAML's default 1.1: in 1.1 the
country code ``NO`` is the boolean ``False`` and ``22:00`` is the integer 1320,
both traps for a Scandinavian shop's rule files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import yaml

from smalldata.foundation.problems import Position, Problem

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 64

Path = tuple[str | int, ...]


class _CoreLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars: only true/false are booleans."""


_CoreLoader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        list("-+0123456789."),
    ),
    (
        "tag:yaml.org,2002:timestamp",
        r"^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}"
        r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?"
        r"(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$",
        list("0123456789"),
    ),
]:
    # "" as a first character is how PyYAML finds empty values: YAML 1.2 reads them as null
    _CoreLoader.add_implicit_resolver(_tag, re.compile(_pattern), _first)


def _core_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> date | datetime:
    text = str(loader.construct_scalar(node)).strip()
    if len(text) == 10:
        return date.fromisoformat(text)
    # fromisoformat takes what people write: 2026-12-24T18:00, 2026-12-24 18:00:00+01:00, …Z
    return datetime.fromisoformat(re.sub(r"[ \t]+", " ", text).replace("t", "T"))


_CoreLoader.add_constructor("tag:yaml.org,2002:int", _core_int)
_CoreLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


@dataclass
class Document:
    """A parsed YAML document: plain data plus the position of every value and key."""

    file: str
    data: Any
    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)

    def at(self, path: Path) -> Position:
        """The position of the value at ``path``, or of its nearest known parent."""
        while path:
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.values.get((), Position(self.file, 1, 1))

    def key_at(self, path: Path) -> Position:
        """The position of the mapping key that leads to ``path`` (else of its value)."""
        return self.keys.get(path) or self.at(path)


class YamlError(Exception):
    """A file that is not usable YAML; carries one problem with its position."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def _mark(file: str, mark: yaml.Mark | None) -> Position:
    if mark is None:
        return Position(file, 1, 1)
    return Position(file, mark.line + 1, mark.column + 1)


class _Converter:
    def __init__(self, file: str, loader: _CoreLoader) -> None:
        self.file = file
        self.loader = loader
        self.doc = Document(file, None)
        self.nodes = 0

    def convert(self, node: yaml.Node, path: Path, depth: int) -> Any:
        self.nodes += 1
        position = _mark(self.file, node.start_mark)
        if self.nodes > MAX_NODES:
            raise YamlError(Problem(position, f"too many values (more than {MAX_NODES}); "
                                              "are YAML aliases expanding without end?"))
        if depth > MAX_DEPTH:
            raise YamlError(Problem(position, f"nested more than {MAX_DEPTH} levels deep"))
        self.doc.values.setdefault(path, position)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, TypeError, OverflowError, AttributeError):
            raise YamlError(Problem(position, f"cannot read the value {node.value!r}")) from None

    def _mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[str, Any]:
        self.loader.flatten_mapping(node)
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_position = _mark(self.file, key_node.start_mark)
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError(Problem(key_position, "a key must be a plain word, not a list or mapping"))
            raw_key = self.loader.construct_object(key_node)
            key = str(raw_key).lower() if isinstance(raw_key, bool) else str(raw_key)
            if raw_key is None:
                key = "null"
            if key in result:
                raise YamlError(Problem(key_position, f"duplicate key '{key}' (the first one would be ignored)"))
            self.doc.keys[(*path, key)] = key_position
            result[key] = self.convert(value_node, (*path, key), depth + 1)
        return result


def _hint(message: str) -> str:
    if "mapping values are not allowed" in message:
        return " (put text that contains ': ' in quotes, or check the indentation)"
    if "<block end>" in message:
        return " (check the indentation of this line and the one before it)"
    if "found character '\\t'" in message:
        return " (use spaces, not tabs, to indent)"
    if "could not find expected ':'" in message:
        return " (a key needs a colon after it, e.g. `greeting: Hej`)"
    return ""


def load_text(text: str | bytes, file: str) -> Document:
    """Parse one YAML document, raising :class:`YamlError` with a position on any problem."""
    if isinstance(text, bytes):
        if len(text) > MAX_FILE_BYTES:
            raise YamlError(Problem(Position(file, 1, 1), f"file is larger than {MAX_FILE_BYTES // 1024} KiB"))
        raw = text
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            raise YamlError(Problem(Position(file, line, col), "not UTF-8 text (is this a binary file?)")) from None
    if len(text) > MAX_FILE_BYTES:
        raise YamlError(Problem(Position(file, 1, 1), f"file is larger than {MAX_FILE_BYTES // 1024} KiB"))
    try:
        loader = _CoreLoader(text)
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise YamlError(Problem(Position(file, line, col), f"character #x{exc.character:04x} is not allowed "
                                "in a rule file (is this a binary file?)")) from None
    try:
        node = loader.get_single_node()
        converter = _Converter(file, loader)
        data = None if node is None else converter.convert(node, (), 0)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or exc.context or "invalid YAML"
        raise YamlError(Problem(_mark(file, mark), f"YAML syntax: {message}{_hint(message)}")) from None
    except yaml.YAMLError as exc:
        raise YamlError(Problem(Position(file, 1, 1), f"YAML syntax: {exc}")) from None
    except RecursionError:
        raise YamlError(Problem(Position(file, 1, 1), "nested too deeply to read")) from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise YamlError(Problem(Position(file, 1, 1), f"unreadable value: {exc}")) from None
    finally:
        loader.dispose()
    doc = converter.doc if node is not None else Document(file, None)
    doc.data = data
    return doc


def load_value(text: str) -> Any:
    """Read one value as YAML (for ``--set name=value``): ``true``, ``400``, ``[DK, SE]``, ``{shoes: 3}``."""
    return load_text(text, "<value>").data
