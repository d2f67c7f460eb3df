"""The shop's own code (``user.callable``, ``basket.callable``, a declared ``source``), called safely.

Every such function is a :class:`Guest`: called with one argument (the page's Starlette
``Request``, see ``docs/shop-code.md``), in a bounded pool of threads (:class:`GuestPool`)
unless it is known to answer an awaitable, within its timeout. Whatever goes wrong (it
raises, ``CancelledError`` included; it is late; it answers an object of a type the caller
does not accept; it cannot be imported) is a failure: :data:`FAILED` comes back, the
failure is logged once per function and kind (then at most once a minute), and the page
goes on without those signals.

What smalldata awaits of the shop is never cancelled by smalldata: an awaitable the shop
hands out may be shared between pages (a cache filling once for everyone), so a late one
is left to finish on its own and its answer dropped. A cancellation of the page's own task
(the client went away, the server stops) still propagates.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import inspect
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Final

from smalldata.foundation.dotted import import_function

logger = logging.getLogger("smalldata.guest")

__all__ = ["FAILED", "Guest", "GuestPool", "WrongAnswer", "is_async", "shared_pool"]



class _Failed:
    """The type of :data:`FAILED`."""

    def __repr__(self) -> str:
        return "FAILED"

    def __bool__(self) -> bool:
        return False


#: What :meth:`Guest.call` answers when the shop's code failed (distinct from a ``None`` it answered).
FAILED: Final = _Failed()

#: How often a failure that keeps happening is logged again (with how many times it happened since).
LOG_EVERY = 60.0

#: (what, function, kind of failure) → (when last logged, how many times since): shared by every
#: :class:`Guest` of one function, so an app built again (``smalldata try``, tests) still logs it once.
_LOGGED: dict[tuple[str, str, str], tuple[float, int]] = {}

Read = Callable[[Any], Any]
"""Turns an answer into what the caller keeps (plain data), or raises :class:`WrongAnswer`. For a plain
function it runs in the same thread, so reading a framework's lazy object (a Django user) may query."""

#: How many late awaitables of one function may still be running before it is not called at all (a hung
#: source must not pile up work for every page).
MAX_LATE = 256


class WrongAnswer(Exception):
    """Raised by a :data:`Read` for an answer of a type the caller cannot use (the message says why)."""


