"""Reading a catalogue file (YAML, JSON or CSV) into products, reporting bad rows with their line.

A bad row never stops the shop: it is skipped and reported as a
:class:`~smalldata.foundation.problems.Problem` (``products.csv:14:1: product 'mug-1':
price must be a number, not 'abc'``). Only a file that cannot be read or
parsed at all is an error for the caller.

Shapes accepted:

- YAML / JSON: a list of products, or a mapping with a ``products:`` list;
- CSV: a header row, ``,`` between columns, ``;`` between the items of
  ``categories``, ``tags`` and ``related``.

Columns: ``id``, ``name`` (required); ``url`` (default from ``url_pattern``),
``image``, ``price``, ``currency``, ``categories`` (or one ``category``),
``tags``, ``related`` (or ``complements``), ``popularity`` (or ``sales``),
``added`` (a date), ``in_stock`` (or a ``stock`` count). Other columns are ignored.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from smalldata.catalogue.product import Product
from smalldata.foundation.dates import to_date
from smalldata.foundation.problems import Position, Problem
from smalldata.foundation.yamlpos import MAX_FILE_BYTES, Document, YamlError, load_text

FORMATS = ("yaml", "json", "csv")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_TRUE = {"true", "yes", "y", "1", "in_stock", "instock"}
_FALSE = {"false", "no", "n", "0", "out_of_stock", "outofstock", ""}
MAX_TEXT = 2000


class CatalogueError(Exception):
    """The whole file is unusable (unreadable, not YAML/JSON/CSV, wrong shape)."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


@dataclass(frozen=True)
class Defaults:
    """What a row without a value gets."""

    currency: str | None = None
    url_pattern: str = "/products/{id}"


@dataclass
class Loaded:
    """The products of one file (in file order) and the rows that were skipped."""

    products: list[Product]
    problems: list[Problem]


def file_format(path: str | Path) -> str:
    """``yaml``, ``json`` or ``csv`` from the file name."""
    suffix = Path(path).suffix.lower().lstrip(".")
    kind = "yaml" if suffix == "yml" else suffix
    if kind not in FORMATS:
        raise ValueError(f"'{path}': a catalogue must be a .yaml, .yml, .json or .csv file")
    return kind


def load_file(path: str | Path, defaults: Defaults | None = None) -> Loaded:
    """Read and parse ``path``; raises :class:`CatalogueError` when the file is unusable."""
    file = str(path)
    try:
        kind = file_format(path)
        raw = Path(path).read_bytes()
    except ValueError as exc:
        raise CatalogueError(Problem(Position(file, 1, 1), str(exc))) from None
    except OSError as exc:
        raise CatalogueError(Problem(Position(file, 1, 1), f"cannot read catalogue: {exc.strerror}")) from None
    return parse(raw, file, kind, defaults or Defaults())


def parse(raw: bytes, file: str, kind: str, defaults: Defaults) -> Loaded:
    """Parse a catalogue file's bytes of the given ``kind``."""
    if kind == "csv":
        return _collect(_csv_rows(raw, file), defaults)
    if kind == "json":
        return _parse_json(raw, file, defaults)
    try:
        doc = load_text(raw, file)
    except YamlError as exc:
        raise CatalogueError(exc.problem) from None
    rows, prefix = _rows_of(doc.data, file)
    return _collect(_positioned(rows, prefix, doc), defaults)


# -- JSON and YAML -----------------------------------------------------------------------------

Row = tuple[Any, Callable[[str | None], Position]]
"""A raw row and where it (or one of its fields) is in the file."""


def _parse_json(raw: bytes, file: str, defaults: Defaults) -> Loaded:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", 1)
        col = getattr(exc, "colno", 1)
        raise CatalogueError(Problem(Position(file, line, col), f"not valid JSON: {exc}")) from None
    rows, prefix = _rows_of(data, file)
    loaded = _collect(_positioned(rows, prefix, None, file), defaults)
    if loaded.problems and len(raw) <= MAX_FILE_BYTES:
        # json has no positions; JSON is YAML, so re-read the (rare) broken file for its lines
        with contextlib.suppress(YamlError):
            loaded = _collect(_positioned(rows, prefix, load_text(raw, file)), defaults)
    return loaded


def _rows_of(data: Any, file: str) -> tuple[list[Any], tuple[str | int, ...]]:
    if isinstance(data, dict) and isinstance(data.get("products"), list):
        return data["products"], ("products",)
    if isinstance(data, list):
        return data, ()
    raise CatalogueError(Problem(Position(file, 1, 1), "a catalogue must be a list of products or have 'products:'"))


def _positioned(rows: list[Any], prefix: tuple[str | int, ...], doc: Document | None, file: str = "") -> Iterator[Row]:
    for index, row in enumerate(rows):
        path = (*prefix, index)

        def where(field: str | None, path: tuple[str | int, ...] = path) -> Position:
            if doc is None:
                return Position(file, 1, 1)
            return doc.at((*path, field)) if field else doc.at(path)

        yield row, where


# -- CSV ---------------------------------------------------------------------------------------


def _csv_rows(raw: bytes, file: str) -> Iterator[Row]:
    try:
        text = raw.decode("utf-8-sig")  # Excel writes a byte-order mark
    except UnicodeDecodeError as exc:
        raise CatalogueError(Problem(Position(file, 1, 1), f"not UTF-8 text: {exc.reason}")) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise CatalogueError(Problem(Position(file, 1, 1), "the CSV file is empty (it needs a header row)")) from None
    except csv.Error as exc:
        raise CatalogueError(Problem(Position(file, 1, 1), f"not valid CSV: {exc}")) from None
    if "id" not in header or "name" not in header:
        raise CatalogueError(Problem(Position(file, 1, 1), "the CSV header needs at least the columns id and name"))
    return _csv_body(reader, header, file)


