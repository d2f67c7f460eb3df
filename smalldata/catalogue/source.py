"""Where recommendations find products: any object with ``get``, ``products`` and ``in_category``.

:class:`FileCatalogue` reads a YAML, JSON or CSV file once and re-reads it when
the file changes (looked at no more than once a second); :class:`MemoryCatalogue`
holds products given in code. A shop with its own product database plugs in any
object that satisfies :class:`Catalogue`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from smalldata.catalogue.load import CatalogueError, Defaults, Loaded, load_file
from smalldata.catalogue.product import Product
from smalldata.foundation.problems import Problem, ProblemsError

logger = logging.getLogger("smalldata.catalogue")


@runtime_checkable
class Catalogue(Protocol):
    """What the recommendation strategies ask of a product catalogue.

    Return tuples from ``products`` and ``in_category`` (new ones when the data
    changes): rankings of a tuple are computed once and reused across requests.
    """

    def get(self, product_id: str) -> Product | None:
        """The product with this id, or None."""

    def products(self) -> Sequence[Product]:
        """Every product, in a stable order."""

    def in_category(self, category: str) -> Sequence[Product]:
        """The products in ``category``, in the same order as :meth:`products`."""

    async def refresh(self) -> None:
        """Pick up changed data, if it can change (called per request: must be cheap when nothing did)."""


class MemoryCatalogue:
    """A catalogue of products given in code (tests, shops that build their list themselves)."""

    def __init__(self, products: Iterable[Product] = ()) -> None:
        self._products: tuple[Product, ...] = ()
        self._by_id: dict[str, Product] = {}
        self._by_category: dict[str, tuple[Product, ...]] = {}
        self.replace(products)

    async def refresh(self) -> None:
        """Nothing to pick up: :meth:`replace` swaps the products in at once."""

    def replace(self, products: Iterable[Product]) -> None:
        """Swap in a new product list at once (readers see the old or the new, never a mix)."""
        kept: dict[str, Product] = {}
        for product in products:
            kept.setdefault(product.id, product)
        by_category: dict[str, list[Product]] = {}
        for product in kept.values():
            for category in product.categories:
                by_category.setdefault(category, []).append(product)
        self._products, self._by_id = tuple(kept.values()), kept
        self._by_category = {name: tuple(items) for name, items in by_category.items()}

    def get(self, product_id: str) -> Product | None:
        return self._by_id.get(product_id)

    def products(self) -> Sequence[Product]:
        return self._products

    def in_category(self, category: str) -> Sequence[Product]:
        return self._by_category.get(category, ())


class FileCatalogue(MemoryCatalogue):
    """Products from a file, re-read when it changes.

    The first load raises :class:`ProblemsError` when the file is unusable, so
    a wrong path fails at start-up. Later, a change is picked up by
    :meth:`refresh` (async, parses in a worker thread) or :meth:`reload_if_changed`;
    a file that has become unusable keeps the last good products and logs why.
    Skipped rows are in :attr:`problems` and logged as ``file:line:col: message``.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        defaults: Defaults | None = None,
        check_every: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.defaults = defaults or Defaults()
        self.check_every = check_every
        self.problems: list[Problem] = []
        self.error: Problem | None = None
        self.loads = 0
        self._clock = clock
        self._checked = float("-inf")
        self._stamp: tuple[int, int] | None = None
        self._lock = asyncio.Lock()
        try:
            self._install(load_file(self.path, self.defaults), self._file_stamp())
        except CatalogueError as exc:
            raise ProblemsError([exc.problem]) from None
        self._checked = clock()

    def changed(self) -> bool:
        """Has the file changed since it was read? Looks at the disk at most every ``check_every`` s."""
        now = self._clock()
        if now - self._checked < self.check_every:
            return False
        self._checked = now
        return self._file_stamp() != self._stamp

    def reload_if_changed(self) -> bool:
        """Re-read the file now if it changed; True when new products were installed."""
        if not self.changed():
            return False
        return self._reload(self._file_stamp())

    async def refresh(self) -> None:
        """Re-read a changed file off the event loop (the recommender calls this per request)."""
        if not self.changed():
            return
        async with self._lock:
            stamp = self._file_stamp()
            if stamp == self._stamp:
                return
            try:
                loaded = await asyncio.to_thread(load_file, self.path, self.defaults)
            except CatalogueError as exc:
                self._keep_last(exc.problem, stamp)
                return
            self._install(loaded, stamp)

    def _reload(self, stamp: tuple[int, int] | None) -> bool:
        try:
            loaded = load_file(self.path, self.defaults)
        except CatalogueError as exc:
            self._keep_last(exc.problem, stamp)
            return False
        self._install(loaded, stamp)
        return True

    def _install(self, loaded: Loaded, stamp: tuple[int, int] | None) -> None:
        self.replace(loaded.products)
        self.problems = loaded.problems
        self.error = None
        self._stamp = stamp
        self.loads += 1
        for problem in loaded.problems:
            logger.warning("smalldata: catalogue row skipped: %s", problem)
        logger.info("smalldata: catalogue %s: %d products", self.path, len(self.products()))

    def _keep_last(self, problem: Problem, stamp: tuple[int, int] | None) -> None:
        self.error = problem
        self._stamp = stamp  # do not re-read a broken file every second; the next edit is a new stamp
        logger.error("smalldata: catalogue not reloaded, keeping the last good one: %s", problem)

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size
