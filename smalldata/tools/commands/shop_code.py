"""``smalldata check`` imports the shop's own functions that ``smalldata.yaml`` names (docs/shop-code.md).

``user.callable``, ``basket.callable``, ``events.callable`` and every ``signals.<namespace>.source``
are imported as the app would import them (from the folder the command runs in). One that
is not there — no such module, no such function in it, or not callable — is an error at its
place in the settings file (a typo would otherwise only show as unknown signals in production).
A module that exists but fails while importing (e.g. Django models imported before Django is
set up) is a warning: the app may well import it, once its framework is configured.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from smalldata.foundation.problems import Position, Problem, Severity, did_you_mean
from smalldata.foundation.yamlpos import Document, YamlError, load_text
from smalldata.settings import DEFAULT_FILE, Settings

__all__ = ["named_functions", "shop_code_problems"]


def named_functions(settings: Settings) -> list[tuple[tuple[str, ...], str]]:
    """``(settings path, "package.module:function")`` of every function of the shop's the settings name."""
    named = [
        (("user", "callable"), settings.user.callable),
        (("basket", "callable"), settings.basket.callable),
        (("events", "callable"), settings.events.callable),
        *((("signals", namespace, "source"), declared.source) for namespace, declared in settings.signals.items()),
    ]
    return [(path, dotted) for path, dotted in named if dotted]


def shop_code_problems(settings: Settings, config: str | None) -> list[Problem]:
    """A problem for each named function that cannot be imported, at its ``file:line:col`` in ``config``
    (the settings file: None is ``smalldata.yaml`` when it exists)."""
    named = named_functions(settings)
    if not named:
        return []
    document = _document(config)
    problems: list[Problem] = []
    for path, dotted in named:
        found = _import_problem(dotted)
        if found is not None:
            severity, why = found
            position = document.at(path) if document is not None else Position(config or DEFAULT_FILE, 1, 1)
            problems.append(Problem(position, f"{'.'.join(path)}: {why}", severity))
    return problems


def _document(config: str | None) -> Document | None:
    file = config if config is not None else DEFAULT_FILE
    try:
        return load_text(Path(file).read_bytes(), file)
    except (OSError, YamlError):  # the settings loaded already, so this is only a missing default file
        return None


def _import_problem(dotted: str) -> tuple[Severity, str] | None:
    """``("error" | "warning", why)`` when ``dotted`` does not import as a callable; None when it does."""
    module_name, _, attribute = dotted.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            return "error", f"cannot import '{dotted}': there is no module '{missing}' (from {Path.cwd()})"
        return "warning", f"importing '{module_name}' failed: {type(exc).__name__}: {exc}"
    except Exception as exc:  # the shop's module ran and raised: maybe its framework is not set up here
        return "warning", (f"importing '{module_name}' failed: {type(exc).__name__}: {exc} (is the app's "
                           "configuration, such as DJANGO_SETTINGS_MODULE, set where check runs?)")
    owner = module_name
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except Exception:
            names = [name for name in dir(target) if not name.startswith("_")]
            return "error", f"cannot import '{dotted}': '{owner}' has no '{part}'{did_you_mean(part, names)}"
        owner = f"{owner}:{part}" if owner == module_name else f"{owner}.{part}"
    if not callable(target):
        return "error", f"'{dotted}' is not callable (it is a {type(target).__name__})"
    return None