class GuestPool:
    """The threads plain functions of the shop run in (``shop_code.threads``), one pool per app.

    A dedicated pool, not the loop's default executor: a function stuck for seconds holds
    one of these threads, never a thread the server or other libraries need. Threads start
    when first needed.
    """

    def __init__(self, threads: int = 4) -> None:
        self.threads = threads
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._closed = False
        self._stuck = 0  # threads held by calls that outlasted their page's timeout
        self._lock = threading.Lock()  # _stuck goes down in the worker threads

    @property
    def stuck(self) -> bool:
        """Every thread is held by a call that outlasted its timeout: a new call would only wait in vain."""
        return self._stuck >= self.threads

    def late(self, call: concurrent.futures.Future[Any]) -> None:
        """``call`` (running) outlasted its timeout: it holds its thread until it ends."""
        with self._lock:
            self._stuck += 1
        call.add_done_callback(self._freed)

    def _freed(self, call: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self._stuck -= 1

    def submit(self, function: Callable[[Any], Any], argument: Any) -> concurrent.futures.Future[Any] | None:
        """Run ``function(argument)`` in a thread (with the caller's context variables); None once closed."""
        if self._closed:
            return None
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(self.threads, thread_name_prefix="smalldata-shop")
        context = contextvars.copy_context()
        return self._executor.submit(context.run, function, argument)

    def open(self) -> None:
        """Take calls again (at application start-up: a server restarted in the same process serves the same app)."""
        self._closed = False

    def close(self) -> None:
        """Stop taking calls and drop queued ones (at application shutdown); running calls finish on their own."""
        self._closed = True
        executor, self._executor = self._executor, None  # threads start afresh if the app is started again
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


_SHARED: list[GuestPool] = []


def shared_pool() -> GuestPool:
    """One pool for code that builds signals outside an app (``smalldata try`` and ``test``, the console's
    Try page): each imagined request builds its providers afresh, and they all share these threads."""
    if not _SHARED:
        _SHARED.append(GuestPool())
    return _SHARED[0]


def is_async(function: Callable[..., Any]) -> bool:
    """Known to answer an awaitable without calling it: ``async def``, a partial or method of one, or an
    object whose class has an ``async def __call__`` (``asgiref.sync.sync_to_async``)."""
    if inspect.iscoroutinefunction(function):
        return True
    return inspect.iscoroutinefunction(type(function).__call__)  # a plain function's type: a slot, never async


class Guest:
    """One function of the shop's, named in the settings as ``dotted`` (``what`` names it in the log).

    ``timeout`` is in seconds; ``read`` turns an answer into what the caller keeps, refusing answers
    of a type it cannot use.
    """

    def __init__(self, dotted: str, what: str, *, timeout: float, pool: GuestPool, read: Read | None = None) -> None:
        self.dotted = dotted
        self.what = what
        self.timeout = timeout
        self.pool = pool
        self.read = read
        self._function: Callable[..., Any] | None = None
        self._imported = False
        self._on_loop = False  # learnt: answers an awaitable, so it is called on the loop, not in a thread
        self._late: set[asyncio.Future[Any]] = set()  # awaitables left to finish (strong references)

    def function(self) -> Callable[..., Any] | None:
        """The function, imported the first time it is needed; None (logged once) if it cannot be."""
        if not self._imported:
            self._imported = True
            try:
                self._function = import_function(self.dotted)
            except ValueError as exc:
                self._fail("import", f"{_one_line(exc)}; what it provides is unknown")
            else:
                self._on_loop = is_async(self._function)
        return self._function

    async def call(self, argument: Any) -> Any:
        """``function(argument)``, awaited if it answers an awaitable, within the timeout; :data:`FAILED` if not."""
        function = self.function()
        if function is None:
            return FAILED
        if len(self._late) >= MAX_LATE:
            return self._fail("hung", f"not called: {len(self._late)} earlier calls are still running late; "
                                      "read as unknown for this page")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        if self._on_loop:
            try:
                answer = function(argument)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # CancelledError from the shop's own code too: a failure, not ours
                return self._raised(exc)
        elif self.pool.stuck:  # fail now rather than wait out the timeout for a thread that will not come
            return self._fail("busy", f"not called: all {self.pool.threads} threads are held by calls that "
                                      "outlasted their timeout; read as unknown for this page")
        else:
            submitted = self.pool.submit(self._in_thread, argument)
            if submitted is None:
                return self._fail("closed", "not called: the application is shutting down")
            answer = await self._wait(asyncio.wrap_future(submitted, loop=loop), deadline, submitted)
            if answer is FAILED or not inspect.isawaitable(answer):
                return answer  # read in the thread already
            self._on_loop = True  # e.g. sync_to_async(fn): no thread hop for it from now on
        if inspect.isawaitable(answer):
            answer = await self._wait(asyncio.ensure_future(answer), deadline)
            if answer is FAILED:
                return FAILED
            if inspect.isawaitable(answer):
                _discard(answer)
                return self._fail("type", "answered an awaitable that answered another awaitable; read as unknown")
        return self._read(answer)

    def _in_thread(self, argument: Any) -> Any:
        """The function and the reading of its answer, in one of the pool's threads."""
        assert self._function is not None
        answer = self._function(argument)
        return answer if inspect.isawaitable(answer) else self._read(answer)

    def _read(self, answer: Any) -> Any:
        if answer is FAILED or self.read is None:
            return answer
        try:
            return self.read(answer)
        except WrongAnswer as exc:
            return self._fail("type", f"{exc}; read as unknown")

    async def _wait(self, future: asyncio.Future[Any], deadline: float,
                    thread: concurrent.futures.Future[Any] | None = None) -> Any:
        """The answer of ``future`` by ``deadline`` without ever cancelling the shop's awaitable."""
        if not future.done():
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                if remaining > 0:
                    await asyncio.wait((future,), timeout=remaining)  # waits; never cancels what it waits for
            except asyncio.CancelledError:  # our page was cancelled: leave the shop's work alone, and go
                self._abandon(future, thread)
                raise
            if not future.done():
                started = self._abandon(future, thread)
                if not started:
                    return self._fail("busy", f"no free thread within {self.timeout * 1000:.0f} ms (all "
                                              f"{self.pool.threads} busy); read as unknown for this page")
                return self._fail("late", f"took longer than {self.timeout * 1000:.0f} ms; "
                                          "read as unknown for this page")
        if future.cancelled():
            return self._fail("cancelled", "was cancelled (the shop's code raised CancelledError or cancelled "
                                           "what it awaited); read as unknown for this page")
        error = future.exception()
        if error is not None:
            return self._raised(error)
        return future.result()

    def _abandon(self, future: asyncio.Future[Any], thread: concurrent.futures.Future[Any] | None) -> bool:
        """Stop waiting for ``future``; True if the shop's code had started (it is left to finish)."""
        if thread is not None:
            if thread.cancel():  # still queued behind busy threads: dropped, never run late
                future.cancel()
                return False
            self.pool.late(thread)
        self._late.add(future)
        future.add_done_callback(self._finished_late)
        return True

    def _finished_late(self, future: asyncio.Future[Any]) -> None:
        self._late.discard(future)
        if future.cancelled():
            return
        if future.exception() is not None:  # retrieved: no "exception was never retrieved" log when collected
            logger.debug("smalldata: %s %s failed after its page went on", self.what, self.dotted)
        else:
            _discard(future.result())  # a late thread's coroutine nobody will await

    def _raised(self, error: BaseException) -> Any:
        if isinstance(error, asyncio.CancelledError):
            return self._fail("cancelled", "raised CancelledError; read as unknown for this page")
        return self._fail(f"raised {type(error).__name__}", f"raised {type(error).__name__}: {_one_line(error)}; "
                                                            "read as unknown for this page", error)

    def _fail(self, kind: str, message: str, error: BaseException | None = None) -> Any:
        """Log the failure the first time, then at most every :data:`LOG_EVERY` seconds per kind."""
        now = time.monotonic()
        key = (self.what, self.dotted, kind)
        logged = _LOGGED.get(key)
        if logged is not None and now - logged[0] < LOG_EVERY:
            _LOGGED[key] = (logged[0], logged[1] + 1)
            return FAILED
        _LOGGED[key] = (now, 0)
        again = f" ({logged[1]} more times since it was last logged)" if logged is not None and logged[1] else ""
        logger.warning("smalldata: %s %s %s%s", self.what, self.dotted, message, again)  # one line
        if error is not None and logged is None:  # where in the shop's code: once, for whoever turns debug on
            logger.debug("smalldata: %s %s failed here", self.what, self.dotted,
                         exc_info=(type(error), error, error.__traceback__))
        return FAILED


def _one_line(error: BaseException, limit: int = 300) -> str:
    """An exception's message as one bounded line of the log (some are many lines, some are huge)."""
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _discard(answer: Any) -> None:
    """Close a coroutine nobody will await (no "never awaited" warning per request)."""
    if inspect.iscoroutine(answer):
        answer.close()
