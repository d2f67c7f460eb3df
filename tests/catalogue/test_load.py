"""Catalogue files: YAML, JSON and CSV read alike; bad rows are skipped and reported with their line."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from smalldata.catalogue import (
    CatalogueSettings,
    Defaults,
    FileCatalogue,
    MemoryCatalogue,
    Product,
    describe_products,
    format_price,
    load_file,
    open_catalogue,
)
from smalldata.foundation.problems import ProblemsError

YAML = """\
products:
  - id: mug
    name: Hygge Mug
    url: /p/mug
    image: /img/mug.jpg
    price: 129.5
    currency: DKK
    categories: [kitchen, gifts]
    tags: [stoneware]
    related: [saucer]
    popularity: 50
    added: 2026-01-10
    in_stock: true
  - id: saucer
    name: Saucer
    price: 49
    categories: [kitchen]
    in_stock: false
"""

JSON = json.dumps({"products": [
    {"id": "mug", "name": "Hygge Mug", "url": "/p/mug", "image": "/img/mug.jpg", "price": 129.5,
     "currency": "DKK", "categories": ["kitchen", "gifts"], "tags": ["stoneware"], "related": ["saucer"],
     "popularity": 50, "added": "2026-01-10", "in_stock": True},
    {"id": "saucer", "name": "Saucer", "price": 49, "categories": ["kitchen"], "in_stock": False},
]}, indent=1)  # fmt: skip

CSV = """\
id,name,url,image,price,currency,categories,tags,related,popularity,added,in_stock
mug,Hygge Mug,/p/mug,/img/mug.jpg,"129,50",DKK,kitchen;gifts,stoneware,saucer,50,2026-01-10,yes
saucer,Saucer,,,49,,kitchen,,,,,no
"""

MUG = Product(
    id="mug", name="Hygge Mug", url="/p/mug", image="/img/mug.jpg", price=129.5, currency="DKK",
    categories=("kitchen", "gifts"), tags=("stoneware",), related=("saucer",), popularity=50.0,
    added=date(2026, 1, 10), in_stock=True,
)  # fmt: skip
SAUCER = Product(id="saucer", name="Saucer", url="/products/saucer", price=49.0, currency="SEK",
                 categories=("kitchen",), in_stock=False)


@pytest.mark.parametrize(("name", "text"), [("shop.yaml", YAML), ("shop.json", JSON), ("shop.csv", CSV)])
def test_every_format_gives_the_same_products(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    loaded = load_file(path, Defaults(currency="SEK"))
    assert loaded.problems == []
    assert loaded.products == [MUG, SAUCER]


def test_the_example_shops_json_shape_is_understood(tmp_path: Path) -> None:
    path = tmp_path / "products.json"
    path.write_text(json.dumps({"categories": {"coffee": "Coffee"}, "products": [
        {"id": "beans", "name": "Beans", "category": "coffee", "price": 89, "currency": "DKK",
         "complements": ["grinder"], "sales": 12, "added": "2026-02-01", "description": "ignored"},
    ]}))  # fmt: skip
    (product,) = load_file(path).products
    assert (product.categories, product.related, product.popularity) == (("coffee",), ("grinder",), 12.0)


def test_a_stock_count_of_zero_is_out_of_stock(tmp_path: Path) -> None:
    path = tmp_path / "shop.csv"
    path.write_text("id,name,stock\na,A,0\nb,B,3\n")
    assert [p.in_stock for p in load_file(path).products] == [False, True]


CSV_WITH_BAD_ROWS = """\
id,name,price,added
ok-1,Fine,10,2026-01-01
bad-price,Broken,abc,2026-01-01
,No id,5,

