"""The active ruleset (compiled into a request plan), reloaded when a rule file changes.

Checks file modification times at most once per ``interval`` seconds, on a
request, and compiles a changed folder in a background thread: no request waits
for it (the one that noticed the change is served by the current rules, like
every other until the new ones are ready). The new plan replaces the old one in a
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
from smalldata.problems import ProblemsError
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
        if not self.ruleset.rules:
            logger.warning("smalldata: %s holds no rules: no page is personalised", self.folder)

    @property
    def engine(self) -> Engine:
        return self.plan.engine

    @property
    def ruleset(self) -> Ruleset:
        return self.plan.engine.ruleset

    def due(self) -> bool:
        """Is it time to look at the files again? (Lets a request skip calling :meth:`refresh`.)"""
        return self.monotonic() - self._checked >= self.interval

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
