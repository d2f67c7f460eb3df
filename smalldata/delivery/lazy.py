"""``request.state.smalldata``: one request's decision, made when someone first needs it.

The middleware decides lazily: when the app asks for the decision, or when an
HTML page starts going out — never for an image, a JSON answer or a redirect
that nobody asked about. A decision made when the page starts sees what the app
did in that request (a login, a basket merge); one the app read earlier stays
the one it read.

Deciding may wait on I/O (the visitor's state in Redis, the shop's user and
basket, remote sources), so the app asks in one of three ways:

- ``decision = await request.state.smalldata`` in async code (an async handler,
  before rendering a template on the event loop);
- reading it in sync code that runs in a worker thread (Starlette's sync
  endpoints, Django's sync views and its template rendering): the read waits for
  the decision, made on the event loop;
- reading it once it is decided (after an ``await`` above, or a second read).

A sync read on the event loop of a decision not made yet cannot wait: it sees an
empty decision (logged once, saying to ``await`` it first), and the page is still
decided and personalised when it starts going out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Generator
from typing import Any, Literal

from smalldata.decision import Decision

logger = logging.getLogger("smalldata")

#: How long a worker thread waits for a decision before it goes on without one.
THREAD_WAIT_SECONDS = 10.0
_EMPTY = Decision()


class LazyDecision:
    """What ``request.state.smalldata`` holds: this request's decision, made when first asked for.

    ``await`` it for the :class:`~smalldata.decision.Decision` (None when the request
    has none: smalldata failed, or the visitor declined). Its attributes are the
    decision's (``request.state.smalldata.greeting``), read as the module docstring says.
    The middleware's per-request object implements :meth:`settled`, :meth:`decision`
    and ``loop``.
    """

    __slots__ = ()
    loop: asyncio.AbstractEventLoop  # the event loop the request runs on

    def settled(self) -> Decision | Literal[False] | None:
        """The decision when made (None: deciding failed or was declined), else False."""
        raise NotImplementedError

    async def decision(self) -> Decision | None:
        """Decide now if nobody has yet; the decision (None when there is none)."""
        raise NotImplementedError

    def __await__(self) -> Generator[Any, None, Decision | None]:
        return self.decision().__await__()

    def get(self) -> Decision | None:
        """The decision, from sync code: waits for it in a worker thread; on the event loop, only if made."""
        settled = self.settled()
        if settled is not False:
            return settled
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        loop = self.loop
        if running is loop:
            _warn_unawaited()
            return None
        if loop.is_closed():
            return None
        future = asyncio.run_coroutine_threadsafe(self.decision(), loop)
        try:
            return future.result(THREAD_WAIT_SECONDS)
        except Exception:  # a decision that never came is no decision, never an error in the app
            future.cancel()
            logger.exception("smalldata: waiting for the decision in a worker thread failed")
            return None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        decision = self.get()
        return getattr(_EMPTY if decision is None else decision, name)

    def __repr__(self) -> str:
        settled = self.settled()
        return "<LazyDecision: not decided yet>" if settled is False else f"<LazyDecision: {settled!r}>"


_warned = False


def _warn_unawaited() -> None:
    global _warned
    if not _warned:
        _warned = True
        logger.warning(
            "smalldata: request.state.smalldata was read on the event loop before it was decided; it reads as "
            "empty there. In async code, `decision = await request.state.smalldata` first (the page itself is "
            "still personalised when it goes out)."
        )


def decision_of(value: Any) -> Decision | None:
    """What ``request.state.smalldata`` holds, as a decision (sync; see :meth:`LazyDecision.get`)."""
    if isinstance(value, LazyDecision):
        return value.get()
    return value if isinstance(value, Decision) else None