bad-date,Late,5,someday
ok-1,Again,5,2026-01-01
ok-2,"Two
lines",7,2026-01-01
too-many,X,1,2026-01-01,extra
ok-3,Last,3,
"""


def test_bad_csv_rows_are_skipped_and_reported_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "shop.csv"
    path.write_text(CSV_WITH_BAD_ROWS)
    loaded = load_file(path)
    assert [p.id for p in loaded.products] == ["ok-1", "ok-2", "ok-3"]
    assert [str(p) for p in loaded.problems] == [
        f"{path}:3:1: product 'bad-price': 'price' must be a number, not 'abc'",
        f"{path}:4:1: 'id' is missing",
        f"{path}:6:1: product 'bad-date': 'added' must be a date like 2026-03-01, not 'someday'",
        f"{path}:7:1: duplicate product id 'ok-1' (first on line 2)",
        f"{path}:10:1: has 5 cells but the header names 4 columns",
    ]


def test_bad_yaml_rows_point_at_the_bad_field(tmp_path: Path) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text("- {id: a, name: A}\n- id: b\n  name: B\n  currency: kroner\n- just text\n")
    loaded = load_file(path)
    assert [p.id for p in loaded.products] == ["a"]
    assert [str(p) for p in loaded.problems] == [
        f"{path}:4:13: product 'b': 'currency' must be a three-letter code like DKK, not 'kroner'",
        f"{path}:5:3: a product must be a mapping of fields",
    ]


def test_bad_json_rows_are_reported_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "shop.json"
    path.write_text('[\n {"id": "a", "name": "A"},\n {"id": "b", "name": "B",\n  "price": -3}\n]\n')
    loaded = load_file(path)
    assert [p.id for p in loaded.products] == ["a"]
    assert [str(p) for p in loaded.problems] == [f"{path}:4:12: product 'b': 'price' must be a number of at least 0"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("shop.json", "[{", "not valid JSON"),
        ("shop.yaml", "products: {a: 1}", "a catalogue must be a list of products"),
        ("shop.csv", "sku,title\n", "the CSV header needs at least the columns id and name"),
        ("shop.xml", "<products/>", "a catalogue must be a .yaml, .yml, .json or .csv file"),
    ],
)
def test_an_unusable_file_fails_loudly_at_start_up(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ProblemsError) as caught:
        FileCatalogue(path)
    assert message in str(caught.value)


def test_a_missing_file_fails_loudly_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(ProblemsError, match="cannot read catalogue"):
        FileCatalogue(tmp_path / "nope.csv")


def test_skipped_rows_are_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "shop.csv"
    path.write_text("id,name,price\na,A,x\n")
    catalogue = FileCatalogue(path)
    assert len(catalogue.problems) == 1
    assert f"{path}:2:1: product 'a'" in caplog.text


@pytest.mark.parametrize(
    ("price", "currency", "text"),
    [
        (249, "DKK", "249,00 kr."),
        (1249.5, "DKK", "1.249,50 kr."),
        (99, "SEK", "99,00 kr"),
        (19.5, "EUR", "19,50 €"),
        (19.5, "USD", "$19.50"),
        (1234, "GBP", "£1,234.00"),
        (10, "XYZ", "10.00 XYZ"),
        (10, None, "10.00"),
        (None, "DKK", None),
    ],
)
def test_prices_read_the_way_shoppers_write_them(price: float | None, currency: str | None, text: str | None) -> None:
    assert format_price(price, currency) == text


def test_open_catalogue_reads_the_configured_file_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "p.csv").write_text("id,name,price\nmug,Mug,10\n")
    settings = CatalogueSettings(path="data/p.csv", currency="DKK", url_pattern="/shop/{id}")
    catalogue = open_catalogue(settings, base=tmp_path)
    assert catalogue is not None
    mug = catalogue.get("mug")
    assert mug is not None and (mug.url, mug.currency) == ("/shop/mug", "DKK")
    assert open_catalogue(CatalogueSettings()) is None


def test_describe_products_names_known_products_for_a_chat_agent() -> None:
    catalogue = MemoryCatalogue([MUG, SAUCER])
    assert describe_products(catalogue, ["saucer", "gone", 3, "mug"], limit=1) == [
        {"id": "saucer", "name": "Saucer", "url": "/products/saucer", "price_text": "49,00 kr"}]
