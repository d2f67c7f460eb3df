"""The functions a settings file names as ``"package.module:function"`` (a user callable, an event sink,
a declared signal's source).

:data:`Dotted` checks the form when the settings load; :func:`import_function` imports the
function and raises ``ValueError`` for people when it is not there. On the request path the
shop's functions are imported and called by :class:`smalldata.foundation.guest.Guest` (a broken name
makes its signals unknown, logged once, rather than a page fail).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator

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

