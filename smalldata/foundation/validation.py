"""Pydantic validation whose errors point at the file, line and column of the bad value, in plain words."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from smalldata.foundation.problems import Problem, did_you_mean
from smalldata.foundation.yamlpos import Document, Path

M = TypeVar("M", bound=BaseModel)

# pydantic's wording → a merchandiser's
_MESSAGES = {
    "dict_type": "expected a mapping such as {name: value}",
    "model_type": "expected a mapping such as {name: value}",
    "model_attributes_type": "expected a mapping such as {name: value}",
    "list_type": "expected a list such as [a, b]",
    "tuple_type": "expected a list such as [a, b]",
    "string_type": "expected text",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "date_type": "expected a date such as 2026-12-24",
    "date_parsing": "expected a date such as 2026-12-24",
    "date_from_datetime_parsing": "expected a date such as 2026-12-24",
    "datetime_type": "expected a time such as 2026-12-24T18:00",
    "datetime_parsing": "expected a time such as 2026-12-24T18:00",
    "datetime_from_date_parsing": "expected a time such as 2026-12-24T18:00",
    "string_pattern_mismatch": "use only lowercase letters, digits, '-', '_' and '.'",
    "too_short": "must not be empty",
}


def validate(model: type[M], data: Any, doc: Document, path: Path = ()) -> tuple[M | None, list[Problem]]:
    """Validate ``data`` (found at ``path`` in ``doc``) as ``model``; problems carry positions."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        errors = _most_specific(exc.errors())
        return None, [_problem(error, loc, doc, path, model) for error, loc in errors]


def _most_specific(errors: Iterable[Any]) -> list[tuple[Any, tuple[str | int, ...]]]:
    """Drop the noise of unions: keep an error only if no other error points deeper inside it."""
    located = [(error, tuple(part for part in error["loc"] if not _is_union_tag(part))) for error in errors]
    kept: dict[tuple[str | int, ...], list[Any]] = {}
    for error, loc in located:
        deeper = any(len(other) > len(loc) and other[: len(loc)] == loc for _, other in located)
        if not deeper:
            kept.setdefault(loc, []).append(error)
    # several errors at one place are the alternatives of a union: say them as one
    return [(_joined(group), loc) for loc, group in kept.items()]


def _joined(group: list[Any]) -> Any:
    if len(group) == 1:
        return group[0]
    messages = list(dict.fromkeys(_message(error) for error in group))
    # a validator's own sentence says more than "expected a list" from the other alternative
    specific = [m for m in messages if not m.startswith("expected ")]
    if specific:
        return {**group[0], "type": "joined", "msg": "; ".join(specific)}
    if len(messages) == 1:
        return group[0]
    alternatives = [messages[0]] + [m.removeprefix("expected ") for m in messages[1:]]
    return {**group[0], "type": "joined", "msg": ", or ".join(alternatives)}


def _problem(error: Any, loc: tuple[str | int, ...], doc: Document, base: Path, model: type[BaseModel]) -> Problem:
    path = (*base, *loc)
    kind = error["type"]
    if kind == "extra_forbid" or kind == "extra_forbidden":
        return Problem(doc.key_at(path), _unknown_field(str(loc[-1]), loc[:-1], model))
    if kind == "missing":
        return Problem(doc.at(path[:-1]), f"missing field '{loc[-1]}'")
    message = _message(error)
    if kind in ("bool_type", "bool_parsing"):
        message += f", not {_shown(error.get('input'))}"
    where = ".".join(str(part) for part in loc)
    return Problem(doc.at(path), f"{where}: {message}" if where else message)


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    return "null" if value is None else str(value)


def _message(error: Any) -> str:
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    if kind == "greater_than_equal":
        return f"must be at least {context.get('ge')}"
    if kind == "less_than_equal":
        return f"must be at most {context.get('le')}"
    if kind == "greater_than":
        return f"must be more than {context.get('gt')}"
    if kind == "literal_error":
        return f"must be one of {context.get('expected')}"
    return str(error["msg"]).removeprefix("Value error, ")


def _unknown_field(name: str, parent: tuple[str | int, ...], model: type[BaseModel]) -> str:
    """``unknown field 'x'``, and where it belongs when it is a field elsewhere, else the closest name."""
    here = _model_at(model, parent)
    below = _path_to_field(here, name)
    if below:
        if below[-1] == "then":  # a rule's (or a variant's) actions
            return f"unknown field '{name}': actions go under '{'.'.join(below)}:'"
        return f"unknown field '{name}': it goes under '{'.'.join(below)}:'"
    if parent and name in _fields(model):
        outer = next(str(part) for part in parent if isinstance(part, str))
        return f"unknown field '{name}' under '{outer}:': it goes beside '{outer}:'"
    hint = did_you_mean(name, _fields(here)) or did_you_mean(name, _field_names(model))
    return f"unknown field '{name}'{hint}"


def _fields(model: type[BaseModel] | None) -> set[str]:
    return {info.alias or name for name, info in model.model_fields.items()} if model else set()


def _model_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel]:
    """The model of the mapping at ``loc`` inside ``model`` (list indexes and mapping keys stepped over)."""
    current = model
    for part in loc:
        info = next((i for n, i in current.model_fields.items() if part in (n, i.alias)), None)
        if info is None:
            continue  # an index of a list, or a key of a mapping of models
        models = _models_in(info.annotation)
        if not models:
            break
        current = models[0]
    return current


def _path_to_field(model: type[BaseModel], name: str) -> tuple[str, ...]:
    """The shortest path of field names from ``model`` to a model below it that has a field ``name``."""
    pending: list[tuple[type[BaseModel], tuple[str, ...]]] = [(model, ())]
    visited = {model}
    while pending:
        current, path = pending.pop(0)
        if path and name in _fields(current):
            return path
        for field, info in current.model_fields.items():
            for inner in _models_in(info.annotation):
                if inner not in visited:
                    visited.add(inner)
                    pending.append((inner, (*path, info.alias or field)))
    return ()


def _field_names(model: type[BaseModel]) -> set[str]:
    """Every field name of ``model`` and the models inside it (for "did you mean")."""
    names: set[str] = set()
    pending: list[type[BaseModel]] = [model]
    visited: set[type[BaseModel]] = set()
    while pending:
        current = pending.pop()
        if current in visited:
            continue
        visited.add(current)
        for name, info in current.model_fields.items():
            names.add(info.alias or name)
            pending.extend(_models_in(info.annotation))
    return names


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)]


def _is_union_tag(part: str | int) -> bool:
    # pydantic adds the union member it tried ("str", "dict[str,str]", "Recommend") to loc;
    # field names here are always lowercase, class names are capitalised
    return isinstance(part, str) and (
        part in {"str", "int", "float", "bool", "list", "dict", "date", "datetime", "tuple"}
        or "[" in part
        or part.startswith("function-")
        or part[:1].isupper()
    )
