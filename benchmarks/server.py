"""The app uvicorn serves in the throughput benchmark (``uvicorn --factory benchmarks.server:create``).

Configured by environment variables, because uvicorn runs it in a fresh process:
``BENCH_VARIANT`` (``bare`` or ``smalldata``), ``BENCH_RULES`` (rules folder) and
``BENCH_CONFIG`` (settings file).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def create() -> Any:
    """The example shop, with or without ``SmallData``."""
    from benchmarks.inprocess import shop_pair

    bare, with_smalldata = shop_pair(Path(os.environ["BENCH_RULES"]), Path(os.environ["BENCH_CONFIG"]))
    if os.environ.get("BENCH_VARIANT") == "bare":
        return bare
    from smalldata.signals.device import PARSER

    PARSER.warm_up()
    return with_smalldata
