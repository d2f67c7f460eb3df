"""Where events go: a JSON-lines file, a logger, an HTTP collector or a callable.

``emit`` never blocks and never raises: it is called on the request path. The
file and HTTP sinks queue events in memory (bounded: when full, the oldest
event is dropped and counted) and a background task writes them in batches,
every ``flush_seconds`` or as soon as ``batch_size`` events are waiting. Call
``await sink.aclose()`` on shutdown to write what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import httpx

logger = logging.getLogger("smalldata.events")

Event = dict[str, Any]


class EventSink(Protocol):
    """Receives events (JSON-ready dicts) one at a time."""

    def emit(self, event: Event) -> None:
        """Take one event; must not block or raise."""

    async def aclose(self) -> None:
        """Write what is pending and release resources."""

    def stats(self) -> dict[str, int]:
        """Counters for the health endpoint (``emitted``, ``written``, ``dropped``, ``failed``)."""


def dumps(event: Mapping[str, Any]) -> str:
    """One event as a compact JSON line (no newline)."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"), default=str)


class BatchingSink:
    """A bounded in-memory queue drained by a background task; subclasses write one batch."""

    def __init__(self, *, batch_size: int = 100, flush_seconds: float = 1.0, queue_size: int = 10_000) -> None:
        self.batch_size = max(1, batch_size)
        self.flush_seconds = flush_seconds
        self.queue_size = max(1, queue_size)
        self.emitted = self.written = self.dropped = self.failed = 0
        self._queue: deque[Event] = deque()
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._closing = False

    def emit(self, event: Event) -> None:
        self.emitted += 1
        if len(self._queue) >= self.queue_size:
            self._queue.popleft()  # the collector is behind: lose the oldest, keep the page fast
            self.dropped += 1
        self._queue.append(event)
        if not self._started():
            return
        if len(self._queue) >= self.batch_size and self._wake is not None:
            self._wake.set()

    def stats(self) -> dict[str, int]:
        return {"emitted": self.emitted, "written": self.written, "dropped": self.dropped,
                "failed": self.failed, "queued": len(self._queue)}  # fmt: skip

    async def flush(self) -> None:
        """Write everything queued now."""
        while self._queue:
            batch = [self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))]
            try:
                await self.write(batch)
            except Exception as exc:
                self.failed += len(batch)
                logger.warning("smalldata: %d events lost: %s: %s", len(batch), type(exc).__name__, exc)
            else:
                self.written += len(batch)

    async def write(self, batch: list[Event]) -> None:
        """Write one batch (subclasses)."""
        raise NotImplementedError

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            # let the writer finish its batch and stop, rather than cancel it mid-write and lose events
            self._closing = True
            if self._wake is not None:
                self._wake.set()
            await asyncio.gather(task, return_exceptions=True)
        self._closing = False
        await self.flush()

    def _started(self) -> bool:
        """Start the writer task in the running loop (emit can be called before any loop runs)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        task = self._task
        if task is not None and not task.done() and task.get_loop() is loop:
            return True
        self._wake = asyncio.Event()
        self._task = loop.create_task(self._run(), name="smalldata-events")
        return True

    async def _run(self) -> None:
        assert self._wake is not None
        wake = self._wake
        while not self._closing:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that
            # arrives as the wait ends, and asyncio.run would then wait for this loop for ever
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.flush_seconds):
                    await wake.wait()
            wake.clear()
            await self.flush()


class JsonLinesSink(BatchingSink):
    """Appends one JSON object per line to ``path`` (the default sink; ``smalldata report`` reads it).

    The file is opened for each batch, so an outside rotation (``logrotate``) is followed at
    once. When it would grow past ``max_bytes`` it is rotated here: ``path`` becomes ``path.1``,
    ``path.1`` becomes ``path.2``… and the oldest beyond ``backups`` is deleted, so a flood of
    events never fills the disk (``max_bytes=0``: no limit).
    """

    def __init__(self, path: str | Path, *, max_bytes: int = 100 * 1024 * 1024, backups: int = 5,
                 **options: Any) -> None:
        super().__init__(**options)
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = backups
        self.rotations = 0

    async def write(self, batch: list[Event]) -> None:
        await asyncio.to_thread(self._append, batch)

    def _append(self, batch: list[Event]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = "".join(dumps(event) + "\n" for event in batch).encode("utf-8")
        if self.max_bytes and self._size() + len(text) > self.max_bytes and self._size() > 0:
            self._rotate()
        with self.path.open("ab") as out:
            out.write(text)

    def _size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def _rotate(self) -> None:
        """``path`` → ``path.1`` → … → ``path.<backups>``, the oldest dropped (another worker may race: fine)."""
        for n in range(self.backups, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            newer = self.path.with_name(f"{self.path.name}.{n - 1}") if n > 1 else self.path
            with contextlib.suppress(FileNotFoundError):
                if n == self.backups:
                    older.unlink(missing_ok=True)
                os.replace(newer, older)
        if self.backups == 0:
            self.path.unlink(missing_ok=True)
        self.rotations += 1

    def write_now(self) -> None:
        """Write the queue synchronously (scripts and tests without an event loop)."""
        batch = list(self._queue)
        self._queue.clear()
        if batch:
            self._append(batch)
            self.written += len(batch)


class HttpSink(BatchingSink):
    """POSTs batches as ``{"events": [...]}`` to a collector; a failed batch is counted and dropped."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        headers: Mapping[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.url = url
        self.timeout = timeout
        self.headers = dict(headers or {})
        self._client = client
        self._own_client = client is None

    async def write(self, batch: list[Event]) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout), headers=self.headers)
        async with asyncio.timeout(self.timeout):
            response = await self._client.post(self.url, json={"events": batch})
        response.raise_for_status()

    async def aclose(self) -> None:
        await super().aclose()
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None


class LoggerSink:
    """Logs each event as a JSON line at INFO on ``logger`` (``smalldata.events`` by default)."""

    def __init__(self, name: str = "smalldata.events") -> None:
        self.logger = logging.getLogger(name)
        self.emitted = 0

    def emit(self, event: Event) -> None:
        self.emitted += 1
        self.logger.info("%s", dumps(event))

    async def aclose(self) -> None:
        return None

    def stats(self) -> dict[str, int]:
        return {"emitted": self.emitted, "written": self.emitted, "dropped": 0, "failed": 0}


class CallableSink:
    """Hands each event to ``function`` (sync, or async: then it runs as a task). Its errors are logged."""

    def __init__(self, function: Callable[[Event], Any]) -> None:
        self.function = function
        self.emitted = self.failed = 0
        self._tasks: set[asyncio.Task[Any]] = set()

    def emit(self, event: Event) -> None:
        self.emitted += 1
        try:
            result = self.function(event)
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._tasks.add(task)  # keep a reference until done, or it may be collected mid-flight
                task.add_done_callback(self._done)
        except Exception:
            self.failed += 1
            logger.exception("smalldata: event callable failed")

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.failed += 1
            logger.error("smalldata: event callable failed: %r", task.exception())

    async def aclose(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def stats(self) -> dict[str, int]:
        return {"emitted": self.emitted, "written": self.emitted - self.failed, "dropped": 0, "failed": self.failed}


class NullSink:
    """Drops every event (``events: {sink: none}``)."""

    def emit(self, event: Event) -> None:
        return None

    async def aclose(self) -> None:
        return None

    def stats(self) -> dict[str, int]:
        return {"emitted": 0, "written": 0, "dropped": 0, "failed": 0}
