"""The functions a settings file names as ``"package.module:function"`` (a user callable, an event sink,
a declared signal's source).

:data:`Dotted` checks the form when the settings load; :func:`import_function` imports the
function and raises ``ValueError`` for people when it is not there; :func:`find_function`
is the request path's variant: the same import, remembered, and ``None`` (logged once)
instead of an error, so a broken name makes its signals unknown rather than a page fail.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Annotated, Any

from pydantic import AfterValidator

logger = logging.getLogger("smalldata")

_FORM = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def check_dotted(value: str) -> str:
    """``value`` if it has the form ``package.module:function``; else ``ValueError``."""
    if not _FORM.match(value):
        raise ValueError(f"'{value}' must name a function as \"package.module:function\"")
    return value


Dotted = Annotated[str, AfterValidator(check_dotted)]


def import_function(dotted: str) -> Callable[..., Any]:
    """``package.module:function`` (the part after ``:`` may be dotted, ``Class.method``) → the function."""
    module_name, _, attribute = dotted.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except Exception as exc:  # importing a shop's code can raise anything
        raise ValueError(f"cannot import '{dotted}': {type(exc).__name__}: {exc}") from None
    if not callable(target):
        raise ValueError(f"'{dotted}' is not callable")
    return target  # type: ignore[no-any-return]


@lru_cache(maxsize=64)
def find_function(dotted: str) -> Callable[..., Any] | None:
    """:func:`import_function`, remembered; ``None`` (logged once) when it cannot be imported."""
    try:
        return import_function(dotted)
    except ValueError as exc:
        logger.error("smalldata: %s; what it provides is unknown", exc)
        return None
