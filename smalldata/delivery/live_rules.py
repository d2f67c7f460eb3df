"""The active ruleset (compiled into a request plan), reloaded when a rule file changes.

A watcher (the ``watchfiles`` library, which uvicorn's reloader uses: inotify and its
kin, polling where they are missing) runs beside the app from its start-up (or its
first request) to its shutdown and reloads the folder as soon as a file in it
changes, so a saved rule is live before the shop's next request, idle or busy. The
folder is compiled in a background thread, never on the event loop. Where the
watcher cannot run, requests look at the files' modification times at most once
per ``interval`` seconds and start the same reload; no request waits for it. The new plan replaces the old one in a
single assignment (an atomic swap: a request uses one plan from start to end). A
broken edit keeps the last good ruleset, is logged once, and stays visible in
:attr:`LiveRules.errors` (the health endpoint) until it is fixed. A folder left
without rule files (the only file deleted, the folder gone) counts as broken too;
files that hold no rules load, and the health endpoint says ``degraded`` while
nothing can be personalised. The health endpoint looks at the files itself before
it answers (:meth:`LiveRules.settle`), so it never reports on rules a page has not
happened to notice yet.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smalldata.delivery.plan import RequestPlan
from smalldata.foundation.problems import ProblemsError
from smalldata.rules import Engine, Ruleset, load_ruleset, rule_files
from smalldata.rules.load import RuleSettings

logger = logging.getLogger("smalldata")

Signature = tuple[tuple[str, int, int], ...]


class LiveRules:
    """A folder of rule files and the request plan compiled from it (``compile``).

    Construction loads the folder and raises :class:`ProblemsError` when it is
    broken: a shop should not start with rules nobody checked.
    """

    def __init__(
        self,
        folder: str | Path,
        settings: RuleSettings,
        compile: Callable[[Ruleset], RequestPlan],
        *,
        interval: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = Path(folder)
        self.settings = settings
        self.compile = compile
        self.interval = interval
        self.monotonic = monotonic
        self.errors: list[str] = []
        self.reloads = 0
        self._signature = self._scan()
        self.plan = compile(load_ruleset(self.folder, settings))
        self.loaded_at = datetime.now(UTC)
        self._checked = monotonic()
        self._reloading = threading.Lock()
        self._thread: threading.Thread | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._watch_failed = False
        self._stop: asyncio.Event | None = None
        self._handled: asyncio.Event | None = None
        self.changes_handled = 0  # changes of the folder the watcher has caught up with (tests wait on it)
        if not self.ruleset.rules:
            logger.warning("smalldata: %s holds no rules: no page is personalised", self.folder)

    @property
    def engine(self) -> Engine:
        return self.plan.engine

    @property
    def ruleset(self) -> Ruleset:
        return self.plan.engine.ruleset

    def due(self) -> bool:
        """Is it time to look at the files again? (Lets a request skip calling :meth:`refresh`.)

        Never while the watcher runs; without one, this starts it (a first request of an app
        whose server sends no lifespan events), and looks once per ``interval`` meanwhile."""
        if self.watching:
            return False
        if not self._watch_failed:
            self.start_watching()
        return self.monotonic() - self._checked >= self.interval

    @property
    def watching(self) -> bool:
        """Is the watcher running? (Not when the loop it ran in is gone: a test client's loop per request.)"""
        watcher = self._watcher
        return watcher is not None and not watcher.done() and not watcher.get_loop().is_closed()

    async def start(self) -> None:
        """Start the watcher (at application start-up)."""
        self.start_watching()

    def start_watching(self) -> None:
        """Start the watcher as a task of the running event loop, unless it runs already (or cannot)."""
        if self.watching or self._watch_failed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._stop, self._handled = asyncio.Event(), asyncio.Event()
        self._watcher = loop.create_task(self._watch(self._stop), name="smalldata-rules-watcher")

    async def stop(self) -> None:
        """Stop the watcher (at application shutdown)."""
        watcher, self._watcher, stop = self._watcher, None, self._stop
        if watcher is None or watcher.done():
            return
        loop = watcher.get_loop()
        if loop is not asyncio.get_running_loop():  # started by another app's lifespan (two test clients)
            if stop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(stop.set)
            return
        if stop is not None:
            stop.set()
        try:
            await asyncio.wait_for(watcher, 5)
        except (TimeoutError, asyncio.CancelledError):
            watcher.cancel()

    async def changed_since(self, handled: int, timeout: float = 30.0) -> None:
        """Wait until the watcher has caught up with a change after the ``handled``-th, and with the files
        as they are now (a save seen in two parts is waited for whole); for tests and tools."""
        async with asyncio.timeout(timeout):
            while self.changes_handled <= handled or self._signature != self._scan():
                assert self._handled is not None, "the watcher is not running"
                await self._handled.wait()

    async def _watch(self, stop: asyncio.Event) -> None:
        from watchfiles import awatch

        # an editor or a deploy may replace a single rule file by a rename: watch the folder it is in
        target = self.folder if self.folder.is_dir() else self.folder.parent
        try:
            async for _changes in awatch(target, stop_event=stop, debounce=100, step=50):  # 20 wake-ups a second
                await self.settle()  # compiled in a thread; swapped in before the next request is decided
                self.changes_handled += 1
                handled, self._handled = self._handled, asyncio.Event()
                if handled is not None:
                    handled.set()
        except Exception as exc:  # a folder that cannot be watched: requests look at it instead
            self._watch_failed = True
            logger.warning("smalldata: cannot watch %s for rule changes (%s); looking at it once a second", target,
                           exc)  # fmt: skip

    async def refresh(self) -> None:
        """Start reloading in the background if a rule file changed (looks at most once per interval)."""
        self.poll()

    def poll(self, *, now: bool = False) -> threading.Thread | None:
        """:meth:`refresh` without awaiting; returns the thread that reloads, if one was started.

        ``now`` looks at the files whatever the interval.
        """
        checked = self.monotonic()
        if (not now and checked - self._checked < self.interval) or self._reloading.locked():
            return None
        self._checked = checked
        signature = self._scan()
        if signature == self._signature or not self._reloading.acquire(blocking=False):
            return None
        self._signature = signature
        thread = self._thread = threading.Thread(target=self._reload_and_release, name="smalldata-rules", daemon=True)
        thread.start()
        return thread

    async def settle(self, timeout: float = 10.0) -> None:
        """Catch up with the files on disk: finish a reload in progress, then reload at once if they changed.

        For the health endpoint, so that it reports the files as they are now (a broken
        save, a new rule count) rather than as the last page happened to see them. Looking
        costs a ``stat`` per rule file; a reload is awaited off the event loop.
        """
        await self._join(timeout)
        if self.poll(now=True) is not None:
            await self._join(timeout)

    async def _join(self, timeout: float) -> None:
        thread = self._thread
        if thread is not None and thread.is_alive():
            await asyncio.to_thread(thread.join, timeout)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a reload in progress to finish (tests, tools; requests never wait)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _reload_and_release(self) -> None:
        try:
            self._reload()
        finally:
            self._reloading.release()

    def _reload(self) -> None:
        if not self._signature:
            self.errors = [f"{self.folder}: no rule files (deleted or moved?); keeping the last good rules"]
            logger.error("smalldata: %s has no rule files; keeping the last good rules", self.folder)
            return
        try:
            ruleset = load_ruleset(self.folder, self.settings)
            plan = self.compile(ruleset)
        except ProblemsError as exc:
            self.errors = [str(problem) for problem in exc.problems]
            logger.error("smalldata: rules in %s not reloaded, keeping the last good ones:\n%s", self.folder, exc)
            return
        except Exception as exc:  # a bug in loading must not take the shop down either
            self.errors = [f"{self.folder}: {type(exc).__name__}: {exc}"]
            logger.exception("smalldata: reloading rules from %s failed", self.folder)
            return
        self.plan = plan
        self.errors = []
        self.reloads += 1
        self.loaded_at = datetime.now(UTC)
        logger.info(
            "smalldata: reloaded %d rules from %s (version %s)", len(ruleset.rules), self.folder, ruleset.version
        )
        if not ruleset.rules:
            logger.warning("smalldata: %s holds no rules: no page is personalised", self.folder)

    def _scan(self) -> Signature:
        try:
            files = rule_files(self.folder)
            return tuple(sorted((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files))
        except OSError:
            return ()

    def health(self) -> dict[str, Any]:
        """What the health endpoint shows about the rules."""
        empty = not self.ruleset.rules
        return {
            "status": "degraded" if self.errors or empty else "ok",
            "ruleset_version": self.ruleset.version,
            "rules": len(self.ruleset.rules),
            "loaded_at": self.loaded_at.isoformat(timespec="seconds"),
            "reloads": self.reloads,
            "errors": list(self.errors),
            "warnings": [str(w) for w in self.ruleset.warnings]
            + ([f"{self.folder}: no rules, so no page is personalised"] if empty else []),
        }
