"""The app uvicorn serves in the throughput benchmark (``uvicorn --factory smalldata.tools.bench.server:create``).

Configured by environment variables, because uvicorn runs it in a fresh process:
``BENCH_VARIANT`` (``bare`` or ``smalldata``), ``BENCH_PAGE`` (``rendered``: a page
rendered by Jinja2 on every request, about 2.5 ms; ``static``: a ready 20 KB page),
``BENCH_RULES`` (rules folder) and ``BENCH_CONFIG`` (settings file).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def create() -> Any:
    """The page app, with or without ``SmallData``."""
    from smalldata.tools.bench.inprocess import page_pair, rendered_pair

    pair = rendered_pair if os.environ.get("BENCH_PAGE", "rendered") == "rendered" else page_pair
    bare, with_smalldata = pair(Path(os.environ["BENCH_RULES"]), Path(os.environ["BENCH_CONFIG"]))
    return bare if os.environ.get("BENCH_VARIANT") == "bare" else with_smalldata
