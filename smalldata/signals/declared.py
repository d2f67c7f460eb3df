"""Signals a shop declares itself (``signals:`` in ``smalldata.yaml``): typed fields and where they come from.

::

    signals:
      loyalty:
        source: myshop.signals:loyalty        # callable(request) -> mapping, sync or async
        # or: url: https://crm.example/loyalty/{user.id}
        fields:
          points: number
          member_since: date
          b2b: yesno
          favourite_stores: list
          tier: text
      user:                                   # more fields of the logged-in customer's profile
        fields:
          loyalty_points: number

A declared field is a signal like the built-in ones: rules read ``loyalty.points``
with every operator its type allows, ``smalldata check`` knows it, and ``try --set``
and rule tests' ``given:`` accept it. The values come at run time from
:mod:`smalldata.signals.shop`; :func:`smalldata.signals.catalog.catalog` adds them to the built-in ones.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from smalldata.foundation.dotted import Dotted
from smalldata.foundation.remote import RemoteSettings, check_http_url
from smalldata.signals.spec import Kind

FieldType = Literal["text", "number", "yesno", "date", "datetime", "list"]

#: The words a declaration uses, and the kinds of value the rule compiler knows them by.
KINDS: dict[str, Kind] = {
    "text": "text", "number": "number", "yesno": "bool", "date": "date", "datetime": "datetime", "list": "list",
}

#: The one placeholder a ``url:`` may hold: the logged-in customer's id (known before any page is decided).
URL_KEY = "{user.id}"

NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class NamespaceSettings(RemoteSettings):
    """One declared namespace: its typed ``fields`` and its ``source`` (a callable) or ``url``.

    ``timeout_ms`` and the other settings of a remote service apply to the ``url``, and
    ``timeout_ms`` to an async ``source`` too: a page never waits longer for them.
    """

    source: Dotted | None = None
    url: str | None = None
    fields: dict[str, FieldType] = Field(min_length=1)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        check_http_url(value)
        placeholders = re.findall(r"\{[^}]*\}", value)
        if placeholders != [URL_KEY]:
            raise ValueError(f"'{value}' must contain {URL_KEY} once (the customer's id), and no other placeholder")
        return value

    @field_validator("fields")
    @classmethod
    def _field_names(cls, fields: dict[str, FieldType]) -> dict[str, FieldType]:
        for name in fields:
            if not NAME.match(name):
                raise ValueError(f"'{name}' is not a field name: use lower-case letters, digits and _ (like points)")
        return fields


__all__ = ["KINDS", "NAME", "URL_KEY", "FieldType", "NamespaceSettings"]