def _csv_body(reader: Any, header: list[str], file: str) -> Iterator[Row]:
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CatalogueError(Problem(Position(file, line, 1), f"not valid CSV: {exc}")) from None
        position = Position(file, line, 1)
        line = reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue  # blank lines between rows are harmless
        if len(cells) > len(header):
            row: Any = _Malformed(f"has {len(cells)} cells but the header names {len(header)} columns")
        else:
            row = {name: cell.strip() or None for name, cell in zip(header, cells, strict=False)}
        yield row, _fixed(position)


@dataclass(frozen=True)
class _Malformed:
    """A CSV line that is not a row (the reason is reported as its problem)."""

    message: str


def _fixed(position: Position) -> Callable[[str | None], Position]:
    # a CSV row has one line for all its fields
    def where(field: str | None) -> Position:
        return position

    return where


# -- rows → products ---------------------------------------------------------------------------


def _collect(rows: Iterator[Row], defaults: Defaults) -> Loaded:
    products: list[Product] = []
    problems: list[Problem] = []
    seen: dict[str, Position] = {}
    for row, where in rows:
        try:
            product = product_from_row(row, defaults)
        except _BadField as exc:
            problems.append(Problem(where(exc.field), _about(row, exc.message)))
            continue
        if product.id in seen:
            first = seen[product.id]
            problems.append(Problem(where("id"), f"duplicate product id '{product.id}' (first on line {first.line})"))
            continue
        seen[product.id] = where(None)
        products.append(product)
    return Loaded(products, problems)


def _about(row: Any, message: str) -> str:
    ident = row.get("id") if isinstance(row, Mapping) else None
    if isinstance(ident, str | int) and not isinstance(ident, bool) and str(ident).strip():
        return f"product '{str(ident).strip()[:80]}': {message}"
    return message


class _BadField(ValueError):
    def __init__(self, message: str, field: str | None = None) -> None:
        self.message = message
        self.field = field
        super().__init__(message)


def product_from_row(row: Any, defaults: Defaults | None = None) -> Product:
    """One row (a mapping of column names to values) as a :class:`Product`; raises ``ValueError``."""
    defaults = defaults or Defaults()
    if isinstance(row, _Malformed):
        raise _BadField(row.message)
    if not isinstance(row, Mapping):
        raise _BadField("a product must be a mapping of fields")
    ident = _text(row, "id", required=True)
    assert ident is not None
    url = _text(row, "url") or defaults.url_pattern.replace("{id}", ident)
    return Product(
        id=ident,
        name=_text(row, "name", required=True) or "",
        url=url,
        image=_text(row, "image"),
        price=_number(row, "price"),
        currency=_currency(row) or defaults.currency,
        categories=_list(row, "categories", "category"),
        tags=_list(row, "tags"),
        related=_list(row, "related", "complements"),
        popularity=_number(row, "popularity", "sales") or 0.0,
        added=_date(row, "added"),
        in_stock=_in_stock(row),
    )


def _pick(row: Mapping[str, Any], *names: str) -> tuple[str, Any]:
    for name in names:
        if row.get(name) is not None:
            return name, row[name]
    return names[0], None


def _text(row: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = row.get(name)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _BadField(f"'{name}' is missing", name)
        return None
    if not isinstance(value, str):
        raise _BadField(f"'{name}' must be text", name)
    return value.strip()[:MAX_TEXT]


def _number(row: Mapping[str, Any], *names: str) -> float | None:
    name, value = _pick(row, *names)
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().replace(" ", "").replace("\u00a0", "")
        # "1,249.50" and "249,50" both happen in shop exports
        text = text.replace(",", "") if "." in text else text.replace(",", ".")
        try:
            value = float(text)
        except ValueError:
            raise _BadField(f"'{name}' must be a number, not '{value[:40]}'", name) from None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value or value < 0:
        raise _BadField(f"'{name}' must be a number of at least 0", name)
    return float(value)


def _currency(row: Mapping[str, Any]) -> str | None:
    value = _text(row, "currency")
    if value is not None and not _CURRENCY.match(value.upper()):
        raise _BadField(f"'currency' must be a three-letter code like DKK, not '{value[:20]}'", "currency")
    return value.upper() if value else None


def _list(row: Mapping[str, Any], *names: str) -> tuple[str, ...]:
    name, value = _pick(row, *names)
    if value is None:
        return ()
    items: list[Any] = value.split(";") if isinstance(value, str) else value if isinstance(value, list) else [value]
    found: list[str] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise _BadField(f"'{name}' must be a list of names", name)
        text = str(item).strip()
        if text:
            found.append(text[:MAX_TEXT])
    return tuple(dict.fromkeys(found))


def _date(row: Mapping[str, Any], name: str) -> date | None:
    value = row.get(name)
    if value is None:
        return None
    day = to_date(value)
    if day is not None:
        return day
    raise _BadField(f"'{name}' must be a date like 2026-03-01, not '{str(value)[:40]}'", name)


def _in_stock(row: Mapping[str, Any]) -> bool:
    if row.get("in_stock") is None and row.get("stock") is not None:
        count = _number(row, "stock")
        return bool(count and count > 0)
    value = row.get("in_stock")
    if value is None or isinstance(value, bool):
        return value is not False
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    if isinstance(value, int | float):
        return value > 0
    raise _BadField(f"'in_stock' must be true or false, not '{str(value)[:40]}'", "in_stock")
