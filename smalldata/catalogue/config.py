"""``catalogue:`` in ``smalldata.yaml``.

Example::

    catalogue:
      path: data/products.csv        # .yaml, .yml, .json or .csv
      currency: DKK                  # for rows without a currency
      url_pattern: /products/{id}    # for rows without a url
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator


class CatalogueSettings(BaseModel):
    """Where the product catalogue comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str | None = None
    currency: str | None = None
    url_pattern: str = "/products/{id}"
    check_seconds: float = Field(default=1.0, ge=0, le=3600)

    @field_validator("path")
    @classmethod
    def _known_format(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().endswith((".yaml", ".yml", ".json", ".csv")):
            raise ValueError(f"'{value}': a catalogue must be a .yaml, .yml, .json or .csv file")
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[A-Z]{3}$", value):
            raise ValueError(f"'{value}' is not a currency code like DKK")
        return value

    @field_validator("url_pattern")
    @classmethod
    def _has_id(cls, value: str) -> str:
        if "{id}" not in value:
            raise ValueError("url_pattern must contain {id}, where the product id goes")
        return value
