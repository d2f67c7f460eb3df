"""The time spent inside the shop's own callables (declared sources, user and basket callables).

Before the apps are built, each callable the settings name (``package.module:function``) is
replaced in its module by a wrapper that adds its own run time to :attr:`Timer.spent`, keeping
its kind (a coroutine function stays one, a plain function stays plain). The middleware then
imports and calls it exactly as in production; the wrappers are removed afterwards.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class Timer:
    """Nanoseconds spent inside the wrapped callables (threads included)."""

    def __init__(self) -> None:
        self.spent = 0
        self.names: list[str] = []
        self._lock = threading.Lock()

    def add(self, ns: int) -> None:
        with self._lock:
            self.spent += ns


def named(settings: Any) -> list[str]:
    """Every ``module:function`` the settings name as a source or callable."""
    found = [ns.source for ns in settings.signals.values() if getattr(ns, "source", None)]
    found += [c for c in (settings.user.callable, settings.basket.callable) if c]
    return list(dict.fromkeys(found))


def _wrap(function: Callable[..., Any], timer: Timer) -> Callable[..., Any]:
    clock = time.perf_counter_ns
    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            try:
                return await function(*args, **kwargs)
            finally:
                timer.add(clock() - start)

        return timed_async

    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = clock()
        try:
            return function(*args, **kwargs)
        finally:
            timer.add(clock() - start)

    return timed


@contextmanager
def timed(settings: Any) -> Iterator[Timer]:
    """Wrap the settings' callables for the duration of the block."""
    timer = Timer()
    restore: list[tuple[Any, str, Any]] = []
    for dotted in named(settings):
        module_name, _, attribute = dotted.partition(":")
        *owners, last = attribute.split(".")
        try:
            owner: Any = importlib.import_module(module_name)
            for part in owners:
                owner = getattr(owner, part)
            original = getattr(owner, last)
        except Exception:  # the middleware reports a source it cannot import; not the bench's business
            continue
        if not callable(original) or (inspect.isclass(owner) and owners):
            continue  # a method of a class: left alone (its cost stays in the overhead, not shown apart)
        setattr(owner, last, _wrap(original, timer))
        restore.append((owner, last, original))
        timer.names.append(dotted)
    try:
        yield timer
    finally:
        for owner, last, original in restore:
            setattr(owner, last, original)
