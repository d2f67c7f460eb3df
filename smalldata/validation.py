"""Pydantic validation whose errors point at the file, line and column of the bad value."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from smalldata.problems import Problem
from smalldata.yamlpos import Document, Path

M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], data: Any, doc: Document, path: Path = ()) -> tuple[M | None, list[Problem]]:
    """Validate ``data`` (found at ``path`` in ``doc``) as ``model``; problems carry positions."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, [_problem(error, doc, path) for error in exc.errors()]


def _problem(error: Any, doc: Document, base: Path) -> Problem:
    loc: tuple[str | int, ...] = tuple(part for part in error["loc"] if not _is_union_tag(part))
    path = (*base, *loc)
    kind = error["type"]
    where = ".".join(str(part) for part in loc) or "value"
    if kind == "extra_forbidden":
        return Problem(doc.key_at(path), f"unknown field '{loc[-1]}'")
    if kind == "missing":
        return Problem(doc.at(path[:-1]), f"missing field '{loc[-1]}'")
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    return Problem(doc.at(path), f"{where}: {message}")


def _is_union_tag(part: str | int) -> bool:
    # pydantic adds the name of the union member it tried ("str", "dict[str,str]") to loc
    return isinstance(part, str) and (
        part in {"str", "int", "float", "bool", "list", "dict", "date", "datetime"}
        or "[" in part
        or part.startswith("function-")
    )
